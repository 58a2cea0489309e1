import CVecDBKernels
import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loss functions. Each returns the loss, averaged over the batch, and its gradient with
/// respect to each input, ready to pass to the layers' `backward`.
public enum Loss {
    /// Softmax cross-entropy: `−mean_n log softmax(logits_n)[label_n]`.
    ///
    /// - Parameters:
    ///   - logits: `[batch, classes]`.
    ///   - labels: one class per row, in `0..<classes`.
    /// - Returns: the loss and `∂loss/∂logits = (softmax − onehot) / batch`.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` or ``VecDBError/Code/invalidArgument`` for a bad label.
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int32]) throws(VecDBError) -> (loss: Float, gradient: Tensor) {
        guard logits.rank == 2, logits.shape[0] == labels.count else {
            throw VecDBError(
                .dimensionMismatch,
                "softmax cross-entropy expects logits [\(labels.count), *] for \(labels.count) labels, got \(Tensor.describe(logits.shape))"
            )
        }
        let n = logits.shape[0]
        let c = logits.shape[1]
        for l in labels where l < 0 || Int(l) >= c {
            throw VecDBError(.invalidArgument, "softmax cross-entropy: label \(l) is outside 0..<\(c)")
        }
        // Softmax of every row by the vectorised kernel the attention uses; the loss of a row is
        // −log p(label), recomputed exactly (log-sum-exp in Double) where p is below 1e-20, near
        // the kernel exp's underflow.
        var grad = Tensor(uncheckedShape: logits.shape, storage: logits.storage)
        grad.storage.withUnsafeMutableBufferPointer { vdb_nn_softmax_rows($0.baseAddress, n, c, c, 0) }
        var total = 0.0
        for r in 0..<n {
            let p = grad.storage[r * c + Int(labels[r])]
            if p >= 1e-20 {
                total -= log(Double(p))
            } else {
                // Rare: only this row is recomputed, so only it is copied.
                let row = Array(logits.storage[(r * c)..<((r + 1) * c)])
                var exact = [Float](repeating: 0, count: c)
                total += softmaxRow(row, row: 0, width: c, into: &exact, scale: 1) - Double(row[Int(labels[r])])
            }
        }
        grad.storage.withUnsafeMutableBufferPointer { vdb_nn_scale(1 / Float(n), $0.baseAddress, n * c) }
        for r in 0..<n { grad.storage[r * c + Int(labels[r])] -= 1 / Float(n) }
        return (Float(total / Double(n)), grad)
    }

    /// In-batch sampled softmax for two-tower retrieval, with a logQ correction and a temperature.
    ///
    /// Row `i` of `queries` and row `i` of `items` are a positive pair; the other items of the
    /// batch are its negatives. `logits_ij = (q_i · v_j) / temperature − logQ_j`, where `q_j` is
    /// the probability that item `j` is sampled into a batch (its frequency), and the loss is the
    /// softmax cross-entropy with the label on the diagonal.
    ///
    /// - Parameters:
    ///   - queries: `[batch, d]`; items: `[batch, d]`; logQ: `batch` values of `log q_j`.
    /// - Returns: the loss and its gradients with respect to `queries` and `items`.
    public static func inBatchSampledSoftmax(queries: Tensor, items: Tensor, logQ: [Float], temperature: Float)
        throws(VecDBError) -> (loss: Float, queryGradient: Tensor, itemGradient: Tensor)
    {
        guard queries.rank == 2, queries.shape == items.shape, logQ.count == queries.shape[0] else {
            throw VecDBError(
                .dimensionMismatch,
                "in-batch softmax expects queries and items of the same shape [batch, d] and batch logQ values, got \(Tensor.describe(queries.shape)), \(Tensor.describe(items.shape)) and \(logQ.count) logQ values"
            )
        }
        guard temperature > 0 else {
            throw VecDBError(.invalidArgument, "in-batch softmax: temperature must be positive, got \(temperature)")
        }
        let b = queries.shape[0]
        var logits = try Tensor.matmul(queries, items, transposeB: true)
        let invT = 1 / temperature
        for i in 0..<b { for j in 0..<b { logits.storage[i * b + j] = logits.storage[i * b + j] * invT - logQ[j] } }
        let labels = (0..<b).map { Int32($0) }
        var (loss, g) = try softmaxCrossEntropy(logits: logits, labels: labels)
        g.scale(by: invT)
        let gq = try Tensor.matmul(g, items)
        let gv = try Tensor.matmul(g, queries, transposeA: true)
        return (loss, gq, gv)
    }

    /// Multinomial log-likelihood (Mult-DAE / Mult-VAE): `−mean_n Σ_i x_ni · log softmax(logits_n)_i`.
    ///
    /// - Parameters:
    ///   - logits: `[batch, items]`; targets: `[batch, items]`, usually 0/1 interactions.
    /// - Returns: the loss and `∂loss/∂logits = (softmax · Σ_i x_ni − x_n) / batch`.
    public static func multinomialLogLikelihood(logits: Tensor, targets: Tensor) throws(VecDBError) -> (loss: Float, gradient: Tensor) {
        guard logits.rank == 2, logits.shape == targets.shape else {
            throw VecDBError(
                .dimensionMismatch,
                "multinomial log-likelihood expects logits and targets of the same shape [batch, items], got \(Tensor.describe(logits.shape)) and \(Tensor.describe(targets.shape))"
            )
        }
        let n = logits.shape[0]
        let c = logits.shape[1]
        var grad = Tensor(zeros: logits.shape)
        var total = 0.0
        for r in 0..<n {
            var xSum = 0.0
            for j in 0..<c { xSum += Double(targets.storage[r * c + j]) }
            let logZ = softmaxRow(logits.storage, row: r, width: c, into: &grad.storage, scale: Float(xSum) / Float(n))
            for j in 0..<c {
                let x = targets.storage[r * c + j]
                guard x != 0 else { continue }
                total -= Double(x) * (Double(logits.storage[r * c + j]) - logZ)
                grad.storage[r * c + j] -= x / Float(n)
            }
        }
        return (Float(total / Double(n)), grad)
    }

    /// KL divergence of a diagonal Gaussian `N(μ, e^logvar)` from `N(0, 1)`, the VAE regulariser:
    /// `mean_n −½ Σ_j (1 + logvar − μ² − e^logvar)`.
    ///
    /// - Returns: the loss, `∂/∂μ = μ / batch` and `∂/∂logvar = ½(e^logvar − 1) / batch`.
    public static func gaussianKLDivergence(mean: Tensor, logVariance: Tensor) throws(VecDBError)
        -> (loss: Float, meanGradient: Tensor, logVarianceGradient: Tensor)
    {
        guard mean.rank >= 1, mean.shape == logVariance.shape else {
            throw VecDBError(
                .dimensionMismatch,
                "KL divergence expects mean and log-variance of the same shape, got \(Tensor.describe(mean.shape)) and \(Tensor.describe(logVariance.shape))"
            )
        }
        let n = Float(max(mean.shape[0], 1))
        var gm = Tensor(zeros: mean.shape)
        var gv = Tensor(zeros: mean.shape)
        var total = 0.0
        for i in 0..<mean.count {
            let mu = mean.storage[i]
            let lv = logVariance.storage[i]
            let e = expf(lv)
            total += -0.5 * Double(1 + lv - mu * mu - e)
            gm.storage[i] = mu / n
            gv.storage[i] = 0.5 * (e - 1) / n
        }
        return (Float(total / Double(n)), gm, gv)
    }

    /// Bayesian personalised ranking: `mean −log σ(positive − negative)`.
    ///
    /// - Parameters: positive, negative: scores of the same shape (one pair per value).
    /// - Returns: the loss and its gradients, `∓σ(negative − positive) / count`.
    public static func bpr(positive: Tensor, negative: Tensor) throws(VecDBError) -> (
        loss: Float, positiveGradient: Tensor, negativeGradient: Tensor
    ) {
        guard positive.shape == negative.shape, positive.count > 0 else {
            throw VecDBError(
                .dimensionMismatch,
                "BPR expects positive and negative scores of the same non-empty shape, got \(Tensor.describe(positive.shape)) and \(Tensor.describe(negative.shape))"
            )
        }
        let n = Float(positive.count)
        var gp = Tensor(zeros: positive.shape)
        var gn = Tensor(zeros: positive.shape)
        var total = 0.0
        for i in 0..<positive.count {
            let d = positive.storage[i] - negative.storage[i]
            // −log σ(d) = softplus(−d), computed stably.
            total += Double(d > 0 ? log1pf(expf(-d)) : -d + log1pf(expf(d)))
            let s = Activation.sigmoid(-d)
            gp.storage[i] = -s / n
            gn.storage[i] = s / n
        }
        return (Float(total / Double(n)), gp, gn)
    }

    /// Writes `scale · softmax(row)` into `out` and returns log Σ exp(row) (in Double).
    static func softmaxRow(_ x: [Float], row r: Int, width c: Int, into out: inout [Float], scale: Float) -> Double {
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                guard let xp = xb.baseAddress.map({ $0 + r * c }), let op = ob.baseAddress.map({ $0 + r * c }), c > 0 else { return 0 }
                var m = -Float.infinity
                for j in 0..<c { m = max(m, xp[j]) }
                // Float partial sums in blocks, added in Double: accurate and vectorisable.
                var sum = 0.0
                var j = 0
                while j < c {
                    let end = min(j + 256, c)
                    var block: Float = 0
                    while j < end {
                        let e = expf(xp[j] - m)
                        op[j] = e
                        block += e
                        j += 1
                    }
                    sum += Double(block)
                }
                let k = scale / Float(sum)
                for j in 0..<c { op[j] *= k }
                return Double(m) + log(sum)
            }
        }
    }
}
