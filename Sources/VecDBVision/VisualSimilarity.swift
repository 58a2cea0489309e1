import VecDBKernels

/// Visual-similarity evaluation: for each query image, its k nearest neighbours among the base
/// images (exact search), and the share of them with the query's class.
public enum VisualSimilarity {
    /// The metric the neighbours are found by.
    public enum Metric: Sendable {
        /// Inner product (cosine for unit rows, as the encoder's embeddings are).
        case innerProduct
        /// Euclidean distance (raw pixels).
        case euclidean
    }

    /// Mean precision@k over the queries and its standard error.
    ///
    /// - Parameters:
    ///   - queries: `queryLabels.count` rows of `dimension` values, row-major.
    ///   - base: `baseLabels.count` rows, row-major.
    ///   - k: neighbours per query.
    /// - Returns: the mean share of same-class neighbours and its standard error over queries.
    public static func precision(
        queries: [Float], queryLabels: [Int32], base: [Float], baseLabels: [Int32], dimension d: Int, metric: Metric, k: Int = 10
    ) -> (mean: Double, standardError: Double) {
        let nq = queryLabels.count
        let nb = baseLabels.count
        guard nq > 0, nb > 0, d > 0, k > 0 else { return (0, 0) }
        var baseNorms = [Float](repeating: 0, count: nb)
        if metric == .euclidean {
            for b in 0..<nb {
                var s: Float = 0
                for j in 0..<d { s += base[b * d + j] * base[b * d + j] }
                baseNorms[b] = s
            }
        }
        var precisions = [Double](repeating: 0, count: nq)
        let block = 128
        var scores = [Float](repeating: 0, count: block * nb)
        var start = 0
        while start < nq {
            let m = min(block, nq - start)
            queries.withUnsafeBufferPointer { q in
                base.withUnsafeBufferPointer { b in
                    scores.withUnsafeMutableBufferPointer { s in
                        guard let qa = q.baseAddress, let ba = b.baseAddress, let sa = s.baseAddress else { return }
                        BLAS.sgemm(
                            transA: false, transB: true, m: m, n: nb, k: d, a: qa + start * d, lda: d, b: ba, ldb: d, beta: 0, c: sa,
                            ldc: nb
                        )
                    }
                }
            }
            for r in 0..<m {
                // Larger is nearer: the inner product, or −(‖b‖² − 2 q·b) (‖q‖² is the same for every b).
                var heap: [(score: Float, index: Int)] = []
                heap.reserveCapacity(k + 1)
                for b in 0..<nb {
                    let s = metric == .innerProduct ? scores[r * nb + b] : 2 * scores[r * nb + b] - baseNorms[b]
                    if heap.count < k {
                        heap.append((s, b))
                        if heap.count == k { heap.sort { $0.score < $1.score } }
                    } else if s > heap[0].score {
                        heap[0] = (s, b)
                        var i = 0
                        while i + 1 < heap.count && heap[i].score > heap[i + 1].score {
                            heap.swapAt(i, i + 1)
                            i += 1
                        }
                    }
                }
                let label = queryLabels[start + r]
                precisions[start + r] = Double(heap.filter { baseLabels[$0.index] == label }.count) / Double(k)
            }
            start += m
        }
        let mean = precisions.reduce(0, +) / Double(nq)
        let variance = precisions.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(nq - 1, 1))
        return (mean, (variance / Double(nq)).squareRoot())
    }
}
