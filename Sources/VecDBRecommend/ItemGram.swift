import VecDBKernels

/// The item–item co-occurrence matrix G = XᵀX of a binary user × item matrix X, dense and
/// row-major (items × items), computed with BLAS `sgemm` over blocks of users so that X is
/// never dense in memory whole.
///
/// G[i][j] is the number of users who hold both i and j; G[i][i] the users of i.
package enum ItemGram {
    /// Users per dense block.
    static let blockRows = 512

    /// Computes XᵀX.
    ///
    /// - Complexity: O(users × items²) flops through BLAS; O(items²) memory.
    package static func compute(_ x: InteractionMatrix) -> [Float] {
        let n = x.itemCount
        var g = [Float](repeating: 0, count: n * n)
        guard n > 0 else { return g }
        g.withUnsafeMutableBufferPointer { gp in
            guard let c = gp.baseAddress else { return }
            x.forEachDenseBlock(blockRows: blockRows) { _, rows, dense in
                BLAS.sgemm(
                    transA: true, transB: false, m: n, n: n, k: rows, a: dense, lda: n, b: dense, ldb: n,
                    beta: 1, c: c, ldc: n)
            }
        }
        return g
    }
}
