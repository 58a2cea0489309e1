import VecDBKernels
import VecDBStorage

/// Turns item or user records (``EntityRecord``) into dense feature rows for models that read
/// side information (the two-tower towers).
///
/// The encoder is *fitted* on one set of records, which fixes its columns, vocabularies and
/// statistics; it then encodes any record, including one unseen at fit time (a new item at
/// refresh, a cold-start item). A row is the concatenation of:
///
/// ```
///   ┌──────────────┬──────────────────────────────┬──────────────┬─────────────────────┐
///   │ genres       │ categorical columns          │ numeric      │ title n-grams       │
///   │ multi-hot,   │ one-hot per column: values   │ standardised │ hashed character    │
///   │ name order   │ seen ≥ minCount, then other  │ (x − μ) / σ  │ n-grams, L2 = 1     │
///   └──────────────┴──────────────────────────────┴──────────────┴─────────────────────┘
/// ```
///
/// Attribute columns are classified from the fitting records: a column whose non-empty values
/// parse as finite numbers, all but a share ``Options/nonNumericShare`` of stray tokens (real
/// files hold `unknown` in a year column), is numeric, the strays counting as missing; any
/// other is categorical. Columns are skipped when
/// they carry no signal: every value distinct (an id), a categorical column with more than
/// ``Options/maxDistinctFraction`` distinct values (a zip code), or a single value. A missing
/// or empty value encodes as zeros (numeric: the mean, hence 0); an unseen or rare category
/// goes to the column's *other* slot. The title is lower-cased, padded with a space on both
/// sides, cut into UTF-8 byte n-grams (the whole padded title when shorter), each hashed with
/// 32-bit FNV-1a into ``Options/titleBuckets`` buckets; the counts are L2-normalised. Nothing
/// here depends on a particular data set.
///
/// ``serialized()`` and ``init(serialized:)`` carry the fitted encoder in a checkpoint.
public struct FeatureEncoder: Sendable, Equatable, Codable {
    /// How columns are chosen and encoded.
    public struct Options: Sendable, Equatable, Codable {
        /// A category seen fewer times than this is pooled into its column's other slot.
        public var minCount = 2
        /// A categorical column with more distinct values than this share of the records is skipped.
        public var maxDistinctFraction = 0.5
        /// The character n-gram length of title hashing.
        public var ngram = 3
        /// The number of title hash buckets (0: titles are not encoded).
        public var titleBuckets = 64
        /// A column stays numeric with at most this share of non-numeric values (taken as missing).
        public var nonNumericShare = 0.01

        /// The defaults: pool categories seen once, skip columns over 50 % distinct, 3-grams in 64
        /// buckets, numeric columns with up to 1 % stray values.
        public init() {}
    }

    /// A one-hot column: `values.count` slots, then the other slot.
    public struct CategoricalColumn: Sendable, Equatable, Codable {
        /// The attribute name.
        public var name: String
        /// The values with their own slot, in name order.
        public var values: [String]
    }

    /// A standardised column.
    public struct NumericColumn: Sendable, Equatable, Codable {
        /// The attribute name.
        public var name: String
        /// The mean of the fitting values.
        public var mean: Double
        /// Their standard deviation (1 when they are constant).
        public var std: Double
    }

    /// The genre vocabulary, in name order.
    public private(set) var genres: [String]
    /// The categorical columns, in name order.
    public private(set) var categorical: [CategoricalColumn]
    /// The numeric columns, in name order.
    public private(set) var numeric: [NumericColumn]
    /// The n-gram length of title hashing.
    public private(set) var ngram: Int
    /// The title buckets (0 when the fitting records had no title).
    public private(set) var titleBuckets: Int

