import Foundation
import VecDBDatasets
import VecDBIndex
import VecDBKernels

/// HNSW: build once with M and efConstruction, then sweep ef, one query at a time; with
/// `batch` (implied by more than one thread), also the whole query set in one call spread over
/// the threads (rows with `batch` equal to the number of queries).
struct HNSWBenchmark {
    let data: BenchData
    let k: Int
    let threads: Int
    let repeats: Int
    /// Vectors stored as IEEE half precision, read in place by the graph.
    let float16: Bool
    let m: Int
    let efConstruction: Int
    let efSweep: [Int]
    /// Also measure batched search.
    var batch = false
    /// Walk a half-precision copy of the Float32 rows and re-rank exactly.
    var float16Traversal = false

    func run(_ out: BenchOutput) throws {
        let d = data.base.dimension
        let rows = data.storedRows()
        let nq = data.queries.count
        let queries = data.preparedQueries()
        let halves = float16 ? rows.map(HalfFloat.bits) : []
        try RowMatrix.with(rows, dimension: d) { (m32: RowMatrix) throws in
            try halves.withUnsafeBufferPointer { hb in
                let vectors =
                    float16 ? StoredRows(float16: hb.baseAddress.unsafelyUnwrapped, count: m32.count, dimension: d) : StoredRows(m32)
                let label = float16 ? "HNSW-F16" : float16Traversal ? "HNSW-F16-walk" : "HNSW"
                let t0 = now()
                let graph = try HNSWGraph.build(
                    vectors: vectors, metric: data.metric,
                    parameters: .init(m: m, efConstruction: efConstruction, traversal: float16Traversal ? .float16 : .rows),
                    threads: threads)
                let build = now() - t0
                printError(String(format: "vecdb HNSW built in %.2f s (%d nodes, top level %d)", build, graph.count, graph.maxLevel))
                // Measure what a collection serves: the graph written to its file and opened again by mmap.
                let file = NSTemporaryDirectory() + "/vecdb-bench-\(getpid()).idx"
                try graph.write(to: file)
                defer { try? FileManager.default.removeItem(atPath: file) }
                let mapped = try HNSWGraph.open(file, vectors: vectors, metric: data.metric, verifyBody: true)
                // The graph's own bytes plus the vectors it links (which a collection stores once).
                let memory = mapped.memoryBytes + vectors.byteCount
                let flat = queries.flatMap { $0 }
                for ef in efSweep {
                    var found = [[UInt64]](repeating: [], count: nq)
                    for i in 0..<min(10, nq) {
                        _ = queries[i].withUnsafeBufferPointer { mapped.search($0.baseAddress.unsafelyUnwrapped, k: k, ef: ef) }
                    }
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
                    try out.searchRow(
                        system: "vecdb", dataset: data.name, index: label,
                        params: HNSWSearchParams(
                            m: m, efConstruction: efConstruction, ef: ef, batch: 1, repeats: repeats,
                            openedBy: "mmap"),
                        k: k, recall: recall(found: found, truth: data.truth, k: k), qps: qps, buildSeconds: build,
                        memoryBytes: memory, threads: threads)
                    if batch || threads > 1 {
                        try flat.withUnsafeBufferPointer { fb in
                            let qm = RowMatrix(base: fb.baseAddress.unsafelyUnwrapped, count: nq, dimension: d)
                            var batched: [[Neighbor]] = []
                            var passes: [Double] = []
                            for _ in 0..<repeats {
                                let start = now()
                                batched = mapped.search(queries: qm, k: k, ef: ef, threads: threads)
                                passes.append(now() - start)
                            }
                            let qps = Double(nq) / passes.sorted()[passes.count / 2]
                            try out.searchRow(
                                system: "vecdb", dataset: data.name, index: label,
                                params: HNSWSearchParams(
                                    m: m, efConstruction: efConstruction, ef: ef, batch: nq, repeats: repeats,
                                    openedBy: "mmap"),
                                k: k, recall: recall(found: batched.map { $0.map(\.id) }, truth: data.truth, k: k), qps: qps,
                                buildSeconds: build, memoryBytes: memory, threads: threads)
                        }
                    }
                }
            }
        }
    }
}
