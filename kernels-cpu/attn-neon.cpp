// attn-neon.cpp — NEON kernels for attention over compressed KV caches (q8_0 / q4_0 value
// accumulation, KIVI key-group scores and value accumulation; layouts in ggml/kv-layout.h).
#include "ggml/blocks.h"
#include "ggml/fp16.h"
#include "ggml/kv-layout.h"
#include "vec-dot.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace tern {

namespace {

// 8 unsigned bytes -> two float32x4
inline void u8x8_f32(uint8x8_t v, float32x4_t *lo, float32x4_t *hi) {
    const uint16x8_t w = vmovl_u8(v);
    *lo = vcvtq_f32_u32(vmovl_u16(vget_low_u16(w)));
    *hi = vcvtq_f32_u32(vmovl_u16(vget_high_u16(w)));
}
inline void i8x8_f32(int8x8_t v, float32x4_t *lo, float32x4_t *hi) {
    const int16x8_t w = vmovl_s8(v);
    *lo = vcvtq_f32_s32(vmovl_s16(vget_low_s16(w)));
    *hi = vcvtq_f32_s32(vmovl_s16(vget_high_s16(w)));
}
// y[0..8) += s * c + z for 8 codes
inline void axpy8(uint8x8_t c, float32x4_t s, float32x4_t z, float *y) {
    float32x4_t lo, hi;
    u8x8_f32(c, &lo, &hi);
    vst1q_f32(y, vaddq_f32(vld1q_f32(y), vfmaq_f32(z, s, lo)));
    vst1q_f32(y + 4, vaddq_f32(vld1q_f32(y + 4), vfmaq_f32(z, s, hi)));
}
// 32 codes of a channel / value block in token (channel) order
inline void unpack32(const uint8_t *p, int bits, uint8x8_t out[4]) {
    if (bits == 4) {
        const uint8x16_t v = vld1q_u8(p), lo = vandq_u8(v, vdupq_n_u8(15)), hi = vshrq_n_u8(v, 4);
        out[0] = vget_low_u8(lo), out[1] = vget_high_u8(lo), out[2] = vget_low_u8(hi), out[3] = vget_high_u8(hi);
    } else {
        const uint8x8_t v = vld1_u8(p), m3 = vdup_n_u8(3);
        out[0] = vand_u8(v, m3), out[1] = vand_u8(vshr_n_u8(v, 2), m3), out[2] = vand_u8(vshr_n_u8(v, 4), m3);
        out[3] = vshr_n_u8(v, 6);
    }
}

void axpy_q8_0(int64_t n, float a, const void *x, float *y) {
    const block_q8_0 *b = (const block_q8_0 *)x;
    for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
        const float32x4_t d = vdupq_n_f32(a * fp16_to_fp32(b[i].d));
        for (int k = 0; k < 4; k++) {
            float32x4_t lo, hi;
            i8x8_f32(vld1_s8(b[i].qs + 8 * k), &lo, &hi);
            vst1q_f32(y + 8 * k, vfmaq_f32(vld1q_f32(y + 8 * k), d, lo));
            vst1q_f32(y + 8 * k + 4, vfmaq_f32(vld1q_f32(y + 8 * k + 4), d, hi));
        }
    }
}

void axpy_q4_0(int64_t n, float a, const void *x, float *y) {
    const block_q4_0 *b = (const block_q4_0 *)x;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float d = a * fp16_to_fp32(b[i].d);
        uint8x8_t c[4];
        unpack32(b[i].qs, 4, c);
        for (int k = 0; k < 4; k++) axpy8(c[k], vdupq_n_f32(d), vdupq_n_f32(-8.0f * d), y + i * QK4_0 + 8 * k);
    }
}

