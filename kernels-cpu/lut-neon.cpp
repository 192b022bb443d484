// lut-neon.cpp — NEON table-lookup GEMV for the LUT types (see lut.h and ggml/blocks.h). Each
// 32-byte code vector is two 16-byte halves, one quad each, looked up with tbl (vqtbl1q_s8) in
// that quad's table. A pair of planes sits in the two bytes of each int16: the row's sum is
// even + 2 * odd = pairwise-add(bytes) + odd; a lone last plane splits into even and odd rows.
// Both quads of a pair add into the same row accumulators. Tables come from the scalar lut_prep.
#include "ggml/fp16.h"
#include "lut.h"
#include "vec-dot.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace tern {

namespace {

inline int16x8_t even_bytes(int8x16_t v) {
    return vshrq_n_s16(vshlq_n_s16(vreinterpretq_s16_s8(v), 8), 8);
}
inline int16x8_t odd_bytes(int8x16_t v) { return vshrq_n_s16(vreinterpretq_s16_s8(v), 8); }
inline int16x8_t pair_sum(int8x16_t v) { return vaddq_s16(vpaddlq_s8(v), odd_bytes(v)); } // even + 2*odd

template <int B, bool HAS_MIN>
void gemv_tile(int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale, const float *xsum, float *y) {
    constexpr size_t header = HAS_MIN ? 0 : (size_t)LUT_TILE_ROWS * 4;
    constexpr size_t group_bytes = (size_t)LUT_TILE_ROWS * lut_block_bytes(B, HAS_MIN);
    constexpr size_t codes_off = (size_t)LUT_TILE_ROWS * lut_scale_bytes(B, HAS_MIN);
    constexpr int NP = B / 2;
    constexpr int SETS = lut_scale_sets(B, HAS_MIN), VS = 8 / SETS; // quad pairs per scale set
    const float c2 = HAS_MIN ? (float)((1 << B) - 1) : 1.0f;
    const uint8x16_t m15 = vdupq_n_u8(15);
    float32x4_t P[8], Q[8];
    for (int i = 0; i < 8; i++) P[i] = Q[i] = vdupq_n_f32(0.0f);
    for (int64_t g = 0; g < K / LUT_GROUP; g++) {
        const uint8_t *grp = tile + header + (size_t)g * group_bytes;
        const uint8_t *codes = grp + codes_off;
        for (size_t off = 0; off < group_bytes; off += 64) __builtin_prefetch(grp + 4 * group_bytes + off); // see lut-avx2.cpp
        const int8_t *tg = tables + g * (LUT_GROUP / 4) * LUT_TABLE_BYTES;
        for (int s = 0; s < SETS; s++) {
            int16x8_t A0[4], A1[4], S[4]; // pair (0,1), pair (2,3), lone plane; rows 8i..8i+7
            for (int i = 0; i < 4; i++) A0[i] = A1[i] = S[i] = vdupq_n_s16(0);
            for (int v = s * VS; v < (s + 1) * VS; v++) {
                const uint8_t *p = codes + (size_t)v * 32 * B;
                for (int lane = 0; lane < 2; lane++) {
                    const int8x16_t T = vld1q_s8(tg + (2 * v + lane) * LUT_TABLE_BYTES);
                    for (int u = 0; u < NP; u++) {
                        int16x8_t *A = u == 0 ? A0 : A1;
                        for (int h = 0; h < 2; h++) {
                            const uint8x16_t c = vld1q_u8(p + u * 64 + h * 32 + lane * 16);
                            A[2 * h] = vaddq_s16(A[2 * h], pair_sum(vqtbl1q_s8(T, vandq_u8(c, m15))));
                            A[2 * h + 1] = vaddq_s16(A[2 * h + 1], pair_sum(vqtbl1q_s8(T, vshrq_n_u8(c, 4))));
                        }
                    }
                    if (B & 1) {
                        const uint8x16_t c = vld1q_u8(p + NP * 64 + lane * 16);
                        const int8x16_t lo = vqtbl1q_s8(T, vandq_u8(c, m15)), hi = vqtbl1q_s8(T, vshrq_n_u8(c, 4));
                        S[0] = vaddq_s16(S[0], even_bytes(lo));
                        S[1] = vaddq_s16(S[1], odd_bytes(lo));
                        S[2] = vaddq_s16(S[2], even_bytes(hi));
                        S[3] = vaddq_s16(S[3], odd_bytes(hi));
                    }
                }
            }
            const float X = lut_set_xsum(xsum, g, s, SETS);
            const float32x4_t ts = vdupq_n_f32(tscale[g]), cx = vdupq_n_f32(c2 * X), xs = vdupq_n_f32(X);
            const fp16_t *dm = (const fp16_t *)(grp + lut_set_offset(s));
            for (int i = 0; i < 4; i++) {
                int16x8_t a = A0[i];
                if (NP > 1) a = vaddq_s16(a, vshlq_n_s16(A1[i], 2));
                if (B & 1) a = vaddq_s16(a, vshlq_s16(S[i], vdupq_n_s16(B - 1)));
                for (int k = 0; k < 2; k++) {
                    const float32x4_t acc = vcvtq_f32_s32(k ? vmovl_high_s16(a) : vmovl_s16(vget_low_s16(a)));
                    const int j = 2 * i + k, row = 4 * j;
                    if (HAS_MIN) {
                        const float32x4_t d = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(dm + row)));
                        const float32x4_t m = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(dm + LUT_TILE_ROWS + row)));
                        P[j] = vfmaq_f32(P[j], d, vfmaq_f32(cx, ts, acc));
                        Q[j] = vfmaq_f32(Q[j], m, xs);
                    } else {
                        const uint32x4_t s32 = vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(grp + row))));
                        P[j] = vfmaq_f32(P[j], vcvtq_f32_u32(s32), vfmaq_f32(cx, ts, acc));
                    }
                }
            }
        }
    }
    const float *D = (const float *)tile;
    for (int j = 0; j < 8; j++) {
        const float32x4_t r = HAS_MIN ? vfmaq_f32(Q[j], vdupq_n_f32(0.5f), P[j])
                                      : vmulq_f32(vmulq_n_f32(vld1q_f32(D + 4 * j), 0.5f), P[j]);
        vst1q_f32(y + 4 * j, r);
    }
}

void lut_gemv_neon(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale, const float *xsum,
                   float *y) {
    switch (t) {
    case type::tl1: return gemv_tile<1, true>(K, tile, tables, tscale, xsum, y);
    case type::tl2: return gemv_tile<2, true>(K, tile, tables, tscale, xsum, y);
    case type::tl3: return gemv_tile<3, true>(K, tile, tables, tscale, xsum, y);
    case type::tl4: return gemv_tile<4, true>(K, tile, tables, tscale, xsum, y);
    case type::tlt: return gemv_tile<2, false>(K, tile, tables, tscale, xsum, y);
    default: return;
    }
}

} // namespace

void kernels_add_lut_neon(isa_kernels *t) { t->lut_gemv = lut_gemv_neon; }

} // namespace tern

#else
namespace tern {
void kernels_add_lut_neon(isa_kernels *) {}
} // namespace tern
#endif
