import CVecDBKernels
import Dispatch
import Foundation
import VecDBKernels

/// Lloyd's k-means under squared Euclidean distance, with k-means++ seeding.
///
/// Training draws a sample of at most `maxSample` rows with a fixed seed, seeds `k` centroids
/// with k-means++ (each next centroid drawn with probability proportional to its squared
/// distance to the nearest one already chosen), then alternates assignment and update steps.
/// The assignment step is spread over threads with `DispatchQueue.concurrentPerform`; when
/// `k` and the dimension are large enough it computes the distance matrix with one BLAS GEMM
/// per block of rows, as `‖x‖² − 2 x·c + ‖c‖²`.
///
/// A cluster left empty by an assignment step is re-seeded deterministically at the sample
/// point farthest from its own centroid (the next farthest for the next empty cluster), so a
/// run is reproducible from its seed whatever the thread count.
public struct KMeans: Sendable {
    public let k: Int
    public let dimension: Int
    /// `k × dimension` floats, row-major.
    public internal(set) var centroids: [Float]
    /// The objective (sum of squared distances of the sample to their nearest centroid),
    /// measured at each iteration's assignment step, before its update: the first entry is the
    /// k-means++ seeding's. The final update only lowers it further.
    public internal(set) var objectiveHistory: [Double]
    /// Rows the centroids were trained on.
    public internal(set) var sampleCount: Int

    /// Training parameters.
    public struct Parameters: Sendable, Equatable {
        public var iterations: Int
        /// At most this many rows are sampled for training (all rows when fewer).
        public var maxSample: Int
        public var seed: UInt64
        public var threads: Int
        /// k-means++ seeding draws from at most `max(seedingRowsPerCentroid × k, 4096)` rows of
        /// the sample (chosen with the seed), since each centroid it picks costs a pass over
        /// the rows; Lloyd iterations then use the whole sample.
        public var seedingRowsPerCentroid: Int
        /// Spherical k-means: centroids are scaled to unit length after seeding and after every
        /// update, for unit-length data compared by cosine, so that assigning by largest inner
        /// product is assigning by nearest direction and lists stay balanced.
        public var spherical: Bool = false

        public init(
            iterations: Int = 20, maxSample: Int = 1 << 18, seed: UInt64 = 1234,
            threads: Int = ProcessInfo.processInfo.activeProcessorCount, seedingRowsPerCentroid: Int = 4
        ) {
            self.iterations = iterations
            self.maxSample = maxSample
            self.seed = seed
            self.threads = threads
            self.seedingRowsPerCentroid = seedingRowsPerCentroid
        }
    }

