// Distance kernels. Each ISA gets its own functions compiled with a `target` attribute, so the
// package builds for baseline x86-64 and still runs AVX-512 code where the CPU has it. The
// choice is made once in vdb_kernels().
#include "vecdb_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define VDB_X86 1
#include <immintrin.h>
#endif

// ---- half precision (portable) -------------------------------------------------------------

uint16_t vdb_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t mant = x & 0x007fffffu;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    if (exp == 0xff) { // Inf or NaN
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    }
    int32_t e = exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u); // overflow to Inf
    if (e <= 0) {                                      // subnormal or zero
        if (e < -10) return (uint16_t)sign;
        mant |= 0x00800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++; // may carry into exponent: correct
    return (uint16_t)half;
}

float vdb_f16_to_f32(uint16_t h) {
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t exp = ((uint32_t)h >> 10) & 0x1f;
    uint32_t mant = (uint32_t)h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        if (mant == 0) {
            x = sign;
        } else { // subnormal: normalise
            int32_t e = -1;
            do { e++; mant <<= 1; } while ((mant & 0x400u) == 0);
            mant &= 0x3ffu;
            x = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        x = sign | 0x7f800000u | (mant << 13);
    } else {
        x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

void vdb_f32_to_f16_array(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = vdb_f32_to_f16(src[i]);
}

// ---- scalar ----------------------------------------------------------------------------------

static float l2sq_f32_scalar(const float *a, const float *b, size_t d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= d; i += 4) {
        float t0 = a[i] - b[i], t1 = a[i + 1] - b[i + 1], t2 = a[i + 2] - b[i + 2], t3 = a[i + 3] - b[i + 3];
        s0 += t0 * t0; s1 += t1 * t1; s2 += t2 * t2; s3 += t3 * t3;
    }
    for (; i < d; i++) { float t = a[i] - b[i]; s0 += t * t; }
    return (s0 + s1) + (s2 + s3);
}

static float ip_f32_scalar(const float *a, const float *b, size_t d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= d; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
    for (; i < d; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float cosine_finish(float ip, float na, float nb) {
    if (na <= 0.0f || nb <= 0.0f) return 1.0f;
    return 1.0f - ip / sqrtf(na * nb);
}

static float cosine_f32_scalar(const float *a, const float *b, size_t d) {
    float ip = 0, na = 0, nb = 0;
    for (size_t i = 0; i < d; i++) { ip += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return cosine_finish(ip, na, nb);
}

static float l2sq_f16_scalar(const float *q, const uint16_t *x, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) { float t = q[i] - vdb_f16_to_f32(x[i]); s += t * t; }
    return s;
}

static float ip_f16_scalar(const float *q, const uint16_t *x, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) s += q[i] * vdb_f16_to_f32(x[i]);
    return s;
}

static int32_t l2sq_i8_scalar(const int8_t *a, const int8_t *b, size_t d) {
    int32_t s = 0;
    for (size_t i = 0; i < d; i++) { int32_t t = (int32_t)a[i] - (int32_t)b[i]; s += t * t; }
    return s;
}

static int32_t ip_i8_scalar(const int8_t *a, const int8_t *b, size_t d) {
    int32_t s = 0;
    for (size_t i = 0; i < d; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static float l2sq_sq8_scalar(const float *q, const uint8_t *c, const float *vmin, const float *vscale, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) { float t = q[i] - (vmin[i] + vscale[i] * (float)c[i]); s += t * t; }
    return s;
}

static float ip_sq8_scalar(const float *q, const uint8_t *c, const float *vmin, const float *vscale, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) s += q[i] * (vmin[i] + vscale[i] * (float)c[i]);
    return s;
}

static void l2sq_f32_batch_scalar(const float *q, const float *base, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) out[r] = l2sq_f32_scalar(q, base + r * d, d);
}

static void ip_f32_batch_scalar(const float *q, const float *base, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) out[r] = ip_f32_scalar(q, base + r * d, d);
}

static float sum_f32_scalar(const float *a, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    for (; i < n; i++) s0 += a[i];
    return (s0 + s1) + (s2 + s3);
}


// ---- Gathered rows: one graph expansion's neighbours in one call ---------------------------------
// A graph walk compares the query with up to 2·M rows scattered over the table. Scoring them
// in one call lets every row's first lines be requested a few rows ahead of their use, so the
// cache misses of one expansion overlap instead of following one another, and the call and
// kernel set-up are paid once per expansion rather than once per row.
#define VDB_GATHER_AHEAD 3
#define VDB_GATHER_LINES 64  // up to 4 KB per row: whole rows up to 1,000 Float32 components

static inline size_t gather_lines(size_t row_bytes) {
    size_t lines = (row_bytes + 63) / 64 + 1;  // rows need not start on a line
    return lines < VDB_GATHER_LINES ? lines : VDB_GATHER_LINES;
}

