import Foundation
import VecDBKernels

/// Single-precision GEMM throughput through our BLAS binding: square `n×n·n×n` products,
/// timed like the NumPy peer (one warm-up, then at least 5 runs and up to 50 or 0.5 s; the
/// median run gives GFLOP/s = 2n³ / seconds).
struct GemmBenchmark {
    let sizes: [Int]
    let threads: Int

    /// Measures every size and appends one row each; returns (size, GFLOP/s).
    func run(_ out: BenchOutput) throws -> [(Int, Double)] {
        BLAS.setThreads(threads)
        printError("gemm: BLAS \(BLAS.description), threads=\(threads)")
        var rng = SeededGenerator(seed: 1234)
        var results: [(Int, Double)] = []
        for n in sizes {
            let a = (0..<(n * n)).map { _ in rng.nextGaussian() }
            let b = (0..<(n * n)).map { _ in rng.nextGaussian() }
            var c = [Float](repeating: 0, count: n * n)
            func once() -> Double {
                let t = now()
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            guard let ap = pa.baseAddress, let bp = pb.baseAddress, let cp = pc.baseAddress else { return }
                            BLAS.sgemm(m: n, n: n, k: n, a: ap, lda: n, b: bp, ldb: n, c: cp, ldc: n)
                        }
                    }
                }
                return now() - t
            }
            _ = once()
            var times: [Double] = []
            var total = 0.0
            while times.count < 5 || (total < 0.5 && times.count < 50) {
                let dt = once()
                times.append(dt)
                total += dt
            }
            times.sort()
            let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
            let gflops = 2.0 * Double(n) * Double(n) * Double(n) / median / 1e9
            try out.append(
                GemmRow(
                    system: "vecdb", benchmark: "sgemm", threads: threads, gflops: BenchOutput.round(gflops, 3),
                    params: GemmParams(
                        m: n, n: n, k: n, dtype: "float32", runs: times.count, medianSeconds: median,
                        blas: BLAS.description)))
            print(
                String(
                    format: "vecdb    sgemm %dx%dx%d  %8.2f GFLOP/s  (median of %d, %@, threads=%d)", n, n, n, gflops,
                    times.count, BLAS.description, threads))
            results.append((n, gflops))
        }
        return results
    }

    /// Prints, per size, our GFLOP/s against NumPy's (the last row for each size in the file),
    /// and the best single-thread sgemm measured on this machine with our fraction of it.
    static func summarize(_ mine: [(Int, Double)], rows: [BenchRecord], threads: Int) {
        var numpy: [Int: Double] = [:]
        for row in rows where row.system == "numpy" && row.benchmark == "sgemm" && row.threads == threads {
            if let n = row.params["m"]?.integer, let g = row.gflops { numpy[n] = g }
        }
        print("summary (sgemm, threads=\(threads)):")
        for (n, g) in mine {
            if let theirs = numpy[n] {
                print(String(format: "  n=%-5d vecdb %8.2f  numpy %8.2f GFLOP/s  ratio %.2f", n, g, theirs, g / theirs))
            } else {
                print(String(format: "  n=%-5d vecdb %8.2f GFLOP/s  (no numpy row)", n, g))
            }
        }
        let ratios = mine.compactMap { m in numpy[m.0].map { m.1 / $0 } }
        if let worst = ratios.min() { print(String(format: "  lowest per-size ratio vecdb/numpy: %.2f", worst)) }
        let ours = mine.map(\.1).max() ?? 0
        let best = max(ours, mine.compactMap { numpy[$0.0] }.max() ?? 0)
        if best > 0 {
            print(
                String(
                    format: "  best %@sgemm on this machine: %.2f GFLOP/s; vecdb's best %.2f = %.0f%% of it (target ≥ 70%%)",
                    threads == 1 ? "single-thread " : "", best, ours, 100 * ours / best))
        }
    }
}
