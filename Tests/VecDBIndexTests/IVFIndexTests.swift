import Foundation
import Testing
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDBIndex

enum IVFData {
    static let d = 16
    static let n = 4000
    static let nlist = 32
    static let rows = SyntheticData.clustered(count: n, dimension: d, clusters: 200, sigma: 0.3, seed: 7)
    static let queries = SyntheticData.clustered(count: 60, dimension: d, clusters: 200, sigma: 0.3, seed: 7, pointSeed: 99_001)

    static func query(_ i: Int) -> [Float] { Array(queries[(i * d)..<((i + 1) * d)]) }

    static func build(_ encoding: IVFIndex.Encoding, metric: Metric = .l2, rows: [Float] = rows) throws -> IVFIndex {
        let index = try IVFIndex(metric: metric, dimension: d, nlist: nlist, encoding: encoding)
        try RowMatrix.with(rows, dimension: d) { m in
            try index.train(m, parameters: .init(iterations: 10, seed: 5, threads: 2))
            try index.add(m, threads: 2)
        }
        return index
    }

    /// Mean recall@k against brute force (Double precision).
    static func recall(
        _ index: IVFIndex, metric: Metric = .l2, k: Int = 10, nprobe: Int, rows: [Float] = rows,
        allow: ((Int) -> Bool)? = nil, rerank: Bool = false
    ) throws -> Double {
        var hits = 0
        var total = 0
        for i in 0..<queries.count / d {
            let q = query(i)
            let want = SyntheticData.bruteForce(
                query: q, rows: rows, dimension: d, metric: metric, k: k,
                allow: { r in (allow?(r) ?? true) && !index.isDeleted(UInt32(r)) })
            let got = try RowMatrix.with(rows, dimension: d) { m in
                try index.search(
                    q, k: k, nprobe: nprobe, allow: allow.map { f in { f(Int($0)) } },
                    rerank: rerank ? .init(vectors: m, candidates: 100) : nil)
            }
            hits += Set(got.map { Int($0.id) }).intersection(want.map(\.index)).count
            total += want.count
        }
        return Double(hits) / Double(total)
    }
}

