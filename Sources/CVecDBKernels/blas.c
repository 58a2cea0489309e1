// Run-time BLAS binding.
//
// OpenBLAS reads OPENBLAS_CORETYPE in a constructor that runs when the library is loaded, so
// the variable must be set before that moment. Linking OpenBLAS at build time would load it
// before any of our code runs; instead it is opened here with dlopen on first use, after the
// core type has been chosen from the CPU's features (unless the environment already names one).
#define _GNU_SOURCE
#include "vecdb_kernels.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

typedef void (*cblas_sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha,
                               const float *a, int lda, const float *b, int ldb, float beta,
                               float *c, int ldc);
typedef void (*set_threads_fn)(int n);
typedef int (*get_threads_fn)(void);
typedef char *(*corename_fn)(void);
// LAPACK (Fortran calling convention): Cholesky factorisation and inverse from the factor.
typedef void (*spotrf_fn)(const char *uplo, const int *n, float *a, const int *lda, int *info);
typedef void (*spotri_fn)(const char *uplo, const int *n, float *a, const int *lda, int *info);

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static cblas_sgemm_fn blas_sgemm = NULL;
static set_threads_fn blas_set_threads = NULL;
static get_threads_fn blas_get_threads = NULL;
static char blas_desc[256] = "portable fallback GEMM (no BLAS library found)";
static spotrf_fn lapack_spotrf = NULL;
static spotri_fn lapack_spotri = NULL;
static char lapack_desc[256] = "portable fallback Cholesky (no LAPACK found)";

// LAPACK comes from the BLAS library when it has it (OpenBLAS does), else from liblapack.
static void lapack_bind(void *h, const char *name) {
    spotrf_fn f = (spotrf_fn)dlsym(h, "spotrf_");
    spotri_fn g = (spotri_fn)dlsym(h, "spotri_");
    if (f && g) {
        lapack_spotrf = f;
        lapack_spotri = g;
        snprintf(lapack_desc, sizeof lapack_desc, "%s spotrf_/spotri_", name);
    }
}

static void blas_load(void) {
    const char *note = "";
    if (getenv("OPENBLAS_CORETYPE") == NULL) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512cd")) {
            setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
            note = ", core type set by vecdb";
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            setenv("OPENBLAS_CORETYPE", "Haswell", 0);
            note = ", core type set by vecdb";
        }
#endif
    }
    const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libcblas.so.3", "libblas.so.3"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        cblas_sgemm_fn f = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
        if (!f) { dlclose(h); continue; }
        blas_sgemm = f;
        blas_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
        blas_get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
        corename_fn core = (corename_fn)dlsym(h, "openblas_get_corename");
        const char *ct = getenv("OPENBLAS_CORETYPE");
        snprintf(blas_desc, sizeof blas_desc, "%s core=%s (OPENBLAS_CORETYPE=%s%s)", names[i],
                 core ? core() : "?", ct ? ct : "unset", note);
        lapack_bind(h, names[i]);
        break;
    }
    if (!lapack_spotrf) {
        const char *lapacks[] = {"liblapack.so.3", "liblapack.so"};
        for (size_t i = 0; i < sizeof(lapacks) / sizeof(lapacks[0]) && !lapack_spotrf; i++) {
            void *h = dlopen(lapacks[i], RTLD_NOW | RTLD_LOCAL);
            if (h) lapack_bind(h, lapacks[i]);
        }
    }
}

int vdb_blas_loaded(void) {
    pthread_once(&blas_once, blas_load);
    return blas_sgemm != NULL;
}

const char *vdb_blas_description(void) {
    pthread_once(&blas_once, blas_load);
    return blas_desc;
}

void vdb_blas_set_threads(int n) {
    pthread_once(&blas_once, blas_load);
    if (blas_set_threads) blas_set_threads(n < 1 ? 1 : n);
}

int vdb_blas_get_threads(void) {
    pthread_once(&blas_once, blas_load);
    return blas_get_threads ? blas_get_threads() : 1;
}

