import Foundation
import Testing
import VecDBEngine
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDB

/// A collection with an HNSW index, checked against brute force over the same records.
@Suite("HNSW collections")
struct HNSWCollectionTests {
    static let d = 16
    static let n = 20_000
    static let rows = SyntheticData.clustered(count: n, dimension: d, clusters: 50, sigma: 0.12, seed: 77)
    static let queries = SyntheticData.clustered(count: 60, dimension: d, clusters: 50, sigma: 0.12, seed: 77, pointSeed: 78)

    static func row(_ i: Int) -> [Float] { Array(rows[(i * d)..<((i + 1) * d)]) }
    static func query(_ i: Int) -> [Float] { Array(queries[(i * d)..<((i + 1) * d)]) }

    /// Two sealed segments of 10,000 rows, indexed; then 500 more rows left in the memory buffer.
    static func makeCollection(_ dir: TemporaryDirectory) throws -> (Database, Collection) {
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 10_000))
        let c = try db.createCollection("items", dimension: d, metric: .l2)
        for start in stride(from: 0, to: n, by: 5_000) {
            try c.upsert(
                (start..<(start + 5_000)).map { i in
                    Record(key: .int(UInt64(i)), vector: row(i), payload: ["bucket": .number(Double(i % 1000))])
                })
        }
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 12, efConstruction: 100, defaultEF: 48)))
        var rng = SeededGenerator(seed: 5)
        try c.upsert((n..<(n + 500)).map { i in Record(key: .int(UInt64(i)), vector: rng.vector(d), payload: ["bucket": .number(0)]) })
        return (db, c)
    }

    /// Brute-force top-k keys over the records `keep` admits.
    static func truth(_ q: [Float], extra: [(Int, [Float])], k: Int, keep: (Int) -> Bool) -> [Int] {
        var all: [(Int, Double)] = []
        for i in 0..<n where keep(i) { all.append((i, SyntheticData.referenceDistance(q, row(i), .l2))) }
        for (i, v) in extra where keep(i) { all.append((i, SyntheticData.referenceDistance(q, v, .l2))) }
        all.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        return all.prefix(k).map(\.0)
    }

    static func extraRows() -> [(Int, [Float])] {
        var rng = SeededGenerator(seed: 5)
        return (n..<(n + 500)).map { ($0, rng.vector(d)) }
    }

    static func recall(_ c: Collection, ef: Int, filter: Filter? = nil, keep: (Int) -> Bool = { _ in true }) throws -> Double {
        let extra = extraRows()
        var hits = 0
        var total = 0
        for i in 0..<60 {
            let got = try c.search(query(i), k: 10, options: SearchOptions(filter: filter, width: ef)).compactMap { r -> Int? in
                if case .int(let v) = r.key { return Int(v) }
                return nil
            }
            let want = truth(query(i), extra: extra, k: 10, keep: keep)
            hits += Set(got).intersection(want).count
            total += want.count
        }
        return total == 0 ? 1 : Double(hits) / Double(total)
    }

    @Test("recall@10 ≥ 0.95, the same after close and reopen, and graphs are files that are mapped")
    func recallAndReopen() throws {
        let dir = TemporaryDirectory()
        var before: [[SearchResult]] = []
        do {
            let (db, c) = try Self.makeCollection(dir)
            defer { db.close() }
            #expect(c.index == .hnsw(HNSWIndexOptions(m: 12, efConstruction: 100, defaultEF: 48)))
            #expect(c.indexedSegments.indexed == 2)
            let r = try Self.recall(c, ef: 64)
            #expect(r >= 0.95, "recall \(r)")
            before = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 64)) }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/items").filter { $0.hasPrefix("hnsw-") }
        #expect(files.count == 2)
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 10_000))
        defer { db.close() }
        let c = try db.collection("items")
        #expect(c.indexedSegments.indexed == c.indexedSegments.total)
        #expect(c.index?.defaultWidth == 48 && c.index?.kind == .hnsw)
        // The graphs opened from their files keep the structural invariants.
        for entry in c.indexes.catalog.entries.values {
            guard case .graph(let graph) = entry.index else {
                Issue.record("segment \(entry.segment.id) has no graph")
                continue
            }
            #expect(graph.count == entry.segment.count)
            #expect(graph.invariantViolations().isEmpty)
        }
        let after = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 64)) }
        #expect(after == before)
        #expect(try Self.recall(c, ef: 64) >= 0.95)
    }

    @Test("a float16-traversal index: recall ≥ 0.95, exact distances, the option and results kept across reopen")
    func float16Traversal() throws {
        let dir = TemporaryDirectory()
        let options = HNSWIndexOptions(m: 12, efConstruction: 100, defaultEF: 48, float16Traversal: true)
        var before: [[SearchResult]] = []
        do {
            let (db, c) = try Self.makeCollection(dir)
            defer { db.close() }
            try c.createIndex(.hnsw(options))
            #expect(c.index == .hnsw(options))
            #expect(try Self.recall(c, ef: 64) >= 0.95)
            before = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 64)) }
            let exact = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(exact: true)) }
            for (got, want) in zip(before, exact) {
                for (g, w) in zip(got, want) where g.key == w.key { #expect(abs(g.distance - w.distance) <= 1e-5 * max(1, w.distance)) }
            }
        }
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 10_000))
        defer { db.close() }
        let c = try db.collection("items")
        #expect(c.index == .hnsw(options))
        #expect(c.indexedSegments.indexed == c.indexedSegments.total)
        let after = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 64)) }
        #expect(after == before)
    }

    @Test("deleted keys never come back; recall holds after 30% are deleted; compaction rebuilds the graph")
    func deletesAndCompaction() throws {
        let dir = TemporaryDirectory()
        let (db, c) = try Self.makeCollection(dir)
        defer { db.close() }
        var rng = SeededGenerator(seed: 11)
        var deleted = Set<Int>()
        while deleted.count < Self.n * 3 / 10 { deleted.insert(Int(rng.next() % UInt64(Self.n))) }
        _ = try c.delete(deleted.map { .int(UInt64($0)) })
        for i in 0..<60 {
            for r in try c.search(Self.query(i), k: 10, options: SearchOptions(width: 64)) {
                if case .int(let v) = r.key { #expect(!deleted.contains(Int(v)), "deleted key \(v) returned") }
            }
        }
        let afterDeletes = try Self.recall(c, ef: 64, keep: { !deleted.contains($0) })
        let wider = try Self.recall(c, ef: 256, keep: { !deleted.contains($0) })
        #expect(afterDeletes >= 0.95, "recall after deletes \(afterDeletes), at ef 256: \(wider)")
        try c.compact()
        try c.refreshIndex()
        #expect(c.indexedSegments.indexed == c.indexedSegments.total)
        let compacted = try Self.recall(c, ef: 64, keep: { !deleted.contains($0) })
        let stats = c.stats()
        #expect(
            compacted >= 0.95,
            "after compaction \(compacted); \(stats.segments.map { ($0.id, $0.rows, $0.deletedRows) }), memtable \(stats.memtableRows)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/items").filter { $0.hasPrefix("hnsw-") }
        #expect(files.count == c.indexedSegments.total, "graphs of compacted-away segments are removed: \(files)")
    }

    @Test("filtered search recall ≥ 0.95 at 50%, 10%, 1% and 0.1% selectivity", arguments: [500, 100, 10, 1])
    func filtered(buckets: Int) throws {
        let dir = TemporaryDirectory()
        let (db, c) = try Self.makeCollection(dir)
        defer { db.close() }
        let f = try Filter(parsing: "bucket < \(buckets)")
        // The 500 unindexed rows all have bucket 0, so they pass every filter.
        let r = try Self.recall(c, ef: 32, filter: f, keep: { $0 >= Self.n || $0 % 1000 < buckets })
        #expect(r >= 0.95, "selectivity \(Double(buckets) / 1000): recall \(r)")
    }

    @Test("a damaged graph file is ignored and rebuilt; bad parameters are typed errors")
    func damagedGraph() throws {
        let dir = TemporaryDirectory()
        do {
            let (db, c) = try Self.makeCollection(dir)
            expectVecDBError(.invalidArgument, containing: "M must be") { try c.createIndex(.hnsw(HNSWIndexOptions(m: 1))) }
            expectVecDBError(.invalidArgument, containing: "ef must be") {
                try c.search(Self.query(0), k: 10, options: SearchOptions(width: 0))
            }
            db.close()
        }
        let graphs = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/items").filter { $0.hasPrefix("hnsw-") }
        let first = try #require(graphs.first)
        let victim = dir.path + "/items/" + first
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[20] ^= 0xFF  // inside the checksummed header
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 10_000))
        defer { db.close() }
        let c = try db.collection("items")
        #expect(try Self.recall(c, ef: 64) >= 0.95)  // the damaged segment is searched exactly meanwhile
        try c.refreshIndex()
        #expect(c.indexedSegments.indexed == c.indexedSegments.total)
    }

    @Test(
        "Float16 collections: the graph walks the half-precision rows in place, never decoding the segment",
        arguments: [Metric.l2, .cosine])
    func float16(metric: VecDB.Metric) throws {
        let dir = TemporaryDirectory()
        let n = 8_000
        var before: [[SearchResult]] = []
        do {
            let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 4_000))
            defer { db.close() }
            let c = try db.createCollection("items", dimension: Self.d, metric: metric, elementType: .float16)
            for start in stride(from: 0, to: n, by: 4_000) {
                try c.upsert((start..<(start + 4_000)).map { Record(key: .int(UInt64($0)), vector: Self.row($0)) })
            }
            try c.createIndex(.hnsw(HNSWIndexOptions(m: 12, efConstruction: 100)), threads: 2)
            #expect(c.indexedSegments == (2, 2))
            // Oracle: brute force in Double over the vectors as stored (rounded to half precision).
            let stored = (0..<n).map { i in c.prepared(Self.row(i)) }
            var hits = 0
            for i in 0..<60 {
                let q = Self.query(i)
                let got = try c.search(q, k: 10, options: SearchOptions(width: 64)).compactMap { r -> Int? in
                    if case .int(let v) = r.key { return Int(v) }
                    return nil
                }
                var scored: [(Int, Double)] = []
                for j in 0..<n { scored.append((j, SyntheticData.referenceDistance(q, stored[j], metric))) }
                scored.sort { (a: (Int, Double), b: (Int, Double)) -> Bool in a.1 < b.1 || (a.1 == b.1 && a.0 < b.0) }
                let want: [Int] = scored.prefix(10).map { $0.0 }
                hits += Set(got).intersection(want).count
            }
            let recall = Double(hits) / 600
            #expect(recall >= 0.95, "Float16 \(metric) recall \(recall)")
            for v in c.store.snapshot().segments { #expect(!v.segment.hasDecodedRows, "segment \(v.segment.id) was decoded") }
            before = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 64)) }
        }
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 4_000))
        defer { db.close() }
        let c = try db.collection("items")
        #expect(c.indexedSegments == (2, 2))
        #expect(try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 64)) } == before)
        for v in c.store.snapshot().segments { #expect(!v.segment.hasDecodedRows) }
    }

    @Test("a damaged index spec is reported by file name when opening")
    func damagedSpec() throws {
        let dir = TemporaryDirectory()
        do {
            let (db, _) = try Self.makeCollection(dir)
            db.close()
        }
        let spec = dir.path + "/items/index.spec"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: spec)))
        bytes[21] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: spec))
        expectVecDBError(.corruptFile, containing: "index.spec") {
            let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 10_000))
            defer { db.close() }
            return try db.collection("items")
        }
    }
}