@Suite("IVF k-means")
struct IVFKMeansTests {
    @Test("the objective never rises, falls overall, and the assignment matches a naive reference")
    func objective() throws {
        let d = IVFData.d
        let km = try RowMatrix.with(IVFData.rows, dimension: d) { m in
            try KMeans.train(rows: m, k: 32, parameters: .init(iterations: 12, seed: 3, threads: 2))
        }
        let h = km.objectiveHistory
        #expect(h.count == 12)
        for i in 1..<h.count { #expect(h[i] <= h[i - 1] * (1 + 1e-5), "objective rose at \(i): \(h[i - 1]) -> \(h[i])") }
        #expect(h.last! < h.first! * 0.95, "objective \(h.first!) -> \(h.last!)")

        // Naive reference: Double-precision distances to every centroid.
        let (labels, dists) = try RowMatrix.with(IVFData.rows, dimension: d) { m in try km.assign(m, threads: 2) }
        var same = 0
        var naiveTotal = 0.0
        for r in 0..<IVFData.n {
            let x = Array(IVFData.rows[(r * d)..<((r + 1) * d)])
            var best = Double.infinity
            var bestJ = -1
            for j in 0..<km.k {
                let c = Array(km.centroids[(j * d)..<((j + 1) * d)])
                let v = SyntheticData.referenceDistance(x, c, .l2)
                if v < best {
                    best = v
                    bestJ = j
                }
            }
            naiveTotal += best
            if bestJ == Int(labels[r]) { same += 1 }
            let chosen = SyntheticData.referenceDistance(x, Array(km.centroids[(Int(labels[r]) * d)..<((Int(labels[r]) + 1) * d)]), .l2)
            #expect(chosen <= best + 1e-4 * max(1, best), "row \(r): chose \(chosen), best is \(best)")
            #expect(abs(Double(dists[r]) - best) <= 1e-3 * max(1, best))
        }
        #expect(same >= IVFData.n * 999 / 1000, "\(same) of \(IVFData.n) labels agree with the naive assignment")
        // The last update and re-assignment can only lower the objective.
        #expect(naiveTotal <= h.last! * (1 + 1e-5) && naiveTotal >= h.last! * 0.9, "final \(naiveTotal), last recorded \(h.last!)")
        #expect(abs(Double(dists.reduce(0, +)) - naiveTotal) <= 1e-3 * naiveTotal)
    }

    @Test(
        "few-dimension assignment (dimension-major kernel) matches a naive reference, for L2 and inner product",
        arguments: [3, 5, 7], [false, true])
    func smallDimensionAssignment(d: Int, innerProduct: Bool) throws {
        let rows = SyntheticData.uniform(count: 500, dimension: d, seed: UInt64(d))
        let centroids = SyntheticData.uniform(count: 37, dimension: d, seed: UInt64(100 + d))
        var labels = [Int32](repeating: -1, count: 500)
        var dists = [Float](repeating: 0, count: 500)
        RowMatrix.with(rows, dimension: d) { x in
            RowMatrix.with(centroids, dimension: d) { c in
                KMeans.assign(x, centroids: c, threads: 2, innerProduct: innerProduct, labels: &labels, distances: &dists)
            }
        }
        for r in 0..<500 {
            let x = Array(rows[(r * d)..<((r + 1) * d)])
            var best = Double.infinity
            for j in 0..<37 {
                let c = Array(centroids[(j * d)..<((j + 1) * d)])
                best = min(best, SyntheticData.referenceDistance(x, c, innerProduct ? .ip : .l2))
            }
            let l = Int(labels[r])
            let chosen = SyntheticData.referenceDistance(x, Array(centroids[(l * d)..<((l + 1) * d)]), innerProduct ? .ip : .l2)
            #expect(chosen <= best + 1e-5, "d=\(d) ip=\(innerProduct) row \(r): chose \(chosen), best \(best)")
            #expect(abs(Double(dists[r]) - best) <= 1e-5 * max(1, abs(best)))
        }
    }

    @Test("k-means++ with triangle-inequality pruning picks exactly the centroids of the plain algorithm")
    func plusPlusPruning() throws {
        let d = IVFData.d
        let n = 3000
        let k = 64
        let rows = Array(IVFData.rows[0..<(n * d)])
        let pruned = RowMatrix.with(rows, dimension: d) { x -> [Float] in
            var rng = SeededGenerator(seed: 21)
            return KMeans.plusPlus(x, k: k, rng: &rng, threads: 2)
        }
        // The plain algorithm: every row's distance to every new centroid.
        let l2 = DistanceKernels.best.l2sqF32
        var rng = SeededGenerator(seed: 21)
        var chosen: [Int] = [Int(rng.next() % UInt64(n))]
        var minDist = [Float](repeating: .infinity, count: n)
        rows.withUnsafeBufferPointer { rb in
            let base = rb.baseAddress!
            while chosen.count < k {
                let c = base + chosen.last! * d
                for i in 0..<n { minDist[i] = min(minDist[i], l2(c, base + i * d, d)) }
                let total = minDist.reduce(0.0) { $0 + Double($1) }
                let target = Double(rng.nextUnitFloat()) * total
                var acc = 0.0
                var next = n - 1
                for i in 0..<n {
                    acc += Double(minDist[i])
                    if acc > target, minDist[i] > 0 {
                        next = i
                        break
                    }
                }
                chosen.append(next)
            }
        }
        let plain = chosen.flatMap { Array(rows[($0 * d)..<(($0 + 1) * d)]) }
        #expect(pruned == plain)
    }

    @Test("spherical k-means keeps unit-length centroids")
    func spherical() throws {
        let d = IVFData.d
        let unit = (0..<IVFData.n).flatMap { i -> [Float] in ExactSearch.normalized(Array(IVFData.rows[(i * d)..<((i + 1) * d)])) }
        var p = KMeans.Parameters(iterations: 5, seed: 3, threads: 2)
        p.spherical = true
        let km = try RowMatrix.with(unit, dimension: d) { m in try KMeans.train(rows: m, k: 24, parameters: p) }
        for j in 0..<24 {
            let c = km.centroids[(j * d)..<((j + 1) * d)]
            let norm = c.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5, "centroid \(j) has norm \(norm)")
        }
    }