static inline void gather_prefetch(const char *row, size_t lines) {
    for (size_t l = 0; l < lines; l++) __builtin_prefetch(row + 64 * l, 0, 3);
}

#define GATHER(NAME, ATTR, T, KERNEL)                                                               \
ATTR static void NAME(const float *q, const void *base, size_t row_bytes, const uint32_t *ids,       \
                      size_t n, size_t d, float *out) {                                              \
    const char *b = (const char *)base;                                                             \
    size_t lines = gather_lines(row_bytes);                                                         \
    for (size_t r = 0; r < n && r < VDB_GATHER_AHEAD; r++) gather_prefetch(b + (size_t)ids[r] * row_bytes, lines); \
    for (size_t r = 0; r < n; r++) {                                                                \
        if (r + VDB_GATHER_AHEAD < n) gather_prefetch(b + (size_t)ids[r + VDB_GATHER_AHEAD] * row_bytes, lines); \
        out[r] = KERNEL(q, (const T *)(b + (size_t)ids[r] * row_bytes), d);                          \
    }                                                                                               \
}

static void ip_u8_batch_scalar(const float *q, const uint8_t *codes, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) {
        const uint8_t *c = codes + r * d;
        float s0 = 0, s1 = 0;
        size_t i = 0;
        for (; i + 2 <= d; i += 2) { s0 += q[i] * (float)c[i]; s1 += q[i + 1] * (float)c[i + 1]; }
        for (; i < d; i++) s0 += q[i] * (float)c[i];
        out[r] = s0 + s1;
    }
}

GATHER(l2sq_f32_gather_scalar, , float, l2sq_f32_scalar)
GATHER(ip_f32_gather_scalar, , float, ip_f32_scalar)
GATHER(l2sq_f16_gather_scalar, , uint16_t, l2sq_f16_scalar)
GATHER(ip_f16_gather_scalar, , uint16_t, ip_f16_scalar)

static const vdb_kernel_table table_scalar = {
    VDB_ISA_SCALAR,
    l2sq_f32_scalar, ip_f32_scalar, cosine_f32_scalar,
    l2sq_f16_scalar, ip_f16_scalar,
    l2sq_i8_scalar, ip_i8_scalar,
    l2sq_sq8_scalar, ip_sq8_scalar,
    l2sq_f32_batch_scalar, ip_f32_batch_scalar,
    sum_f32_scalar,
    l2sq_f32_gather_scalar, ip_f32_gather_scalar, l2sq_f16_gather_scalar, ip_f16_gather_scalar,
    ip_u8_batch_scalar,
};

#ifdef VDB_X86

// ---- AVX2 + FMA + F16C -----------------------------------------------------------------------

#define AVX2_ATTR __attribute__((target("avx2,fma,f16c")))

AVX2_ATTR static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, lo);
    lo = _mm_add_ss(lo, sh);
    return _mm_cvtss_f32(lo);
}

AVX2_ATTR static inline int32_t hsum256_epi32(__m256i v) {
    __m128i lo = _mm256_castsi256_si128(v);
    __m128i hi = _mm256_extracti128_si256(v, 1);
    lo = _mm_add_epi32(lo, hi);
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0x4e));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0xb1));
    return _mm_cvtsi128_si32(lo);
}

AVX2_ATTR static inline float l2sq_f32_avx2_inl(const float *a, const float *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 t2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 t3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(t0, t0, s0); s1 = _mm256_fmadd_ps(t1, t1, s1);
        s2 = _mm256_fmadd_ps(t2, t2, s2); s3 = _mm256_fmadd_ps(t3, t3, s3);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(t, t, s0);
    }
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) { float t = a[i] - b[i]; s += t * t; }
    return s;
}

AVX2_ATTR static inline float ip_f32_avx2_inl(const float *a, const float *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) s += a[i] * b[i];
    return s;
}

AVX2_ATTR static float l2sq_f32_avx2(const float *a, const float *b, size_t d) { return l2sq_f32_avx2_inl(a, b, d); }
AVX2_ATTR static float ip_f32_avx2(const float *a, const float *b, size_t d) { return ip_f32_avx2_inl(a, b, d); }

AVX2_ATTR static float cosine_f32_avx2(const float *a, const float *b, size_t d) {
    __m256 sip = _mm256_setzero_ps(), sa = _mm256_setzero_ps(), sb = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
        sip = _mm256_fmadd_ps(va, vb, sip); sa = _mm256_fmadd_ps(va, va, sa); sb = _mm256_fmadd_ps(vb, vb, sb);
    }
    float ip = hsum256(sip), na = hsum256(sa), nb = hsum256(sb);
    for (; i < d; i++) { ip += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return cosine_finish(ip, na, nb);
}