template <int BITS>
void kivi_vaxpy(int64_t D, float a, const uint8_t *row, float *y) {
    const uint8_t *codes = row + (D / 32) * 4;
    for (int64_t b = 0; b < D / 32; b++) {
        const fp16_t *sz = (const fp16_t *)(row + b * 4);
        const float32x4_t s = vdupq_n_f32(a * fp16_to_fp32(sz[0])), z = vdupq_n_f32(a * fp16_to_fp32(sz[1]));
        uint8x8_t c[4];
        unpack32(codes + b * 32 * BITS / 8, BITS, c);
        for (int k = 0; k < 4; k++) axpy8(c[k], s, z, y + b * 32 + 8 * k);
    }
}

template <int BITS>
void kivi_kscore(int64_t D, const uint8_t *group, const float *q, float *s) {
    const fp16_t *scale = (const fp16_t *)group, *zero = scale + D;
    const uint8_t *codes = group + D * 4;
    float32x4_t acc[8];
    for (auto &v : acc) v = vdupq_n_f32(0.0f);
    float bias = 0;
    for (int64_t c = 0; c < D; c++) {
        const float w = q[c] * fp16_to_fp32(scale[c]);
        bias += q[c] * fp16_to_fp32(zero[c]);
        uint8x8_t cd[4];
        unpack32(codes + c * KIVI_GROUP * BITS / 8, BITS, cd);
        for (int k = 0; k < 4; k++) {
            float32x4_t lo, hi;
            u8x8_f32(cd[k], &lo, &hi);
            acc[2 * k] = vfmaq_n_f32(acc[2 * k], lo, w);
            acc[2 * k + 1] = vfmaq_n_f32(acc[2 * k + 1], hi, w);
        }
    }
    for (int k = 0; k < 8; k++) vst1q_f32(s + 4 * k, vaddq_f32(acc[k], vdupq_n_f32(bias)));
}

// Multi-row value accumulation: a 32-channel block of y in eight registers while every row's
// block is added; zero points summed separately.
struct acc32 {
    float32x4_t a[8];
    float zsum = 0;
    void load(const float *y) {
        for (int k = 0; k < 8; k++) a[k] = vld1q_f32(y + 4 * k);
    }
    void store(float *y) const {
        const float32x4_t z = vdupq_n_f32(zsum);
        for (int k = 0; k < 8; k++) vst1q_f32(y + 4 * k, vaddq_f32(a[k], z));
    }
    void add_codes(float w, const uint8x8_t c[4]) {
        for (int k = 0; k < 4; k++) {
            float32x4_t lo, hi;
            u8x8_f32(c[k], &lo, &hi);
            a[2 * k] = vfmaq_n_f32(a[2 * k], lo, w);
            a[2 * k + 1] = vfmaq_n_f32(a[2 * k + 1], hi, w);
        }
    }
};

void vacc_f16(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    for (int64_t b = 0; b < D; b += 32) {
        acc32 A;
        A.load(y + b);
        for (int64_t j = 0; j < n; j++) {
            const float16_t *r = (const float16_t *)(base + j * stride) + b;
            for (int k = 0; k < 4; k++) {
                const float16x8_t h = vld1q_f16(r + 8 * k);
                A.a[2 * k] = vfmaq_n_f32(A.a[2 * k], vcvt_f32_f16(vget_low_f16(h)), p[j]);
                A.a[2 * k + 1] = vfmaq_n_f32(A.a[2 * k + 1], vcvt_high_f32_f16(h), p[j]);
            }
        }
        A.store(y + b);
    }
}

void vacc_q8_0(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    for (int64_t b = 0; b < D / QK8_0; b++) {
        acc32 A;
        A.load(y + b * QK8_0);
        for (int64_t j = 0; j < n; j++) {
            const block_q8_0 *blk = (const block_q8_0 *)(base + j * stride) + b;
            const float w = p[j] * fp16_to_fp32(blk->d);
            for (int k = 0; k < 4; k++) {
                float32x4_t lo, hi;
                i8x8_f32(vld1_s8(blk->qs + 8 * k), &lo, &hi);
                A.a[2 * k] = vfmaq_n_f32(A.a[2 * k], lo, w);
                A.a[2 * k + 1] = vfmaq_n_f32(A.a[2 * k + 1], hi, w);
            }
        }
        A.store(y + b * QK8_0);
    }
}

