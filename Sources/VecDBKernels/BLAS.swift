import CVecDBKernels

/// Single-precision matrix products through the system BLAS.
///
/// OpenBLAS is loaded on first use, after `OPENBLAS_CORETYPE` is set for this CPU when the
/// environment leaves it unset (Debian's OpenBLAS 0.3.21 misdetects recent CPUs and runs its
/// slowest kernels otherwise). Without a BLAS, a portable blocked GEMM is used.
public enum BLAS {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C`.
    ///
    /// - Parameters:
    ///   - m, n, k: `op(A)` is m×k, `op(B)` is k×n, `C` is m×n.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        vdb_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Whether a real BLAS library was loaded.
    public static var isLoaded: Bool { vdb_blas_loaded() != 0 }

    /// Which library and core type are in use.
    public static var description: String { String(cString: vdb_blas_description()) }

    /// Threads the BLAS may use for one call.
    public static func setThreads(_ n: Int) { vdb_blas_set_threads(Int32(n)) }

    /// Threads the BLAS uses for one call now.
    public static var threads: Int { Int(vdb_blas_get_threads()) }
}
