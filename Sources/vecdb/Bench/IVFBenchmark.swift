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
        if d % pqM == 0 { encodings.append(("IVF-PQ", .pq(m: pqM))) }
        else { printError("skipping IVF-PQ: dimension \(d) is not divisible by --pq-m \(pqM)") }
        let sweep = nprobeSweep.filter { $0 <= nlist }
        try RowMatrix.with(rows, dimension: d) { (m: RowMatrix) throws in
            for (name, encoding) in encodings {
                let index = try IVFIndex(metric: metric, dimension: d, nlist: nlist, encoding: encoding)
                let t0 = now()
                try index.train(m, parameters: .init(iterations: 10, maxSample: max(nlist * 39, 50_000), seed: 1234, threads: threads))
                let t1 = now()
                try index.add(m, threads: threads)
                let t2 = now()
                let train = t1 - t0, add = t2 - t1
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
                    var params: [String: Any] = ["nlist": nlist, "nprobe": nprobe, "batch": 1, "repeats": repeats,
                                                 "train_seconds": train, "add_seconds": add, "opened_by": "mmap"]
                    if case .pq(let pm) = encoding { params["m"] = pm; params["nbits"] = 8 }
                    try out.searchRow(system: "vecdb", dataset: data.name, index: name, params: params, k: k,
                                      recall: recall(found: found, truth: data.truth, k: k), qps: qps,
                                      buildSeconds: train + add, memoryBytes: memory, threads: threads)
                }
            }
        }
    }
}

/// Per IVF encoding: queries per second at recall 0.90 and 0.95 (and the best recall reached),
/// training and add seconds, and memory, for VecDB and the matching FAISS index.
enum IVFSummary {
    static let families: [(ours: String, faiss: String)] = [
        ("IVF-Flat", "IndexIVFFlat"), ("IVF-SQ8", "IndexIVFScalarQuantizer"), ("IVF-PQ", "IndexIVFPQ"),
    ]

    struct Point {
        var recall: Double
        var qps: Double
        var train: Double
        var add: Double
        var memory: Double
    }

    static func print(_ rows: [[String: Any]], dataset: String, targets: [Double] = [0.90, 0.95]) {
        func points(_ system: String, _ index: String) -> [Point] {
            rows.compactMap { r -> Point? in
                guard r["dataset"] as? String == dataset, r["system"] as? String == system, r["index"] as? String == index,
                      let rec = r["recall"] as? Double, let qps = r["qps"] as? Double else { return nil }
                let p = r["params"] as? [String: Any] ?? [:]
                return Point(recall: rec, qps: qps, train: (p["train_seconds"] as? NSNumber)?.doubleValue ?? 0,
                             add: (p["add_seconds"] as? NSNumber)?.doubleValue ?? 0,
                             memory: (r["memory_bytes"] as? NSNumber)?.doubleValue ?? 0)
            }
        }
        func describe(_ name: String, _ ps: [Point]) -> String {
            let at = targets.map { t in ps.filter { $0.recall >= t }.map(\.qps).max().map { String(format: "@%.2f %.0f", t, $0) } ?? String(format: "@%.2f -", t) }
            let best = ps.max { $0.recall < $1.recall }
            return "\(name): \(at.joined(separator: "  "))  best recall \(String(format: "%.3f (%.0f qps)", best?.recall ?? 0, best?.qps ?? 0))"
                + String(format: "  train %.2f s  add %.2f s  memory %.0f B", ps[0].train, ps[0].add, ps[0].memory)
        }
        var printed = false
        for (ours, faiss) in families {
            let a = points("vecdb", ours), b = points("faiss", faiss)
            guard !a.isEmpty else { continue }
            if !printed { Swift.print("summary (\(dataset), IVF): queries/s at recall ≥ target"); printed = true }
            Swift.print("  vecdb \(describe(ours, a))")
            guard !b.isEmpty else { continue }
            Swift.print("  faiss \(describe(faiss, b))")
            let ratios = targets.map { t -> String in
                guard let x = a.filter({ $0.recall >= t }).map(\.qps).max(), let y = b.filter({ $0.recall >= t }).map(\.qps).max() else { return "-" }
                return String(format: "%.2f", x / y)
            }
            Swift.print("  vecdb / faiss \(ours): qps ratio \(ratios.joined(separator: "/")), "
                        + String(format: "train ratio %.2f, memory ratio %.2f", a[0].train / max(b[0].train, 1e-9), a[0].memory / max(b[0].memory, 1)))
        }
    }
}
