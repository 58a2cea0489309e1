import Foundation
import Testing
import VecDBEngine
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

/// Collections with IVF indexes, checked against brute force over the same records.
@Suite("IVF collections")
struct IVFCollectionTests {
    static let d = 16
    static let n = 12_000
    static let nlist = 48
    static let rows = SyntheticData.clustered(count: n, dimension: d, clusters: 120, sigma: 0.25, seed: 91)
    static let queries = SyntheticData.clustered(count: 50, dimension: d, clusters: 120, sigma: 0.25, seed: 91, pointSeed: 92)

    static func row(_ i: Int) -> [Float] { Array(rows[(i * d)..<((i + 1) * d)]) }
    static func query(_ i: Int) -> [Float] { Array(queries[(i * d)..<((i + 1) * d)]) }

    /// Two sealed segments of 6,000 rows, indexed; then 300 more rows left in the memory buffer.
    static func withNprobe(_ o: IVFIndexOptions, _ n: Int) -> IVFIndexOptions {
        var o = o
        o.defaultNprobe = n
        return o
    }

    static func makeCollection(
        _ dir: TemporaryDirectory, _ options: IVFIndexOptions, metric: Metric = .l2,
        elementType: ElementType = .float32
    ) throws -> (Database, Collection) {
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 6_000))
        let c = try db.createCollection("items", dimension: d, metric: metric, elementType: elementType)
        for start in stride(from: 0, to: n, by: 3_000) {
            try c.upsert(
                (start..<(start + 3_000)).map { i in
                    Record(key: .int(UInt64(i)), vector: row(i), payload: ["bucket": .number(Double(i % 1000))])
                })
        }
        var o = options
        o.defaultNprobe = 6
        try c.createIndex(.ivf(o), threads: 2)
        try c.upsert(extraRows().map { Record(key: .int(UInt64($0.0)), vector: $0.1, payload: ["bucket": .number(0)]) })
        return (db, c)
    }

    static func extraRows() -> [(Int, [Float])] {
        var rng = SeededGenerator(seed: 5)
        return (n..<(n + 300)).map { ($0, rng.vector(d)) }
    }

    /// Brute-force top-k keys over the records `keep` admits.
    static func truth(_ q: [Float], k: Int, metric: Metric, keep: (Int) -> Bool) -> [Int] {
        var all: [(Int, Double)] = []
        for i in 0..<n where keep(i) { all.append((i, SyntheticData.referenceDistance(q, row(i), metric))) }
        for (i, v) in extraRows() where keep(i) { all.append((i, SyntheticData.referenceDistance(q, v, metric))) }
        all.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        return all.prefix(k).map(\.0)
    }

    static func keys(_ results: [SearchResult]) -> [Int] {
        results.compactMap { r -> Int? in
            if case .int(let v) = r.key { return Int(v) }
            return nil
        }
    }

    static func recall(
        _ c: Collection, nprobe: Int?, metric: Metric = .l2, filter: Filter? = nil,
        keep: (Int) -> Bool = { _ in true }
    ) throws -> Double {
        var hits = 0
        var total = 0
        for i in 0..<50 {
            let got = keys(try c.search(query(i), k: 10, options: SearchOptions(filter: filter, width: nprobe)))
            let want = truth(query(i), k: 10, metric: metric, keep: keep)
            hits += Set(got).intersection(want).count
            total += want.count
        }
        return total == 0 ? 1 : Double(hits) / Double(total)
    }

    static func files(_ dir: TemporaryDirectory, prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path + "/items").filter { $0.hasPrefix(prefix) }.sorted()
    }

    @Test(
        "IVF-Flat: recall rises with nprobe, is exact at nprobe = nlist, and survives reopen unchanged",
        arguments: [Metric.l2, .cosine])
    func flat(metric: VecDB.Metric) throws {
        let dir = TemporaryDirectory()
        let options = IVFIndexOptions(encoding: .flat, nlist: Self.nlist, seed: 3)
        var before: [[SearchResult]] = []
        do {
            let (db, c) = try Self.makeCollection(dir, options, metric: metric)
            defer { db.close() }
            #expect(c.index == .ivf(Self.withNprobe(options, 6)))
            #expect(c.indexedSegments == (2, 2))
            let r1 = try Self.recall(c, nprobe: 1, metric: metric)
            let r4 = try Self.recall(c, nprobe: 4, metric: metric)
            let r16 = try Self.recall(c, nprobe: 16, metric: metric)
            #expect(r1 < r4 && r4 <= r16, "recall by nprobe 1/4/16: \(r1) \(r4) \(r16)")
            #expect(r16 >= 0.95)
            // Every list scanned: the result is the brute-force one, in order.
            for i in 0..<20 {
                let got = Self.keys(try c.search(Self.query(i), k: 10, options: SearchOptions(width: Self.nlist)))
                #expect(got == Self.truth(Self.query(i), k: 10, metric: metric, keep: { _ in true }))
            }
            before = try (0..<20).map { try c.search(Self.query($0), k: 10) }
        }
        // The shared quantiser and one list file per segment, on disk.
        #expect(try Self.files(dir, prefix: "ivf-").count == 3)
        #expect(try Self.files(dir, prefix: "ivf-").contains("ivf-quantizer.idx"))
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 6_000))
        defer { db.close() }
        let c = try db.collection("items")
        #expect(c.index == .ivf(Self.withNprobe(options, 6)) && c.index?.defaultWidth == 6)
        #expect(c.indexedSegments == (2, 2))
        #expect(try (0..<20).map { try c.search(Self.query($0), k: 10) } == before)
    }

    @Test(
        "IVF-SQ8 and IVF-PQ (with and without re-ranking): recall rises with nprobe, same after reopen",
        arguments: [
            IVFIndexOptions(encoding: .sq8, nlist: 48), IVFIndexOptions(encoding: .pq(subquantizers: 8), nlist: 48),
            IVFIndexOptions(encoding: .pq(subquantizers: 4), nlist: 48, rerank: 100),
        ])
    func quantised(options: IVFIndexOptions) throws {
        let dir = TemporaryDirectory()
        var before: [[SearchResult]] = []
        do {
            let (db, c) = try Self.makeCollection(dir, options)
            defer { db.close() }
            let r1 = try Self.recall(c, nprobe: 1)
            let r8 = try Self.recall(c, nprobe: 8)
            let floor: Double
            switch options.encoding {
            case .sq8: floor = 0.9
            default: floor = options.rerank > 0 ? 0.9 : 0.5
            }
            #expect(r1 < r8 && r8 >= floor, "\(options.encoding) rerank \(options.rerank): recall at nprobe 1: \(r1), 8: \(r8)")
            before = try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 8)) }
        }
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 6_000))
        defer { db.close() }
        let c = try db.collection("items")
        #expect(c.index == .ivf(Self.withNprobe(options, 6)))
        #expect(try (0..<20).map { try c.search(Self.query($0), k: 10, options: SearchOptions(width: 8)) } == before)
    }

    @Test("filtered IVF search recall ≥ 0.95 at 50%, 10%, 1% and 0.1% selectivity", arguments: [500, 100, 10, 1])
    func filtered(buckets: Int) throws {
        let dir = TemporaryDirectory()
        let (db, c) = try Self.makeCollection(dir, IVFIndexOptions(encoding: .flat, nlist: Self.nlist))
        defer { db.close() }
        let f = try Filter(parsing: "bucket < \(buckets)")
        let r = try Self.recall(c, nprobe: 12, filter: f, keep: { $0 >= Self.n || $0 % 1000 < buckets })
        #expect(r >= 0.95, "selectivity \(Double(buckets) / 1000): recall \(r)")
    }

    @Test("deleted keys never come back; compaction rebuilds the lists and removes the old files")
    func deletesAndCompaction() throws {
        let dir = TemporaryDirectory()
        let (db, c) = try Self.makeCollection(dir, IVFIndexOptions(encoding: .sq8, nlist: Self.nlist))
        defer { db.close() }
        var rng = SeededGenerator(seed: 11)
        var deleted = Set<Int>()
        while deleted.count < Self.n * 3 / 10 { deleted.insert(Int(rng.next() % UInt64(Self.n))) }
        _ = try c.delete(deleted.map { .int(UInt64($0)) })
        for i in 0..<50 {
            for k in Self.keys(try c.search(Self.query(i), k: 10, options: SearchOptions(width: 8))) {
                #expect(!deleted.contains(k), "deleted key \(k) returned")
            }
        }
        #expect(try Self.recall(c, nprobe: 12, keep: { !deleted.contains($0) }) >= 0.9)
        let old = try Self.files(dir, prefix: "ivf-")
        try c.compact()
        try c.refreshIndex()
        #expect(c.indexedSegments.indexed == c.indexedSegments.total)
        let now = try Self.files(dir, prefix: "ivf-")
        #expect(now.count == c.indexedSegments.total + 1 && now != old, "old \(old), now \(now)")
        #expect(try Self.recall(c, nprobe: 12, keep: { !deleted.contains($0) }) >= 0.9)
    }

    @Test("drift grows when new vectors move away from the centroids, and retraining brings it back")
    func driftAndRetrain() throws {
        let dir = TemporaryDirectory()
        let (db, c) = try Self.makeCollection(dir, IVFIndexOptions(encoding: .flat, nlist: Self.nlist))
        defer { db.close() }
        try c.refreshIndex()
        let start = try #require(c.indexDrift)
        #expect(abs(start - 1) < 0.1, "drift right after training \(start)")
        // Vectors from elsewhere in the space: shifted clusters.
        let shifted = SyntheticData.clustered(count: 12_000, dimension: Self.d, clusters: 60, sigma: 0.25, seed: 404)
        try c.upsert(
            (0..<12_000).map { i in
                Record(key: .int(UInt64(100_000 + i)), vector: shifted[(i * Self.d)..<((i + 1) * Self.d)].map { $0 + 2 })
            })
        try c.flush()
        try c.refreshIndex()
        let drifted = try #require(c.indexDrift)
        #expect(drifted > 1.5, "drift after shifted inserts \(drifted)")
        #expect(c.stats().indexDrift == drifted)
        try c.retrainIndex(threads: 2)
        let retrained = try #require(c.indexDrift)
        #expect(retrained < 1.2, "drift after retraining \(retrained)")
        #expect(c.indexListSizes?.reduce(0, +) == c.count)
    }

    @Test("bad IVF requests are typed errors; switching from HNSW removes the graphs")
    func errorsAndSwitching() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 6_000))
        defer { db.close() }
        let c = try db.createCollection("items", dimension: Self.d, metric: .l2)
        try c.upsert((0..<100).map { Record(key: .int(UInt64($0)), vector: Self.row($0)) })
        expectVecDBError(.invalidArgument, containing: "needs at least 200 stored vectors") {
            try c.createIndex(.ivf(IVFIndexOptions(encoding: .flat, nlist: 200)))
        }
        expectVecDBError(.invalidArgument, containing: "needs at least 256") {
            try c.createIndex(.ivf(IVFIndexOptions(encoding: .pq(subquantizers: 4), nlist: 8)))
        }
        expectVecDBError(.invalidArgument, containing: "divide") {
            try c.createIndex(.ivf(IVFIndexOptions(encoding: .pq(subquantizers: 5), nlist: 8)))
        }
        expectVecDBError(.invalidArgument, containing: "applies to IVF-PQ only") {
            try c.createIndex(.ivf(IVFIndexOptions(encoding: .sq8, rerank: 10)))
        }
        expectVecDBError(.unsupported, containing: "no IVF index") { try c.retrainIndex() }
        try c.upsert((100..<3000).map { Record(key: .int(UInt64($0)), vector: Self.row($0)) })
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 40)))
        #expect(try Self.files(dir, prefix: "hnsw-").count == c.indexedSegments.total)
        try c.createIndex(.ivf(IVFIndexOptions(encoding: .flat, nlist: 16)))
        #expect(try Self.files(dir, prefix: "hnsw-").isEmpty)
        #expect(try Self.files(dir, prefix: "ivf-").count == c.indexedSegments.total + 1)
        expectVecDBError(.invalidArgument, containing: "nprobe must be") {
            try c.search(Self.query(0), k: 5, options: SearchOptions(width: 0))
        }
        // Nothing stored was lost along the way.
        #expect(c.count == 3000)
        #expect(Self.keys(try c.search(Self.row(42), k: 1, options: SearchOptions(width: 16))) == [42])
    }

    @Test("a new default nprobe or ef is recorded without rebuilding; new parameters rebuild")
    func defaultWidthOnly() throws {
        let dir = TemporaryDirectory()
        let options = IVFIndexOptions(encoding: .flat, nlist: 16)
        let (db, c) = try Self.makeCollection(dir, options)
        defer { db.close() }
        func lists() -> [ObjectIdentifier] {
            let s = c.indexes.catalog
            return s.entries.keys.sorted().compactMap { id -> ObjectIdentifier? in
                if case .ivf(let l) = s.entries[id]?.index { return ObjectIdentifier(l) }
                return nil
            }
        }
        try c.flush()
        try c.refreshIndex()
        let segments = c.indexedSegments.total
        let before = lists()
        #expect(before.count == segments)
        try c.createIndex(.ivf(Self.withNprobe(options, 9)))
        #expect(c.index?.defaultWidth == 9 && lists() == before)
        try c.createIndex(.ivf(IVFIndexOptions(encoding: .flat, nlist: 24)))
        #expect(c.index?.defaultWidth == Collection.defaultNprobe)
        #expect(lists().count == segments && Set(lists()).isDisjoint(with: before))
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 40, defaultEF: 20)))
        let graphs = c.indexes.catalog.entries.values.compactMap { e -> ObjectIdentifier? in
            if case .graph(let g) = e.index { return ObjectIdentifier(g) }
            return nil
        }
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 40, defaultEF: 30)))
        let again = c.indexes.catalog.entries.values.compactMap { e -> ObjectIdentifier? in
            if case .graph(let g) = e.index { return ObjectIdentifier(g) }
            return nil
        }
        #expect(c.index?.defaultWidth == 30 && Set(again) == Set(graphs) && graphs.count == segments)
    }

    @Test("a damaged list file is ignored and rebuilt; a damaged quantiser is retrained")
    func damagedFiles() throws {
        let dir = TemporaryDirectory()
        let options = IVFIndexOptions(encoding: .flat, nlist: Self.nlist)
        do {
            let (db, _) = try Self.makeCollection(dir, options)
            db.close()
        }
        for name in try Self.files(dir, prefix: "ivf-") {
            let path = dir.path + "/items/" + name
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0xFF
            bytes[30] ^= 0x01  // nlist, inside the checksummed header
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 6_000))
        defer { db.close() }
        let c = try db.collection("items")
        // Searched exactly meanwhile.
        for i in 0..<10 {
            #expect(Self.keys(try c.search(Self.query(i), k: 10)) == Self.truth(Self.query(i), k: 10, metric: .l2, keep: { _ in true }))
        }
        try c.refreshIndex()
        #expect(c.indexedSegments == (2, 2))
        #expect(try Self.recall(c, nprobe: 16) >= 0.95)
    }
}
