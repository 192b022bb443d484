// gemm-i8-neon.cpp — the NEON micro-kernel of the integer prefill GEMM (gemm-i8.h), with the
// dot-product extension (SDOT). Built with -march=armv8.2-a+dotprod; used only through the
// neon-dotprod table, after the HWCAP check.
//
// SDOT multiplies signed bytes, so the panel's unsigned codes must stay below 128: every packable
// format but q8_0 (codes up to 255), which keeps the f32 GEMM here (gemm_i8_max_code = 127). A
// 16-byte slice of a panel group is 4 rows x 4 consecutive elements, and vdotq_laneq_s32 takes
// one token's 4 activation bytes from a lane: 4 rows x 4 products per instruction, no horizontal sums.
#include "vec-dot.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

namespace tern {

namespace {

template <int SBQ, int NT>
void tile(int64_t K, const uint8_t *panel, const i8_acts &x, float *y, size_t ldy, int n_rows) {
    constexpr int SB = SBQ * 4;
    const int64_t nsb = K / SB;
    const float *pa = (const float *)(panel + (size_t)K * 16), *pb = pa + nsb * 16;
    float32x4_t acc[4][NT];
    for (int q = 0; q < 4; q++)
        for (int t = 0; t < NT; t++) acc[q][t] = vdupq_n_f32(0.0f);
    for (int64_t j = 0; j < nsb; j++) {
        int8x16_t xv[NT][SBQ / 4];
        for (int t = 0; t < NT; t++)
            for (int h = 0; h < SBQ / 4; h++) xv[t][h] = vld1q_s8(x.q + t * x.ldq + j * SB + 16 * h);
        for (int q = 0; q < 4; q++) { // rows 4q .. 4q+3
            int8x16_t w[SBQ];
            for (int g = 0; g < SBQ; g++) w[g] = vreinterpretq_s8_u8(vld1q_u8(panel + (j * SBQ + g) * 64 + 16 * q));
            const float32x4_t a = vld1q_f32(pa + j * 16 + 4 * q), b = vld1q_f32(pb + j * 16 + 4 * q);
            for (int t = 0; t < NT; t++) {
                int32x4_t s = vdupq_n_s32(0);
                for (int h = 0; h < SBQ / 4; h++) {
                    s = vdotq_laneq_s32(s, w[4 * h + 0], xv[t][h], 0);
                    s = vdotq_laneq_s32(s, w[4 * h + 1], xv[t][h], 1);
                    s = vdotq_laneq_s32(s, w[4 * h + 2], xv[t][h], 2);
                    s = vdotq_laneq_s32(s, w[4 * h + 3], xv[t][h], 3);
                }
                const float32x4_t ad = vmulq_n_f32(a, x.d[t * x.ldd + j]);
                acc[q][t] = vfmaq_f32(acc[q][t], vcvtq_f32_s32(s), ad);
                acc[q][t] = vfmaq_n_f32(acc[q][t], b, x.s[t * x.lds + j]);
            }
        }
    }
    for (int t = 0; t < NT; t++) {
        float out[16];
        for (int q = 0; q < 4; q++) vst1q_f32(out + 4 * q, acc[q][t]);
        for (int r = 0; r < n_rows; r++) y[t * ldy + r] = out[r];
    }
}

template <int SBQ> void tile_n(int64_t K, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy, int n_rows) {
    int t = 0; // four tokens per pass (16 float accumulators), then the rest
    for (; t + 4 <= n_tok; t += 4) {
        const i8_acts xt{x.q + t * x.ldq, x.d + t * x.ldd, x.s + t * x.lds, x.ldq, x.ldd, x.lds};
        tile<SBQ, 4>(K, panel, xt, y + t * ldy, ldy, n_rows);
    }
    for (; t < n_tok; t++) {
        const i8_acts xt{x.q + t * x.ldq, x.d + t * x.ldd, x.s + t * x.lds, x.ldq, x.ldd, x.lds};
        tile<SBQ, 1>(K, panel, xt, y + t * ldy, ldy, n_rows);
    }
}

void gemm_i8_neon(int64_t K, int sb, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy, int n_rows) {
    if (sb == 32) tile_n<8>(K, panel, x, n_tok, y, ldy, n_rows);
    else tile_n<4>(K, panel, x, n_tok, y, ldy, n_rows);
}

} // namespace

gemm_i8_fn gemm_i8_neon_get() { return gemm_i8_neon; }

} // namespace tern

#else
namespace tern {
gemm_i8_fn gemm_i8_neon_get() { return nullptr; }
} // namespace tern
#endif
