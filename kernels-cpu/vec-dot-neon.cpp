// vec-dot-neon.cpp — ARM64 NEON kernels for every computable format. Built only for aarch64
// (elsewhere the getters return nullptr). Advanced SIMD is part of ARMv8-A, so the base table
// needs no run-time check. vec-dot-neon-dotprod.cpp compiles this same file with
// -march=armv8.2-a+dotprod, where the int8 dot products use SDOT instead of widening multiplies;
// kernels_neon_dotprod() hands that table out only when HWCAP says the CPU has the extension.
//
// K-quant and ternary kernels unpack one super-block into signed int8 levels (offsets removed)
// with NEON ops, then take 16-element integer dot products against q8_k and weight them with the
// sub-block scales; minimums come from q8_k's 16-element sums.
#include "ggml/fp16.h"
#include "ggml/quant-ref.h"
#include "vec-dot.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstring>

namespace tern {

namespace {

inline float h2f(uint16_t h) { return fp16_to_fp32(h); }

// acc + sum of a[i]*b[i] over groups of 4 bytes (int32 lanes).
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    const int16x8_t p0 = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t p1 = vmull_high_s8(a, b);
    return vpadalq_s16(vpadalq_s16(acc, p0), p1);
#endif
}
inline int32_t dot32i(const int8_t *a, const int8_t *b) {
    return vaddvq_s32(dot16(dot16(vdupq_n_s32(0), vld1q_s8(a), vld1q_s8(b)), vld1q_s8(a + 16), vld1q_s8(b + 16)));
}
inline int32_t dot16i(int8x16_t a, const int8_t *b) { return vaddvq_s32(dot16(vdupq_n_s32(0), a, vld1q_s8(b))); }

float dot_f32(int64_t n, const void *w, const void *x) {
    const float *a = (const float *)w, *b = (const float *)x;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

float dot_f16(int64_t n, const void *w, const void *x) {
    const uint16_t *a = (const uint16_t *)w;
    const float *b = (const float *)x;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(a + i));
        acc0 = vfmaq_f32(acc0, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(b + i));
        acc1 = vfmaq_f32(acc1, vcvt_high_f32_f16(h), vld1q_f32(b + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) s += fp16_to_fp32(a[i]) * b[i];
    return s;
}

float dot_bf16(int64_t n, const void *w, const void *x) {
    const uint16_t *a = (const uint16_t *)w;
    const float *b = (const float *)x;
    float32x4_t acc = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(a + i), 16));
        acc = vfmaq_f32(acc, v, vld1q_f32(b + i));
    }
    float s = vaddvq_f32(acc);
    for (; i < n; i++) s += bf16_to_fp32(a[i]) * b[i];
    return s;
}

void axpy_f32(int64_t n, float a, const void *x, float *y) {
    const float *v = (const float *)x;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(v + i), a));
    for (; i < n; i++) y[i] += a * v[i];
}
void axpy_f16(int64_t n, float a, const void *x, float *y) {
    const uint16_t *v = (const uint16_t *)x;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(v + i))), a));
    for (; i < n; i++) y[i] += a * fp16_to_fp32(v[i]);
}

// ---- 32-element block formats -----------------------------------------------------------------
float dot_q8_0(int64_t n, const void *w, const void *x) {
    const block_q8_0 *a = (const block_q8_0 *)w, *b = (const block_q8_0 *)x;
    float s = 0;
    for (int64_t k = 0; k < n / QK8_0; k++) s += h2f(a[k].d) * h2f(b[k].d) * (float)dot32i(a[k].qs, b[k].qs);
    return s;
}

// Nibbles of 16 bytes: low -> elements 0..15, high -> 16..31, minus `off`.
inline void nibbles(const uint8_t *qs, int8_t off, int8x16_t *lo, int8x16_t *hi) {
    const uint8x16_t q = vld1q_u8(qs);
    *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15))), vdupq_n_s8(off));
    *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(off));
}
inline int32_t dot_lohi(int8x16_t lo, int8x16_t hi, const int8_t *y) {
    return vaddvq_s32(dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(y)), hi, vld1q_s8(y + 16)));
}