AVX2_ATTR static float l2sq_f16_avx2(const float *q, const uint16_t *x, size_t d) {
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 vx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(q + i), vx);
        s = _mm256_fmadd_ps(t, t, s);
    }
    float r = hsum256(s);
    for (; i < d; i++) { float t = q[i] - vdb_f16_to_f32(x[i]); r += t * t; }
    return r;
}

AVX2_ATTR static float ip_f16_avx2(const float *q, const uint16_t *x, size_t d) {
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 vx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        s = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), vx, s);
    }
    float r = hsum256(s);
    for (; i < d; i++) r += q[i] * vdb_f16_to_f32(x[i]);
    return r;
}

AVX2_ATTR static int32_t l2sq_i8_avx2(const int8_t *a, const int8_t *b, size_t d) {
    __m256i s = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256i va = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i t = _mm256_sub_epi16(va, vb);
        s = _mm256_add_epi32(s, _mm256_madd_epi16(t, t));
    }
    int32_t r = hsum256_epi32(s);
    for (; i < d; i++) { int32_t t = (int32_t)a[i] - (int32_t)b[i]; r += t * t; }
    return r;
}

AVX2_ATTR static int32_t ip_i8_avx2(const int8_t *a, const int8_t *b, size_t d) {
    __m256i s = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256i va = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(va, vb));
    }
    int32_t r = hsum256_epi32(s);
    for (; i < d; i++) r += (int32_t)a[i] * (int32_t)b[i];
    return r;
}

AVX2_ATTR static float l2sq_sq8_avx2(const float *q, const uint8_t *c, const float *vmin, const float *vscale, size_t d) {
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 vc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + i))));
        __m256 x = _mm256_fmadd_ps(vc, _mm256_loadu_ps(vscale + i), _mm256_loadu_ps(vmin + i));
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(q + i), x);
        s = _mm256_fmadd_ps(t, t, s);
    }
    float r = hsum256(s);
    for (; i < d; i++) { float t = q[i] - (vmin[i] + vscale[i] * (float)c[i]); r += t * t; }
    return r;
}

AVX2_ATTR static float ip_sq8_avx2(const float *q, const uint8_t *c, const float *vmin, const float *vscale, size_t d) {
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 vc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + i))));
        __m256 x = _mm256_fmadd_ps(vc, _mm256_loadu_ps(vscale + i), _mm256_loadu_ps(vmin + i));
        s = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x, s);
    }
    float r = hsum256(s);
    for (; i < d; i++) r += q[i] * (vmin[i] + vscale[i] * (float)c[i]);
    return r;
}

AVX2_ATTR static void l2sq_f32_batch_avx2(const float *q, const float *base, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) out[r] = l2sq_f32_avx2_inl(q, base + r * d, d);
}

AVX2_ATTR static void ip_f32_batch_avx2(const float *q, const float *base, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) out[r] = ip_f32_avx2_inl(q, base + r * d, d);
}

AVX2_ATTR static float sum_f32_avx2(const float *a, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i)); s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16)); s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
    }
    float r = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) r += a[i];
    return r;
}

AVX2_ATTR static void ip_u8_batch_avx2(const float *q, const uint8_t *codes, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) {
        const uint8_t *c = codes + r * d;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 16 <= d; i += 16) {
            __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + i))));
            __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + i + 8))));
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), c0, s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), c1, s1);
        }
        float t = hsum256(_mm256_add_ps(s0, s1));
        for (; i < d; i++) t += q[i] * (float)c[i];
        out[r] = t;
    }
}

GATHER(l2sq_f32_gather_avx2, AVX2_ATTR, float, l2sq_f32_avx2_inl)
GATHER(ip_f32_gather_avx2, AVX2_ATTR, float, ip_f32_avx2_inl)
GATHER(l2sq_f16_gather_avx2, AVX2_ATTR, uint16_t, l2sq_f16_avx2)
GATHER(ip_f16_gather_avx2, AVX2_ATTR, uint16_t, ip_f16_avx2)

static const vdb_kernel_table table_avx2 = {
    VDB_ISA_AVX2,
    l2sq_f32_avx2, ip_f32_avx2, cosine_f32_avx2,
    l2sq_f16_avx2, ip_f16_avx2,
    l2sq_i8_avx2, ip_i8_avx2,
    l2sq_sq8_avx2, ip_sq8_avx2,
    l2sq_f32_batch_avx2, ip_f32_batch_avx2,
    sum_f32_avx2,
    l2sq_f32_gather_avx2, ip_f32_gather_avx2, l2sq_f16_gather_avx2, ip_f16_gather_avx2,
    ip_u8_batch_avx2,
};

// ---- AVX-512 (F, BW, VL, DQ) -----------------------------------------------------------------

