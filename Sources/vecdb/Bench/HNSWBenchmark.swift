import Foundation
import VecDBDatasets
import VecDBIndex
import VecDBKernels

/// HNSW: build once with M and efConstruction, then sweep ef, one query at a time.
struct HNSWBenchmark {
    let data: BenchData
    let k: Int
    let threads: Int
    let repeats: Int
    /// Vectors stored as IEEE half precision, read in place by the graph.
    let float16: Bool
    let M: Int
    let efConstruction: Int
    let efSweep: [Int]

    func run(_ out: BenchOutput) throws {
        let d = data.base.dimension
        let rows = data.storedRows()
        let nq = data.queries.count
        let queries = data.preparedQueries()
        let halves = float16 ? rows.map(HalfFloat.bits) : []
        try RowMatrix.with(rows, dimension: d) { (m32: RowMatrix) throws in
          try halves.withUnsafeBufferPointer { hb in
            let m = float16 ? StoredRows(float16: hb.baseAddress.unsafelyUnwrapped, count: m32.count, dimension: d) : StoredRows(m32)
            let label = float16 ? "HNSW-F16" : "HNSW"
            let t0 = now()
            let graph = try HNSWGraph.build(vectors: m, metric: data.metric,
                                            parameters: .init(M: M, efConstruction: efConstruction), threads: threads)
            let build = now() - t0
            printError(String(format: "vecdb HNSW built in %.2f s (%d nodes, top level %d)", build, graph.count, graph.maxLevel))
            // Measure what a collection serves: the graph written to its file and opened again by mmap.
            let file = NSTemporaryDirectory() + "/vecdb-bench-\(getpid()).idx"
            try graph.write(to: file)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let mapped = try HNSWGraph.open(file, vectors: m, metric: data.metric, verifyBody: true)
            // The graph's own bytes plus the vectors it links (which a collection stores once).
            let memory = mapped.memoryBytes + m.byteCount
            for ef in efSweep {
                var found = [[UInt64]](repeating: [], count: nq)
                for i in 0..<min(10, nq) { _ = queries[i].withUnsafeBufferPointer { mapped.search($0.baseAddress.unsafelyUnwrapped, k: k, ef: ef) } }
                var passes: [Double] = []
                for _ in 0..<repeats {
                    let start = now()
                    for i in 0..<nq {
                        found[i] = queries[i].withUnsafeBufferPointer {
                            mapped.search($0.baseAddress.unsafelyUnwrapped, k: k, ef: ef).map(\.id)
                        }
                    }
                    passes.append(now() - start)
                }
                let qps = Double(nq) / passes.sorted()[passes.count / 2]
                try out.searchRow(system: "vecdb", dataset: data.name, index: label,
                                  params: ["M": M, "efConstruction": efConstruction, "ef": ef, "batch": 1, "repeats": repeats, "opened_by": "mmap"],
                                  k: k, recall: recall(found: found, truth: data.truth, k: k), qps: qps, buildSeconds: build,
                                  memoryBytes: memory, threads: threads)
            }
          }
        }
    }
}

/// Queries per second at target recalls, per system, from a sweep's rows.
enum RecallSummary {
    static func print(_ rows: [[String: Any]], dataset: String, targets: [Double] = [0.90, 0.95, 0.99]) {
        var bySystem: [String: [(recall: Double, qps: Double, build: Double, memory: Double)]] = [:]
        for r in rows where r["dataset"] as? String == dataset {
            guard let s = r["system"] as? String, let index = r["index"] as? String, index.uppercased().contains("HNSW"),
                  let rec = r["recall"] as? Double, let qps = r["qps"] as? Double else { continue }
            let build = r["build_seconds"] as? Double ?? 0
            let mem = (r["memory_bytes"] as? NSNumber)?.doubleValue ?? 0
            bySystem["\(s) \(index)", default: []].append((rec, qps, build, mem))
        }
        guard let ours = bySystem.first(where: { $0.key.hasPrefix("vecdb") })?.value else { return }
        let n = Double((rows.first { $0["system"] as? String == "vecdb" }?["params"] as? [String: Any])?["n"] as? Int ?? 0)
        _ = n
        Swift.print("summary (\(dataset), HNSW): queries/s at recall ≥ target, build seconds, memory bytes")
        for (name, points) in bySystem.sorted(by: { $0.key < $1.key }) {
            let at = targets.map { t in points.filter { $0.recall >= t }.map(\.qps).max() }
            let cols = zip(targets, at).map { t, q in q.map { String(format: "@%.2f %.0f", t, $0) } ?? String(format: "@%.2f -", t) }
            Swift.print("  \(name): \(cols.joined(separator: "  "))  build \(String(format: "%.1f", points[0].build)) s  memory \(Int(points[0].memory))")
        }
        for (name, points) in bySystem where !name.hasPrefix("vecdb") {
            let ratios = targets.map { t -> String in
                guard let a = ours.filter({ $0.recall >= t }).map(\.qps).max(),
                      let b = points.filter({ $0.recall >= t }).map(\.qps).max() else { return "-" }
                return String(format: "%.2f", a / b)
            }
            Swift.print("  vecdb / \(name): qps ratio at \(targets.map { String($0) }.joined(separator: "/")) = \(ratios.joined(separator: "/")), "
                        + String(format: "build ratio %.2f, memory ratio %.2f", ours[0].build / max(points[0].build, 1e-9),
                                 ours[0].memory / max(points[0].memory, 1)))
        }
    }
}