float dot_q4_0(int64_t n, const void *w, const void *x) {
    const block_q4_0 *a = (const block_q4_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    float s = 0;
    for (int64_t k = 0; k < n / QK4_0; k++) {
        int8x16_t lo, hi;
        nibbles(a[k].qs, 8, &lo, &hi);
        s += h2f(a[k].d) * h2f(b[k].d) * (float)dot_lohi(lo, hi, b[k].qs);
    }
    return s;
}

float dot_q4_1(int64_t n, const void *w, const void *x) {
    const block_q4_1 *a = (const block_q4_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    float s = 0;
    for (int64_t k = 0; k < n / QK4_1; k++) {
        int8x16_t lo, hi;
        nibbles(a[k].qs, 0, &lo, &hi);
        s += h2f(a[k].d) * h2f(b[k].d) * (float)dot_lohi(lo, hi, b[k].qs) + h2f(a[k].m) * h2f(b[k].s);
    }
    return s;
}

// 5th bits of q5_0/q5_1 as 0/16 bytes for elements 0..15 and 16..31.
inline void fifth_bits(const uint8_t *qh4, int8x16_t *lo, int8x16_t *hi) {
    uint32_t h;
    std::memcpy(&h, qh4, 4);
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t m = vld1q_u8(bit);
    const uint8x16_t b0 = vcombine_u8(vdup_n_u8((uint8_t)h), vdup_n_u8((uint8_t)(h >> 8)));
    const uint8x16_t b1 = vcombine_u8(vdup_n_u8((uint8_t)(h >> 16)), vdup_n_u8((uint8_t)(h >> 24)));
    *lo = vreinterpretq_s8_u8(vandq_u8(vtstq_u8(b0, m), vdupq_n_u8(16)));
    *hi = vreinterpretq_s8_u8(vandq_u8(vtstq_u8(b1, m), vdupq_n_u8(16)));
}

float dot_q5_0(int64_t n, const void *w, const void *x) {
    const block_q5_0 *a = (const block_q5_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    float s = 0;
    for (int64_t k = 0; k < n / QK5_0; k++) {
        int8x16_t lo, hi, hlo, hhi;
        nibbles(a[k].qs, 0, &lo, &hi);
        fifth_bits(a[k].qh, &hlo, &hhi);
        lo = vsubq_s8(vorrq_s8(lo, hlo), vdupq_n_s8(16));
        hi = vsubq_s8(vorrq_s8(hi, hhi), vdupq_n_s8(16));
        s += h2f(a[k].d) * h2f(b[k].d) * (float)dot_lohi(lo, hi, b[k].qs);
    }
    return s;
}

float dot_q5_1(int64_t n, const void *w, const void *x) {
    const block_q5_1 *a = (const block_q5_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    float s = 0;
    for (int64_t k = 0; k < n / QK5_1; k++) {
        int8x16_t lo, hi, hlo, hhi;
        nibbles(a[k].qs, 0, &lo, &hi);
        fifth_bits(a[k].qh, &hlo, &hhi);
        s += h2f(a[k].d) * h2f(b[k].d) * (float)dot_lohi(vorrq_s8(lo, hlo), vorrq_s8(hi, hhi), b[k].qs) +
             h2f(a[k].m) * h2f(b[k].s);
    }
    return s;
}

// ---- 256-element formats ------------------------------------------------------------------------
// Sum over the 16 groups of 16: sc[g] * (w[16g..] . y[16g..]); w are signed int8 levels.
inline int32_t grouped_dot(const int8_t *w, const int8_t *y, const int *sc) {
    int32_t s = 0;
    for (int g = 0; g < 16; g++) s += sc[g] * dot16i(vld1q_s8(w + 16 * g), y + 16 * g);
    return s;
}

// 2-bit field p of 32 bytes (q2_k/q3_k/tq2_0) into w[32p + l], l = 0..31, minus `off`.
inline void unpack2(const uint8_t *qs32, int8_t *w, int8_t off) {
    const uint8x16_t q0 = vld1q_u8(qs32), q1 = vld1q_u8(qs32 + 16);
    const uint8x16_t m3 = vdupq_n_u8(3);
    const int8x16_t o = vdupq_n_s8(off);
    for (int p = 0; p < 4; p++) {
        const int8x16_t s = vdupq_n_s8((int8_t)(-2 * p)); // vshlq with a negative count shifts right
        vst1q_s8(w + 32 * p, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q0, s), m3)), o));
        vst1q_s8(w + 32 * p + 16, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q1, s), m3)), o));
    }
}

