import Foundation
import VecDBDatasets
import VecDBIndex
import VecDBKernels

/// IVF: for each encoding (flat, sq8, pq), train once on a seeded sample, add every row, write
/// the index and open it again by mmap, then sweep nprobe, one query at a time.
///
/// The sample size (`max(39 · nlist, 50 000)` rows) and the 10 k-means iterations are those the
/// peers script gives FAISS, so training times compare like for like.
struct IVFBenchmark {
    let data: BenchData
    let k: Int
    let threads: Int
    let repeats: Int
    let nlist: Int
    let nprobeSweep: [Int]
    let pqM: Int

    func run(_ out: BenchOutput) throws {
        let d = data.base.dimension
        let rows = data.storedRows()
        let nq = data.queries.count
        let queries = data.preparedQueries()
        // Stored rows are unit length for cosine; the index compares them by inner product
        // and trains its centroids on the sphere.
        let metric = data.metric
        var encodings: [(name: String, encoding: IVFIndex.Encoding)] = [("IVF-Flat", .flat), ("IVF-SQ8", .sq8)]
        if d % pqM == 0 {
            encodings.append(("IVF-PQ", .pq(m: pqM)))
        } else {
            printError("skipping IVF-PQ: dimension \(d) is not divisible by --pq-m \(pqM)")
        }
        let sweep = nprobeSweep.filter { $0 <= nlist }
        try RowMatrix.with(rows, dimension: d) { (m: RowMatrix) throws in
            for (name, encoding) in encodings {
                let index = try IVFIndex(metric: metric, dimension: d, nlist: nlist, encoding: encoding)
                let t0 = now()
                try index.train(m, parameters: .init(iterations: 10, maxSample: max(nlist * 39, 50_000), seed: 1234, threads: threads))
                let t1 = now()
                try index.add(m, threads: threads)
                let t2 = now()
                let train = t1 - t0
                let add = t2 - t1
                printError(String(format: "vecdb %@ trained in %.2f s, added in %.2f s", name, train, add))
                let file = NSTemporaryDirectory() + "/vecdb-bench-\(getpid()).ivf"
                try index.write(to: file)
                defer { try? FileManager.default.removeItem(atPath: file) }
                let memory = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                let mapped = try IVFIndex.open(file, verifyBody: true)
                for nprobe in sweep {
                    var found = [[UInt64]](repeating: [], count: nq)
                    for i in 0..<min(10, nq) { _ = try mapped.search(queries[i], k: k, nprobe: nprobe) }
                    var passes: [Double] = []
                    for _ in 0..<repeats {
                        let start = now()
                        for i in 0..<nq { found[i] = try mapped.search(queries[i], k: k, nprobe: nprobe).map(\.id) }
                        passes.append(now() - start)
                    }
                    let qps = Double(nq) / passes.sorted()[passes.count / 2]
                    var params = IVFSearchParams(
                        nlist: nlist, nprobe: nprobe, batch: 1, repeats: repeats, trainSeconds: train,
                        addSeconds: add, openedBy: "mmap")
                    if case .pq(let pm) = encoding {
                        params.m = pm
                        params.nbits = 8
                    }
                    try out.searchRow(
                        system: "vecdb", dataset: data.name, index: name, params: params, k: k,
                        recall: recall(found: found, truth: data.truth, k: k), qps: qps,
                        buildSeconds: train + add, memoryBytes: memory, threads: threads)
                }
            }
        }
    }
}