    /// Trains `k` centroids on (a sample of) `rows`.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `k < 1`, there are fewer rows than
    ///   `k`, or a parameter is out of range; ``VecDBError/Code/nonFiniteValue`` for NaN or
    ///   infinite inputs.
    /// - Complexity: O(iterations × sample × k × dimension).
    public static func train(rows: RowMatrix, k: Int, parameters: Parameters = .init()) throws(VecDBError) -> KMeans {
        guard k >= 1 else { throw VecDBError(.invalidArgument, "k-means needs k ≥ 1, got \(k)") }
        guard rows.count > 0 else { throw VecDBError(.invalidArgument, "k-means needs training rows, got none") }
        guard rows.dimension >= 1 else { throw VecDBError(.invalidArgument, "k-means needs a dimension ≥ 1") }
        guard parameters.iterations >= 0 else {
            throw VecDBError(.invalidArgument, "k-means iterations must be ≥ 0, got \(parameters.iterations)")
        }
        guard parameters.maxSample >= k else {
            throw VecDBError(.invalidArgument, "k-means sample limit \(parameters.maxSample) is smaller than k = \(k)")
        }
        guard rows.count >= k else {
            throw VecDBError(.invalidArgument, "k-means with k = \(k) needs at least \(k) rows, got \(rows.count)")
        }
        try checkFinite(rows, what: "k-means training data")
        let d = rows.dimension
        let threads = max(1, parameters.threads)
        var rng = SeededGenerator(seed: parameters.seed)

        // Sample: a partial Fisher–Yates shuffle, then sorted for locality.
        var sample: [Float]
        let n: Int
        if rows.count > parameters.maxSample {
            var order = Array(0..<rows.count)
            for i in 0..<parameters.maxSample {
                let j = i + Int(rng.next() % UInt64(rows.count - i))
                order.swapAt(i, j)
            }
            let chosen = order[0..<parameters.maxSample].sorted()
            n = chosen.count
            sample = [Float](repeating: 0, count: n * d)
            sample.withUnsafeMutableBufferPointer { s in
                for (i, r) in chosen.enumerated() { (s.baseAddress.unsafelyUnwrapped + i * d).update(from: rows[r], count: d) }
            }
        } else {
            n = rows.count
            sample = Array(UnsafeBufferPointer(start: rows.base, count: n * d))
        }

        var result = KMeans(k: k, dimension: d, centroids: [], objectiveHistory: [], sampleCount: n)
        RowMatrix.with(sample, dimension: d) { x in
            let seedingRows = max(k * max(1, parameters.seedingRowsPerCentroid), 4096)
            var centroids: [Float]
            if n > seedingRows {
                var order = Array(0..<n)
                for i in 0..<seedingRows { order.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
                var pool = [Float](repeating: 0, count: seedingRows * d)
                pool.withUnsafeMutableBufferPointer { p in
                    for (i, r) in order[0..<seedingRows].sorted().enumerated() {
                        (p.baseAddress.unsafelyUnwrapped + i * d).update(from: x[r], count: d)
                    }
                }
                centroids = RowMatrix.with(pool, dimension: d) { Self.plusPlus($0, k: k, rng: &rng, threads: threads) }
            } else {
                centroids = Self.plusPlus(x, k: k, rng: &rng, threads: threads)
            }
            if parameters.spherical { Self.normalizeRows(&centroids, dimension: d) }
            var labels = [Int32](repeating: 0, count: n)
            var dists = [Float](repeating: 0, count: n)
            // ‖x‖² of every sample row, once for all iterations.
            let kernels = DistanceKernels.best
            let rowNorms = (0..<n).map { kernels.ipF32(x[$0], x[$0], d) }
            // As FAISS counts them: each iteration is an assignment (whose objective is recorded)
            // then an update; with no iterations, the seeding's objective alone is recorded.
            for _ in 0..<max(1, parameters.iterations) {
                RowMatrix.with(centroids, dimension: d) { c in
                    Self.assign(x, centroids: c, threads: threads, rowNorms: rowNorms, labels: &labels, distances: &dists)
                }
                result.objectiveHistory.append(dists.reduce(0.0) { $0 + Double($1) })
                if parameters.iterations == 0 { break }
                centroids = Self.update(x, labels: labels, distances: dists, previous: centroids, k: k)
                if parameters.spherical { Self.normalizeRows(&centroids, dimension: d) }
            }
            result.centroids = centroids
        }
        return result
    }

    /// The nearest centroid of each row and its squared distance.
    ///
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` when the dimensions differ.
    public func assign(_ rows: RowMatrix, threads: Int = 1) throws(VecDBError) -> (labels: [Int32], distances: [Float]) {
        guard rows.dimension == dimension else {
            throw VecDBError(.dimensionMismatch, "k-means centroids have \(dimension) dimensions, the rows have \(rows.dimension)")
        }
        var labels = [Int32](repeating: 0, count: rows.count)
        var dists = [Float](repeating: 0, count: rows.count)
        RowMatrix.with(centroids, dimension: dimension) { c in
            Self.assign(rows, centroids: c, threads: max(1, threads), labels: &labels, distances: &dists)
        }
        return (labels, dists)
    }

    static func checkFinite(_ rows: RowMatrix, what: String) throws(VecDBError) {
        let total = rows.count * rows.dimension
        // A component is NaN or infinite when its exponent bits are all ones. The largest
        // exponent field of a block (an integer maximum, which vectorises) is the test; the
        // first bad component is then found in that block.
        let bits = UnsafeRawPointer(rows.base).assumingMemoryBound(to: UInt32.self)
        var start = 0
        while start < total {
            let end = min(total, start + 4096)
            var top: UInt32 = 0
            for i in start..<end { top = max(top, bits[i] & 0x7F80_0000) }
            if top == 0x7F80_0000 {
                for i in start..<end where !rows.base[i].isFinite {
                    throw VecDBError(
                        .nonFiniteValue,
                        "\(what): row \(i / rows.dimension) component \(i % rows.dimension) is \(rows.base[i]); vectors must be finite")
                }
            }
            start = end
        }
    }

    /// k-means++ seeding. The running minimum distance of each row is updated with the batch
    /// kernel, in parallel over row ranges.
    static func plusPlus(_ x: RowMatrix, k: Int, rng: inout SeededGenerator, threads: Int) -> [Float] {
        let n = x.count
        let d = x.dimension
        var centroids = [Float](repeating: 0, count: k * d)
        var minDist = [Float](repeating: .infinity, count: n)
        // The centroid each row's minimum distance is to, and the squared distances from the
        // newest centroid to the earlier ones: a row whose centroid is at least twice as far
        // from the newest one as the row itself is (triangle inequality) cannot get closer to
        // it, so its distance is not computed. The result is the same as without the test.
        var nearest = [Int32](repeating: -1, count: n)
        var between = [Float](repeating: 0, count: k)
        let kernels = DistanceKernels.best
        let pair = kernels.l2sqF32
        let batch = kernels.l2sqF32Batch
        var next = Int(rng.next() % UInt64(n))
        let chunks = min(threads, max(1, n / 4096))
        for c in 0..<k {
            centroids.withUnsafeMutableBufferPointer { cb in
                (cb.baseAddress.unsafelyUnwrapped + c * d).update(from: x[next], count: d)
            }
            if c == k - 1 { break }
            let centre = UncheckedSendable(x[next])
            if c > 0 {
                centroids.withUnsafeBufferPointer { cb in
                    between.withUnsafeMutableBufferPointer { bb in batch(centre.value, cb.baseAddress, d, c, bb.baseAddress) }
                }
            }
            minDist.withUnsafeMutableBufferPointer { mb in
                nearest.withUnsafeMutableBufferPointer { nb in
                    between.withUnsafeBufferPointer { bb in
                        let box = UncheckedSendable(mb.baseAddress.unsafelyUnwrapped)
                        let near = UncheckedSendable(nb.baseAddress.unsafelyUnwrapped)
                        let far = UncheckedSendable(bb.baseAddress.unsafelyUnwrapped)
                        DispatchQueue.concurrentPerform(iterations: chunks) { t in
                            let lo = n * t / chunks
                            let hi = n * (t + 1) / chunks
                            for i in lo..<hi {
                                let j = near.value[i]
                                if j >= 0 && far.value[Int(j)] > 4 * box.value[i] * (1 + 1e-3) { continue }
                                let dist = pair(centre.value, x[i], d)
                                if dist < box.value[i] {
                                    box.value[i] = dist
                                    near.value[i] = Int32(c)
                                }
                            }
                        }
                    }
                }
            }
            var total = 0.0
            for v in minDist { total += Double(v) }
            if total <= 0 {
                // Every row coincides with a chosen centroid: take the next row not yet chosen.
                next = (next + 1) % n
                continue
            }
            let target = Double(rng.nextUnitFloat()) * total
            var acc = 0.0
            next = n - 1
            for i in 0..<n {
                acc += Double(minDist[i])
                if acc > target, minDist[i] > 0 {
                    next = i
                    break
                }
            }
        }
        return centroids
    }

    /// Rows per GEMM block in the assignment step.
    static let blockRows = 1024

    /// The assignment step: nearest centroid (ties to the lower index) and squared distance.
    ///
    /// With `innerProduct`, the centroid with the largest inner product instead, and the
    /// negated inner product as the distance (the coarse assignment of an IVF index under `ip`).
    static func assign(
        _ x: RowMatrix, centroids c: RowMatrix, threads: Int, innerProduct: Bool = false, rowNorms: [Float]? = nil,
        labels: inout [Int32], distances: inout [Float]
    ) {
        let n = x.count
        let d = x.dimension
        let k = c.count
        guard n > 0, k > 0 else { return }
        let kernels = DistanceKernels.best
        let useGEMM = k >= 16 && d >= 8
        var cNorms = [Float](repeating: 0, count: k)
        for j in 0..<k { cNorms[j] = kernels.ipF32(c[j], c[j], d) }
        if useGEMM { BLAS.setThreads(1) }
        // Without GEMM and with at least 16 centroids: the centroids transposed (d × k).
        var transposed: [Float] = []
        if !useGEMM && k >= 16 {
            transposed = [Float](repeating: 0, count: d * k)
            for j in 0..<k { for t in 0..<d { transposed[t * k + j] = c[j][t] } }
        }
        let chunks = min(threads, max(1, n / blockRows))
        labels.withUnsafeMutableBufferPointer { lb in
            distances.withUnsafeMutableBufferPointer { db in
                cNorms.withUnsafeBufferPointer { nb in
                    transposed.withUnsafeBufferPointer { tb in
                        let tBox = UncheckedSendable(transposed.isEmpty ? nil : tb.baseAddress)
                        let lBox = UncheckedSendable(lb.baseAddress.unsafelyUnwrapped)
                        let dBox = UncheckedSendable(db.baseAddress.unsafelyUnwrapped)
                        let nBox = UncheckedSendable(nb.baseAddress.unsafelyUnwrapped)
                        DispatchQueue.concurrentPerform(iterations: chunks) { t in
                            let lo = n * t / chunks
                            let hi = n * (t + 1) / chunks
                            let cap = useGEMM ? blockRows * k : k
                            withUnsafeTemporaryAllocation(of: Float.self, capacity: cap) { tmp in
                                let out = tmp.baseAddress.unsafelyUnwrapped
                                var s = lo
                                while s < hi {
                                    let m = useGEMM ? min(blockRows, hi - s) : 1
                                    if useGEMM {
                                        BLAS.sgemm(transB: true, m: m, n: k, k: d, a: x[s], lda: d, b: c.base, ldb: d, c: out, ldc: k)
                                    }
                                    for i in 0..<m {
                                        let row = x[s + i]
                                        var best: Float = .infinity
                                        var bestJ = 0
                                        if useGEMM && innerProduct {
                                            (best, bestJ) = argmin(out + i * k, scale: -1, plus: nil, count: k)
                                        } else if useGEMM {
                                            // ‖x‖² − 2 x·c + ‖c‖²: the argmin does not need ‖x‖².
                                            let xn = rowNorms?[s + i] ?? kernels.ipF32(row, row, d)
                                            (best, bestJ) = argmin(out + i * k, scale: -2, plus: nBox.value, count: k)
                                            best = max(0, xn + best)
                                        } else if let ct = tBox.value {
                                            // Few dimensions: all k distances at once from the
                                            // dimension-major centroids, 16 centroids per vector op.
                                            vdb_distances_to_columns(row, ct, d, k, innerProduct ? 1 : 0, out)
                                            (best, bestJ) = argmin(out, scale: innerProduct ? -1 : 1, plus: nil, count: k)
                                        } else if innerProduct {
                                            kernels.ipF32Batch(row, c.base, d, k, out)
                                            for j in 0..<k where -out[j] < best {
                                                best = -out[j]
                                                bestJ = j
                                            }
                                        } else {
                                            kernels.l2sqF32Batch(row, c.base, d, k, out)
                                            for j in 0..<k where out[j] < best {
                                                best = out[j]
                                                bestJ = j
                                            }
                                        }
                                        lBox.value[s + i] = Int32(bestJ)
                                        dBox.value[s + i] = best
                                    }
                                    s += m
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The smallest `scale · line[j] + plus[j]` and its index (the lowest on ties), through
    /// the C kernel (AVX-512 when the CPU has it).
    @inline(__always)
    static func argmin(_ line: UnsafePointer<Float>, scale: Float, plus: UnsafePointer<Float>?, count k: Int) -> (Float, Int) {
        var best: Float = .infinity
        let j = vdb_argmin_scaled(line, scale, plus, k, &best)
        return (best, j)
    }

    /// Scales every non-zero row to unit length.
    static func normalizeRows(_ rows: inout [Float], dimension d: Int) {
        let n = rows.count / d
        rows.withUnsafeMutableBufferPointer { b in
            let base = b.baseAddress.unsafelyUnwrapped
            for r in 0..<n {
                let row = base + r * d
                var norm: Float = 0
                for j in 0..<d { norm += row[j] * row[j] }
                guard norm > 0 else { continue }
                let inv = 1 / norm.squareRoot()
                for j in 0..<d { row[j] *= inv }
            }
        }
    }

    /// The update step: each centroid moves to the mean of its rows; empty clusters are
    /// re-seeded at the rows farthest from their centroids.
    static func update(_ x: RowMatrix, labels: [Int32], distances: [Float], previous: [Float], k: Int) -> [Float] {
        let n = x.count
        let d = x.dimension
        var sums = [Double](repeating: 0, count: k * d)
        var counts = [Int](repeating: 0, count: k)
        sums.withUnsafeMutableBufferPointer { sb in
            let out = sb.baseAddress.unsafelyUnwrapped
            for i in 0..<n {
                let l = Int(labels[i])
                counts[l] += 1
                let row = x[i]
                let sum = out + l &* d
                // A plain loop over pointers, which the compiler vectorises.
                for j in 0..<d { sum[j] += Double(row[j]) }
            }
        }
        var out = previous
        for c in 0..<k where counts[c] > 0 {
            let inv = 1.0 / Double(counts[c])
            for j in 0..<d { out[c * d + j] = Float(sums[c * d + j] * inv) }
        }
        let empty = (0..<k).filter { counts[$0] == 0 }
        if !empty.isEmpty {
            // Farthest rows first; ties by lower index, so the choice is deterministic.
            let far = (0..<n).sorted { distances[$0] > distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
            for (e, c) in empty.enumerated() where e < far.count {
                let row = x[far[e]]
                for j in 0..<d { out[c * d + j] = row[j] }
            }
        }
        return out
    }
}