float dot_q2_k(int64_t n, const void *w, const void *x) {
    const block_q2_k *a = (const block_q2_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0;
    alignas(16) int8_t lv[QK_K];
    for (int64_t k = 0; k < n / QK_K; k++) {
        unpack2(a[k].qs, lv, 0);
        unpack2(a[k].qs + 32, lv + 128, 0);
        int sc[16], msum = 0;
        for (int g = 0; g < 16; g++) sc[g] = a[k].scales[g] & 15, msum += (a[k].scales[g] >> 4) * b[k].bsums[g];
        s += b[k].d * (h2f(a[k].d) * (float)grouped_dot(lv, b[k].qs, sc) - h2f(a[k].dmin) * (float)msum);
    }
    return s;
}

float dot_q3_k(int64_t n, const void *w, const void *x) {
    const block_q3_k *a = (const block_q3_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0;
    alignas(16) int8_t lv[QK_K];
    for (int64_t k = 0; k < n / QK_K; k++) {
        unpack2(a[k].qs, lv, 0);
        unpack2(a[k].qs + 32, lv + 128, 0);
        const uint8x16_t h0 = vld1q_u8(a[k].hmask), h1 = vld1q_u8(a[k].hmask + 16);
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 4; p++) {
                // level = low 2 bits - (high bit ? 0 : 4)
                const uint8x16_t bit = vdupq_n_u8((uint8_t)(1 << (4 * h + p)));
                int8_t *d = lv + 128 * h + 32 * p;
                const int8x16_t m0 = vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(4), vtstq_u8(h0, bit)));
                const int8x16_t m1 = vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(4), vtstq_u8(h1, bit)));
                vst1q_s8(d, vsubq_s8(vld1q_s8(d), m0));
                vst1q_s8(d + 16, vsubq_s8(vld1q_s8(d + 16), m1));
            }
        int sc[16];
        for (int g = 0; g < 16; g++) sc[g] = k3_scale(a[k].scales, g);
        s += b[k].d * h2f(a[k].d) * (float)grouped_dot(lv, b[k].qs, sc);
    }
    return s;
}

