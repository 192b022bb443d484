// vec-dot-generic.cpp — scalar reference kernels: the oracle every SIMD kernel is tested against.
// Integer block sums are exact; the float accumulation runs block by block in order.
#include "cpu-features.h"
#include "ggml/fp16.h"
#include "ggml/quant-ref.h"
#include "vec-dot.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace tern {

namespace {

float dot_f32(int64_t n, const void *w, const void *x) {
    const float *a = (const float *)w, *b = (const float *)x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
float dot_f16(int64_t n, const void *w, const void *x) {
    const fp16_t *a = (const fp16_t *)w;
    const float *b = (const float *)x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += fp16_to_fp32(a[i]) * b[i];
    return s;
}
float dot_bf16(int64_t n, const void *w, const void *x) {
    const bf16_t *a = (const bf16_t *)w;
    const float *b = (const float *)x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += bf16_to_fp32(a[i]) * b[i];
    return s;
}
float dot_q8_0(int64_t n, const void *w, const void *x) {
    const block_q8_0 *a = (const block_q8_0 *)w, *b = (const block_q8_0 *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK8_0; k++) {
        int sum = 0;
        for (int j = 0; j < QK8_0; j++) sum += a[k].qs[j] * b[k].qs[j];
        s += fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d) * (float)sum;
    }
    return s;
}
float dot_q4_0(int64_t n, const void *w, const void *x) {
    const block_q4_0 *a = (const block_q4_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK4_0; k++) {
        int sum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            sum += ((a[k].qs[j] & 15) - 8) * b[k].qs[j];
            sum += ((a[k].qs[j] >> 4) - 8) * b[k].qs[j + QK4_0 / 2];
        }
        s += fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d) * (float)sum;
    }
    return s;
}
float dot_q4_1(int64_t n, const void *w, const void *x) {
    const block_q4_1 *a = (const block_q4_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < n / QK4_1; k++) {
        int sum = 0;
        for (int j = 0; j < QK4_1 / 2; j++) {
            sum += (a[k].qs[j] & 15) * b[k].qs[j];
            sum += (a[k].qs[j] >> 4) * b[k].qs[j + QK4_1 / 2];
        }
        s += fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d) * (float)sum +
             fp16_to_fp32(a[k].m) * fp16_to_fp32(b[k].s);
    }
    return s;
}

void axpy_f32(int64_t n, float a, const void *x, float *y) {
    const float *v = (const float *)x;
    for (int64_t i = 0; i < n; i++) y[i] += a * v[i];
}
void axpy_f16(int64_t n, float a, const void *x, float *y) {
    const fp16_t *v = (const fp16_t *)x;
    for (int64_t i = 0; i < n; i++) y[i] += a * fp16_to_fp32(v[i]);
}

// q4_0x16 decode (vec-dot.h): the row quantized as the dot path does (q8_0), taken apart.
void gemv_prep_q4_0x16(int64_t n, const float *x, void *xp, int ith, int nth) {
    q4x16_act *a = (q4x16_act *)xp;
    const int64_t nb = n / QK8_0, per = (nb + nth - 1) / nth;
    for (int64_t b = per * ith; b < std::min(nb, per * (ith + 1)); b++) {
        block_q8_0 q;
        type_get(type::q8_0)->from_float(x + b * QK8_0, &q, QK8_0);
        int32_t sum = 0;
        for (int j = 0; j < QK8_0; j++) a[b].q[j] = q.qs[j], sum += q.qs[j];
        a[b].d = fp16_to_fp32(q.d);
        a[b].c = -8 * sum;
    }
}

void tile_gemv_q4_0x16(int64_t K, const uint8_t *tile, const void *xp, float *y) {
    const block_q4_0x16 *t = (const block_q4_0x16 *)tile;
    const q4x16_act *a = (const q4x16_act *)xp;
    for (int r = 0; r < Q4X16_ROWS; r++) {
        float s = 0.0f;
        for (int64_t b = 0; b < K / QK4_0; b++) {
            int32_t sum = a[b].c;
            for (int j = 0; j < QK4_0 / 2; j++) {
                const uint8_t v = t[b].qs[64 * (j / 4) + 4 * r + j % 4];
                sum += (v & 15) * a[b].q[j] + (v >> 4) * a[b].q[j + 16];
            }
            s += fp16_to_fp32(t[b].d[r]) * a[b].d * (float)sum;
        }
        y[r] = s;
    }
}

