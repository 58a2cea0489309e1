import Testing
import VecDBEngine
import VecDBIndex
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

/// The query engine over a real store: two sealed, indexed segments and a memory buffer, with
/// deletions; searches compared against brute force, and the planner's choices checked.
@Suite("query engine")
struct QueryEngineTests {
    static let d = 8
    static let n = 4_000
    static let flat = SyntheticData.clustered(count: n, dimension: d, clusters: 25, sigma: 0.1, seed: 21)
    static func row(_ i: Int) -> [Float] { Array(flat[(i * d)..<((i + 1) * d)]) }
    /// Payload byte: the row's residue mod 10, so a predicate can admit 10 %, 50 % or none.
    static func payload(_ i: Int) -> [UInt8] { [UInt8(i % 10)] }

    /// Rows 0..<3000 in two segments of 1,500 with HNSW graphs, 3000..<4000 in the memory
    /// buffer; every 7th row deleted.
    static func makeStore(_ dir: TemporaryDirectory) throws -> (CollectionStore, SegmentIndexes) {
        try CollectionStore.create(fs: .system, directory: dir.path, dimension: d, metric: .l2, elementType: .float32)
        var options = StoreOptions()
        options.memtableRows = 1_500
        let store = try CollectionStore(directory: dir.path, options: options)
        func batch(_ range: Range<Int>) -> WALBatch {
            WALBatch(keys: range.map { .int(UInt64($0)) }, vectors: range.flatMap(row), payloads: range.map { payload($0) })
        }
        _ = try store.commit(batch(0..<1_500))
        _ = try store.commit(batch(1_500..<3_000))
        try store.flush()
        let indexes = SegmentIndexes(directory: dir.path, metric: .l2, dimension: d)
        try indexes.create(
            IndexSpec(hnsw: HNSWGraph.Parameters(m: 12, efConstruction: 80)), snapshot: store.snapshot(), threads: 1, progress: nil)
        _ = try store.commit(batch(3_000..<n))
        _ = try store.commit(WALBatch(deletes: stride(from: 0, to: n, by: 7).map { .int(UInt64($0)) }))
        return (store, indexes)
    }

    static func truth(_ q: [Float], k: Int, keep: (Int) -> Bool) -> [Key] {
        let live = (0..<n).filter { $0 % 7 != 0 && keep($0) }.map { (Key.int(UInt64($0)), row($0)) }
        return BruteForce.nearest(q, live, k: k, metric: .l2).map(\.0)
    }

    /// A filter on the payload byte resolved to rows, as the facade's resolver does (here by
    /// reading every payload).
    static func resolve(_ snap: Snapshot, _ keep: (UInt8) -> Bool) throws -> FilterRows {
        var segments: [UInt64: RowBitmap] = [:]
        for (ordinal, view) in snap.segments.enumerated() {
            var bits = RowBitmap(rowCount: view.segment.count)
            for r in 0..<view.segment.count where try keep(snap.payload(ordinal: ordinal, row: r)?.first ?? 255) { bits.insert(r) }
            segments[view.segment.id] = bits
        }
        var mem = RowBitmap(rowCount: snap.memCount)
        for r in 0..<snap.memCount where keep(snap.memtable.payload(at: r)?.first ?? 255) { mem.insert(r) }
        return FilterRows(segments: segments, memtable: mem)
    }

    @Test("exact requests equal brute force over live rows, with and without a filter")
    func exactMatchesBruteForce() throws {
        let dir = TemporaryDirectory()
        let (store, indexes) = try Self.makeStore(dir)
        defer { store.close() }
        let engine = QueryEngine(indexes: indexes)
        let snap = store.snapshot()
        var g = SeededGenerator(seed: 2)
        let half = try Self.resolve(snap) { $0 < 5 }
        for _ in 0..<15 {
            let q = g.vector(Self.d)
            let all = try engine.search(SearchRequest(query: q, k: 12, ef: 32, nprobe: 1, exact: true), in: snap)
            #expect(all.map(\.key) == Self.truth(q, k: 12) { _ in true })
            let some = try engine.search(SearchRequest(query: q, k: 12, rows: half, ef: 32, nprobe: 1, exact: true), in: snap)
            #expect(some.map(\.key) == Self.truth(q, k: 12) { $0 % 10 < 5 })
            #expect(some.allSatisfy { ($0.payload?.first ?? 255) < 5 })
        }
    }

