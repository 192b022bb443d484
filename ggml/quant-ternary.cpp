// quant-ternary.cpp — reference code for the ternary formats tq1_0 and tq2_0 (BitNet b1.58
// weights: {-1, 0, +1} times one fp16 scale per 256). Quantization rounds x/amax to the nearest
// of -1, 0, 1 with d = amax, which is exact for weights that are already ternary.
#include "fp16.h"
#include "quant-ref.h"
#include "type-table.h"

#include <cmath>
#include <cstring>

namespace tern {

namespace {

// Trits t = w + 1 in 0..2 of one super-block, and its scale.
uint16_t ternary_levels(const float *x, int *t) {
    float amax = 0.0f;
    for (int j = 0; j < QK_K; j++) amax = std::max(amax, std::fabs(x[j]));
    const float id = amax > 0 ? 1.0f / amax : 0.0f;
    for (int j = 0; j < QK_K; j++) {
        const int v = (int)std::lround(x[j] * id);
        t[j] = (v < -1 ? -1 : v > 1 ? 1 : v) + 1;
    }
    return fp32_to_fp16(amax);
}

// Five trits (most significant first) as the byte ceil(T * 256 / 243).
uint8_t pack_trits(const int *t, int count, int stride) {
    int T = 0;
    for (int k = 0; k < 5; k++) T = T * 3 + (k < count ? t[k * stride] : 0);
    return (uint8_t)((T * 256 + 242) / 243);
}
inline int trit(uint8_t b, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t v = (uint8_t)(b * pow3[n]);
    return (v * 3) >> 8;
}

} // namespace

void tq1_0_from_float(const float *x, void *dst, int64_t n) {
    block_tq1_0 *y = (block_tq1_0 *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int t[QK_K];
        y[b].d = ternary_levels(x, t);
        for (int m = 0; m < 32; m++) y[b].qs[m] = pack_trits(t + m, 5, 32);
        for (int m = 0; m < 16; m++) y[b].qs[32 + m] = pack_trits(t + 160 + m, 5, 16);
        for (int j = 0; j < 4; j++) y[b].qh[j] = pack_trits(t + 240 + j, 4, 4);
    }
}
void tq1_0_to_float(const void *src, float *y, int64_t n) {
    const block_tq1_0 *x = (const block_tq1_0 *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d);
        for (int k = 0; k < 5; k++)
            for (int m = 0; m < 32; m++) y[32 * k + m] = d * (trit(x[b].qs[m], k) - 1);
        for (int k = 0; k < 5; k++)
            for (int m = 0; m < 16; m++) y[160 + 16 * k + m] = d * (trit(x[b].qs[32 + m], k) - 1);
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 4; j++) y[240 + 4 * k + j] = d * (trit(x[b].qh[j], k) - 1);
    }
}

void tq2_0_from_float(const float *x, void *dst, int64_t n) {
    block_tq2_0 *y = (block_tq2_0 *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int t[QK_K];
        y[b].d = ternary_levels(x, t);
        std::memset(y[b].qs, 0, sizeof y[b].qs);
        for (int i = 0; i < QK_K; i++) y[b].qs[32 * (i / 128) + i % 32] |= (uint8_t)(t[i] << (2 * ((i % 128) / 32)));
    }
}
void tq2_0_to_float(const void *src, float *y, int64_t n) {
    const block_tq2_0 *x = (const block_tq2_0 *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d);
        for (int i = 0; i < QK_K; i++) y[i] = d * (((x[b].qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3) - 1);
    }
}

} // namespace tern