#define AVX512_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

AVX512_ATTR static inline __mmask16 tail_mask16(size_t r) { return (__mmask16)((1u << r) - 1u); }

AVX512_ATTR static inline float l2sq_f32_avx512_inl(const float *a, const float *b, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 t2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 t3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        s0 = _mm512_fmadd_ps(t0, t0, s0); s1 = _mm512_fmadd_ps(t1, t1, s1);
        s2 = _mm512_fmadd_ps(t2, t2, s2); s3 = _mm512_fmadd_ps(t3, t3, s3);
    }
    for (; i + 16 <= d; i += 16) {
        __m512 t = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s1 = _mm512_fmadd_ps(t, t, s1);
    }
    if (i < d) {
        __mmask16 m = tail_mask16(d - i);
        __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s2 = _mm512_fmadd_ps(t, t, s2);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

AVX512_ATTR static inline float ip_f32_avx512_inl(const float *a, const float *b, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= d; i += 16) s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s1);
    if (i < d) {
        __mmask16 m = tail_mask16(d - i);
        s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s2);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

AVX512_ATTR static float l2sq_f32_avx512(const float *a, const float *b, size_t d) { return l2sq_f32_avx512_inl(a, b, d); }
AVX512_ATTR static float ip_f32_avx512(const float *a, const float *b, size_t d) { return ip_f32_avx512_inl(a, b, d); }

AVX512_ATTR static float cosine_f32_avx512(const float *a, const float *b, size_t d) {
    __m512 sip = _mm512_setzero_ps(), sa = _mm512_setzero_ps(), sb = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < d; i += 16) {
        __mmask16 m = d - i >= 16 ? (__mmask16)0xffff : tail_mask16(d - i);
        __m512 va = _mm512_maskz_loadu_ps(m, a + i), vb = _mm512_maskz_loadu_ps(m, b + i);
        sip = _mm512_fmadd_ps(va, vb, sip); sa = _mm512_fmadd_ps(va, va, sa); sb = _mm512_fmadd_ps(vb, vb, sb);
    }
    return cosine_finish(_mm512_reduce_add_ps(sip), _mm512_reduce_add_ps(sa), _mm512_reduce_add_ps(sb));
}

AVX512_ATTR static float l2sq_f16_avx512(const float *q, const uint16_t *x, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 x0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i)));
        __m512 x1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i + 16)));
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), x0);
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), x1);
        s0 = _mm512_fmadd_ps(t0, t0, s0); s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    for (; i < d; i += 16) {
        __mmask16 m = d - i >= 16 ? (__mmask16)0xffff : tail_mask16(d - i);
        __m512 vx = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
        __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i), vx);
        s0 = _mm512_fmadd_ps(t, t, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

AVX512_ATTR static float ip_f16_avx512(const float *q, const uint16_t *x, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 x0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i)));
        __m512 x1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i + 16)));
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x0, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), x1, s1);
    }
    for (; i < d; i += 16) {
        __mmask16 m = d - i >= 16 ? (__mmask16)0xffff : tail_mask16(d - i);
        __m512 vx = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), vx, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

AVX512_ATTR static int32_t l2sq_i8_avx512(const int8_t *a, const int8_t *b, size_t d) {
    __m512i s = _mm512_setzero_si512();
    size_t i = 0;
    for (; i < d; i += 32) {
        __mmask32 m = d - i >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1ull << (d - i)) - 1ull);
        __m512i va = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, a + i));
        __m512i vb = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i));
        __m512i t = _mm512_sub_epi16(va, vb);
        s = _mm512_add_epi32(s, _mm512_madd_epi16(t, t));
    }
    return _mm512_reduce_add_epi32(s);
}

AVX512_ATTR static int32_t ip_i8_avx512(const int8_t *a, const int8_t *b, size_t d) {
    __m512i s = _mm512_setzero_si512();
    size_t i = 0;
    for (; i < d; i += 32) {
        __mmask32 m = d - i >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1ull << (d - i)) - 1ull);
        __m512i va = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, a + i));
        __m512i vb = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i));
        s = _mm512_add_epi32(s, _mm512_madd_epi16(va, vb));
    }
    return _mm512_reduce_add_epi32(s);
}

// SQ8: x = vmin + code · vscale, decoded 16 lanes at a time. Two accumulators, 32 dimensions
// per step, so consecutive FMAs do not wait on each other.
#define SQ8_DECODE(i, m) _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8((m), c + (i)))), \
                                         _mm512_maskz_loadu_ps((m), vscale + (i)), _mm512_maskz_loadu_ps((m), vmin + (i)))

