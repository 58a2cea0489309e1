import Testing
import VecDBKernels
import VecDBTestSupport

@Suite("Exact search")
struct ExactSearchTests {
    @Test("top-k heap keeps the k smallest, ties by id")
    func heap() {
        var rng = SeededGenerator(seed: 11)
        let items = (0..<500).map { i in Neighbor(id: UInt64(i), distance: Float(rng.next() % 50)) }
        var heap = TopKHeap(k: 17)
        for n in items.shuffled(using: &rng) { heap.push(distance: n.distance, id: n.id) }
        #expect(heap.sorted() == Array(items.sorted(by: Neighbor.precedes).prefix(17)))
        var empty = TopKHeap(k: 0)
        empty.push(distance: 1, id: 1)
        #expect(empty.sorted().isEmpty)
    }

    @Test("single queries agree with brute force", arguments: Metric.allCases)
    func single(metric: Metric) throws {
        let d = 37
        let n = 1000
        let rows = SyntheticData.clustered(count: n, dimension: d, clusters: 10, seed: 5)
        let search = ExactSearch(metric: metric, dimension: d)
        for qi in 0..<10 {
            let q = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(1000 + qi))
            let got = try RowMatrix.with(rows, dimension: d) { try search.search(q, in: $0, k: 10) }
            let want = SyntheticData.bruteForce(query: q, rows: rows, dimension: d, metric: metric, k: 10)
            #expect(got.map { Int($0.id) } == want.map(\.index), "\(metric) query \(qi)")
            for (g, w) in zip(got, want) { #expect(abs(Double(g.distance) - w.distance) < 1e-4 * max(1, abs(w.distance))) }
        }
    }

    @Test("cosine over pre-normalised rows matches cosine over raw rows")
    func normalisedCosine() throws {
        let d = 24
        let raw = SyntheticData.uniform(count: 300, dimension: d, seed: 9)
        var unit = [Float]()
        for r in 0..<300 { unit += ExactSearch.normalized(Array(raw[(r * d)..<((r + 1) * d)])) }
        let q = SyntheticData.uniform(count: 1, dimension: d, seed: 10)
        let a = try RowMatrix.with(raw, dimension: d) { try ExactSearch(metric: .cosine, dimension: d).search(q, in: $0, k: 15) }
        let b = try RowMatrix.with(unit, dimension: d) {
            try ExactSearch(metric: .cosine, dimension: d, rowsNormalized: true).search(q, in: $0, k: 15)
        }
        #expect(a.map(\.id) == b.map(\.id))
    }

    @Test("ties break by id, deterministically")
    func ties() throws {
        let d = 4
        var rows = [Float]()
        for _ in 0..<50 { rows += [1, 1, 1, 1] }  // every row at the same distance
        let got = try RowMatrix.with(rows, dimension: d) { try ExactSearch(metric: .l2, dimension: d).search([0, 0, 0, 0], in: $0, k: 5) }
        #expect(got.map(\.id) == [0, 1, 2, 3, 4])
    }

    @Test("filters and ids are honoured, and segments merge through one heap")
    func filteredMerge() throws {
        let d = 8
        let a = SyntheticData.uniform(count: 400, dimension: d, seed: 21)
        let b = SyntheticData.uniform(count: 300, dimension: d, seed: 22)
        let q = SyntheticData.uniform(count: 1, dimension: d, seed: 23)
        let search = ExactSearch(metric: .l2, dimension: d)
        var heap = TopKHeap(k: 10)
        RowMatrix.with(a, dimension: d) { m in
            q.withUnsafeBufferPointer { search.scan(prepared: $0.baseAddress!, rows: m, idBase: 0, allow: { $0 % 2 == 0 }, heap: &heap) }
        }
        RowMatrix.with(b, dimension: d) { m in
            q.withUnsafeBufferPointer { search.scan(prepared: $0.baseAddress!, rows: m, idBase: 400, heap: &heap) }
        }
        let all = a + b
        let want = SyntheticData.bruteForce(query: q, rows: all, dimension: d, metric: .l2, k: 10, allow: { $0 >= 400 || $0 % 2 == 0 })
        #expect(heap.sorted().map { Int($0.id) } == want.map(\.index))
    }

    @Test("batches (threaded and GEMM) agree with brute force", arguments: [Metric.l2, .ip, .cosine], [5, 100])
    func batch(metric: Metric, queries nq: Int) throws {
        let d = 40
        let n = 2000
        let rows = SyntheticData.clustered(count: n, dimension: d, clusters: 20, seed: 31)
        let qs = SyntheticData.uniform(count: nq, dimension: d, seed: 32)
        let search = ExactSearch(metric: metric, dimension: d)
        let got = try RowMatrix.with(rows, dimension: d) { r in
            try RowMatrix.with(qs, dimension: d) { q in try search.searchBatch(q, in: r, k: 10, threads: 2) }
        }
        #expect(got.count == nq)
        for i in 0..<nq {
            let want = SyntheticData.bruteForce(query: Array(qs[(i * d)..<((i + 1) * d)]), rows: rows, dimension: d, metric: metric, k: 10)
            // GEMM reorders the arithmetic: compare distances, and ids where distances are distinct.
            for (g, w) in zip(got[i], want) { #expect(abs(Double(g.distance) - w.distance) < 1e-3 * max(1, abs(w.distance))) }
            let overlap = Set(got[i].map { Int($0.id) }).intersection(want.map(\.index)).count
            #expect(overlap >= 9, "query \(i): \(overlap)/10")
        }
    }

    @Test("bad queries are typed errors")
    func badInput() {
        let rows = [Float](repeating: 0, count: 12)
        let search = ExactSearch(metric: .l2, dimension: 3)
        RowMatrix.with(rows, dimension: 3) { m in
            expectVecDBError(.dimensionMismatch, containing: "query expects 3 dimensions, got 2") {
                try search.search([1, 2], in: m, k: 1)
            }
            expectVecDBError(.nonFiniteValue, containing: "component 1 is nan") { try search.search([1, .nan, 3], in: m, k: 1) }
            expectVecDBError(.nonFiniteValue, containing: "component 2 is inf") { try search.search([1, 2, .infinity], in: m, k: 1) }
        }
    }

    @Test("GEMM agrees with a naive product")
    func gemm() {
        let m = 7
        let n = 9
        let k = 13
        let a = SyntheticData.uniform(count: m, dimension: k, seed: 41)
        let b = SyntheticData.uniform(count: n, dimension: k, seed: 42)  // used transposed: n × k
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(
                        transB: true, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: k, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[j * k + p]) }
                #expect(abs(Double(c[i * n + j]) - s) < 1e-4)
            }
        }
    }
}
