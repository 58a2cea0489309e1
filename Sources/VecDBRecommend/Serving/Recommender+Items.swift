import VecDB
import VecDBKernels

extension Recommender {
    /// Stores item features as payloads of the `NAME.items` collection (one record per item,
    /// replacing an earlier one): `title`, `genres` (an array, for display), `genre` (an object with one `true` field per
    /// genre, for filters such as `exists genre.Comedy`), `year` (a number, from a
    /// `release_year`/`year` column or a trailing "(1995)" in the title) and every other column
    /// as a string. The current version is republished with the new payloads.
    ///
    /// - Parameter records: items from ``ItemFileReader``.
    /// - Throws: collection errors (I/O).
    /// - Complexity: O(records).
    public func ingestItems(_ records: [EntityRecord]) throws(VecDBError) {
        if records.isEmpty { return }
        try store(records, in: itemCollectionName)
        try republish()
    }

    /// Rebuilds the current version's snapshot from its trained model and the stored item
    /// features and images (new items placed, payloads and spaces refreshed), and publishes it.
    func republish() throws(VecDBError) {
        try publishing.withLock { (_: inout Void) throws(VecDBError) in
            guard let s = published.withLock({ $0 }) else { return }
            let cp = ModelCheckpoint(version: s.version, kind: s.kind, params: s.params, itemKeys: s.trainedItemKeys, body: [])
            let space = s.spaces.keys.first { $0 != "image" } ?? "collab"
            let snap = try makeSnapshot(cp, model: s.trainedModel, space: space, build: false)
            published.withLock { $0 = snap }
        }
    }

    /// The payload stored for an item record.
    static func payload(of r: EntityRecord) -> Payload {
        var o: [String: Payload] = [:]
        for (name, value) in r.attributes { o[name] = .string(value) }
        if let t = r.title { o["title"] = .string(t) }
        o["genres"] = .array(r.genres.map { .string($0) })
        o["genre"] = .object(Dictionary(r.genres.map { (fieldName($0), Payload.bool(true)) }, uniquingKeysWith: { a, _ in a }))
        if let y = year(of: r) { o["year"] = .number(Double(y)) }
        return .object(o)
    }

    /// A genre as a filter path name: characters outside `A-Z a-z 0-9 _ -` become `_`, and a
    /// leading digit or `-` gets a `_` before it.
    static func fieldName(_ genre: String) -> String {
        let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") }
        let s = String(genre.map { allowed($0) ? $0 : "_" })
        guard let first = s.first, first.isLetter || first == "_" else { return "_" + s }
        return s
    }

    static func year(of r: EntityRecord) -> Int? {
        for name in ["release_year", "year"] {
            if let v = r.attributes[name], let y = Int(String(v.filter { !$0.isWhitespace })) { return y }
        }
        guard let t = r.title.map({ String($0.reversed().drop(while: \.isWhitespace).reversed()) }), t.hasSuffix(")"), t.count >= 6
        else { return nil }
        let digits = t.dropLast().suffix(4)
        guard t.dropLast(5).hasSuffix("(") else { return nil }
        return Int(digits)
    }

    /// Stores user features (from a RecBole `.user` file or a user CSV) as payloads of the
    /// `NAME.users` collection, one record per user replacing an earlier one: every column as a
    /// string. Models that read user features (the two-tower's user tower) use them from the
    /// next training on.
    ///
    /// - Parameter records: users from ``ItemFileReader``.
    /// - Throws: collection errors (I/O).
    public func ingestUsers(_ records: [EntityRecord]) throws(VecDBError) {
        if records.isEmpty { return }
        try store(records, in: userCollectionName)
    }

    /// Upserts `records` as payloads of the feature collection `name` (created when missing).
    func store(_ records: [EntityRecord], in name: String) throws(VecDBError) {
        let c: Collection
        if let existing = try? database.collection(name) {
            c = existing
        } else {
            c = try database.createCollection(name, dimension: 1, metric: .l2)
        }
        try c.upsert(records.map { Record(key: $0.key, vector: [0], payload: Self.payload(of: $0)) })
        try c.flush()
        if name == itemCollectionName { try storeTitles(records) }
    }

    /// The collection of user features: `NAME.users`.
    public var userCollectionName: String { name + ".users" }

    /// The record a stored payload came from (``payload(of:)`` inverted): `title`, `genres`, and
    /// every other string or number field as an attribute (`year` among them).
    static func record(key: Key, payload: Payload) -> EntityRecord {
        guard case .object(let o) = payload else { return EntityRecord(key: key) }
        var r = EntityRecord(key: key)
        for (name, value) in o {
            switch (name, value) {
            case ("title", .string(let t)): r.title = t
            case ("genres", .array(let a)):
                r.genres = a.compactMap { if case .string(let g) = $0 { g } else { nil } }
            case ("genre", _): break
            case (_, .string(let v)): r.attributes[name] = v
            case (_, .number(let v)): r.attributes[name] = v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
            case (_, .integer(let v)): r.attributes[name] = String(v)
            case (_, .unsigned(let v)): r.attributes[name] = String(v)
            default: break
            }
        }
        // A `year` parsed from a `release_year` column is that column again.
        if r.attributes["release_year"] != nil { r.attributes["year"] = nil }
        return r
    }

    /// The item and user records stored for this recommender, keys ascending.
    func featureRecords() throws(VecDBError) -> (items: [EntityRecord], users: [EntityRecord]) {
        func records(_ name: String) throws(VecDBError) -> [EntityRecord] {
            guard let c = try? database.collection(name) else { return [] }
            return try c.snapshot().records().compactMap { r in r.payload.map { Self.record(key: r.key, payload: $0) } }
                .sorted { $0.key < $1.key }
        }
        return (try records(itemCollectionName), try records(userCollectionName))
    }

    /// Every item's payload from `NAME.items`.
    func itemPayloads() throws(VecDBError) -> [Key: Payload] {
        guard let c = try? database.collection(itemCollectionName) else { return [:] }
        var out: [Key: Payload] = [:]
        for r in try c.snapshot().records() {
            if let p = r.payload { out[r.key] = p }
        }
        return out
    }
}