AVX512_ATTR static float l2sq_sq8_avx512(const float *q, const uint8_t *c, const float *vmin, const float *vscale, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    const __mmask16 all = (__mmask16)0xffff;
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), SQ8_DECODE(i, all));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), SQ8_DECODE(i + 16, all));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
        s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    for (; i < d; i += 16) {
        __mmask16 m = d - i >= 16 ? all : tail_mask16(d - i);
        __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i), SQ8_DECODE(i, m));
        s0 = _mm512_fmadd_ps(t, t, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

AVX512_ATTR static float ip_sq8_avx512(const float *q, const uint8_t *c, const float *vmin, const float *vscale, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    const __mmask16 all = (__mmask16)0xffff;
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), SQ8_DECODE(i, all), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), SQ8_DECODE(i + 16, all), s1);
    }
    for (; i < d; i += 16) {
        __mmask16 m = d - i >= 16 ? all : tail_mask16(d - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), SQ8_DECODE(i, m), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// Batches of rows with at most 64 components (GloVe-50, PQ sub-spaces, small embeddings): the
// query stays in up to four registers for the whole batch, and each row is a few masked loads,
// FMAs and one reduction. Masked-off lanes are never read, so rows may end anywhere.
// Chunks of 16 components wholly inside a row are read with plain loads; only the last,
// partial chunk is masked. A masked load whose mask is known only at run time stays a masked
// load, and AMD's Zen 4 runs those several times slower than plain loads when they cross a
// cache line, which rows of 50 floats do in every chunk. Inside a batch the partial chunk is
// a plain load whose extra lanes are then cleared in the register, while the floats it reads
// past the row still lie inside the batch; only the batch's last rows use the masked load.
#define SMALL_CHUNK(p, c, full, mt, inside)                                                         \
    ((c) < (full) ? _mm512_loadu_ps(p)                                                             \
                  : (inside) ? _mm512_maskz_mov_ps((mt), _mm512_loadu_ps(p)) : _mm512_maskz_loadu_ps((mt), (p)))
// Sums of four accumulators at once, {Σs0, Σs1, Σs2, Σs3}: one horizontal reduction for four
// rows instead of one per row, which is what short rows would otherwise spend most time on.
AVX512_ATTR static inline __m128 reduce4_avx512(__m512 s0, __m512 s1, __m512 s2, __m512 s3) {
    __m512 a = _mm512_add_ps(_mm512_unpacklo_ps(s0, s1), _mm512_unpackhi_ps(s0, s1));
    __m512 b = _mm512_add_ps(_mm512_unpacklo_ps(s2, s3), _mm512_unpackhi_ps(s2, s3));
    __m512 c = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))));
    __m256 e = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    return _mm_add_ps(_mm256_castps256_ps128(e), _mm256_extractf128_ps(e, 1));
}

// One row's sum into `acc`, its chunks read as SMALL_CHUNK says.
#define SMALL_ROW(STEP, acc, x, inside)                                                             \
    do {                                                                                           \
        __m512 s = _mm512_setzero_ps();                                                            \
        STEP(q0, SMALL_CHUNK((x), 0, full, mt, (inside)));                                         \
        if (chunks > 1) { STEP(q1, SMALL_CHUNK((x) + 16, 1, full, mt, (inside))); }                \
        if (chunks > 2) { STEP(q2, SMALL_CHUNK((x) + 32, 2, full, mt, (inside))); }                \
        if (chunks > 3) { STEP(q3, SMALL_CHUNK((x) + 48, 3, full, mt, (inside))); }                \
        acc = s;                                                                                   \
    } while (0)