    @Test("indexed requests reach recall 0.9 and never return deleted or filtered-out rows")
    func indexedRecall() throws {
        let dir = TemporaryDirectory()
        let (store, indexes) = try Self.makeStore(dir)
        defer { store.close() }
        let engine = QueryEngine(indexes: indexes)
        let snap = store.snapshot()
        let tenth = try Self.resolve(snap) { $0 == 3 }
        var hits = 0
        var filteredHits = 0
        let queries = (0..<40).map { Self.row($0 * 97 + 1) }
        for q in queries {
            let got = try engine.search(SearchRequest(query: q, k: 10, ef: 64, nprobe: 1), in: snap).map(\.key)
            hits += Set(got).intersection(Self.truth(q, k: 10) { _ in true }).count
            let f = try engine.search(SearchRequest(query: q, k: 10, rows: tenth, ef: 64, nprobe: 1), in: snap).map(\.key)
            filteredHits += Set(f).intersection(Self.truth(q, k: 10) { $0 % 10 == 3 }).count
            for case .int(let k) in got + f { #expect(k % 7 != 0, "deleted row \(k) returned") }
            for case .int(let k) in f { #expect(k % 10 == 3, "row \(k) fails the predicate") }
        }
        #expect(Double(hits) / Double(queries.count * 10) >= 0.9)
        #expect(Double(filteredHits) / Double(queries.count * 10) >= 0.9)
        // A batch gives what single requests give.
        let requests = queries.map { SearchRequest(query: $0, k: 10, rows: tenth, ef: 64, nprobe: 1) }
        let batch = try engine.search(requests, in: snap, threads: 2)
        let single = try requests.map { try engine.search($0, in: snap) }
        #expect(batch.map { $0.map(\.key) } == single.map { $0.map(\.key) })
    }

    @Test("on long rows a 30 % filter takes the two-hop walk, with recall ≥ 0.9 and no rejected row")
    func twoHopThroughTheEngine() throws {
        let d = 256
        let n = 3_000
        let flat = SyntheticData.clustered(count: n, dimension: d, clusters: 25, sigma: 0.1, seed: 5)
        func row(_ i: Int) -> [Float] { Array(flat[(i * d)..<((i + 1) * d)]) }
        let dir = TemporaryDirectory()
        try CollectionStore.create(fs: .system, directory: dir.path, dimension: d, metric: .l2, elementType: .float32)
        var options = StoreOptions()
        options.memtableRows = n
        let store = try CollectionStore(directory: dir.path, options: options)
        defer { store.close() }
        _ = try store.commit(
            WALBatch(keys: (0..<n).map { .int(UInt64($0)) }, vectors: (0..<n).flatMap(row), payloads: (0..<n).map { Self.payload($0) }))
        try store.flush()
        _ = try store.commit(WALBatch(deletes: stride(from: 0, to: n, by: 7).map { .int(UInt64($0)) }))
        let indexes = SegmentIndexes(directory: dir.path, metric: .l2, dimension: d)
        try indexes.create(
            IndexSpec(hnsw: HNSWGraph.Parameters(m: 12, efConstruction: 80)), snapshot: store.snapshot(), threads: 1, progress: nil)
        let engine = QueryEngine(indexes: indexes)
        let snap = store.snapshot()
        let third = try Self.resolve(snap) { $0 < 3 }
        let view = try #require(snap.segments.first)
        var live = try #require(third.segments[view.segment.id])
        live.subtract(view.dead)
        let request = SearchRequest(query: row(0), k: 5, rows: third, ef: 6, nprobe: 1)
        guard case .admitted = SegmentPlan.choose(for: view, entry: indexes.catalog.entries[view.segment.id], request: request, rows: live)
        else {
            Issue.record("expected the two-hop walk")
            return
        }
        var hits = 0
        let queries = (0..<40).map { row($0 * 71 + 3) }
        for q in queries {
            let got = try engine.search(SearchRequest(query: q, k: 5, rows: third, ef: 6, nprobe: 1), in: snap).map(\.key)
            #expect(got.count == 5)
            for case .int(let k) in got { #expect(k % 7 != 0 && k % 10 < 3, "row \(k) is deleted or fails the filter") }
            let live = (0..<n).filter { $0 % 7 != 0 && $0 % 10 < 3 }.map { (Key.int(UInt64($0)), row($0)) }
            hits += Set(got).intersection(BruteForce.nearest(q, live, k: 5, metric: .l2).map(\.0)).count
        }
        #expect(Double(hits) / Double(queries.count * 5) >= 0.9, "two-hop recall \(Double(hits) / Double(queries.count * 5))")
    }

    @Test("the two-hop walk is chosen only where a row costs more cache lines than the link lists it saves")
    func twoHopCost() {
        // M 16: a link list is 132 bytes, 3 lines. 784-d Float32: 49 lines; 50-d: 4.
        #expect(SegmentPlan.twoHopPays(selectivity: 0.1, m: 16, rowBytes: 784 * 4))  // 2 · 5 · 3 = 30
        #expect(SegmentPlan.twoHopPays(selectivity: 0.0625, m: 16, rowBytes: 784 * 4))  // 2 · 8 · 3 = 48
        #expect(!SegmentPlan.twoHopPays(selectivity: 0.05, m: 16, rowBytes: 784 * 4))  // 2 · 10 · 3 = 60
        #expect(!SegmentPlan.twoHopPays(selectivity: 0.1, m: 16, rowBytes: 784 * 2))  // Float16: 25 lines
        #expect(!SegmentPlan.twoHopPays(selectivity: 0.3, m: 16, rowBytes: 50 * 4))
        #expect(SegmentPlan.twoHopPays(selectivity: 0.3, m: 16, rowBytes: 256 * 4))  // 2 · 1.67 · 3 = 10 ≤ 16
    }

    @Test("the planner skips, scans exactly, or walks the graph as the filter's selectivity says")
    func plans() throws {
        let dir = TemporaryDirectory()
        let (store, indexes) = try Self.makeStore(dir)
        defer { store.close() }
        let snap = store.snapshot()
        let view = try #require(snap.segments.first)
        let entry = indexes.catalog.entries[view.segment.id]
        #expect(entry != nil)
        func describe(_ p: SegmentPlan) -> String {
            switch p {
            case .skip: return "skip"
            case .exact(let allow): return allow == nil ? "exact all" : "exact"
            case .exactRows(let rows): return "rows \(rows.count)"
            case .graph(_, let ef, let allow): return "graph \(ef)" + (allow == nil ? "" : " filtered")
            case .admitted(_, let ef, let rows): return "two-hop \(ef) over \(rows.count)"
            case .lists(_, let nprobe, _): return "lists \(nprobe)"
            }
        }
        // A filter resolved to a bitmap is planned from its count (segment of 1,500 rows, M 12).
        func plan(ef: Int, rows keep: (Int) -> Bool, entry e: SegmentIndexes.Entry?) -> String {
            let request = SearchRequest(query: Self.row(0), k: 10, ef: ef, nprobe: 1)
            let bits = RowBitmap(rowCount: view.segment.count, rows: (0..<view.segment.count).filter(keep).map { UInt32($0) })
            return describe(SegmentPlan.choose(for: view, entry: e, request: request, rows: bits))
        }
        guard case .graph(let g)? = entry?.index else {
            Issue.record("expected an HNSW entry")
            return
        }
        #expect(g.parameters.m == 12)
        #expect(plan(ef: 20, rows: { _ in false }, entry: entry) == "skip")
        #expect(plan(ef: 20, rows: { _ in true }, entry: entry) == "graph 20")
        // From 1/M to 0.4: the exact scan while the matches are at most 4·ef·M (960 at ef 20,
        // 480 at ef 10), the two-hop walk beyond ...
        #expect(plan(ef: 20, rows: { $0 % 10 == 0 }, entry: entry) == "rows 150")
        #expect(plan(ef: 20, rows: { $0 % 20 < 7 }, entry: entry) == "rows 525")
        // ... when it pays, which it does not for these 8-d rows (one cache line): the routing walk.
        #expect(plan(ef: 10, rows: { $0 % 20 < 7 }, entry: entry) == "graph 10 filtered")
        // From 0.4, and below 1/M: the routing walk, which costs ef / s expansions of M distances,
        // unless the exact scan costs less (at 1/20 and ef 10: 200 × 12 = 2,400 against 75).
        #expect(plan(ef: 10, rows: { $0 % 2 == 0 }, entry: entry) == "graph 10 filtered")
        #expect(plan(ef: 10, rows: { $0 % 100 < 99 }, entry: entry) == "graph 10 filtered")
        #expect(plan(ef: 40, rows: { $0 % 2 == 0 }, entry: entry) == "rows 750")
        #expect(plan(ef: 10, rows: { $0 % 20 == 0 }, entry: entry) == "rows 75")
        // Without an index: the listed rows when under a quarter match, else the gated scan.
        #expect(plan(ef: 20, rows: { $0 % 10 == 0 }, entry: nil) == "rows 150")
        #expect(plan(ef: 20, rows: { $0 % 2 == 0 }, entry: nil) == "exact")
        #expect(plan(ef: 20, rows: { _ in true }, entry: nil) == "exact all")
        // No filter: the index at the query's ef, deleted rows (every 7th) kept out by the gate.
        let request = SearchRequest(query: Self.row(0), k: 10, ef: 20, nprobe: 1)
        #expect(describe(SegmentPlan.choose(for: view, entry: entry, request: request)) == "graph 20 filtered")
        #expect(describe(SegmentPlan.choose(for: view, entry: nil, request: request)) == "exact")
    }
}