    @Test("training is reproducible from the seed, whatever the thread count")
    func deterministic() throws {
        try RowMatrix.with(IVFData.rows, dimension: IVFData.d) { m in
            let a = try KMeans.train(rows: m, k: 20, parameters: .init(iterations: 5, maxSample: 3000, seed: 11, threads: 1))
            let b = try KMeans.train(rows: m, k: 20, parameters: .init(iterations: 5, maxSample: 3000, seed: 11, threads: 2))
            #expect(a.centroids == b.centroids)
            #expect(a.sampleCount == 3000)
        }
    }

    @Test("duplicate points leave no cluster empty and no centroid non-finite")
    func duplicates() throws {
        // 10 distinct points, each repeated 20 times, k = 10.
        let distinct = SyntheticData.uniform(count: 10, dimension: 4, seed: 2)
        var rows = [Float]()
        for _ in 0..<20 { rows += distinct }
        let km = try RowMatrix.with(rows, dimension: 4) { m in
            try KMeans.train(rows: m, k: 10, parameters: .init(iterations: 5, seed: 1, threads: 2))
        }
        #expect(km.centroids.allSatisfy { $0.isFinite })
        #expect(km.objectiveHistory.last! < 1e-6)
    }

    @Test("bad k, empty input, NaN and a dimension mismatch give typed errors")
    func badInput() throws {
        try RowMatrix.with(IVFData.rows, dimension: IVFData.d) { m in
            expectVecDBError(.invalidArgument, containing: "k ≥ 1") { try KMeans.train(rows: m, k: 0) }
            expectVecDBError(.invalidArgument, containing: "at least") {
                try KMeans.train(rows: RowMatrix(base: m.base, count: 5, dimension: IVFData.d), k: 6)
            }
            expectVecDBError(.invalidArgument, containing: "none") {
                try KMeans.train(rows: RowMatrix(base: m.base, count: 0, dimension: IVFData.d), k: 1)
            }
            let km = try KMeans.train(rows: RowMatrix(base: m.base, count: 100, dimension: IVFData.d), k: 4)
            expectVecDBError(.dimensionMismatch) { try km.assign(RowMatrix(base: m.base, count: 10, dimension: 8)) }
        }
        var nan = IVFData.rows
        nan[37] = .nan
        RowMatrix.with(nan, dimension: IVFData.d) { m in
            expectVecDBError(.nonFiniteValue, containing: "row 2") { try KMeans.train(rows: m, k: 4) }
        }
    }
}

@Suite("IVF quantisers")
struct IVFQuantizerTests {
    @Test("PQ reconstruction error falls as m rises (2, 4, 8 on 16-d data)")
    func pqError() throws {
        var errors = [Double]()
        try RowMatrix.with(IVFData.rows, dimension: IVFData.d) { m in
            for pm in [2, 4, 8] {
                let pq = try ProductQuantizer.train(rows: m, m: pm, parameters: .init(iterations: 8, seed: 1, threads: 2))
                errors.append(try pq.reconstructionError(m))
            }
        }
        #expect(errors[0] > errors[1] && errors[1] > errors[2], "errors \(errors)")
        #expect(errors[2] > 0)
    }

    @Test("SQ8 round trip is within half a step per dimension")
    func sq8RoundTrip() throws {
        let d = IVFData.d
        let sq = try RowMatrix.with(IVFData.rows, dimension: d) { m in try ScalarQuantizer.train(rows: m) }
        var code = [UInt8](repeating: 0, count: d)
        for r in stride(from: 0, to: IVFData.n, by: 97) {
            let x = Array(IVFData.rows[(r * d)..<((r + 1) * d)])
            x.withUnsafeBufferPointer { xb in code.withUnsafeMutableBufferPointer { sq.encode(xb.baseAddress!, into: $0.baseAddress!) } }
            let y = code.withUnsafeBufferPointer { sq.decode($0.baseAddress!) }
            for j in 0..<d { #expect(abs(x[j] - y[j]) <= sq.vscale[j] * 0.5 + 1e-5) }
        }
    }
}

@Suite("IVF index")
struct IVFIndexTests {
    @Test("IVF-Flat recall rises with nprobe and is exactly 1.0 at nprobe = nlist", arguments: [Metric.l2, .ip])
    func flatRecall(metric: Metric) throws {
        let index = try IVFData.build(.flat, metric: metric)
        #expect(index.count == IVFData.n && index.listSizes.reduce(0, +) == IVFData.n)
        let sweep = try [1, 2, 4, 8].map { try IVFData.recall(index, metric: metric, nprobe: $0) }
        let rAll = try IVFData.recall(index, metric: metric, nprobe: IVFData.nlist)
        #expect(
            sweep[0] < sweep[1] && sweep[1] < sweep[2] && sweep[2] <= sweep[3] && sweep[3] <= rAll,
            "recall \(sweep) at nprobe 1, 2, 4, 8; \(rAll) at nlist")
        #expect(sweep[0] < 0.9, "the data is too easy to show the effect of nprobe: \(sweep[0]) at nprobe = 1")
        #expect(rAll == 1.0, "recall \(rAll) at nprobe = nlist")
        // More than nlist is the same as nlist.
        let q = IVFData.query(0)
        #expect(try index.search(q, k: 10, nprobe: 1000) == index.search(q, k: 10, nprobe: IVFData.nlist))
    }