#define SMALL_BATCH(NAME, STEP)                                                                     \
AVX512_ATTR static void NAME(const float *q, const float *base, size_t d, size_t n, float *out) {  \
    __mmask16 m0 = d >= 16 ? 0xffff : tail_mask16(d);                                              \
    __mmask16 m1 = d >= 32 ? 0xffff : (d > 16 ? tail_mask16(d - 16) : 0);                          \
    __mmask16 m2 = d >= 48 ? 0xffff : (d > 32 ? tail_mask16(d - 32) : 0);                          \
    __mmask16 m3 = d >= 64 ? 0xffff : (d > 48 ? tail_mask16(d - 48) : 0);                          \
    __m512 q0 = _mm512_maskz_loadu_ps(m0, q), q1 = _mm512_maskz_loadu_ps(m1, q + 16);              \
    __m512 q2 = _mm512_maskz_loadu_ps(m2, q + 32), q3 = _mm512_maskz_loadu_ps(m3, q + 48);         \
    size_t chunks = (d + 15) / 16, full = d / 16;                                                  \
    __mmask16 mt = tail_mask16(d % 16);                                                            \
    size_t r = 0;                                                                                  \
    /* Four rows at a time while the partial chunk of the fourth still reads inside the batch. */  \
    for (; r + 4 <= n && (n - r - 3) * d >= 16 * chunks; r += 4) {                                 \
        const float *x = base + r * d;                                                             \
        __m512 a0, a1, a2, a3;                                                                     \
        SMALL_ROW(STEP, a0, x, 1);                                                                 \
        SMALL_ROW(STEP, a1, x + d, 1);                                                             \
        SMALL_ROW(STEP, a2, x + 2 * d, 1);                                                         \
        SMALL_ROW(STEP, a3, x + 3 * d, 1);                                                         \
        _mm_storeu_ps(out + r, reduce4_avx512(a0, a1, a2, a3));                                    \
    }                                                                                              \
    for (; r < n; r++) {                                                                           \
        const float *x = base + r * d;                                                             \
        __m512 a0;                                                                                 \
        SMALL_ROW(STEP, a0, x, (n - r) * d >= 16 * chunks);                                        \
        out[r] = _mm512_reduce_add_ps(a0);                                                         \
    }                                                                                              \
}
#define IP_STEP(qv, v) s = _mm512_fmadd_ps((qv), (v), s)
#define L2_STEP(qv, v) do { __m512 t_ = _mm512_sub_ps((qv), (v)); s = _mm512_fmadd_ps(t_, t_, s); } while (0)
SMALL_BATCH(ip_f32_batch_small_avx512, IP_STEP)
SMALL_BATCH(l2sq_f32_batch_small_avx512, L2_STEP)

AVX512_ATTR static void l2sq_f32_batch_avx512(const float *q, const float *base, size_t d, size_t n, float *out) {
    if (d <= 64) { l2sq_f32_batch_small_avx512(q, base, d, n, out); return; }
    for (size_t r = 0; r < n; r++) out[r] = l2sq_f32_avx512_inl(q, base + r * d, d);
}

AVX512_ATTR static void ip_f32_batch_avx512(const float *q, const float *base, size_t d, size_t n, float *out) {
    if (d <= 64) { ip_f32_batch_small_avx512(q, base, d, n, out); return; }
    for (size_t r = 0; r < n; r++) out[r] = ip_f32_avx512_inl(q, base + r * d, d);
}

AVX512_ATTR static float sum_f32_avx512(const float *a, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i)); s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32)); s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
    }
    float r = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    for (; i < n; i++) r += a[i];
    return r;
}

// Rows of at most 64 components keep the query in registers across the gathered rows, as the
// small batches above do.
#define SMALL_GATHER(NAME, STEP)                                                                    \
AVX512_ATTR static void NAME(const float *q, const void *base, size_t row_bytes, const uint32_t *ids, \
                             size_t n, size_t d, float *out) {                                      \
    const char *b = (const char *)base;                                                            \
    size_t lines = gather_lines(row_bytes);                                                        \
    __mmask16 m0 = d >= 16 ? 0xffff : tail_mask16(d);                                              \
    __mmask16 m1 = d >= 32 ? 0xffff : (d > 16 ? tail_mask16(d - 16) : 0);                          \
    __mmask16 m2 = d >= 48 ? 0xffff : (d > 32 ? tail_mask16(d - 32) : 0);                          \
    __mmask16 m3 = d >= 64 ? 0xffff : (d > 48 ? tail_mask16(d - 48) : 0);                          \
    __m512 q0 = _mm512_maskz_loadu_ps(m0, q), q1 = _mm512_maskz_loadu_ps(m1, q + 16);              \
    __m512 q2 = _mm512_maskz_loadu_ps(m2, q + 32), q3 = _mm512_maskz_loadu_ps(m3, q + 48);         \
    size_t chunks = (d + 15) / 16, full = d / 16;                                                  \
    __mmask16 mt = tail_mask16(d % 16);                                                            \
    for (size_t r = 0; r < n && r < VDB_GATHER_AHEAD; r++) gather_prefetch(b + (size_t)ids[r] * row_bytes, lines); \
    for (size_t r = 0; r < n; r++) {                                                               \
        if (r + VDB_GATHER_AHEAD < n) gather_prefetch(b + (size_t)ids[r + VDB_GATHER_AHEAD] * row_bytes, lines); \
        const float *x = (const float *)(b + (size_t)ids[r] * row_bytes);                          \
        __m512 s = _mm512_setzero_ps();                                                            \
        STEP(q0, SMALL_CHUNK(x, 0, full, mt, 0));                                                  \
        if (chunks > 1) { STEP(q1, SMALL_CHUNK(x + 16, 1, full, mt, 0)); }                         \
        if (chunks > 2) { STEP(q2, SMALL_CHUNK(x + 32, 2, full, mt, 0)); }                         \
        if (chunks > 3) { STEP(q3, SMALL_CHUNK(x + 48, 3, full, mt, 0)); }                         \
        out[r] = _mm512_reduce_add_ps(s);                                                          \
    }                                                                                              \
}
SMALL_GATHER(ip_f32_gather_small_avx512, IP_STEP)
SMALL_GATHER(l2sq_f32_gather_small_avx512, L2_STEP)
GATHER(l2sq_f32_gather_large_avx512, AVX512_ATTR, float, l2sq_f32_avx512_inl)
GATHER(ip_f32_gather_large_avx512, AVX512_ATTR, float, ip_f32_avx512_inl)
GATHER(l2sq_f16_gather_avx512, AVX512_ATTR, uint16_t, l2sq_f16_avx512)
GATHER(ip_f16_gather_avx512, AVX512_ATTR, uint16_t, ip_f16_avx512)

