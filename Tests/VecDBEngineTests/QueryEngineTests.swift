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

    @Test("exact requests equal brute force over live rows, with and without a payload predicate")
    func exactMatchesBruteForce() throws {
        let dir = TemporaryDirectory()
        let (store, indexes) = try Self.makeStore(dir)
        defer { store.close() }
        let engine = QueryEngine(indexes: indexes)
        let snap = store.snapshot()
        var g = SeededGenerator(seed: 2)
        let half = PayloadPredicate { ($0?.first ?? 255) < 5 }
        for _ in 0..<15 {
            let q = g.vector(Self.d)
            let all = try engine.search(SearchRequest(query: q, k: 12, ef: 32, nprobe: 1, exact: true), in: snap)
            #expect(all.map(\.key) == Self.truth(q, k: 12) { _ in true })
            let some = try engine.search(SearchRequest(query: q, k: 12, filter: half, ef: 32, nprobe: 1, exact: true), in: snap)
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
        let tenth = PayloadPredicate { $0?.first == 3 }
        var hits = 0
        var filteredHits = 0
        let queries = (0..<40).map { Self.row($0 * 97 + 1) }
        for q in queries {
            let got = try engine.search(SearchRequest(query: q, k: 10, ef: 64, nprobe: 1), in: snap).map(\.key)
            hits += Set(got).intersection(Self.truth(q, k: 10) { _ in true }).count
            let f = try engine.search(SearchRequest(query: q, k: 10, filter: tenth, ef: 64, nprobe: 1), in: snap).map(\.key)
            filteredHits += Set(f).intersection(Self.truth(q, k: 10) { $0 % 10 == 3 }).count
            for case .int(let k) in got + f { #expect(k % 7 != 0, "deleted row \(k) returned") }
            for case .int(let k) in f { #expect(k % 10 == 3, "row \(k) fails the predicate") }
        }
        #expect(Double(hits) / Double(queries.count * 10) >= 0.9)
        #expect(Double(filteredHits) / Double(queries.count * 10) >= 0.9)
        // A batch gives what single requests give.
        let requests = queries.map { SearchRequest(query: $0, k: 10, filter: tenth, ef: 64, nprobe: 1) }
        let batch = try engine.search(requests, in: snap, threads: 2)
        let single = try requests.map { try engine.search($0, in: snap) }
        #expect(batch.map { $0.map(\.key) } == single.map { $0.map(\.key) })
    }

    @Test("the planner skips, scans exactly or widens the index as the filter's selectivity says")
    func plans() throws {
        let dir = TemporaryDirectory()
        let (store, indexes) = try Self.makeStore(dir)
        defer { store.close() }
        let snap = store.snapshot()
        let view = try #require(snap.segments.first)
        let entry = indexes.catalog.entries[view.segment.id]
        #expect(entry != nil)
        let request = SearchRequest(query: Self.row(0), k: 10, ef: 20, nprobe: 1)
        func plan(_ allow: ((Int) -> Bool)?, filtered: Bool, entry e: SegmentIndexes.Entry?) -> String {
            switch SegmentPlan.choose(for: view, entry: e, request: request, allow: allow, filtered: filtered) {
            case .skip: return "skip"
            case .exact: return "exact"
            case .exactRows(let rows): return "rows \(rows.count)"
            case .graph(_, let ef, _): return "graph \(ef)"
            case .lists(_, let nprobe, _): return "lists \(nprobe)"
            }
        }
        // A filter resolved to a bitmap is planned from its count: the exact scan of just the
        // matching rows while it reads fewer vectors than the graph search (M per expansion,
        // ef / selectivity expansions), the graph at the query's ef otherwise.
        func plan(rows keep: (Int) -> Bool, entry e: SegmentIndexes.Entry?) -> String {
            let bits = RowBitmap(rowCount: view.segment.count, rows: (0..<view.segment.count).filter(keep).map { UInt32($0) })
            switch SegmentPlan.choose(for: view, entry: e, request: request, rows: bits) {
            case .skip: return "skip"
            case .exact(let allow): return allow == nil ? "exact all" : "exact"
            case .exactRows(let rows): return "rows \(rows.count)"
            case .graph(_, let ef, let allow): return "graph \(ef)" + (allow == nil ? "" : " filtered")
            case .lists(_, let nprobe, _): return "lists \(nprobe)"
            }
        }
        guard case .graph(let g)? = entry?.index else {
            Issue.record("expected an HNSW entry")
            return
        }
        let m = g.parameters.m
        #expect(plan(rows: { _ in false }, entry: entry) == "skip")
        #expect(plan(rows: { _ in true }, entry: entry) == (1500 <= 20 * m ? "rows 1500" : "graph 20"))
        #expect(plan(rows: { $0 % 10 == 0 }, entry: entry) == "rows 150")
        #expect(plan(rows: { $0 % 2 == 0 }, entry: entry) == (750 <= 40 * m ? "rows 750" : "graph 20 filtered"))
        #expect(plan(rows: { $0 % 100 < 99 }, entry: entry) == (1485 <= 20 * m ? "rows 1485" : "graph 20 filtered"))
        // Without an index: the listed rows when under a quarter match, else the gated scan.
        #expect(plan(rows: { $0 % 10 == 0 }, entry: nil) == "rows 150")
        #expect(plan(rows: { $0 % 2 == 0 }, entry: nil) == "exact")
        #expect(plan(rows: { _ in true }, entry: nil) == "exact all")
        #expect(plan(nil, filtered: false, entry: entry) == "graph 20")
        #expect(plan(nil, filtered: false, entry: nil) == "exact")
        #expect(plan({ _ in false }, filtered: true, entry: entry) == "skip")
        // 1,500 rows: 150 pass (≤ 16 × 20) -> exact; 750 pass -> the graph at ef 20 / 0.5.
        #expect(plan({ $0 % 10 == 0 }, filtered: true, entry: entry) == "exact")
        #expect(plan({ $0 % 2 == 0 }, filtered: true, entry: entry) == "graph 40")
        // Deleted rows alone never call for counting matches.
        #expect(plan({ $0 % 2 == 0 }, filtered: false, entry: entry) == "graph 20")
    }
}
