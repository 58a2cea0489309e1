// Element-wise kernels for the neural-network module (VecDBNN).
//
// Each function is compiled for AVX-512, AVX2 and baseline x86-64 with `target_clones`; the
// loader picks the best clone for the CPU once, when the program starts (an ifunc), so calls
// cost no dispatch. On other architectures the portable body is the only version.
// All arrays are contiguous Float32; `n` counts elements.
#ifndef VECDB_NN_KERNELS_H
#define VECDB_NN_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// out = a + b
void vdb_nn_add(const float *a, const float *b, float *out, size_t n);
/// out = a * b
void vdb_nn_mul(const float *a, const float *b, float *out, size_t n);
/// y += alpha * x
void vdb_nn_axpy(float alpha, const float *x, float *y, size_t n);
/// x *= alpha
void vdb_nn_scale(float alpha, float *x, size_t n);
/// y = max(x, 0)
void vdb_nn_relu(const float *x, float *y, size_t n);
/// out = x > 0 ? g : 0
void vdb_nn_relu_backward(const float *x, const float *g, float *out, size_t n);
/// y[r * cols + c] += bias[c]
void vdb_nn_add_row_bias(float *y, const float *bias, size_t rows, size_t cols);
/// acc[c] += sum over r of g[r * cols + c]
void vdb_nn_column_sums(const float *g, float *acc, size_t rows, size_t cols);
/// Sum of squares, accumulated in double.
double vdb_nn_sum_squares(const float *x, size_t n);
/// SGD with momentum and coupled weight decay:
/// d = g + wd*w; v = momentum*v + d; w -= lr * (nesterov ? d + momentum*v : v)
void vdb_nn_sgd(float *w, const float *g, float *v, size_t n, float lr, float momentum, float wd, int nesterov);
/// Adam / AdamW: d = g + l2*w; m = b1*m + (1-b1)*d; v = b2*v + (1-b2)*d*d;
/// w -= lr * ((m/bc1) / (sqrt(v/bc2) + eps) + decoupled*w)
void vdb_nn_adam(float *w, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                 float eps, float bc1, float bc2, float l2, float decoupled);

// Transformer inference kernels (transformer_kernels.c).

/// y = e^x, vectorised (relative error about 1e-7; x clamped to [-87, 88]). In place allowed.
void vdb_nn_exp(const float *x, float *y, size_t n);
/// y = erf(x), vectorised (absolute error below 5e-7). In place allowed.
void vdb_nn_erf(const float *x, float *y, size_t n);
/// y = x/2 * (1 + erf(x/sqrt 2)): the exact (erf) GELU. In place allowed.
void vdb_nn_gelu(const float *x, float *y, size_t n);
/// Per row of `y` ([rows][cols]): y = GELU(y + bias), in place.
void vdb_nn_bias_gelu(float *y, const float *bias, size_t rows, size_t cols);
/// Per row of `x` ([rows][cols]): x = LayerNorm(x + bias + residual) * gamma + beta; `bias` and
/// `residual` may be NULL.
void vdb_nn_residual_layernorm(float *x, const float *bias, const float *residual, const float *gamma,
                               const float *beta, size_t rows, size_t cols, float eps);
/// Softmax of each of `rows` rows of `cols` values, rows `ld` floats apart, in place. With
/// `causal`, row r uses only its first r + 1 values and the rest become 0.
void vdb_nn_softmax_rows(float *x, size_t rows, size_t cols, size_t ld, int causal);
/// One attention head over one sequence of `len` positions: out_i = sum_j softmax_j(scale q_i.k_j) v_j,
/// with j <= i when `causal`. q, k, v rows are `ld` floats apart, out rows `ldo` apart; each row
/// has `head_dim` values. `scratch` holds `len` floats.
void vdb_nn_attention_head(const float *q, const float *k, const float *v, size_t ld, size_t len,
                           size_t head_dim, float scale, int causal, float *out, size_t ldo, float *scratch);

#ifdef __cplusplus
}
#endif
#endif