// The q8_k rounding of this thread's share of super-blocks into activation records A (q, d, and
// what `sums` derives from the block's 16-element sums).
template <class A, class F> void prep_q8_k(int64_t n, const float *x, void *xp, int ith, int nth, F sums) {
    A *a = (A *)xp;
    const int64_t nb = n / QK_K, per = (nb + nth - 1) / nth;
    for (int64_t b = per * ith; b < std::min(nb, per * (ith + 1)); b++) {
        block_q8_k q;
        type_get(type::q8_k)->from_float(x + b * QK_K, &q, QK_K);
        std::memcpy(a[b].q, q.qs, QK_K);
        a[b].d = q.d;
        sums(q.bsums, a[b]);
    }
}
void gemv_prep_q4_kx16(int64_t n, const float *x, void *xp, int ith, int nth) {
    prep_q8_k<q4kx16_act>(n, x, xp, ith, nth, [](const int16_t *bs, q4kx16_act &a) {
        for (int s = 0; s < 8; s++) a.bsum[s] = bs[2 * s] + bs[2 * s + 1];
    });
}
void gemv_prep_q6_kx16(int64_t n, const float *x, void *xp, int ith, int nth) {
    prep_q8_k<q6kx16_act>(n, x, xp, ith, nth, [](const int16_t *bs, q6kx16_act &a) {
        for (int s = 0; s < 16; s++) a.c[s] = -32 * bs[s];
    });
}

// y[r] = sum over super-blocks of dx * (d_r * sum_s sc_rs * (q_r . q_x)_s - dmin_r * sum_s m_rs * bsum_s).
void tile_gemv_q4_kx16(int64_t K, const uint8_t *tile, const void *xp, float *y) {
    const block_q4_kx16 *t = (const block_q4_kx16 *)tile;
    const q4kx16_act *a = (const q4kx16_act *)xp;
    for (int r = 0; r < Q4X16_ROWS; r++) {
        float s = 0.0f;
        for (int64_t b = 0; b < K / QK_K; b++) {
            uint8_t sc[K_SCALE_SIZE];
            for (int k = 0; k < K_SCALE_SIZE; k++) sc[k] = t[b].scales[k][r];
            int32_t isum = 0, msum = 0;
            for (int sb = 0; sb < 8; sb++) {
                int scale, mn;
                k4_scale_min(sc, sb, &scale, &mn);
                const int c = sb / 2, hi = sb % 2;
                int32_t dot = 0;
                for (int l = 0; l < 32; l++) {
                    const uint8_t v = t[b].qs[c][l / 4][4 * r + l % 4];
                    dot += (hi ? v >> 4 : v & 15) * a[b].q[32 * sb + l];
                }
                isum += scale * dot;
                msum += mn * a[b].bsum[sb];
            }
            s += a[b].d * (fp16_to_fp32(t[b].d[r]) * (float)isum - fp16_to_fp32(t[b].dmin[r]) * (float)msum);
        }
        y[r] = s;
    }
}

// y[r] = sum over super-blocks of dx * d_r * sum_s sc_rs * ((q_r . q_x)_s - 32 * sum_s(q_x)), s per 16.
void tile_gemv_q6_kx16(int64_t K, const uint8_t *tile, const void *xp, float *y) {
    const q6kx16_act *a = (const q6kx16_act *)xp;
    std::vector<block_q6_k> row((size_t)(K / QK_K));
    for (int r = 0; r < Q4X16_ROWS; r++) {
        q6_kx16_unpack_row(tile, K, r, row.data());
        float s = 0.0f;
        for (int64_t b = 0; b < K / QK_K; b++) {
            const block_q6_k &w = row[(size_t)b];
            int32_t isum = 0;
            for (int sb = 0; sb < 16; sb++) {
                int32_t dot = a[b].c[sb];
                for (int e = 16 * sb; e < 16 * sb + 16; e++) { // element e = 128h + 32g + l
                    const int h = e / 128, g = e % 128 / 32, l = e % 32;
                    const uint8_t lq = w.ql[64 * h + 32 * (g & 1) + l], hq = w.qh[32 * h + l];
                    const int q = ((g < 2 ? lq : lq >> 4) & 15) | (((hq >> (2 * g)) & 3) << 4);
                    dot += q * a[b].q[e];
                }
                isum += w.scales[sb] * dot;
            }
            s += a[b].d * fp16_to_fp32(w.d) * (float)isum;
        }
        y[r] = s;
    }
}