    @Test("IVF-Flat distances equal the exact distances, sorted with ties by id")
    func flatOrder() throws {
        let index = try IVFData.build(.flat)
        let q = IVFData.query(3)
        let got = try index.search(q, k: 25, nprobe: IVFData.nlist)
        #expect(got.count == 25)
        for (a, b) in zip(got, got.dropFirst()) { #expect(Neighbor.precedes(a, b)) }
        for g in got {
            let row = Array(IVFData.rows[(Int(g.id) * IVFData.d)..<((Int(g.id) + 1) * IVFData.d)])
            #expect(abs(Double(g.distance) - SyntheticData.referenceDistance(q, row, .l2)) < 1e-4)
        }
    }

    @Test("IVF-SQ8 recall ≥ 0.9 at nprobe = nlist", arguments: [Metric.l2, .ip])
    func sq8Recall(metric: Metric) throws {
        let index = try IVFData.build(.sq8, metric: metric)
        let low = try IVFData.recall(index, metric: metric, nprobe: 1)
        let r = try IVFData.recall(index, metric: metric, nprobe: IVFData.nlist)
        #expect(r >= 0.9 && r > low, "recall \(low) at 1, \(r) at nlist")
    }

    @Test("IVF-PQ recall rises with nprobe, and exact re-ranking lifts it to ≥ 0.95", arguments: [Metric.l2, .ip])
    func pqRecall(metric: Metric) throws {
        let index = try IVFData.build(.pq(m: 8), metric: metric)
        let low = try IVFData.recall(index, metric: metric, nprobe: 1)
        let plain = try IVFData.recall(index, metric: metric, nprobe: IVFData.nlist)
        let reranked = try IVFData.recall(index, metric: metric, nprobe: IVFData.nlist, rerank: true)
        #expect(plain > low, "recall \(low) at 1, \(plain) at nlist")
        #expect(plain >= 0.5, "PQ recall \(plain)")
        #expect(reranked >= 0.95 && reranked >= plain, "re-ranked recall \(reranked), plain \(plain)")
    }

    @Test(
        "IVF-PQ distances equal the exact distance to the reconstructed vector (centroid + decoded residual)",
        arguments: [Metric.l2, .ip])
    func pqDistances(metric: Metric) throws {
        let d = IVFData.d
        let index = try IVFData.build(.pq(m: 4), metric: metric)
        let pq = try #require(index.pq)
        // The vector each row stands for, from its list's centroid and its code.
        var reconstructed = [UInt32: [Float]]()
        for l in 0..<index.nlist {
            index.lists.withList(l) { ids, codes, n in
                for r in 0..<n {
                    let residual = pq.decode(codes + r * pq.m)
                    reconstructed[ids[r]] = (0..<d).map { index.centroids[l * d + $0] + residual[$0] }
                }
            }
        }
        #expect(reconstructed.count == IVFData.n)
        for i in 0..<10 {
            let q = IVFData.query(i)
            let got = try index.search(q, k: 20, nprobe: 6)
            #expect(got.count == 20)
            for g in got {
                let want = SyntheticData.referenceDistance(q, try #require(reconstructed[UInt32(g.id)]), metric)
                #expect(abs(Double(g.distance) - want) <= 1e-3 * max(1, abs(want)), "row \(g.id): \(g.distance) vs \(want)")
            }
        }
    }

    @Test("rows go to the nearest list: smallest L2 distance, or largest inner product", arguments: [Metric.l2, .ip])
    func coarseAssignment(metric: Metric) throws {
        let d = IVFData.d
        let index = try IVFData.build(.flat, metric: metric)
        let labels = try RowMatrix.with(IVFData.rows, dimension: d) { m in try index.coarseAssign(m, threads: 2) }
        var agree = 0
        for r in 0..<IVFData.n {
            let x = Array(IVFData.rows[(r * d)..<((r + 1) * d)])
            let scores = (0..<index.nlist).map {
                SyntheticData.referenceDistance(x, Array(index.centroids[($0 * d)..<(($0 + 1) * d)]), metric)
            }
            let best = scores.min()!
            if scores[Int(labels[r])] == best { agree += 1 }
            #expect(scores[Int(labels[r])] <= best + 1e-4 * max(1, abs(best)), "row \(r)")
        }
        #expect(agree >= IVFData.n * 999 / 1000)
        // Every row sits in the list it was assigned to.
        var listOf = [UInt32: Int]()
        for l in 0..<index.nlist { index.lists.withList(l) { ids, _, n in for i in 0..<n { listOf[ids[i]] = l } } }
        #expect((0..<IVFData.n).allSatisfy { listOf[UInt32($0)] == Int(labels[$0]) })
    }

    @Test("cosine is inner product on unit vectors, with distance 1 − q·x")
    func cosine() throws {
        var unit = [Float]()
        for r in 0..<IVFData.n { unit += ExactSearch.normalized(Array(IVFData.rows[(r * IVFData.d)..<((r + 1) * IVFData.d)])) }
        let index = try IVFData.build(.flat, metric: .cosine, rows: unit)
        #expect(try IVFData.recall(index, metric: .cosine, nprobe: IVFData.nlist, rows: unit) == 1.0)
    }

    @Test(
        "deleted rows are never returned, filters are honoured, and recall on the rest is exact at nprobe = nlist",
        arguments: [IVFIndex.Encoding.flat, .sq8, .pq(m: 4)])
    func deletesAndFilters(encoding: IVFIndex.Encoding) throws {
        let index = try IVFData.build(encoding)
        var rng = SeededGenerator(seed: 4)
        var deleted = Set<UInt32>()
        while deleted.count < IVFData.n * 3 / 10 { deleted.insert(UInt32(rng.next() % UInt64(IVFData.n))) }
        for id in deleted { #expect(try index.delete(id)) }
        #expect(try index.delete(deleted.first!) == false)
        #expect(index.deletedCount == deleted.count)
        let allow: (UInt32) -> Bool = { $0 % 3 != 0 }
        for i in 0..<(IVFData.queries.count / IVFData.d) {
            let got = try index.search(IVFData.query(i), k: 10, nprobe: 8, allow: allow)
            #expect(got.count == 10)
            for g in got { #expect(!deleted.contains(UInt32(g.id)) && allow(UInt32(g.id))) }
        }
        if encoding == .flat {
            #expect(try IVFData.recall(index, nprobe: IVFData.nlist, allow: { $0 % 3 != 0 }) == 1.0)
        }
    }

    @Test("reopen by mmap gives identical results, and adds after reopen work", arguments: [IVFIndex.Encoding.flat, .sq8, .pq(m: 8)])
    func reopen(encoding: IVFIndex.Encoding) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("index.ivf")
        let index = try IVFData.build(encoding, metric: .l2)
        for id in stride(from: UInt32(0), to: 4000, by: 7) { try index.delete(id) }
        try index.write(to: path)
        let reopened = try IVFIndex.open(path, verifyBody: true)
        #expect(reopened.count == index.count && reopened.deletedCount == index.deletedCount)
        #expect(reopened.encoding == encoding && reopened.listSizes == index.listSizes)
        #expect(reopened.drift == index.drift)
        #expect((0..<UInt32(4000)).allSatisfy { reopened.isDeleted($0) == ($0 % 7 == 0) })
        for i in 0..<(IVFData.queries.count / IVFData.d) {
            for nprobe in [1, 5] {
                #expect(
                    try reopened.search(IVFData.query(i), k: 10, nprobe: nprobe) == index.search(IVFData.query(i), k: 10, nprobe: nprobe))
            }
        }
        // A second write of the reopened index is byte-identical.
        #expect(try reopened.fileBytes() == index.fileBytes())
        // Adding after reopen copies the touched lists out of the mapping.
        let extra = Array(IVFData.queries[0..<(10 * IVFData.d)])
        let ids = try reopened.add(extra)
        #expect(ids == 4000..<4010)
        let hit = try reopened.search(IVFData.query(2), k: 1, nprobe: IVFData.nlist)
        if encoding == .flat { #expect(hit.first?.id == 4002 && hit.first?.distance == 0) } else { #expect(hit.count == 1) }
    }

    @Test("concurrent searches of one index give the same results as serial ones")
    func concurrentSearches() throws {
        let index = try IVFData.build(.sq8)
        let nq = IVFData.queries.count / IVFData.d
        let serial = try (0..<nq).map { try index.search(IVFData.query($0), k: 10, nprobe: 4) }
        let results = Lock([[Neighbor]](repeating: [], count: nq))
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in stride(from: t, to: nq, by: 4) {
                let r = (try? index.search(IVFData.query(i), k: 10, nprobe: 4)) ?? []
                results.withLock { $0[i] = r }
            }
        }
        #expect(results.withLock { $0 } == serial)
    }

    @Test("damaged files give corruptFile errors naming the file")
    func damaged() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("index.ivf")
        let index = try IVFData.build(.sq8)
        let bytes = try index.fileBytes()
        for (at, verify) in [(20, false), (30, false), (bytes.count - 5, true), (200, true)] {
            var broken = bytes
            broken[at] ^= 0x5A
            try Data(broken).write(to: URL(fileURLWithPath: path))
            expectVecDBError(.corruptFile, containing: path) { try IVFIndex.open(path, verifyBody: verify) }
        }
        try Data(bytes[0..<100]).write(to: URL(fileURLWithPath: path))
        expectVecDBError(.corruptFile, containing: "shorter") { try IVFIndex.open(path) }
        try Data(bytes[0..<(bytes.count - 64)]).write(to: URL(fileURLWithPath: path))
        expectVecDBError(.corruptFile, containing: path) { try IVFIndex.open(path) }
    }

    @Test("drift stays near 1 for data like the sample, grows for shifted data, and retraining brings it back")
    func drift() throws {
        let index = try IVFData.build(.flat)
        let same = try #require(index.drift)
        #expect(same > 0.8 && same < 1.25, "drift \(same)")
        let shifted = SyntheticData.clustered(count: 2000, dimension: IVFData.d, clusters: 10, sigma: 0.15, seed: 77).map { $0 + 1.5 }
        try index.add(shifted)
        let moved = try #require(index.drift)
        #expect(moved > 1.5, "drift \(moved) after shifted adds")
        try index.delete(3)
        let all = IVFData.rows + shifted
        let fresh = try RowMatrix.with(all, dimension: IVFData.d) { m in
            try index.retrained(vectors: m, parameters: .init(iterations: 10, seed: 5, threads: 2))
        }
        let after = try #require(fresh.drift)
        #expect(after < moved && after < 1.25, "drift \(after) after retraining")
        #expect(fresh.count == index.count && fresh.isDeleted(3))
        #expect(
            try fresh.search(IVFData.query(1), k: 10, nprobe: IVFData.nlist) == index.search(IVFData.query(1), k: 10, nprobe: IVFData.nlist)
        )
    }

