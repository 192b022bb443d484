// vec-dot-generic-k.cpp — scalar reference dot products for q5_0/q5_1 (against q8_0/q8_1) and
// the K-quant and ternary formats (against q8_k). Each decodes a block's integer levels and
// sub-block scales, sums integer products exactly per sub-block, and accumulates in float.
#include "ggml/fp16.h"
#include "ggml/quant-ref.h"
#include "vec-dot.h"

#include <cstring>

namespace tern {

namespace {

float dot_q5_0(int64_t n, const void *w, const void *x) {
    const block_q5_0 *a = (const block_q5_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK5_0; k++) {
        uint32_t qh;
        std::memcpy(&qh, a[k].qh, 4);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += (((a[k].qs[j] & 15) | (int)((qh >> j) & 1) << 4) - 16) * b[k].qs[j];
            sum += (((a[k].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16) * b[k].qs[j + 16];
        }
        s += fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d) * (float)sum;
    }
    return s;
}

float dot_q5_1(int64_t n, const void *w, const void *x) {
    const block_q5_1 *a = (const block_q5_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK5_1; k++) {
        uint32_t qh;
        std::memcpy(&qh, a[k].qh, 4);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += ((a[k].qs[j] & 15) | (int)((qh >> j) & 1) << 4) * b[k].qs[j];
            sum += ((a[k].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) * b[k].qs[j + 16];
        }
        s += fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d) * (float)sum + fp16_to_fp32(a[k].m) * fp16_to_fp32(b[k].s);
    }
    return s;
}

// Element i of a 2-bit field laid out as q2_k/q3_k/tq2_0 do.
inline int bits2(const uint8_t *qs, int i) { return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3; }

float dot_q2_k(int64_t n, const void *w, const void *x) {
    const block_q2_k *a = (const block_q2_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int sum = 0, msum = 0;
        for (int g = 0; g < 16; g++) {
            int p = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) p += bits2(a[k].qs, i) * b[k].qs[i];
            sum += (a[k].scales[g] & 15) * p;
            msum += (a[k].scales[g] >> 4) * b[k].bsums[g];
        }
        s += b[k].d * (fp16_to_fp32(a[k].d) * (float)sum - fp16_to_fp32(a[k].dmin) * (float)msum);
    }
    return s;
}

float dot_q3_k(int64_t n, const void *w, const void *x) {
    const block_q3_k *a = (const block_q3_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int sum = 0;
        for (int g = 0; g < 16; g++) {
            int p = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                const int hb = (a[k].hmask[i % 32] >> (4 * (i / 128) + (i % 128) / 32)) & 1;
                p += (bits2(a[k].qs, i) - (hb ? 0 : 4)) * b[k].qs[i];
            }
            sum += k3_scale(a[k].scales, g) * p;
        }
        s += b[k].d * fp16_to_fp32(a[k].d) * (float)sum;
    }
    return s;
}

// q4_k and q5_k share everything but the 5th bit.
template <bool five> float dot_q45_k(int64_t n, const void *w, const void *x) {
    const block_q8_k *b = (const block_q8_k *)x;
    const size_t bytes = five ? sizeof(block_q5_k) : sizeof(block_q4_k);
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        const uint8_t *blk = (const uint8_t *)w + k * bytes;
        const block_q4_k *a4 = (const block_q4_k *)blk;
        const block_q5_k *a5 = (const block_q5_k *)blk;
        const uint8_t *scales = five ? a5->scales : a4->scales;
        const uint8_t *qs = five ? a5->qs : a4->qs;
        int sum = 0, msum = 0;
        for (int g = 0; g < 8; g++) {
            int sc, mn, p = 0;
            k4_scale_min(scales, g, &sc, &mn);
            for (int i = 32 * g; i < 32 * g + 32; i++) {
                const int c = i / 64, r = i % 64;
                int q = r < 32 ? qs[32 * c + r] & 15 : qs[32 * c + r - 32] >> 4;
                if (five) q |= ((a5->qh[r % 32] >> (2 * c + (r >= 32))) & 1) << 4;
                p += q * b[k].qs[i];
            }
            sum += sc * p;
            msum += mn * (b[k].bsums[2 * g] + b[k].bsums[2 * g + 1]);
        }
        s += b[k].d * (fp16_to_fp32(a4->d) * (float)sum - fp16_to_fp32(a4->dmin) * (float)msum);
    }
    return s;
}

float dot_q6_k(int64_t n, const void *w, const void *x) {
    const block_q6_k *a = (const block_q6_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int sum = 0;
        for (int g = 0; g < 16; g++) {
            int p = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                const int h = i / 128, q = (i % 128) / 32, l = i % 32;
                const uint8_t lb = a[k].ql[64 * h + l + 32 * (q & 1)];
                const int u = (q < 2 ? lb & 15 : lb >> 4) | (((a[k].qh[32 * h + l] >> (2 * q)) & 3) << 4);
                p += (u - 32) * b[k].qs[i];
            }
            sum += a[k].scales[g] * p;
        }
        s += b[k].d * fp16_to_fp32(a[k].d) * (float)sum;
    }
    return s;
}

float dot_tq2_0(int64_t n, const void *w, const void *x) {
    const block_tq2_0 *a = (const block_tq2_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int sum = 0;
        for (int i = 0; i < QK_K; i++) sum += (bits2(a[k].qs, i) - 1) * b[k].qs[i];
        s += b[k].d * fp16_to_fp32(a[k].d) * (float)sum;
    }
    return s;
}

float dot_tq1_0(int64_t n, const void *w, const void *x) {
    const block_tq1_0 *a = (const block_tq1_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    float s = 0.0f;
    float tmp[QK_K];
    for (int64_t k = 0; k < n / QK_K; k++) {
        // Decode with unit scale: the levels are exact small integers in float.
        block_tq1_0 unit = a[k];
        unit.d = 0x3c00; // 1.0 in fp16
        tq1_0_to_float(&unit, tmp, QK_K);
        int sum = 0;
        for (int i = 0; i < QK_K; i++) sum += (int)tmp[i] * b[k].qs[i];
        s += b[k].d * fp16_to_fp32(a[k].d) * (float)sum;
    }
    return s;
}

} // namespace

void kernels_add_generic_k(isa_kernels *t) {
    t->dot[(int)type::q5_0] = dot_q5_0;
    t->dot[(int)type::q5_1] = dot_q5_1;
    t->dot[(int)type::q2_k] = dot_q2_k;
    t->dot[(int)type::q3_k] = dot_q3_k;
    t->dot[(int)type::q4_k] = dot_q45_k<false>;
    t->dot[(int)type::q5_k] = dot_q45_k<true>;
    t->dot[(int)type::q6_k] = dot_q6_k;
    t->dot[(int)type::tq1_0] = dot_tq1_0;
    t->dot[(int)type::tq2_0] = dot_tq2_0;
}

} // namespace tern
