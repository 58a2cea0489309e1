import CVecDBKernels
import VecDBKernels

// Element-wise arithmetic through the vectorised C kernels, and matrix products through BLAS.
extension Tensor {
    func requireSameShape(_ other: Tensor, _ what: String) throws(VecDBError) {
        guard shape == other.shape else {
            throw VecDBError(
                .dimensionMismatch, "\(what) expects equal shapes, got \(Tensor.describe(shape)) and \(Tensor.describe(other.shape))")
        }
    }

    /// Element-wise sum.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` naming both shapes.
    public static func + (lhs: Tensor, rhs: Tensor) throws(VecDBError) -> Tensor {
        try lhs.requireSameShape(rhs, "tensor addition")
        var out = Tensor(zeros: lhs.shape)
        out.storage.withUnsafeMutableBufferPointer { o in
            lhs.storage.withUnsafeBufferPointer { a in
                rhs.storage.withUnsafeBufferPointer { b in vdb_nn_add(a.baseAddress, b.baseAddress, o.baseAddress, a.count) }
            }
        }
        return out
    }

    /// Element-wise product.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` naming both shapes.
    public static func * (lhs: Tensor, rhs: Tensor) throws(VecDBError) -> Tensor {
        try lhs.requireSameShape(rhs, "tensor product")
        var out = Tensor(zeros: lhs.shape)
        out.storage.withUnsafeMutableBufferPointer { o in
            lhs.storage.withUnsafeBufferPointer { a in
                rhs.storage.withUnsafeBufferPointer { b in vdb_nn_mul(a.baseAddress, b.baseAddress, o.baseAddress, a.count) }
            }
        }
        return out
    }

    /// `self += alpha * x`.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` naming both shapes.
    public mutating func add(_ x: Tensor, scaledBy alpha: Float = 1) throws(VecDBError) {
        try requireSameShape(x, "tensor accumulation")
        storage.addScaled(x.storage, alpha)
    }

    /// Every value times `alpha`.
    public mutating func scale(by alpha: Float) {
        storage.withUnsafeMutableBufferPointer { vdb_nn_scale(alpha, $0.baseAddress, $0.count) }
    }

    /// The sum of squares, accumulated in Double.
    public var sumOfSquares: Double {
        storage.withUnsafeBufferPointer { vdb_nn_sum_squares($0.baseAddress, $0.count) }
    }

    /// The matrix product of two rank-2 tensors, `op(a) · op(b)`, through BLAS.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` naming both shapes when they do not chain.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws(VecDBError) -> Tensor {
        guard a.rank == 2, b.rank == 2 else {
            throw VecDBError(.dimensionMismatch, "matmul expects two matrices, got \(describe(a.shape)) and \(describe(b.shape))")
        }
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let k2 = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        guard k == k2 else {
            throw VecDBError(
                .dimensionMismatch,
                "matmul inner sizes differ: \(describe(a.shape))\(transposeA ? "ᵀ" : "") · \(describe(b.shape))\(transposeB ? "ᵀ" : "")")
        }
        var out = Tensor(zeros: [m, n])
        gemm(
            transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: a.storage, lda: a.shape[1],
            b: b.storage, ldb: b.shape[1], beta: 0, c: &out.storage, ldc: n)
        return out
    }
}

/// `C = alpha · op(A) · op(B) + beta · C` on arrays, row-major.
func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, a: [Float], lda: Int,
    b: [Float], ldb: Int, beta: Float, c: inout [Float], ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        if beta == 0 { for i in 0..<(m * ldc) where i < c.count { c[i] = 0 } } else { c.scaleAll(beta) }
        return
    }
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                guard let ap = pa.baseAddress, let bp = pb.baseAddress, let cp = pc.baseAddress else { return }
                BLAS.sgemm(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ap, lda: lda,
                    b: bp, ldb: ldb, beta: beta, c: cp, ldc: ldc)
            }
        }
    }
}

extension Array where Element == Float {
    /// `self += alpha * x` (equal counts).
    mutating func addScaled(_ x: [Float], _ alpha: Float) {
        withUnsafeMutableBufferPointer { y in
            x.withUnsafeBufferPointer { xp in vdb_nn_axpy(alpha, xp.baseAddress, y.baseAddress, Swift.min(y.count, xp.count)) }
        }
    }

    mutating func scaleAll(_ alpha: Float) {
        withUnsafeMutableBufferPointer { vdb_nn_scale(alpha, $0.baseAddress, $0.count) }
    }

    mutating func setZero() {
        withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            base.update(repeating: 0, count: p.count)
        }
    }
}

/// An array of `count` floats whose values the caller overwrites entirely before reading.
func uninitializedFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}
