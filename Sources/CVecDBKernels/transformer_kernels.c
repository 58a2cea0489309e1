// Inference kernels for transformer encoders (VecDBNN's attention, the text encoder); see
// vecdb_nn_kernels.h.
//
// Plain C that the compiler vectorises, cloned for AVX-512, AVX2 and the baseline like the
// other nn kernels. The exponential and erf are written out (range reduction and polynomials)
// so that loops over them vectorise; libm's scalar expf and erff would not.
#include "vecdb_nn_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "clones.h"

// e^x for x in [-87, 88] (clamped outside): x = n ln2 + r with |r| <= ln2/2, then
// e^r by its Taylor polynomial to degree 7 (relative error below 2e-8 before rounding), and
// 2^n built in the exponent bits. Rounding to the nearest n uses the 1.5 * 2^23 trick rather
// than floorf, and the clamps are comparisons rather than fminf/fmaxf, so that loops over it
// vectorise on every target, the baseline included.
static inline float vdb_exp_approx(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float t = x * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t ti;
    memcpy(&ti, &t, sizeof ti);
    const int32_t bits = (ti - 0x4B400000 + 127) << 23;  // the integer n sits in t's low bits
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), odd-extended.
static inline float vdb_erf_approx(float x) {
    const float z = fabsf(x);
    const float t = 1.0f / (1.0f + 0.3275911f * z);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    const float y = 1.0f - p * t * vdb_exp_approx(-z * z);
    return copysignf(y, x);
}

// Softmax of n values in place: the maximum subtracted, exponentials, normalised.
static inline void vdb_softmax_in_place(float *x, size_t n) {
#pragma clang fp reassociate(on)
    float m = -INFINITY;
    for (size_t c = 0; c < n; c++) m = x[c] > m ? x[c] : m;
    float sum = 0.0f;
    for (size_t c = 0; c < n; c++) {
        const float e = vdb_exp_approx(x[c] - m);
        x[c] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (size_t c = 0; c < n; c++) x[c] *= inv;
}

VDB_CLONES void vdb_nn_exp(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = vdb_exp_approx(x[i]);
}

VDB_CLONES void vdb_nn_erf(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = vdb_erf_approx(x[i]);
}

VDB_CLONES void vdb_nn_gelu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + vdb_erf_approx(v * 0.70710678118654752f));
    }
}

VDB_CLONES void vdb_nn_bias_gelu(float *y, const float *bias, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * cols;
        for (size_t c = 0; c < cols; c++) {
            const float v = yr[c] + bias[c];
            yr[c] = 0.5f * v * (1.0f + vdb_erf_approx(v * 0.70710678118654752f));
        }
    }
}

VDB_CLONES void vdb_nn_residual_layernorm(float *x, const float *bias, const float *residual, const float *gamma,
                                          const float *beta, size_t rows, size_t cols, float eps) {
#pragma clang fp reassociate(on)
    const float inv_cols = 1.0f / (float)cols;
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * cols;
        if (bias) {
            for (size_t c = 0; c < cols; c++) xr[c] += bias[c];
        }
        if (residual) {
            const float *rr = residual + r * cols;
            for (size_t c = 0; c < cols; c++) xr[c] += rr[c];
        }
        float sum = 0.0f;
        for (size_t c = 0; c < cols; c++) sum += xr[c];
        const float mean = sum * inv_cols;
        float sq = 0.0f;
        for (size_t c = 0; c < cols; c++) {
            const float d = xr[c] - mean;
            sq += d * d;
        }
        const float inv = 1.0f / sqrtf(sq * inv_cols + eps);
        for (size_t c = 0; c < cols; c++) xr[c] = (xr[c] - mean) * inv * gamma[c] + beta[c];
    }
}

VDB_CLONES void vdb_nn_softmax_rows(float *x, size_t rows, size_t cols, size_t ld, int causal) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        const size_t n = causal && r + 1 < cols ? r + 1 : cols;
        for (size_t c = n; c < cols; c++) xr[c] = 0.0f;
        vdb_softmax_in_place(xr, n);
    }
}

VDB_CLONES void vdb_nn_attention_head(const float *q, const float *k, const float *v, size_t ld, size_t len,
                                      size_t head_dim, float scale, int causal, float *out, size_t ldo,
                                      float *scratch) {
#pragma clang fp reassociate(on)
    // Short sequences: each score is one dot product over the head's width (a vectorised
    // reduction), then the output row accumulates the value rows.
    float *s = scratch;
    for (size_t i = 0; i < len; i++) {
        const size_t n = causal ? i + 1 : len;
        const float *qi = q + i * ld;
        for (size_t j = 0; j < n; j++) {
            const float *kj = k + j * ld;
            float dot = 0.0f;
            for (size_t d = 0; d < head_dim; d++) dot += qi[d] * kj[d];
            s[j] = dot * scale;
        }
        vdb_softmax_in_place(s, n);
        float *oi = out + i * ldo;
        for (size_t d = 0; d < head_dim; d++) oi[d] = 0.0f;
        for (size_t j = 0; j < n; j++) {
            const float p = s[j];
            const float *vj = v + j * ld;
            for (size_t d = 0; d < head_dim; d++) oi[d] += p * vj[d];
        }
    }
}
