import Testing
import VecDBIndex
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@Suite("HNSW graph")
struct HNSWGraphTests {
    static let d = 24
    static let n = 4000
    static let rows = SyntheticData.clustered(count: n, dimension: d, clusters: 40, sigma: 0.15, seed: 1)
    static let queries = SyntheticData.clustered(count: 100, dimension: d, clusters: 40, sigma: 0.15, seed: 1, pointSeed: 1_000_001)

    /// Mean recall@k of the graph against brute force.
    static func recall(
        _ g: HNSWGraph, rows: [Float], metric: Metric, k: Int = 10, ef: Int,
        allow: ((Int) -> Bool)? = nil
    ) -> Double {
        var hits = 0
        var total = 0
        for i in 0..<100 {
            var q = Array(queries[(i * d)..<((i + 1) * d)])
            if metric == .cosine { q = ExactSearch.normalized(q) }
            let want = SyntheticData.bruteForce(query: q, rows: rows, dimension: d, metric: metric, k: k, allow: allow ?? { _ in true })
            let got = q.withUnsafeBufferPointer { p in
                g.search(p.baseAddress!, k: k, ef: ef, allow: allow.map { f in { f(Int($0)) } })
            }
            hits += Set(got.map { Int($0.id) }).intersection(want.map(\.index)).count
            total += want.count
        }
        return Double(hits) / Double(total)
    }

    static func unitRows() -> [Float] {
        var out = [Float]()
        for r in 0..<n { out += ExactSearch.normalized(Array(rows[(r * d)..<((r + 1) * d)])) }
        return out
    }

