// SIMD distance kernels with runtime ISA dispatch, and a run-time BLAS binding.
//
// Every kernel exists for three instruction sets: AVX-512 (F, BW, VL, DQ), AVX2 with FMA and
// F16C, and a portable scalar fallback. `vdb_kernels()` picks the best table for the CPU once,
// the first time it is called; callers keep the table and call through it, so there is no
// per-call dispatch. `vdb_kernels_for()` exposes each table so tests can check every variant
// against a reference.
#ifndef VECDB_KERNELS_H
#define VECDB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VDB_ISA_SCALAR = 0,
    VDB_ISA_AVX2 = 1,
    VDB_ISA_AVX512 = 2,
} vdb_isa;

typedef struct {
    vdb_isa isa;
    /// Squared Euclidean distance.
    float (*l2sq_f32)(const float *a, const float *b, size_t d);
    /// Inner product.
    float (*ip_f32)(const float *a, const float *b, size_t d);
    /// Cosine distance, 1 - a.b / (|a| |b|); 1 when either vector is zero.
    float (*cosine_f32)(const float *a, const float *b, size_t d);
    /// Query in Float32 against a stored IEEE half-precision vector.
    float (*l2sq_f16)(const float *q, const uint16_t *x, size_t d);
    float (*ip_f16)(const float *q, const uint16_t *x, size_t d);
    /// Symmetric int8 kernels (both sides quantised); exact integer results.
    int32_t (*l2sq_i8)(const int8_t *a, const int8_t *b, size_t d);
    int32_t (*ip_i8)(const int8_t *a, const int8_t *b, size_t d);
    /// Asymmetric scalar quantisation: Float32 query against uint8 codes decoded per dimension
    /// as vmin[i] + vscale[i] * code[i].
    float (*l2sq_sq8)(const float *q, const uint8_t *code, const float *vmin, const float *vscale, size_t d);
    float (*ip_sq8)(const float *q, const uint8_t *code, const float *vmin, const float *vscale, size_t d);
    /// One query against `n` contiguous rows of `d` floats; writes `n` results to `out`.
    void (*l2sq_f32_batch)(const float *q, const float *base, size_t d, size_t n, float *out);
    void (*ip_f32_batch)(const float *q, const float *base, size_t d, size_t n, float *out);
    /// Sum of all floats in a buffer: a plain streaming read, used to measure memory bandwidth.
    float (*sum_f32)(const float *a, size_t n);
    /// One query against the rows `ids[0..n)` of a table whose row `i` starts `i * row_bytes`
    /// bytes past `base` (Float32 or IEEE half rows of `d` components); writes `n` results to
    /// `out`. Rows are prefetched a few ahead of their use: this is a graph expansion's scoring.
    void (*l2sq_f32_gather)(const float *q, const void *base, size_t row_bytes, const uint32_t *ids, size_t n,
                            size_t d, float *out);
    void (*ip_f32_gather)(const float *q, const void *base, size_t row_bytes, const uint32_t *ids, size_t n,
                          size_t d, float *out);
    void (*l2sq_f16_gather)(const float *q, const void *base, size_t row_bytes, const uint32_t *ids, size_t n,
                            size_t d, float *out);
    void (*ip_f16_gather)(const float *q, const void *base, size_t row_bytes, const uint32_t *ids, size_t n,
                          size_t d, float *out);
    /// A Float32 query against `n` contiguous rows of `d` uint8 codes: `out[r] = Σ q[i] · code[r][i]`.
    /// With the query pre-multiplied by the per-dimension steps, this is an SQ8 inner product
    /// less a per-query constant.
    void (*ip_u8_batch)(const float *q, const uint8_t *codes, size_t d, size_t n, float *out);
} vdb_kernel_table;

/// The best table for this CPU, chosen once.
const vdb_kernel_table *vdb_kernels(void);
/// The table for one ISA, or NULL when this CPU cannot run it.
const vdb_kernel_table *vdb_kernels_for(vdb_isa isa);
const char *vdb_isa_name(vdb_isa isa);

/// IEEE 754 half <-> single conversions (round to nearest even).
uint16_t vdb_f32_to_f16(float f);
float vdb_f16_to_f32(uint16_t h);
void vdb_f32_to_f16_array(const float *src, uint16_t *dst, size_t n);
/// Decodes n half-precision values (F16C when the CPU has it).
void vdb_f16_to_f32_array(const uint16_t *src, float *dst, size_t n);
/// The j minimising scale * line[j] + plus[j] (plus may be NULL), the lowest j on ties; the
/// minimum is stored in *best.
size_t vdb_argmin_scaled(const float *line, float scale, const float *plus, size_t k, float *best);
/// Squared L2 distances (ip = 0) or inner products (ip = 1) of one row x of d floats to k
/// centroids stored dimension-major (ct[t * k + j] is component t of centroid j).
void vdb_distances_to_columns(const float *x, const float *ct, size_t d, size_t k, int ip, float *out);

/// Hints that `p` will be read soon (graph traversal prefetches the next vectors).
static inline void vdb_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

// ---- BLAS ----------------------------------------------------------------------------------
// OpenBLAS is opened with dlopen on first use. Before it is loaded, OPENBLAS_CORETYPE is set
// for this CPU when the environment does not already set it: Debian's OpenBLAS 0.3.21 does not
// know recent CPUs and falls back to its slowest kernels ("Prescott"). When no BLAS can be
// loaded, a portable blocked GEMM is used instead.

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
void vdb_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
/// 1 when a real BLAS was loaded, 0 when the portable fallback is in use.
int vdb_blas_loaded(void);
/// A description such as "openblas SkylakeX (OPENBLAS_CORETYPE=SkylakeX set by vecdb)".
const char *vdb_blas_description(void);
void vdb_blas_set_threads(int n);
/// Threads the BLAS uses for one call now (1 without a BLAS that says).
int vdb_blas_get_threads(void);

/// Whether LAPACK's spotrf_/spotri_ were found (in the BLAS library or liblapack).
int vdb_lapack_loaded(void);
/// Which library provides LAPACK, or the fallback.
const char *vdb_lapack_description(void);
/// Inverts the symmetric positive-definite n×n matrix `a` in place (the full matrix, either
/// storage order): LAPACK's spotrf_ then spotri_, or a plain Cholesky without LAPACK.
/// Returns 0 on success, k > 0 when the leading minor of order k is not positive definite,
/// a negative value for bad arguments or no memory.
int vdb_spd_inverse(int n, float *a);
/// The portable Cholesky path of vdb_spd_inverse, for tests.
int vdb_spd_inverse_fallback(int n, float *a);

#ifdef __cplusplus
}
#endif
#endif
