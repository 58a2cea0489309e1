import CVecDBKernels
import VecDBKernels

/// The inverse of a symmetric positive-definite matrix, through LAPACK's `spotrf_` and
/// `spotri_` from the OpenBLAS the BLAS shim loads, or a plain Cholesky in C without LAPACK.
package enum SymmetricInverse {
    /// Inverts the n×n symmetric positive-definite `a` in place (full matrix, row-major).
    ///
    /// - Parameter fallback: use the portable Cholesky even when LAPACK is there (tests).
    /// - Throws: ``VecDBError/Code/invalidArgument`` when the matrix is not positive definite.
    /// - Complexity: O(n³).
    package static func invert(_ a: inout [Float], n: Int, fallback: Bool = false) throws(VecDBError) {
        guard a.count == n * n else {
            throw VecDBError(.invalidArgument, "a \(n)×\(n) matrix needs \(n * n) values, got \(a.count)")
        }
        let info = a.withUnsafeMutableBufferPointer { p in
            fallback ? vdb_spd_inverse_fallback(Int32(n), p.baseAddress) : vdb_spd_inverse(Int32(n), p.baseAddress)
        }
        if info > 0 {
            throw VecDBError(
                .invalidArgument,
                "the \(n)×\(n) matrix is not positive definite (leading minor \(info)); "
                    + "increase the regularisation")
        }
        if info < 0 { throw VecDBError(.io, "symmetric inverse of a \(n)×\(n) matrix failed (code \(info))") }
    }

    /// Which library inverts: LAPACK from a named library, or the fallback.
    package static var description: String { String(cString: vdb_lapack_description()) }
}