    /// Fits an encoder on `records`.
    ///
    /// - Parameters:
    ///   - records: the records that fix columns, vocabularies and statistics.
    ///   - options: thresholds and title hashing.
    /// - Complexity: O(total size of the records).
    public init(fitting records: [EntityRecord], options: Options = .init()) {
        genres = Array(Set(records.flatMap(\.genres))).sorted()
        ngram = max(1, options.ngram)
        titleBuckets = records.contains { !($0.title ?? "").isEmpty } ? max(0, options.titleBuckets) : 0
        categorical = []
        numeric = []
        let names = Set(records.flatMap(\.attributes.keys)).sorted()
        for name in names {
            let values = records.compactMap { r -> String? in
                guard let v = r.attributes[name]?.trimmingSpaces, !v.isEmpty else { return nil }
                return v
            }
            var counts: [String: Int] = [:]
            for v in values { counts[v, default: 0] += 1 }
            guard counts.count > 1, counts.count < values.count else { continue }
            let numbers = values.compactMap { Double($0) }.filter(\.isFinite)
            if Double(values.count - numbers.count) <= options.nonNumericShare * Double(values.count) {
                let mean = numbers.reduce(0, +) / Double(numbers.count)
                let variance = numbers.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(numbers.count)
                let std = variance.squareRoot()
                numeric.append(NumericColumn(name: name, mean: mean, std: std > 1e-12 ? std : 1))
            } else if Double(counts.count) <= options.maxDistinctFraction * Double(records.count) {
                let kept = counts.filter { $0.value >= options.minCount }.keys.sorted()
                guard !kept.isEmpty else { continue }
                categorical.append(CategoricalColumn(name: name, values: kept))
            }
        }
    }

    /// The width of every encoded row.
    public var width: Int { genres.count + categorical.reduce(0) { $0 + $1.values.count + 1 } + numeric.count + titleBuckets }

    /// The row of one record (all zeros for nil: an entity without side information).
    ///
    /// - Parameter record: the record, or nil.
    /// - Returns: ``width`` values, all finite.
    public func encode(_ record: EntityRecord?) -> [Float] {
        var row = [Float](repeating: 0, count: width)
        guard let record else { return row }
        var o = 0
        for g in record.genres { if let j = genres.firstIndex(of: g) { row[j] = 1 } }
        o += genres.count
        for c in categorical {
            if let v = record.attributes[c.name]?.trimmingSpaces, !v.isEmpty {
                row[o + (c.values.firstIndex(of: v) ?? c.values.count)] = 1
            }
            o += c.values.count + 1
        }
        for c in numeric {
            if let text = record.attributes[c.name]?.trimmingSpaces, let x = Double(text), x.isFinite {
                row[o] = Float((x - c.mean) / c.std)
            }
            o += 1
        }
        if titleBuckets > 0, let title = record.title, !title.isEmpty {
            let grams = Self.titleGrams(title, n: ngram, buckets: titleBuckets)
            for j in 0..<titleBuckets { row[o + j] = grams[j] }
        }
        return row
    }

    /// One row per key: the record with that key, or zeros when none has it.
    ///
    /// - Parameters:
    ///   - records: the records to encode (matched by key).
    ///   - keys: the entities, in index order (``InteractionMatrix/itemKeys`` or `userKeys`).
    /// - Returns: `keys.count` rows of ``width`` values.
    public func rows(_ records: [EntityRecord], keys: [Key]) -> [[Float]] {
        var byKey: [Key: EntityRecord] = [:]
        for r in records { byKey[r.key] = r }
        return keys.map { encode(byKey[$0]) }
    }

    /// Fits an encoder on `records` and encodes one row per key, or nil when the records give
    /// no column (no records, or none with a usable field).
    ///
    /// - Parameters:
    ///   - records: the records, matched to keys by key.
    ///   - keys: the entities, in index order.
    ///   - options: thresholds and title hashing.
    /// - Returns: the encoder and `keys.count` rows.
    public static func fitRows(_ records: [EntityRecord], keys: [Key], options: Options = .init()) -> (
        encoder: FeatureEncoder, rows: [[Float]]
    )? {
        let encoder = FeatureEncoder(fitting: records, options: options)
        guard encoder.width > 0 else { return nil }
        return (encoder, encoder.rows(records, keys: keys))
    }

    /// The hashed, L2-normalised character n-grams of a title.
    static func titleGrams(_ title: String, n: Int, buckets: Int) -> [Float] {
        var out = [Float](repeating: 0, count: buckets)
        let bytes = Array((" " + title.lowercased() + " ").utf8)
        let grams = max(1, bytes.count - n + 1)
        for s in 0..<grams {
            out[Int(fnv1a(bytes[s..<min(bytes.count, s + n)]) % UInt32(buckets))] += 1
        }
        let norm = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { for j in out.indices { out[j] /= norm } }
        return out
    }

