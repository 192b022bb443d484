// attn-generic.cpp — scalar reference kernels for attention over compressed KV caches: value
// accumulation from q8_0 / q4_0 rows, and the KIVI key-group scores and value accumulation
// (layouts in ggml/kv-layout.h). Every ISA version is tested against these.
#include "ggml/blocks.h"
#include "ggml/fp16.h"
#include "ggml/kv-layout.h"
#include "vec-dot.h"

namespace tern {

namespace {

void axpy_q8_0(int64_t n, float a, const void *x, float *y) {
    const block_q8_0 *b = (const block_q8_0 *)x;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float d = a * fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] += d * (float)b[i].qs[j];
    }
}

void axpy_q4_0(int64_t n, float a, const void *x, float *y) {
    const block_q4_0 *b = (const block_q4_0 *)x;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float d = a * fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[i * QK4_0 + j] += d * (float)((b[i].qs[j] & 15) - 8);
            y[i * QK4_0 + j + 16] += d * (float)((b[i].qs[j] >> 4) - 8);
        }
    }
}

// s[t] = sum_c q[c] * (scale[c] * code[t][c] + zero[c]) = sum_c (q[c] scale[c]) code + sum_c q[c] zero[c]
template <int BITS>
void kivi_kscore(int64_t D, const uint8_t *group, const float *q, float *s) {
    const fp16_t *scale = (const fp16_t *)group, *zero = scale + D;
    const uint8_t *codes = group + D * 4;
    constexpr int per = KIVI_GROUP * BITS / 8;
    float acc[KIVI_GROUP] = {};
    float bias = 0;
    for (int64_t c = 0; c < D; c++) {
        const float qs = q[c] * fp16_to_fp32(scale[c]);
        bias += q[c] * fp16_to_fp32(zero[c]);
        const uint8_t *p = codes + c * per;
        for (int t = 0; t < KIVI_GROUP; t++) {
            const int code = BITS == 4 ? (p[t & 15] >> (4 * (t >> 4))) & 15 : (p[t & 7] >> (2 * (t >> 3))) & 3;
            acc[t] += qs * (float)code;
        }
    }
    for (int t = 0; t < KIVI_GROUP; t++) s[t] = acc[t] + bias;
}

template <int BITS>
void kivi_vaxpy(int64_t D, float a, const uint8_t *row, float *y) {
    const uint8_t *codes = row + (D / 32) * 4;
    for (int64_t b = 0; b < D / 32; b++) {
        const fp16_t *sz = (const fp16_t *)(row + b * 4);
        const float as = a * fp16_to_fp32(sz[0]), az = a * fp16_to_fp32(sz[1]);
        const uint8_t *p = codes + b * 32 * BITS / 8;
        for (int i = 0; i < 32; i++) {
            const int code = BITS == 4 ? (p[i & 15] >> (4 * (i >> 4))) & 15 : (p[i & 7] >> (2 * (i >> 3))) & 3;
            y[b * 32 + i] += as * (float)code + az;
        }
    }
}

} // namespace

void kernels_add_attn_generic(isa_kernels *t) {
    t->axpy[(int)type::q8_0] = axpy_q8_0;
    t->axpy[(int)type::q4_0] = axpy_q4_0;
    t->kivi_kscore[0] = kivi_kscore<4>;
    t->kivi_kscore[1] = kivi_kscore<2>;
    t->kivi_vaxpy[0] = kivi_vaxpy<4>;
    t->kivi_vaxpy[1] = kivi_vaxpy<2>;
}

} // namespace tern