AVX512_ATTR static void ip_u8_batch_avx512(const float *q, const uint8_t *codes, size_t d, size_t n, float *out) {
    for (size_t r = 0; r < n; r++) {
        const uint8_t *c = codes + r * d;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        size_t i = 0;
        for (; i + 32 <= d; i += 32) {
            __m512 c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(c + i))));
            __m512 c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(c + i + 16))));
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), c0, s0);
            s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), c1, s1);
        }
        for (; i < d; i += 16) {
            __mmask16 m = d - i >= 16 ? (__mmask16)0xffff : tail_mask16(d - i);
            __m512 cv = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, c + i)));
            s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), cv, s0);
        }
        out[r] = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    }
}

AVX512_ATTR static void l2sq_f32_gather_avx512(const float *q, const void *base, size_t row_bytes, const uint32_t *ids,
                                               size_t n, size_t d, float *out) {
    if (d <= 64) l2sq_f32_gather_small_avx512(q, base, row_bytes, ids, n, d, out);
    else l2sq_f32_gather_large_avx512(q, base, row_bytes, ids, n, d, out);
}

AVX512_ATTR static void ip_f32_gather_avx512(const float *q, const void *base, size_t row_bytes, const uint32_t *ids,
                                             size_t n, size_t d, float *out) {
    if (d <= 64) ip_f32_gather_small_avx512(q, base, row_bytes, ids, n, d, out);
    else ip_f32_gather_large_avx512(q, base, row_bytes, ids, n, d, out);
}

static const vdb_kernel_table table_avx512 = {
    VDB_ISA_AVX512,
    l2sq_f32_avx512, ip_f32_avx512, cosine_f32_avx512,
    l2sq_f16_avx512, ip_f16_avx512,
    l2sq_i8_avx512, ip_i8_avx512,
    l2sq_sq8_avx512, ip_sq8_avx512,
    l2sq_f32_batch_avx512, ip_f32_batch_avx512,
    sum_f32_avx512,
    l2sq_f32_gather_avx512, ip_f32_gather_avx512, l2sq_f16_gather_avx512, ip_f16_gather_avx512,
    ip_u8_batch_avx512,
};

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
#endif // VDB_X86

const vdb_kernel_table *vdb_kernels_for(vdb_isa isa) {
    switch (isa) {
    case VDB_ISA_SCALAR: return &table_scalar;
#ifdef VDB_X86
    case VDB_ISA_AVX2: return cpu_has_avx2() ? &table_avx2 : NULL;
    case VDB_ISA_AVX512: return cpu_has_avx512() ? &table_avx512 : NULL;
#endif
    default: return NULL;
    }
}

static const vdb_kernel_table *volatile chosen_table = NULL;

const vdb_kernel_table *vdb_kernels(void) {
    const vdb_kernel_table *t = chosen_table;
    if (t) return t;
    // VECDB_ISA=scalar|avx2|avx512 caps the choice (for measurements and tests); it can lower
    // the ISA, never raise it beyond what the CPU has.
    const char *cap = getenv("VECDB_ISA");
    int limit = VDB_ISA_AVX512;
    if (cap && strcmp(cap, "scalar") == 0) limit = VDB_ISA_SCALAR;
    else if (cap && strcmp(cap, "avx2") == 0) limit = VDB_ISA_AVX2;
    t = limit >= VDB_ISA_AVX512 ? vdb_kernels_for(VDB_ISA_AVX512) : NULL;
    if (!t && limit >= VDB_ISA_AVX2) t = vdb_kernels_for(VDB_ISA_AVX2);
    if (!t) t = &table_scalar;
    chosen_table = t; // idempotent: every thread computes the same answer
    return t;
}