    /// 32-bit FNV-1a.
    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in bytes {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return h
    }
}

extension FeatureEncoder {
    /// The encoder as text, for checkpoint metadata: `vecdb-features 1`, then the n-gram length,
    /// the buckets, the genres, the categorical columns (name, value count, values) and the
    /// numeric columns (name, mean, std), space-separated; every string is written
    /// `BYTECOUNT:BYTES` so that any text survives, and numbers in their shortest exact form.
    public func serialized() -> String {
        var out = ["vecdb-features", "1", "\(ngram)", "\(titleBuckets)", "\(genres.count)"]
        func text(_ s: String) -> String { "\(s.utf8.count):\(s)" }
        out += genres.map(text)
        out.append("\(categorical.count)")
        for c in categorical { out += [text(c.name), "\(c.values.count)"] + c.values.map(text) }
        out.append("\(numeric.count)")
        for c in numeric { out += [text(c.name), "\(c.mean)", "\(c.std)"] }
        return out.joined(separator: " ")
    }

    /// Reads ``serialized()``.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` when the text is not a serialised encoder.
    public init(serialized: String) throws(VecDBError) {
        var reader = TokenReader(bytes: Array(serialized.utf8))
        guard try reader.word() == "vecdb-features", try reader.word() == "1" else {
            throw VecDBError(.malformedFile, "feature encoder: not a 'vecdb-features 1' text")
        }
        ngram = try reader.count()
        titleBuckets = try reader.count()
        genres = []
        for _ in 0..<(try reader.count()) { genres.append(try reader.text()) }
        categorical = []
        for _ in 0..<(try reader.count()) {
            let name = try reader.text()
            var values: [String] = []
            for _ in 0..<(try reader.count()) { values.append(try reader.text()) }
            categorical.append(CategoricalColumn(name: name, values: values))
        }
        numeric = []
        for _ in 0..<(try reader.count()) {
            let name = try reader.text()
            guard let mean = Double(try reader.word()), let std = Double(try reader.word()), std > 0 else {
                throw VecDBError(.malformedFile, "feature encoder: numeric column '\(name)' has a bad mean or std")
            }
            numeric.append(NumericColumn(name: name, mean: mean, std: std))
        }
        guard ngram > 0, reader.atEnd else { throw VecDBError(.malformedFile, "feature encoder: trailing or invalid text") }
    }

    /// Reads the space-separated tokens of ``serialized()``.
    struct TokenReader {
        let bytes: [UInt8]
        var p = 0

        var atEnd: Bool { p >= bytes.count }

        mutating func word() throws(VecDBError) -> String {
            while p < bytes.count && bytes[p] == 0x20 { p += 1 }
            let start = p
            while p < bytes.count && bytes[p] != 0x20 { p += 1 }
            guard p > start else { throw VecDBError(.malformedFile, "feature encoder: the text ends early") }
            return String(decoding: bytes[start..<p], as: UTF8.self)
        }

        mutating func count() throws(VecDBError) -> Int {
            let w = try word()
            guard let n = Int(w), n >= 0, n <= bytes.count + 1_000_000 else {
                throw VecDBError(.malformedFile, "feature encoder: '\(w)' is not a count")
            }
            return n
        }

        mutating func text() throws(VecDBError) -> String {
            while p < bytes.count && bytes[p] == 0x20 { p += 1 }
            let start = p
            while p < bytes.count && bytes[p] != UInt8(ascii: ":") { p += 1 }
            guard p < bytes.count, let n = Int(String(decoding: bytes[start..<p], as: UTF8.self)), n >= 0, p + 1 + n <= bytes.count
            else { throw VecDBError(.malformedFile, "feature encoder: a string is cut short") }
            let s = String(decoding: bytes[(p + 1)..<(p + 1 + n)], as: UTF8.self)
            p += 1 + n
            return s
        }
    }
}