    @Test("bad input gives typed errors")
    func badInput() throws {
        let d = IVFData.d
        expectVecDBError(.invalidArgument, containing: "nlist") { try IVFIndex(metric: .l2, dimension: d, nlist: 0, encoding: .flat) }
        expectVecDBError(.invalidArgument, containing: "divide") { try IVFIndex(metric: .l2, dimension: d, nlist: 4, encoding: .pq(m: 5)) }
        let untrained = try IVFIndex(metric: .l2, dimension: d, nlist: 4, encoding: .flat)
        expectVecDBError(.invalidArgument, containing: "not trained") { try untrained.add(Array(IVFData.rows[0..<d])) }
        expectVecDBError(.invalidArgument, containing: "not trained") { try untrained.search(IVFData.query(0), k: 1, nprobe: 1) }
        expectVecDBError(.invalidArgument, containing: "not trained") { try untrained.fileBytes() }
        try RowMatrix.with(IVFData.rows, dimension: d) { m in
            expectVecDBError(.invalidArgument, containing: "at least") {
                try untrained.train(RowMatrix(base: m.base, count: 3, dimension: d))
            }
            let pqIndex = try IVFIndex(metric: .l2, dimension: d, nlist: 4, encoding: .pq(m: 4))
            expectVecDBError(.invalidArgument, containing: "256") { try pqIndex.train(RowMatrix(base: m.base, count: 100, dimension: d)) }
        }
        let index = try IVFData.build(.flat)
        expectVecDBError(.invalidArgument, containing: "already trained") {
            try RowMatrix.with(IVFData.rows, dimension: d) { m in try index.train(m) }
        }
        expectVecDBError(.dimensionMismatch, containing: "16 dimensions") { try index.search([1, 2, 3], k: 1, nprobe: 1) }
        expectVecDBError(.dimensionMismatch) { try index.add([Float](repeating: 0, count: d + 1)) }
        RowMatrix.with([Float](repeating: 0, count: 24), dimension: 8) { m in
            expectVecDBError(.dimensionMismatch) { try index.add(m) }
        }
        var nanRow = IVFData.query(0)
        nanRow[3] = .nan
        expectVecDBError(.nonFiniteValue) { try index.search(nanRow, k: 1, nprobe: 1) }
        expectVecDBError(.nonFiniteValue) { try index.add(nanRow) }
        #expect(index.count == IVFData.n, "a rejected add changes nothing")
        expectVecDBError(.invalidArgument, containing: "nprobe") { try index.search(IVFData.query(0), k: 1, nprobe: 0) }
        expectVecDBError(.invalidArgument, containing: "k must") { try index.search(IVFData.query(0), k: -1, nprobe: 1) }
        expectVecDBError(.notFound) { try index.delete(UInt32(IVFData.n)) }
        #expect(try index.search(IVFData.query(0), k: 0, nprobe: 1).isEmpty)
    }
}

