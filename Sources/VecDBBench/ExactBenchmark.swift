import Foundation
import VecDBDatasets
import VecDBKernels

/// Exact search, one query at a time, against the flat kernel; the whole query set in one
/// batched call (the GEMM path); and the kernel's scan rate against a plain memory-read
/// bandwidth measured in the same run.
struct ExactBenchmark {
    let data: BenchData
    let k: Int
    let threads: Int
    let repeats: Int

    func run(_ out: BenchOutput) throws {
        let d = data.base.dimension
        let t0 = now()
        let rows = data.storedRows()
        let build = now() - t0
        let search = ExactSearch(
            metric: data.metric, dimension: d, rowsNormalized: data.metric == .cosine)
        let nq = data.queries.count
        let queries = data.preparedQueries()
        var found = [[UInt64]](repeating: [], count: nq)
        let elapsed: Double = try RowMatrix.with(rows, dimension: d) {
            (m: RowMatrix) throws -> Double in
            // Warm-up: page the rows in and settle the clock.
            for i in 0..<min(10, nq) { _ = try search.search(queries[i], in: m, k: k) }
            var passes: [Double] = []
            for _ in 0..<repeats {
                let start = now()
                if threads == 1 {
                    for i in 0..<nq {
                        var heap = TopKHeap(k: k)
                        queries[i].withUnsafeBufferPointer {
                            search.scan(prepared: $0.baseAddress.unsafelyUnwrapped, rows: m, heap: &heap)
                        }
                        found[i] = heap.sorted().map(\.id)
                    }
                } else {
                    let box = UnsafeMutableBufferPointer<[UInt64]>.allocate(capacity: nq)
                    box.initialize(repeating: [])
                    defer { box.deallocate() }
                    let shared = UncheckedSendable(box)
                    DispatchQueue.concurrentPerform(iterations: threads) { t in
                        for i in stride(from: t, to: nq, by: threads) {
                            var heap = TopKHeap(k: k)
                            queries[i].withUnsafeBufferPointer {
                                search.scan(prepared: $0.baseAddress.unsafelyUnwrapped, rows: m, heap: &heap)
                            }
                            shared.value[i] = heap.sorted().map(\.id)
                        }
                    }
                    found = Array(box)
                }
                passes.append(now() - start)
            }
            return passes.sorted()[passes.count / 2]  // the median pass: machines are shared and noisy
        }
        let qps = Double(nq) / elapsed
        let r = recall(found: found, truth: data.truth, k: k)
        try out.searchRow(
            system: "vecdb", dataset: data.name, index: "flat",
            params: FlatSearchParams(batch: 1, isa: DistanceKernels.best.isa.description, repeats: repeats),
            k: k, recall: r, qps: qps, buildSeconds: build, memoryBytes: rows.count * 4, threads: threads)
        // Batched: every query in one call, through the GEMM path, spread over the threads.
        let flat = queries.flatMap { $0 }
        let (batchFound, batchElapsed): ([[UInt64]], Double) = try RowMatrix.with(rows, dimension: d) { m throws in
            try RowMatrix.with(flat, dimension: d) { q throws in
                _ = try search.searchBatch(q, in: m, k: k, threads: threads)  // warm-up
                var passes: [Double] = []
                var ids: [[UInt64]] = []
                for _ in 0..<repeats {
                    let start = now()
                    ids = try search.searchBatch(q, in: m, k: k, threads: threads).map { $0.map(\.id) }
                    passes.append(now() - start)
                }
                return (ids, passes.sorted()[passes.count / 2])
            }
        }
        try out.searchRow(
            system: "vecdb", dataset: data.name, index: "flat",
            params: FlatSearchParams(batch: nq, isa: DistanceKernels.best.isa.description, repeats: repeats),
            k: k, recall: recall(found: batchFound, truth: data.truth, k: k), qps: Double(nq) / batchElapsed,
            buildSeconds: build, memoryBytes: rows.count * 4, threads: threads)
        if threads == 1 {
            let bytes = Double(rows.count * 4)
            let kernelRate = qps * bytes / 1e9
            let readRate = Bandwidth.measureRead(bytes: max(1 << 30, Int(bytes) * 4))
            try out.figureRow(
                system: "vecdb", benchmark: "scan-bandwidth",
                params: ScanBandwidthParams(dataset: data.name, rowsBytes: Int(bytes), threads: 1),
                figures: ScanBandwidthFigures(
                    kernelGBPerSecond: kernelRate, memoryReadGBPerSecond: readRate,
                    fractionOfReadBandwidth: kernelRate / readRate))
        }
    }
}

/// A plain single-thread memory read: sum a buffer much larger than the caches.
enum Bandwidth {
    /// Best of five passes, in GB/s.
    static func measureRead(bytes: Int) -> Double {
        let n = bytes / 4
        let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { buf.deallocate() }
        buf.initialize(repeating: 1)
        let sum = DistanceKernels.best.sumF32
        var best = 0.0
        var sink: Float = 0
        for _ in 0..<5 {
            let t = now()
            sink += sum(UnsafePointer(buf.baseAddress), n)
            best = max(best, Double(bytes) / (now() - t) / 1e9)
        }
        if sink == -1 { printError("") }  // keep the sum alive
        return best
    }
}
