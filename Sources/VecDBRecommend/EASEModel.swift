import VecDBKernels

/// EASE, the embarrassingly shallow autoencoder (Steck, 2019): an item × item weight matrix B
/// with a zero diagonal, in closed form.
///
/// With G = XᵀX the item co-occurrence matrix of the binary training matrix X and λ the L2
/// penalty, P = (G + λI)⁻¹ and B = I − P · diag(1 / diag(P)), that is B[i][j] = −P[i][j] / P[j][j]
/// for i ≠ j and B[i][i] = 0. A user's scores are x · B for their binary history x, so a user the
/// model has never seen is scored from their history without refitting.
///
/// G comes from BLAS `sgemm`; the inverse from LAPACK `spotrf_`/`spotri_` (Cholesky) in the
/// OpenBLAS the kernels load, or a portable Cholesky without it.
public struct EASEModel: ItemScorer {
    /// The L2 penalty λ.
    public let lambda: Float
    public let itemCount: Int
    /// B, row-major, items × items.
    package let weights: [Float]

    /// Fits EASE on `train`.
    ///
    /// - Parameters:
    ///   - train: the training interactions.
    ///   - lambda: the L2 penalty λ > 0 (a few hundred for MovieLens-sized data; choose it on a
    ///     validation split).
    /// - Returns: the fitted model.
    /// - Throws: ``VecDBError/Code/invalidArgument`` when λ is not positive and finite.
    /// - Complexity: O(users × items²) for G, O(items³) for the inverse; O(items²) memory.
    public static func fit(_ train: InteractionMatrix, lambda: Float) throws(VecDBError) -> EASEModel {
        try fit(gram: ItemGram.compute(train), itemCount: train.itemCount, lambda: lambda)
    }

    /// Fits EASE from a precomputed co-occurrence matrix G (row-major, items × items), so a
    /// grid of λ reuses one G.
    package static func fit(gram: [Float], itemCount n: Int, lambda: Float) throws(VecDBError) -> EASEModel {
        guard lambda.isFinite, lambda > 0 else {
            throw VecDBError(.invalidArgument, "EASE needs a positive, finite lambda, got \(lambda)")
        }
        var p = gram
        for i in 0..<n { p[i * n + i] += lambda }
        try SymmetricInverse.invert(&p, n: n)
        p.withUnsafeMutableBufferPointer { b in
            // B[i][j] = −P[i][j] / P[j][j], B[i][i] = 0, in place, row by row.
            var inverseDiagonal = [Float](repeating: 0, count: n)
            for j in 0..<n { inverseDiagonal[j] = 1 / b[j * n + j] }
            for i in 0..<n {
                for j in 0..<n { b[i * n + j] = -b[i * n + j] * inverseDiagonal[j] }
                b[i * n + i] = 0
            }
        }
        return EASEModel(lambda: lambda, itemCount: n, weights: p)
    }

    /// Scores x · B: the sum of B's rows for the history's items.
    ///
    /// - Complexity: O(history × items).
    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        let n = itemCount
        scores.withUnsafeMutableBufferPointer { s in
            for j in 0..<n { s[j] = 0 }
            weights.withUnsafeBufferPointer { w in
                for h in history where h >= 0 && Int(h) < n {
                    let row = Int(h) * n
                    for j in 0..<n { s[j] += w[row + j] }
                }
            }
        }
    }
}
