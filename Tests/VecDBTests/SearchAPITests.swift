import Testing
import VecDB
import VecDBKernels
import VecDBTestSupport

/// The search surface: batch search, exact searches through an indexed collection, options
/// validation, and the async forms' cancellation.
@Suite("search API")
struct SearchAPITests {
    static let d = 8

    /// 3,000 clustered rows in three sealed segments (HNSW-indexed) and 200 in the memory
    /// buffer, a payload `even` on each.
    static func makeCollection(_ dir: TemporaryDirectory) throws -> (Database, Collection, [[Float]]) {
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 1_000))
        let c = try db.createCollection("items", dimension: d, metric: .l2)
        let flat = SyntheticData.clustered(count: 3_200, dimension: d, clusters: 20, sigma: 0.1, seed: 9)
        let rows = (0..<3_200).map { Array(flat[($0 * d)..<(($0 + 1) * d)]) }
        try c.upsert((0..<3_000).map { Record(key: .int(UInt64($0)), vector: rows[$0], payload: ["even": .bool($0 % 2 == 0)]) })
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 60)))
        try c.upsert((3_000..<3_200).map { Record(key: .int(UInt64($0)), vector: rows[$0], payload: ["even": .bool($0 % 2 == 0)]) })
        return (db, c, rows)
    }

    @Test("batch search gives, query by query, what single searches give, on 1 and 3 threads")
    func batchEqualsSingle() throws {
        let dir = TemporaryDirectory()
        let (db, c, rows) = try Self.makeCollection(dir)
        defer { db.close() }
        var g = SeededGenerator(seed: 3)
        let queries = (0..<40).map { i in i % 2 == 0 ? rows[i * 37] : g.vector(Self.d) }
        for options in [SearchOptions(), SearchOptions(filter: try Filter(parsing: "even = true"), width: 32), SearchOptions(exact: true)] {
            let single = try queries.map { try c.search($0, k: 10, options: options) }
            #expect(try c.search(queries: queries, k: 10, options: options, threads: 1) == single)
            #expect(try c.search(queries: queries, k: 10, options: options, threads: 3) == single)
        }
        #expect(try c.search(queries: [], k: 10, threads: 2).isEmpty)
    }

    @Test("exact: true through an indexed collection equals brute force, filter included")
    func exactOption() throws {
        let dir = TemporaryDirectory()
        let (db, c, rows) = try Self.makeCollection(dir)
        defer { db.close() }
        let candidates = rows.enumerated().map { (Key.int(UInt64($0.offset)), $0.element) }
        let evens = candidates.filter { if case .int(let k) = $0.0 { return k % 2 == 0 } else { return false } }
        var g = SeededGenerator(seed: 4)
        for _ in 0..<10 {
            let q = g.vector(Self.d)
            let got = try c.search(q, k: 15, options: SearchOptions(exact: true)).map(\.key)
            #expect(got == BruteForce.nearest(q, candidates, k: 15, metric: .l2).map(\.0))
            let filtered = try c.search(q, k: 15, options: SearchOptions(filter: try Filter(parsing: "even = true"), exact: true))
            #expect(filtered.map(\.key) == BruteForce.nearest(q, evens, k: 15, metric: .l2).map(\.0))
        }
    }

    @Test("bad options and queries give typed errors naming the problem")
    func validation() throws {
        let dir = TemporaryDirectory()
        let (db, c, rows) = try Self.makeCollection(dir)
        defer { db.close() }
        expectVecDBError(.invalidArgument, containing: "ef must be at least 1, got 0") {
            try c.search(rows[0], k: 5, options: SearchOptions(width: 0))
        }
        expectVecDBError(.invalidArgument, containing: "k must be positive") { try c.search(rows[0], k: -1) }
        expectVecDBError(.invalidArgument, containing: "threads must be at least 1") {
            try c.search(queries: [rows[0]], k: 5, threads: 0)
        }
        expectVecDBError(.dimensionMismatch, containing: "query 2") {
            try c.search(queries: [rows[0], rows[1], [1, 2, 3]], k: 5)
        }
        expectVecDBError(.nonFiniteValue, containing: "query 1") {
            try c.search(queries: [rows[0], [Float](repeating: .nan, count: Self.d)], k: 5)
        }
        #expect(try c.search(queries: [rows[0], rows[1]], k: 0) == [[], []])
    }

    @Test("a cancelled task's async read, write and compaction throw .cancelled and change nothing")
    func cancellation() async throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        let c = try db.createCollection("s", dimension: 2, metric: .l2)
        try c.upsert(Record(key: 1, vector: [0, 0]))
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            var codes: [VecDBError.Code] = []
            do throws(VecDBError) {
                _ = try await db.write { (db) throws(VecDBError) in try db.collection("s").upsert(Record(key: 2, vector: [1, 1])) }
            } catch { codes.append(error.code) }
            do throws(VecDBError) {
                _ = try await db.read { (s) throws(VecDBError) in try s.collection("s").count }
            } catch { codes.append(error.code) }
            do throws(VecDBError) { try await c.compactInBackground() } catch { codes.append(error.code) }
            return codes
        }
        #expect(await task.value == [VecDBError.Code.cancelled, .cancelled, .cancelled])
        #expect(c.count == 1)
        #expect(try c.get(2) == nil)
        // Not cancelled: the same calls go through.
        try await db.write { (db) throws(VecDBError) in try db.collection("s").upsert(Record(key: 2, vector: [1, 1])) }
        #expect(try await db.read { (s) throws(VecDBError) in try s.collection("s").count } == 2)
        try await c.compactInBackground()
        #expect(c.count == 2)
    }
}