isa_kernels make_generic() {
    isa_kernels t{};
    t.isa = "generic";
    t.dot[(int)type::f32] = dot_f32;
    t.dot[(int)type::f16] = dot_f16;
    t.dot[(int)type::bf16] = dot_bf16;
    t.dot[(int)type::q8_0] = dot_q8_0;
    t.dot[(int)type::q4_0] = dot_q4_0;
    t.dot[(int)type::q4_1] = dot_q4_1;
    t.axpy[(int)type::f32] = axpy_f32;
    t.axpy[(int)type::f16] = axpy_f16;
    t.gemv_prep[(int)type::q4_0x16] = gemv_prep_q4_0x16;
    t.tile_gemv[(int)type::q4_0x16] = tile_gemv_q4_0x16;
    t.gemv_prep[(int)type::q4_kx16] = gemv_prep_q4_kx16;
    t.tile_gemv[(int)type::q4_kx16] = tile_gemv_q4_kx16;
    t.gemv_prep[(int)type::q6_kx16] = gemv_prep_q6_kx16;
    t.tile_gemv[(int)type::q6_kx16] = tile_gemv_q6_kx16;
    kernels_add_generic_k(&t);
    kernels_add_lut_generic(&t);
    kernels_add_attn_generic(&t);
    return t;
}

} // namespace

const isa_kernels *kernels_generic() {
    static const isa_kernels t = make_generic();
    return &t;
}

isa_kernels kernels_make(const char *isa, const isa_entries &e, const isa_kernels *base) {
    isa_kernels t = *base;
    t.isa = isa;
    const std::pair<type, vec_dot_fn> dots[] = {{type::f32, e.f32},   {type::f16, e.f16},   {type::bf16, e.bf16},
                                                {type::q8_0, e.q8_0}, {type::q4_0, e.q4_0}, {type::q4_1, e.q4_1}};
    for (const auto &d : dots)
        if (d.second) t.dot[(int)d.first] = d.second;
    if (e.q8_0_2x2) t.dot2x2[(int)type::q8_0] = e.q8_0_2x2;
    if (e.q4_0_2x2) t.dot2x2[(int)type::q4_0] = e.q4_0_2x2;
    if (e.q4_1_2x2) t.dot2x2[(int)type::q4_1] = e.q4_1_2x2;
    if (e.axpy_f32) t.axpy[(int)type::f32] = e.axpy_f32;
    if (e.axpy_f16) t.axpy[(int)type::f16] = e.axpy_f16;
    return t;
}

// The feature checks live here, in code built for baseline x86-64, so that nothing compiled
// with -mavx2/-mavx512* runs before the CPU has been asked.
const isa_kernels *kernels_avx2() {
    const cpu_features &f = cpu_features_get();
    return f.avx2 && f.fma && f.f16c ? kernels_avx2_unchecked() : nullptr;
}

const isa_kernels *kernels_avx512() {
    const cpu_features &f = cpu_features_get();
    return f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx2 && f.fma && f.f16c
               ? kernels_avx512_unchecked()
               : nullptr;
}

const isa_kernels *kernels_neon_dotprod() {
    return cpu_features_get().neon_dotprod ? kernels_neon_dotprod_unchecked() : nullptr;
}

const isa_kernels *kernels_select() {
    static const isa_kernels *chosen = [] {
        const char *want = std::getenv("TERN_ISA");
        const isa_kernels *best = kernels_generic();
        const isa_kernels *cands[] = {kernels_avx512(), kernels_avx2(), kernels_neon_dotprod(), kernels_neon()};
        if (want && *want) {
            for (const isa_kernels *c : cands)
                if (c && std::strcmp(c->isa, want) == 0) return c;
            return best; // unknown or unsupported request: the safe choice
        }
        for (const isa_kernels *c : cands)
            if (c) return c;
        return best;
    }();
    return chosen;
}

} // namespace tern