void vacc_q4_0(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    for (int64_t b = 0; b < D / QK4_0; b++) {
        acc32 A;
        A.load(y + b * QK4_0);
        for (int64_t j = 0; j < n; j++) {
            const block_q4_0 *blk = (const block_q4_0 *)(base + j * stride) + b;
            const float w = p[j] * fp16_to_fp32(blk->d);
            uint8x8_t c[4];
            unpack32(blk->qs, 4, c);
            A.add_codes(w, c);
            A.zsum -= 8.0f * w;
        }
        A.store(y + b * QK4_0);
    }
}

template <int BITS>
void vacc_kivi(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    const size_t codes = (size_t)(D / 32) * 4;
    for (int64_t b = 0; b < D / 32; b++) {
        acc32 A;
        A.load(y + b * 32);
        for (int64_t j = 0; j < n; j++) {
            const uint8_t *row = base + j * stride;
            const fp16_t *sz = (const fp16_t *)(row + b * 4);
            uint8x8_t c[4];
            unpack32(row + codes + b * 32 * BITS / 8, BITS, c);
            A.add_codes(p[j] * fp16_to_fp32(sz[0]), c);
            A.zsum += p[j] * fp16_to_fp32(sz[1]);
        }
        A.store(y + b * 32);
    }
}

// Four f16 key rows per pass against the f32 query.
void kdot_f16(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *q, float *s) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        float32x4_t a[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
        for (int64_t c = 0; c < D; c += 8) {
            const float32x4_t q0 = vld1q_f32(q + c), q1 = vld1q_f32(q + c + 4);
            for (int r = 0; r < 4; r++) {
                const float16x8_t h = vld1q_f16((const float16_t *)(base + (j + r) * stride) + c);
                a[r] = vfmaq_f32(a[r], vcvt_f32_f16(vget_low_f16(h)), q0);
                a[r] = vfmaq_f32(a[r], vcvt_high_f32_f16(h), q1);
            }
        }
        for (int r = 0; r < 4; r++) s[j + r] = vaddvq_f32(a[r]);
    }
    for (; j < n; j++) {
        float32x4_t a = vdupq_n_f32(0.0f);
        for (int64_t c = 0; c < D; c += 8) {
            const float16x8_t h = vld1q_f16((const float16_t *)(base + j * stride) + c);
            a = vfmaq_f32(a, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(q + c));
            a = vfmaq_f32(a, vcvt_high_f32_f16(h), vld1q_f32(q + c + 4));
        }
        s[j] = vaddvq_f32(a);
    }
}

} // namespace

void kernels_add_attn_neon(isa_kernels *t) {
    t->kv_vacc[(int)kv_format::f16] = vacc_f16;
    t->kv_vacc[(int)kv_format::q8_0] = vacc_q8_0;
    t->kv_vacc[(int)kv_format::q4_0] = vacc_q4_0;
    t->kv_vacc[(int)kv_format::kivi4] = vacc_kivi<4>;
    t->kv_vacc[(int)kv_format::kivi2] = vacc_kivi<2>;
    t->kv_kdot[(int)kv_format::f16] = kdot_f16;
    t->axpy[(int)type::q8_0] = axpy_q8_0;
    t->axpy[(int)type::q4_0] = axpy_q4_0;
    t->kivi_kscore[0] = kivi_kscore<4>;
    t->kivi_kscore[1] = kivi_kscore<2>;
    t->kivi_vaxpy[0] = kivi_vaxpy<4>;
    t->kivi_vaxpy[1] = kivi_vaxpy<2>;
}

} // namespace tern

#else
namespace tern {
void kernels_add_attn_neon(isa_kernels *) {}
} // namespace tern
#endif