@Suite("Index specification file")
struct IndexSpecTests {
    @Test(
        "version 2 round-trips HNSW and every IVF encoding; a flipped byte is a corruptFile error naming the file",
        arguments: [
            IndexSpec(hnsw: .init(m: 12, efConstruction: 80, seed: 9), defaultEF: 40),
            IndexSpec(hnsw: .init(m: 16, efConstruction: 200, seed: 1, traversal: .float16)),
            IndexSpec(ivf: .init(encoding: .flat, nlist: 64, iterations: 7, maxSample: 5000, seed: 3)),
            IndexSpec(ivf: .init(encoding: .sq8, nlist: 2048), defaultNprobe: 12),
            IndexSpec(ivf: .init(encoding: .pq(m: 8), nlist: 100, rerank: 50), defaultNprobe: 4),
        ])
    func roundTrip(spec: IndexSpec) throws {
        let bytes = spec.bytes()
        #expect(bytes.count == 64)
        #expect(try IndexSpec(bytes: bytes, path: "x/index.spec") == spec)
        for i in [9, 17, 30, 45, 61] {
            var damaged = bytes
            damaged[i] ^= 0x10
            expectVecDBError(.corruptFile, containing: "x/index.spec") { _ = try IndexSpec(bytes: damaged, path: "x/index.spec") }
        }
        expectVecDBError(.corruptFile, containing: "checksum mismatch") {
            _ = try IndexSpec(bytes: Array(bytes[0..<40]), path: "x/index.spec")
        }
        expectVecDBError(.corruptFile, containing: "63 bytes") { _ = try IndexSpec(bytes: Array(bytes[0..<63]), path: "x/index.spec") }
    }

    @Test("a version 1 file (40 bytes, HNSW) is still read")
    func version1() throws {
        var w = [UInt8](repeating: 0, count: 40)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { w[at + i] = b } }
        }
        for (i, b) in Array("VDBIDXS\0".utf8).enumerated() { w[i] = b }
        put(UInt32(1), 8)
        put(UInt32(1), 16)
        put(UInt32(24), 20)
        put(UInt32(150), 24)
        put(UInt32(70), 28)
        put(UInt64(5), 32)
        put(CRC32C.checksum(w), 12)
        let spec = try IndexSpec(bytes: w, path: "old/index.spec")
        #expect(spec == IndexSpec(hnsw: .init(m: 24, efConstruction: 150, seed: 5), defaultEF: 70))
    }
}