    @Test("recall@10 ≥ 0.95 against brute force", arguments: [Metric.l2, .cosine])
    func recall(metric: Metric) throws {
        let data = metric == .cosine ? Self.unitRows() : Self.rows
        try RowMatrix.with(data, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: metric, parameters: .init(m: 12, efConstruction: 100))
            #expect(g.invariantViolations().isEmpty)
            let low = Self.recall(g, rows: data, metric: metric, ef: 10)
            let r = Self.recall(g, rows: data, metric: metric, ef: 64)
            #expect(r >= 0.95, "recall \(r)")
            #expect(r > low, "recall must rise with ef: \(low) at ef=16, \(r) at ef=128")
        }
    }

    @Test("a multi-threaded build is structurally sound and as accurate")
    func threadedBuild() throws {
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 100), threads: 2)
            #expect(g.count == Self.n)
            #expect(g.invariantViolations().isEmpty)
            #expect(Self.recall(g, rows: Self.rows, metric: .l2, ef: 64) >= 0.95)
        }
    }

    @Test("a batch of queries over threads gives each query's single-search answer", arguments: [1, 2, 3])
    func batchedSearch(threads: Int) throws {
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 100))
            try RowMatrix.with(Self.queries, dimension: Self.d) { q in
                let batched = g.search(queries: q, k: 10, ef: 32, threads: threads)
                #expect(batched.count == q.count)
                for i in 0..<q.count {
                    let single = g.search(q[i], k: 10, ef: 32)
                    #expect(batched[i].map(\.id) == single.map(\.id), "query \(i)")
                    #expect(batched[i].map(\.distance) == single.map(\.distance), "query \(i)")
                }
            }
            try RowMatrix.with([], dimension: Self.d) { empty in
                #expect(g.search(queries: empty, k: 10, ef: 32, threads: threads).isEmpty)
            }
        }
    }

    @Test("incremental inserts match a bulk build's accuracy")
    func incremental() throws {
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph(metric: .l2, vectors: m, parameters: .init(m: 12, efConstruction: 100))
            for upTo in stride(from: 500, through: Self.n, by: 500) { try g.add(upTo: upTo) }
            #expect(g.count == Self.n && g.invariantViolations().isEmpty)
            #expect(Self.recall(g, rows: Self.rows, metric: .l2, ef: 64) >= 0.95)
        }
    }

    @Test("deleted nodes never come back, and recall on the rest holds after 30% are deleted")
    func deletes() throws {
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 100))
            var rng = SeededGenerator(seed: 9)
            var deleted = Set<Int>()
            while deleted.count < Self.n * 3 / 10 { deleted.insert(Int(rng.next() % UInt64(Self.n))) }
            for i in deleted { g.markDeleted(UInt32(i)) }
            #expect(g.deletedCount == deleted.count)
            for i in 0..<100 {
                let q = Array(Self.queries[(i * Self.d)..<((i + 1) * Self.d)])
                let got = q.withUnsafeBufferPointer { g.search($0.baseAddress!, k: 10, ef: 64) }
                #expect(got.count == 10)
                #expect(got.allSatisfy { !deleted.contains(Int($0.id)) })
            }
            let r = Self.recall(g, rows: Self.rows, metric: .l2, ef: 64, allow: { !deleted.contains($0) })
            #expect(r >= 0.95, "recall after deletes \(r)")
        }
    }

    @Test("filtered traversal at 50% and 10% selectivity", arguments: [2, 10])
    func filtered(every: Int) throws {
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 100))
            let r = Self.recall(g, rows: Self.rows, metric: .l2, ef: 64 * every, allow: { $0 % every == 0 })
            #expect(r >= 0.95, "1/\(every) selectivity recall \(r)")
        }
    }

    @Test("the two-hop walk over a bitmap matches brute force over admitted live rows", arguments: [50, 20, 10])
    func twoHop(percent: Int) throws {
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 100))
            // Admission uncorrelated with the clusters; every 9th node deleted besides.
            let admit = { (i: Int) in (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) >> 57 < UInt64(percent) * 128 / 100 }
            for i in stride(from: 0, to: Self.n, by: 9) { g.markDeleted(UInt32(i)) }
            var words = [UInt64](repeating: 0, count: (Self.n + 63) / 64)
            for i in 0..<Self.n where admit(i) { words[i >> 6] |= 1 << UInt64(i & 63) }
            var hits = 0
            for i in 0..<100 {
                let q = Array(Self.queries[(i * Self.d)..<((i + 1) * Self.d)])
                let keep = { (r: Int) in admit(r) && r % 9 != 0 }
                let want = SyntheticData.bruteForce(query: q, rows: Self.rows, dimension: Self.d, metric: .l2, k: 10, allow: keep)
                let got = q.withUnsafeBufferPointer { p in
                    words.withUnsafeBufferPointer { g.search(p.baseAddress!, k: 10, ef: 64, admitted: $0) }
                }
                #expect(got.count == 10)
                #expect(got.allSatisfy { keep(Int($0.id)) }, "a rejected or deleted node was returned")
                #expect(zip(got, got.dropFirst()).allSatisfy { $0.distance <= $1.distance })
                hits += Set(got.map { Int($0.id) }).intersection(want.map(\.index)).count
            }
            #expect(Double(hits) / 1000 >= 0.95, "two-hop recall at \(percent)%: \(Double(hits) / 1000)")
            // Nothing admitted, or a bitmap shorter than the graph: only what it covers.
            let none = [UInt64](repeating: 0, count: words.count)
            let q = Array(Self.queries[0..<Self.d])
            #expect(
                q.withUnsafeBufferPointer { p in none.withUnsafeBufferPointer { g.search(p.baseAddress!, k: 10, ef: 64, admitted: $0) } }
                    .isEmpty)
            let short = Array(words.prefix(2))
            let got = q.withUnsafeBufferPointer { p in
                short.withUnsafeBufferPointer { g.search(p.baseAddress!, k: 10, ef: 64, admitted: $0) }
            }
            #expect(got.allSatisfy { $0.id < 128 && admit(Int($0.id)) })
        }
    }

    @Test("float16 traversal: recall against brute force, exact distances, and the file round trip", arguments: [Metric.l2, .cosine])
    func float16Traversal(metric: Metric) throws {
        let data = metric == .cosine ? Self.unitRows() : Self.rows
        let dir = TemporaryDirectory()
        try RowMatrix.with(data, dimension: Self.d) { m in
            let params = HNSWGraph.Parameters(m: 12, efConstruction: 100, traversal: .float16)
            let g = try HNSWGraph(metric: metric, vectors: m, parameters: params)
            // Built in two steps, so the copy grows with the graph.
            try g.add(upTo: Self.n / 3)
            try g.add(upTo: Self.n)
            let plain = try HNSWGraph.build(vectors: m, metric: metric, parameters: .init(m: 12, efConstruction: 100))
            // The copy costs two bytes per component.
            #expect(g.memoryBytes - plain.memoryBytes == Self.n * Self.d * 2)
            #expect(Self.recall(g, rows: data, metric: metric, ef: 64) >= 0.95)
            let path = dir.path + "/g.hnsw"
            try g.write(to: path)
            let opened = try HNSWGraph.open(path, vectors: m, metric: metric, verifyBody: true)
            #expect(opened.parameters.traversal == .float16)
            #expect(opened.memoryBytes == g.memoryBytes)
            let kernels = DistanceKernels.best
            for i in 0..<30 {
                var q = Array(Self.queries[(i * Self.d)..<((i + 1) * Self.d)])
                if metric == .cosine { q = ExactSearch.normalized(q) }
                let got = q.withUnsafeBufferPointer { g.search($0.baseAddress!, k: 10, ef: 48) }
                let reopened = q.withUnsafeBufferPointer { opened.search($0.baseAddress!, k: 10, ef: 48) }
                #expect(got == reopened, "query \(i): the mapped copy walks as the built one")
                #expect(got.count == 10)
                // Distances are the exact Float32 ones, nearest first.
                for r in got {
                    let row = Array(data[(Int(r.id) * Self.d)..<((Int(r.id) + 1) * Self.d)])
                    var want = try kernels.distance(metric == .l2 ? .l2 : .ip, q, row)
                    if metric == .cosine { want = 1 + want }
                    #expect(abs(r.distance - want) <= 1e-5 * max(1, abs(want)), "query \(i) node \(r.id)")
                }
                #expect(zip(got, got.dropFirst()).allSatisfy { $0.distance <= $1.distance })
            }
        }
    }

    @Test("float16 traversal refuses rows outside half precision; a file missing its copy is damaged")
    func float16TraversalErrors() throws {
        var rows = Self.rows
        rows[5 * Self.d + 3] = 70_000
        try RowMatrix.with(rows, dimension: Self.d) { m in
            let g = try HNSWGraph(metric: .l2, vectors: m, parameters: .init(m: 12, efConstruction: 50, traversal: .float16))
            expectVecDBError(.invalidArgument, containing: "row 5 has the component 70000.0") { try g.add(upTo: Self.n) }
            #expect(g.count == 0)
        }
        let dir = TemporaryDirectory()
        try RowMatrix.with(Self.rows, dimension: Self.d) { m in
            let g = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 50, traversal: .float16))
            var bytes = g.fileBytes()
            // Clear the copy's offset (and fix the header checksum): the file says float16 but holds no copy.
            for i in 120..<128 { bytes[i] = 0 }
            for i in 12..<16 { bytes[i] = 0 }
            let crc = CRC32C.checksum(bytes[0..<128])
            for i in 0..<4 { bytes[12 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
            let path = dir.path + "/bad.hnsw"
            try FileSystem().replaceAtomically(path, with: bytes)
            expectVecDBError(.corruptFile, containing: "float16 copy of the rows is missing") {
                _ = try HNSWGraph.open(path, vectors: m, metric: .l2)
            }
            // A version-1 file (a graph over its rows, bytes 17 and 120… zero) is still read.
            let plain = try HNSWGraph.build(vectors: m, metric: .l2, parameters: .init(m: 12, efConstruction: 50))
            var v1 = plain.fileBytes()
            v1[8] = 1
            for i in 12..<16 { v1[i] = 0 }
            let crc1 = CRC32C.checksum(v1[0..<128])
            for i in 0..<4 { v1[12 + i] = UInt8(truncatingIfNeeded: crc1 >> (8 * UInt32(i))) }
            try FileSystem().replaceAtomically(dir.path + "/v1.hnsw", with: v1)
            let old = try HNSWGraph.open(dir.path + "/v1.hnsw", vectors: m, metric: .l2, verifyBody: true)
            #expect(old.parameters == plain.parameters)
            let q = Array(Self.queries[0..<Self.d])
            #expect(
                q.withUnsafeBufferPointer { old.search($0.baseAddress!, k: 10, ef: 32) }
                    == q.withUnsafeBufferPointer { plain.search($0.baseAddress!, k: 10, ef: 32) })
        }
    }

    @Test("bad parameters are typed errors")
    func badParameters() {
        RowMatrix.with([Float](repeating: 0, count: 8), dimension: 4) { m in
            expectVecDBError(.invalidArgument, containing: "M must be") { try HNSWGraph(metric: .l2, vectors: m, parameters: .init(m: 1)) }
            expectVecDBError(.invalidArgument, containing: "efConstruction") {
                try HNSWGraph(metric: .l2, vectors: m, parameters: .init(efConstruction: 0))
            }
            expectVecDBError(.invalidArgument, containing: "only 2 are bound") {
                let g = try HNSWGraph(metric: .l2, vectors: m)
                try g.add(upTo: 5)
            }
        }
    }
}
