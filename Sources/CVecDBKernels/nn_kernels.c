// Element-wise kernels for VecDBNN; see vecdb_nn_kernels.h.
//
// The loops are plain C the compiler vectorises; `target_clones` builds each for AVX-512,
// AVX2 and the baseline, chosen by CPU feature (not model, so AMD and Intel alike), and the
// dynamic loader binds the best one for this CPU once.
#include "vecdb_nn_kernels.h"

#include <math.h>

#include "clones.h"

VDB_CLONES void vdb_nn_add(const float *restrict a, const float *restrict b, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

VDB_CLONES void vdb_nn_mul(const float *restrict a, const float *restrict b, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

VDB_CLONES void vdb_nn_axpy(float alpha, const float *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

VDB_CLONES void vdb_nn_scale(float alpha, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] *= alpha;
}

VDB_CLONES void vdb_nn_relu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

VDB_CLONES void vdb_nn_relu_backward(const float *restrict x, const float *restrict g, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? g[i] : 0.0f;
}

VDB_CLONES void vdb_nn_add_row_bias(float *restrict y, const float *restrict bias, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * cols;
        for (size_t c = 0; c < cols; c++) yr[c] += bias[c];
    }
}

VDB_CLONES void vdb_nn_column_sums(const float *restrict g, float *restrict acc, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *gr = g + r * cols;
        for (size_t c = 0; c < cols; c++) acc[c] += gr[c];
    }
}

VDB_CLONES double vdb_nn_sum_squares(const float *x, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

VDB_CLONES void vdb_nn_sgd(float *restrict w, const float *restrict g, float *restrict v, size_t n, float lr,
                           float momentum, float wd, int nesterov) {
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            v[i] = momentum * v[i] + d;
            w[i] -= lr * (d + momentum * v[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            v[i] = momentum * v[i] + d;
            w[i] -= lr * v[i];
        }
    }
}

VDB_CLONES void vdb_nn_adam(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                            float lr, float b1, float b2, float eps, float bc1, float bc2, float l2, float decoupled) {
    const float ib1 = 1.0f / bc1, ib2 = 1.0f / bc2;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + l2 * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        w[i] -= lr * ((m[i] * ib1) / (sqrtf(v[i] * ib2) + eps) + decoupled * w[i]);
    }
}
