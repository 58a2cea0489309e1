import VecDB
import VecDBKernels

/// The deterministic workload of `vecdb torture`: operation `b` of a run is a pure function of
/// the seed and `b`, so the process that kills writers can replay what every acknowledged
/// operation did and check the database against it.
///
/// Operations, by `b`: every 53rd compacts, every 89th (from 40) builds or rebuilds an HNSW
/// index, every 61st (from 30) deletes by filter; otherwise, drawn from the seed, half insert a
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

        /// A short name, for the tally of where kills fell.
        public var kind: String {
            switch self {
            case .insert: "insert"
            case .upsert: "upsert"
            case .delete: "delete"
            case .deleteWhere: "delete-filter"
            case .compact: "compact"
            case .buildIndex: "index-build"
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
            case .compact, .buildIndex: break
            }
        }
        return model
    }

    /// Runs operation `b` on `c`.
    public func run(_ b: UInt64, on c: Collection) throws(VecDBError) {
        switch operation(b) {
        case .insert(let rs), .upsert(let rs): try c.upsert(rs)
        case .delete(let ks): _ = try c.delete(ks)
        case .deleteWhere(let f): _ = try c.delete(where: f)
        case .compact: try c.compact()
        case .buildIndex: try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 64)))
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