const char *vdb_isa_name(vdb_isa isa) {
    switch (isa) {
    case VDB_ISA_SCALAR: return "scalar";
    case VDB_ISA_AVX2: return "avx2";
    case VDB_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

// ---- half-precision rows to Float32 ----------------------------------------------------------

__attribute__((target("avx2,f16c"))) static void f16_to_f32_array_f16c(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = vdb_f16_to_f32(src[i]);
}

static void f16_to_f32_array_scalar(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = vdb_f16_to_f32(src[i]);
}

void vdb_f16_to_f32_array(const uint16_t *src, float *dst, size_t n) {
    static void (*chosen)(const uint16_t *, float *, size_t) = 0;
    void (*f)(const uint16_t *, float *, size_t) = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (!f) {
        f = (cpu_has_avx2() && vdb_kernels()->isa != VDB_ISA_SCALAR) ? f16_to_f32_array_f16c : f16_to_f32_array_scalar;
        __atomic_store_n(&chosen, f, __ATOMIC_RELAXED);
    }
    f(src, dst, n);
}

// ---- argmin of scale · line[j] + plus[j] (k-means assignment after GEMM) ----------------------

static size_t argmin_scalar(const float *line, float scale, const float *plus, size_t k, float *best) {
    float b = INFINITY;
    size_t bj = 0;
    for (size_t j = 0; j < k; j++) {
        float v = scale * line[j] + (plus ? plus[j] : 0.0f);
        if (v < b) { b = v; bj = j; }
    }
    *best = b;
    return bj;
}

AVX512_ATTR static size_t argmin_avx512(const float *line, float scale, const float *plus, size_t k, float *best) {
    __m512 bv = _mm512_set1_ps(INFINITY);
    __m512i bi = _mm512_setzero_si512();
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    const __m512 sv = _mm512_set1_ps(scale);
    size_t j = 0;
    for (; j + 16 <= k; j += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(line + j), sv);
        if (plus) v = _mm512_add_ps(v, _mm512_loadu_ps(plus + j));
        __mmask16 m = _mm512_cmp_ps_mask(v, bv, _CMP_LT_OQ);
        bv = _mm512_mask_mov_ps(bv, m, v);
        bi = _mm512_mask_mov_epi32(bi, m, idx);
        idx = _mm512_add_epi32(idx, step);
    }
    float lanes[16];
    int32_t lidx[16];
    _mm512_storeu_ps(lanes, bv);
    _mm512_storeu_si512(lidx, bi);
    float b = INFINITY;
    size_t bj = 0;
    for (int l = 0; l < 16; l++) {
        if (lanes[l] < b || (lanes[l] == b && (size_t)lidx[l] < bj)) { b = lanes[l]; bj = (size_t)lidx[l]; }
    }
    for (; j < k; j++) {
        float v = scale * line[j] + (plus ? plus[j] : 0.0f);
        if (v < b) { b = v; bj = j; }
    }
    *best = b;
    return bj;
}

size_t vdb_argmin_scaled(const float *line, float scale, const float *plus, size_t k, float *best) {
    if (vdb_kernels()->isa == VDB_ISA_AVX512) return argmin_avx512(line, scale, plus, k, best);
    return argmin_scalar(line, scale, plus, k, best);
}

// ---- one row against k dimension-major centroids (k-means assignment for small d) ------------

static void distances_to_columns_scalar(const float *x, const float *ct, size_t d, size_t k, int ip, float *out) {
    for (size_t j = 0; j < k; j++) out[j] = 0;
    for (size_t t = 0; t < d; t++) {
        const float *col = ct + t * k;
        float xt = x[t];
        if (ip) {
            for (size_t j = 0; j < k; j++) out[j] += xt * col[j];
        } else {
            for (size_t j = 0; j < k; j++) { float u = xt - col[j]; out[j] += u * u; }
        }
    }
}

AVX512_ATTR static void distances_to_columns_avx512(const float *x, const float *ct, size_t d, size_t k, int ip, float *out) {
    size_t j = 0;
    for (; j + 16 <= k; j += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (size_t t = 0; t < d; t++) {
            __m512 col = _mm512_loadu_ps(ct + t * k + j);
            __m512 xt = _mm512_set1_ps(x[t]);
            if (ip) {
                acc = _mm512_fmadd_ps(xt, col, acc);
            } else {
                __m512 u = _mm512_sub_ps(xt, col);
                acc = _mm512_fmadd_ps(u, u, acc);
            }
        }
        _mm512_storeu_ps(out + j, acc);
    }
    for (; j < k; j++) {
        float a = 0;
        for (size_t t = 0; t < d; t++) {
            float c = ct[t * k + j];
            if (ip) a += x[t] * c; else { float u = x[t] - c; a += u * u; }
        }
        out[j] = a;
    }
}

void vdb_distances_to_columns(const float *x, const float *ct, size_t d, size_t k, int ip, float *out) {
    if (vdb_kernels()->isa == VDB_ISA_AVX512) distances_to_columns_avx512(x, ct, d, k, ip, out);
    else distances_to_columns_scalar(x, ct, d, k, ip, out);
}