template <bool five> float dot_q45_k(int64_t n, const void *w, const void *x) {
    const block_q8_k *b = (const block_q8_k *)x;
    const size_t bytes = five ? sizeof(block_q5_k) : sizeof(block_q4_k);
    float s = 0;
    for (int64_t k = 0; k < n / QK_K; k++) {
        const uint8_t *blk = (const uint8_t *)w + k * bytes;
        const block_q4_k *a4 = (const block_q4_k *)blk;
        const block_q5_k *a5 = (const block_q5_k *)blk;
        const uint8_t *scales = five ? a5->scales : a4->scales;
        const uint8_t *qs = five ? a5->qs : a4->qs;
        int32_t isum = 0, msum = 0;
        const int8_t *y = b[k].qs;
        uint8x16_t qh0 = vdupq_n_u8(0), qh1 = vdupq_n_u8(0);
        if (five) qh0 = vld1q_u8(a5->qh), qh1 = vld1q_u8(a5->qh + 16);
        for (int c = 0; c < 4; c++, y += 64) {
            int sc0, mn0, sc1, mn1;
            k4_scale_min(scales, 2 * c, &sc0, &mn0);
            k4_scale_min(scales, 2 * c + 1, &sc1, &mn1);
            const uint8x16_t q0 = vld1q_u8(qs + 32 * c), q1 = vld1q_u8(qs + 32 * c + 16);
            uint8x16_t l0 = vandq_u8(q0, vdupq_n_u8(15)), l1 = vandq_u8(q1, vdupq_n_u8(15));
            uint8x16_t u0 = vshrq_n_u8(q0, 4), u1 = vshrq_n_u8(q1, 4);
            if (five) {
                const uint8x16_t blo = vdupq_n_u8((uint8_t)(1 << (2 * c))), bhi = vdupq_n_u8((uint8_t)(2 << (2 * c)));
                const uint8x16_t sixteen = vdupq_n_u8(16);
                l0 = vorrq_u8(l0, vandq_u8(vtstq_u8(qh0, blo), sixteen));
                l1 = vorrq_u8(l1, vandq_u8(vtstq_u8(qh1, blo), sixteen));
                u0 = vorrq_u8(u0, vandq_u8(vtstq_u8(qh0, bhi), sixteen));
                u1 = vorrq_u8(u1, vandq_u8(vtstq_u8(qh1, bhi), sixteen));
            }
            const int32_t plo = vaddvq_s32(dot16(dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(l0), vld1q_s8(y)),
                                                 vreinterpretq_s8_u8(l1), vld1q_s8(y + 16)));
            const int32_t phi = vaddvq_s32(dot16(dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(u0), vld1q_s8(y + 32)),
                                                 vreinterpretq_s8_u8(u1), vld1q_s8(y + 48)));
            isum += sc0 * plo + sc1 * phi;
            msum += mn0 * (b[k].bsums[4 * c] + b[k].bsums[4 * c + 1]) + mn1 * (b[k].bsums[4 * c + 2] + b[k].bsums[4 * c + 3]);
        }
        s += b[k].d * (h2f(a4->d) * (float)isum - h2f(a4->dmin) * (float)msum);
    }
    return s;
}

float dot_q6_k(int64_t n, const void *w, const void *x) {
    const block_q6_k *a = (const block_q6_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0;
    alignas(16) int8_t lv[QK_K];
    for (int64_t k = 0; k < n / QK_K; k++) {
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[k].ql + 64 * h, *qh = a[k].qh + 32 * h;
            for (int half = 0; half < 2; half++) { // l = 16*half .. 16*half+15
                const uint8x16_t l0 = vld1q_u8(ql + 16 * half), l1 = vld1q_u8(ql + 32 + 16 * half);
                const uint8x16_t hb = vld1q_u8(qh + 16 * half);
                const uint8x16_t m15 = vdupq_n_u8(15), m3 = vdupq_n_u8(3);
                const uint8x16_t v[4] = {
                    vorrq_u8(vandq_u8(l0, m15), vshlq_n_u8(vandq_u8(hb, m3), 4)),
                    vorrq_u8(vandq_u8(l1, m15), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 2), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 4), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(hb, 6), 4)),
                };
                for (int p = 0; p < 4; p++)
                    vst1q_s8(lv + 128 * h + 32 * p + 16 * half, vsubq_s8(vreinterpretq_s8_u8(v[p]), vdupq_n_s8(32)));
            }
        }
        int sc[16];
        for (int g = 0; g < 16; g++) sc[g] = a[k].scales[g];
        s += b[k].d * h2f(a[k].d) * (float)grouped_dot(lv, b[k].qs, sc);
    }
    return s;
}