// Portable GEMM for machines without a BLAS: row-major, blocked over k so the inner loop is a
// contiguous axpy the compiler vectorises.
static void fallback_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                           const float *b, int ldb, float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f) memset(ci, 0, sizeof(float) * (size_t)n);
        else if (beta != 1.0f) for (int j = 0; j < n; j++) ci[j] *= beta;
        for (int p = 0; p < k; p++) {
            float av = alpha * (ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]);
            if (av == 0.0f) continue;
            if (!tb) {
                const float *bp = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++) ci[j] += av * bp[j];
            } else {
                for (int j = 0; j < n; j++) ci[j] += av * b[(size_t)j * ldb + p];
            }
        }
    }
}

void vdb_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc) {
    pthread_once(&blas_once, blas_load);
    if (m <= 0 || n <= 0) return;
    if (blas_sgemm) {
        blas_sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS, trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS,
                   m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else {
        fallback_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

// Symmetric positive-definite inverse.
//
// A symmetric matrix is its own transpose, so row-major and column-major storage agree; LAPACK
// fills the upper triangle (column-major) and the lower one is copied from it.

int vdb_lapack_loaded(void) {
    pthread_once(&blas_once, blas_load);
    return lapack_spotrf != NULL;
}

const char *vdb_lapack_description(void) {
    pthread_once(&blas_once, blas_load);
    return lapack_desc;
}

// Plain Cholesky A = L·Lᵀ (accumulated in double), then A⁻¹ = L⁻ᵀ·L⁻¹, for machines without
// LAPACK. Row-major, full matrix in and out.
static int fallback_spd_inverse(int n, float *a) {
    size_t N = (size_t)n;
    double *l = calloc(N * N, sizeof(double));
    if (!l) return -2;
    for (size_t j = 0; j < N; j++) {
        double d = a[j * N + j];
        for (size_t k = 0; k < j; k++) d -= l[j * N + k] * l[j * N + k];
        if (!(d > 0.0)) { free(l); return (int)j + 1; }
        double ljj = sqrt(d);
        l[j * N + j] = ljj;
        for (size_t i = j + 1; i < N; i++) {
            double s = a[i * N + j];
            for (size_t k = 0; k < j; k++) s -= l[i * N + k] * l[j * N + k];
            l[i * N + j] = s / ljj;
        }
    }
    // L⁻¹ in place (lower triangular): row by row, forward substitution.
    for (size_t i = 0; i < N; i++) {
        l[i * N + i] = 1.0 / l[i * N + i];
        for (size_t j = 0; j < i; j++) {
            double s = 0.0;
            for (size_t k = j; k < i; k++) s -= l[i * N + k] * l[k * N + j];
            l[i * N + j] = s * l[i * N + i];
        }
    }
    // A⁻¹[i][j] = Σ_k L⁻¹[k][i] · L⁻¹[k][j], k ≥ max(i, j).
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j <= i; j++) {
            double s = 0.0;
            for (size_t k = i; k < N; k++) s += l[k * N + i] * l[k * N + j];
            a[i * N + j] = (float)s;
            a[j * N + i] = (float)s;
        }
    }
    free(l);
    return 0;
}

int vdb_spd_inverse(int n, float *a) {
    pthread_once(&blas_once, blas_load);
    if (n < 0 || (n > 0 && a == NULL)) return -1;
    if (n == 0) return 0;
    if (!lapack_spotrf) return fallback_spd_inverse(n, a);
    int info = 0;
    const char uplo = 'U';
    lapack_spotrf(&uplo, &n, a, &n, &info);
    if (info != 0) return info;
    lapack_spotri(&uplo, &n, a, &n, &info);
    if (info != 0) return info;
    // Column-major upper = row-major lower: element (i, j) with j <= i sits at a[i*n + j].
    size_t N = (size_t)n;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < i; j++) a[j * N + i] = a[i * N + j];
    return 0;
}

int vdb_spd_inverse_fallback(int n, float *a) {
    if (n < 0 || (n > 0 && a == NULL)) return -1;
    return fallback_spd_inverse(n, a);
}
