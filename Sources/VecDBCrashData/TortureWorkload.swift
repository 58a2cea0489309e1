import VecDB
import VecDBKernels

/// The deterministic workload of `vecdb torture`: operation `b` of a run is a pure function of
/// the seed and `b`, so the process that kills writers can replay what every acknowledged
/// operation did and check the database against it.
///
/// Operations, by `b`: every 53rd compacts, every 89th (from 40) builds or rebuilds an HNSW
/// index, every 61st (from 30) deletes by filter, every 97th (from 70) trains or refreshes the
/// recommender, every 7th (from 3) records a batch of interactions for it (the shell runs
/// these two, which need the recommender layer); otherwise, drawn from the seed, half insert a
/// batch of new keys, three in ten upsert (replace) the keys of an earlier batch with new
/// vectors and payloads, and two in ten delete the keys of an earlier batch. Every operation is
/// idempotent, so a writer that starts again at the first unacknowledged operation may redo
/// one that committed just before a kill.
public struct TortureWorkload: Sendable {
    public static let dimension = 8
    public static let collection = "torture"
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    public enum Operation: Sendable {
        case insert([Record])
        case upsert([Record])
        case delete([Key])
        case deleteWhere(Filter)
        case compact
        case buildIndex
        /// Record these interactions (user, item, timestamp `b`) in the recommender's log.
        case record([TortureInteraction])
        /// Train the recommender (the first time) or refresh it.
        case refresh

        /// A short name, for the tally of where kills fell.
        public var kind: String {
            switch self {
            case .insert: "insert"
            case .upsert: "upsert"
            case .delete: "delete"
            case .deleteWhere: "delete-filter"
            case .compact: "compact"
            case .buildIndex: "index-build"
            case .record: "record-interactions"
            case .refresh: "recommender-refresh"
            }
        }
    }

    func generator(_ b: UInt64, _ salt: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ b &* 0xD1B5_4A32_D192_ED03 ^ salt)
    }

    /// How many keys batch `b` owns: keys `b·1000 ..< b·1000 + count`.
    public func keyCount(_ b: UInt64) -> Int {
        var g = generator(b, 1)
        return 1 + Int(g.next() % 20)
    }

    public func keys(ofBatch b: UInt64) -> [Key] { (0..<keyCount(b)).map { .int(b * 1000 + UInt64($0)) } }

    /// The record of `key` as written by operation `version`.
    public func record(_ key: UInt64, version: UInt64) -> Record {
        var g = generator(key, version &+ 7)
        let v = (0..<Self.dimension).map { _ in Float(Int(g.next() % 2001) - 1000) / 500 }
        return Record(
            key: .int(key), vector: v,
            payload: ["v": .unsigned(version), "k": .unsigned(key), "tag": .string("t\(key % 7)"), "even": .bool(key % 2 == 0)])
    }

    public func operation(_ b: UInt64) -> Operation {
        if b % 53 == 52 { return .compact }
        if b % 89 == 40 { return .buildIndex }
        if b % 61 == 30 { return .deleteWhere(.compare(["tag"], .equal, .string("t\(b % 7)"))) }
        if b % 97 == 70 { return .refresh }
        if b % 7 == 3 { return .record(interactions(ofBatch: b)) }
        var g = generator(b, 2)
        let r = g.next() % 10
        if r < 5 || b < 3 { return .insert(keys(ofBatch: b).map { k in record(k.intValue, version: b) }) }
        let earlier = g.next() % b
        if r < 8 { return .upsert(keys(ofBatch: earlier).map { k in record(k.intValue, version: b) }) }
        return .delete(keys(ofBatch: earlier))
    }

    /// The records after operations `0 ... last` (none when `last` < 0).
    public func expected(through last: Int64) -> [Key: Record] {
        var model: [Key: Record] = [:]
        if last < 0 { return model }
        for b in 0...UInt64(last) {
            switch operation(b) {
            case .insert(let rs), .upsert(let rs): for r in rs { model[r.key] = r }
            case .delete(let ks): for k in ks { model[k] = nil }
            case .deleteWhere(let f): model = model.filter { !f.matches($0.value.payload) }
            case .compact, .buildIndex, .record, .refresh: break
            }
        }
        return model
    }

    /// Runs operation `b` on `c`; the recommender's operations (``Operation/record(_:)``,
    /// ``Operation/refresh``) are left to the caller.
    public func run(_ b: UInt64, on c: Collection) throws(VecDBError) {
        switch operation(b) {
        case .insert(let rs), .upsert(let rs): try c.upsert(rs)
        case .delete(let ks): _ = try c.delete(ks)
        case .deleteWhere(let f): _ = try c.delete(where: f)
        case .compact: try c.compact()
        case .buildIndex: try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 64)))
        case .record, .refresh: break
        }
    }
}

/// One interaction of the torture workload's recommender: integer user and item keys, and the
/// operation that recorded it as its timestamp.
public struct TortureInteraction: Sendable, Hashable {
    public var user: UInt64
    public var item: UInt64
    public var timestamp: Int64
}

extension TortureWorkload {
    /// The recommender the workload trains: `torture-rec`, over 40 users and 150 items.
    public static let recommender = "torture-rec"

    /// The interactions operation `b` records: 5 to 24, from users 0..<40 to items 0..<150,
    /// each user's items drawn from a block of 50 so the model has structure to learn.
    public func interactions(ofBatch b: UInt64) -> [TortureInteraction] {
        var g = generator(b, 3)
        let n = 5 + Int(g.next() % 20)
        return (0..<n).map { _ in
            let user = g.next() % 40
            let item = (user % 3) * 50 + g.next() % 50
            return TortureInteraction(user: user, item: item, timestamp: Int64(b))
        }
    }

    /// The interactions of operations `0 ... last`, in the order they were recorded.
    public func interactions(through last: Int64) -> [TortureInteraction] {
        guard last >= 0 else { return [] }
        var all: [TortureInteraction] = []
        for b in 0...UInt64(last) {
            if case .record(let batch) = operation(b) { all += batch }
        }
        return all
    }

    /// The refresh operations among `0 ... last`.
    public func refreshes(through last: Int64) -> [UInt64] {
        guard last >= 0 else { return [] }
        return (0...UInt64(last)).filter {
            if case .refresh = operation($0) { return true }
            return false
        }
    }
}

extension Key {
    /// The integer of an integer key (0 for a string key; the workload has none).
    var intValue: UInt64 {
        if case .int(let v) = self { return v }
        return 0
    }
}