float dot_tq2_0(int64_t n, const void *w, const void *x) {
    const block_tq2_0 *a = (const block_tq2_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0;
    alignas(16) int8_t lv[QK_K];
    for (int64_t k = 0; k < n / QK_K; k++) {
        unpack2(a[k].qs, lv, 1);
        unpack2(a[k].qs + 32, lv + 128, 1);
        int32x4_t acc = vdupq_n_s32(0);
        for (int i = 0; i < QK_K; i += 16) acc = dot16(acc, vld1q_s8(lv + i), vld1q_s8(b[k].qs + i));
        s += b[k].d * h2f(a[k].d) * (float)vaddvq_s32(acc);
    }
    return s;
}

// tq1_0 trit n of byte q: ((q * 3^n mod 256) * 3) >> 8, done in 16-bit lanes.
inline int8x16_t trits(uint8x16_t q, uint8_t pow3) {
    const uint8x16_t v = vmulq_u8(q, vdupq_n_u8(pow3)); // wraps mod 256
    const uint16x8_t lo = vshrq_n_u16(vmull_u8(vget_low_u8(v), vdup_n_u8(3)), 8);
    const uint16x8_t hi = vshrq_n_u16(vmull_high_u8(v, vdupq_n_u8(3)), 8);
    return vsubq_s8(vreinterpretq_s8_u8(vcombine_u8(vmovn_u16(lo), vmovn_u16(hi))), vdupq_n_s8(1));
}

float dot_tq1_0(int64_t n, const void *w, const void *x) {
    const block_tq1_0 *a = (const block_tq1_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    float s = 0;
    for (int64_t k = 0; k < n / QK_K; k++) {
        const int8_t *y = b[k].qs;
        int32x4_t acc = vdupq_n_s32(0);
        const uint8x16_t q0 = vld1q_u8(a[k].qs), q1 = vld1q_u8(a[k].qs + 16), q2 = vld1q_u8(a[k].qs + 32);
        for (int t = 0; t < 5; t++, y += 32) {
            acc = dot16(acc, trits(q0, pow3[t]), vld1q_s8(y));
            acc = dot16(acc, trits(q1, pow3[t]), vld1q_s8(y + 16));
        }
        for (int t = 0; t < 5; t++, y += 16) acc = dot16(acc, trits(q2, pow3[t]), vld1q_s8(y));
        // qh: 16 elements 240 + 4n + j from qh[j], trit n
        uint8_t hb[16], hp[16];
        for (int i = 0; i < 16; i++) hb[i] = a[k].qh[i % 4], hp[i] = pow3[i / 4];
        const uint8x16_t v = vmulq_u8(vld1q_u8(hb), vld1q_u8(hp));
        const uint16x8_t lo = vshrq_n_u16(vmull_u8(vget_low_u8(v), vdup_n_u8(3)), 8);
        const uint16x8_t hi = vshrq_n_u16(vmull_high_u8(v, vdupq_n_u8(3)), 8);
        const int8x16_t th = vsubq_s8(vreinterpretq_s8_u8(vcombine_u8(vmovn_u16(lo), vmovn_u16(hi))), vdupq_n_s8(1));
        acc = dot16(acc, th, vld1q_s8(y));
        s += b[k].d * h2f(a[k].d) * (float)vaddvq_s32(acc);
    }
    return s;
}

isa_kernels make() {
    isa_kernels t = kernels_make(
#if defined(__ARM_FEATURE_DOTPROD)
        "neon-dotprod",
#else
        "neon",
#endif
        {dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0, dot_q4_1, axpy_f32, axpy_f16});
    t.dot[(int)type::q5_0] = dot_q5_0;
    t.dot[(int)type::q5_1] = dot_q5_1;
    t.dot[(int)type::q2_k] = dot_q2_k;
    t.dot[(int)type::q3_k] = dot_q3_k;
    t.dot[(int)type::q4_k] = dot_q45_k<false>;
    t.dot[(int)type::q5_k] = dot_q45_k<true>;
    t.dot[(int)type::q6_k] = dot_q6_k;
    t.dot[(int)type::tq1_0] = dot_tq1_0;
    t.dot[(int)type::tq2_0] = dot_tq2_0;
    kernels_add_lut_neon(&t);
    kernels_add_attn_neon(&t);
#if defined(__ARM_FEATURE_DOTPROD)
    t.gemm_i8 = gemm_i8_neon_get();
    t.gemm_i8_max_code = 127;
#endif
    return t;
}

} // namespace

#if defined(__ARM_FEATURE_DOTPROD)
const isa_kernels *kernels_neon_dotprod_unchecked() {
#else
const isa_kernels *kernels_neon() {
#endif
    static const isa_kernels t = make();
    return &t;
}

} // namespace tern

#elif !defined(TERN_NEON_DOTPROD_BUILD)
namespace tern {
const isa_kernels *kernels_neon() { return nullptr; }
const isa_kernels *kernels_neon_dotprod_unchecked() { return nullptr; }
} // namespace tern
#endif
