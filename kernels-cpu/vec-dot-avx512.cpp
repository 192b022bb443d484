// vec-dot-avx512.cpp — AVX-512 (F, BW, VL, VNNI) kernels; built with those flags, called only
// when cpu_features says the CPU and OS support all of them. Quantized kernels take two 32-wide
// blocks per 512-bit register and use VPDPBUSD (u8 x s8 -> s32) for the integer dot.
#include "ggml/fp16.h"
#include "ggml/blocks.h"
#include "ggml/type-table.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX512)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace tern {

namespace {

// Scalar half -> float with F16C (no table lookup in the hot loop).
inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

inline __m512i load2(const void *p0, const void *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                              _mm256_loadu_si256((const __m256i *)p1), 1);
}

// 16 packed nibble bytes -> 32 bytes (low nibbles = elements 0..15, high = 16..31).
inline __m256i unpack_nibbles(const uint8_t *qs) {
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}
inline __m512i unpack_nibbles2(const uint8_t *q0, const uint8_t *q1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(unpack_nibbles(q0)), unpack_nibbles(q1), 1);
}

// Per-lane scale: d0 for the low 8 lanes (first block), d1 for the high 8.
inline __m512 scale2(float d0, float d1) {
    return _mm512_mask_blend_ps((__mmask16)0xFF00, _mm512_set1_ps(d0), _mm512_set1_ps(d1));
}

float dot_f32(int64_t n, const void *w, const void *x) {
    const float *a = (const float *)w, *b = (const float *)x;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

float dot_f16(int64_t n, const void *w, const void *x) {
    const fp16_t *a = (const fp16_t *)w;
    const float *b = (const float *)x;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i))), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i + 16))),
                               _mm512_loadu_ps(b + i + 16), acc1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 va = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i));
        acc0 = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, b + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

float dot_bf16(int64_t n, const void *w, const void *x) {
    const bf16_t *a = (const bf16_t *)w;
    const float *b = (const float *)x;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512i v = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, a + i)), 16);
        acc = _mm512_fmadd_ps(_mm512_castsi512_ps(v), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

// Signed x signed via |a| (u8) and b with a's sign moved onto it.
inline __m512i dot_i8x2(__m512i qa, __m512i qb) {
    const __mmask64 neg = _mm512_movepi8_mask(qa);
    const __m512i sb = _mm512_mask_sub_epi8(qb, neg, _mm512_setzero_si512(), qb);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(qa), sb);
}

float dot_q8_0(int64_t n, const void *w, const void *x) {
    const block_q8_0 *a = (const block_q8_0 *)w, *b = (const block_q8_0 *)x;
    const int64_t nb = n / QK8_0;
    __m512 acc = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
        const __m512i p = dot_i8x2(load2(a[k].qs, a[k + 1].qs), load2(b[k].qs, b[k + 1].qs));
        const __m512 d = scale2(h2f(a[k].d) * h2f(b[k].d),
                                h2f(a[k + 1].d) * h2f(b[k + 1].d));
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
    }
    float s = _mm512_reduce_add_ps(acc);
    if (k < nb) s += kernels_generic()->dot[(int)type::q8_0](QK8_0, &a[k], &b[k]); // odd last block
    return s;
}

// Eight blocks per iteration. Per-block scale handling was the bottleneck (two scalar half->float
// conversions, a multiply and a lane blend per block: 9.1 GB/s on one Zen 5 core, 2048 x 8192);
// here the eight weight and eight activation scales are converted and multiplied as vectors and
// each pair of blocks picks its two scales with one permute (12.9 GB/s; vpgatherdd for the scales
// was slower than inserting them one by one). Each block's 16 nibble bytes are broadcast to both
// halves of its 32 lanes and one byte blend takes the low nibbles into lanes 0-15, the high into
// 16-31. sum((q - 8) * x) = sum(q * x) - sum(8 * x), both with VPDPBUSD (u8 x s8).
float dot_q4_0(int64_t n, const void *w, const void *x) {
    const block_q4_0 *a = (const block_q4_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    const int64_t nb = n / QK4_0;
    const __m512i m4 = _mm512_set1_epi8(15), eights = _mm512_set1_epi8(8);
    const __mmask64 high16 = 0xFFFF0000FFFF0000ull;
    auto pair = [](int j) { // lanes 0-7 take scale 2j, lanes 8-15 scale 2j+1
        return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(2 * j)), _mm256_set1_epi32(2 * j + 1), 1);
    };
    const __m512i sel0 = pair(0), sel1 = pair(1), sel2 = pair(2), sel3 = pair(3);
    auto weights2 = [&](const block_q4_0 *p) {
        const __m512i q = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p[0].qs))),
            _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p[1].qs)), 1);
        return _mm512_mask_blend_epi8(high16, _mm512_and_si512(q, m4), _mm512_and_si512(_mm512_srli_epi16(q, 4), m4));
    };
    auto dot2 = [&](const block_q4_0 *p, const block_q8_0 *y) {
        const __m512i qb = load2(y[0].qs, y[1].qs);
        const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), weights2(p), qb);
        return _mm512_cvtepi32_ps(_mm512_sub_epi32(s, _mm512_dpbusd_epi32(_mm512_setzero_si512(), eights, qb)));
    };
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= nb; k += 8) {
        const __m128i hw = _mm_setr_epi16(a[k].d, a[k + 1].d, a[k + 2].d, a[k + 3].d, a[k + 4].d, a[k + 5].d, a[k + 6].d, a[k + 7].d);
        const __m128i hx = _mm_setr_epi16(b[k].d, b[k + 1].d, b[k + 2].d, b[k + 3].d, b[k + 4].d, b[k + 5].d, b[k + 6].d, b[k + 7].d);
        const __m512 d = _mm512_castps256_ps512(
            _mm256_mul_ps(_mm256_cvtph_ps(hw), _mm256_cvtph_ps(hx)));
        acc0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sel0, d), dot2(&a[k], &b[k]), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sel1, d), dot2(&a[k + 2], &b[k + 2]), acc1);
        acc0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sel2, d), dot2(&a[k + 4], &b[k + 4]), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sel3, d), dot2(&a[k + 6], &b[k + 6]), acc1);
    }
    for (; k + 2 <= nb; k += 2) {
        const __m512 d = scale2(h2f(a[k].d) * h2f(b[k].d), h2f(a[k + 1].d) * h2f(b[k + 1].d));
        acc0 = _mm512_fmadd_ps(d, dot2(&a[k], &b[k]), acc0);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (k < nb) s += kernels_generic()->dot[(int)type::q4_0](QK4_0, &a[k], &b[k]); // odd last block
    return s;
}

// Decode GEMV for q4_0 with the activations prepared once per matmul (gemv_prep) in groups of
// four blocks, 256 bytes: xl[64] (elements 0-15 of each block, 16 bytes per block), xh[64]
// (elements 16-31), dx[16] (each block's scale in its 4 lanes, float) and c[16] (int32: -8 times
// the sum of the activation bytes that meet lane j in the two VPDPBUSDs, so the weights' -8 offset
// is exact integer arithmetic, as in dot_q4_0). Four weight blocks (72 bytes) then cost two loads,
// one word permute for their 64 nibble bytes, one for their four scales, two VPDPBUSDs and one
// FMA: the per-block scale juggling that bounds dot_q4_0 (9 GB/s on one Zen 5 core, hot in L2)
// goes away.
struct q4x4_act {
    int8_t xl[64], xh[64];
    float dx[16];
    int32_t c[16];
};
static_assert(sizeof(q4x4_act) == 256, "q4_0 gemv activation group");

void gemv_prep_q4_0(int64_t n, const float *x, void *xp, int ith, int nth) {
    q4x4_act *g = (q4x4_act *)xp;
    const int64_t nb = n / QK4_0, ng = (nb + 3) / 4, per = (ng + nth - 1) / nth;
    for (int64_t j = per * ith; j < std::min(ng, per * (ith + 1)); j++) {
        std::memset(&g[j], 0, sizeof g[j]);
        for (int i = 0; i < 4 && 4 * j + i < nb; i++) {
            block_q8_0 b;
            type_get(type::q8_0)->from_float(x + (4 * j + i) * QK4_0, &b, QK4_0); // the dot path's rounding
            std::memcpy(g[j].xl + 16 * i, b.qs, 16);
            std::memcpy(g[j].xh + 16 * i, b.qs + 16, 16);
            for (int l = 0; l < 4; l++) {
                g[j].dx[4 * i + l] = h2f(b.d);
                int32_t sum = 0;
                for (int e = 0; e < 4; e++) sum += b.qs[4 * l + e] + b.qs[16 + 4 * l + e];
                g[j].c[4 * i + l] = -8 * sum;
            }
        }
    }
}

// Software prefetch distance: 1-2 KiB ahead took one Zen 5 core from ~15 to ~18 GB/s (2048 x 8192).
constexpr int PF = 1536;
float gemv_dot_q4_0(int64_t n, const void *w, const void *xp) {
    const uint8_t *a = (const uint8_t *)w;
    const q4x4_act *g = (const q4x4_act *)xp;
    const int64_t nb = n / QK4_0, ng = nb / 4;
    // Block i of a group: d at word 9i, nibbles at words 9i+1 .. 9i+8 (72 bytes = 36 words).
    alignas(64) static const int16_t nib_idx[32] = {1,  2,  3,  4,  5,  6,  7,  8,  10, 11, 12, 13, 14, 15, 16, 17,
                                                    19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 34, 35};
    alignas(64) static const int16_t sc_idx[32] = {0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27,
                                                   0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,  0};
    const __m512i nib = _mm512_load_si512(nib_idx), sci = _mm512_load_si512(sc_idx), m4 = _mm512_set1_epi8(15);
    auto group = [&](const uint8_t *p, const q4x4_act &x, __mmask32 words, __m512 acc) {
        const __m512i z0 = _mm512_maskz_loadu_epi16(words, p);
        const __m512i z1 = _mm512_maskz_loadu_epi16(words == 0xFFFFFFFFu ? 0xF : 0, p + 64);
        const __m512i q = _mm512_permutex2var_epi16(z0, nib, z1);
        __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(x.c), _mm512_and_si512(q, m4), _mm512_loadu_si512(x.xl));
        s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(q, 4), m4), _mm512_loadu_si512(x.xh));
        const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(sci, z0)));
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_loadu_ps(x.dx)), acc);
    };
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 2 <= ng; j += 2) {
        _mm_prefetch((const char *)a + 72 * j + PF, _MM_HINT_T0);
        _mm_prefetch((const char *)a + 72 * j + PF + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)a + 72 * j + PF + 128, _MM_HINT_T0);
        acc0 = group(a + 72 * j, g[j], 0xFFFFFFFFu, acc0);
        acc1 = group(a + 72 * (j + 1), g[j + 1], 0xFFFFFFFFu, acc1);
    }
    for (; j < ng; j++) acc0 = group(a + 72 * j, g[j], 0xFFFFFFFFu, acc0);
    if (const int rest = (int)(nb - 4 * ng)) // 1-3 blocks: their words only (the prepared rest is zero)
        acc1 = group(a + 72 * ng, g[ng], (__mmask32)((1u << (9 * rest)) - 1), acc1);
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// Decode GEMV for f16 weights with the activations rounded to f16 once per matmul, as ggml's
// vec_dot_type for F16 does. With f32 activations a K = 8192 row (16 KiB of weights, 32 KiB of
// activations) reuses each activation line only after 48 KiB of traffic, a whole Zen 5 L1D, so
// the FFN down projection ran at 13 GB/s on one core against 22 at K = 2048; f16 activations
// halve that footprint.
void gemv_prep_f16(int64_t n, const float *x, void *xp, int ith, int nth) {
    fp16_t *h = (fp16_t *)xp;
    const int64_t nv = (n + 15) / 16, per = (nv + nth - 1) / nth;
    for (int64_t v = per * ith; v < std::min(nv, per * (ith + 1)); v++) {
        const int64_t i = 16 * v;
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m256i r = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(h + i, m, r);
    }
}

float gemv_dot_f16(int64_t n, const void *w, const void *xp) {
    const fp16_t *a = (const fp16_t *)w, *b = (const fp16_t *)xp;
    auto ld = [](const fp16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); };
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(ld(a + i), ld(b + i), acc0);
        acc1 = _mm512_fmadd_ps(ld(a + i + 16), ld(b + i + 16), acc1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i)),
                               _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, b + i)), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// q4_0x16 decode (blocks.h): one 16-row tile, each int32 lane one row. Per block, four 64-byte
// vectors; the low nibbles (& 0x0F) meet the broadcast activations of elements 4j..4j+3, the high
// ones (& 0xF0, so 16x their value: no shift) those of 16+4j..; the high sums are shifted back
// once per block (exact: every term is a multiple of 16). Then the 16 rows' fp16 scales convert in
// one instruction. Against gemv_dot_q4_0 (one row, 128 columns per step) this removes the nibble
// shuffles and the per-row scale gather: ~18 instead of ~40 vector instructions per 512 weights.


void tile_gemv_q4_0x16(int64_t K, const uint8_t *tile, const void *xp, float *y) {
    const block_q4_0x16 *t = (const block_q4_0x16 *)tile;
    const q4x16_act *a = (const q4x16_act *)xp;
    const int64_t nb = K / QK4_0;
    const __m512i lo = _mm512_set1_epi8(0x0F), hi = _mm512_set1_epi8((char)0xF0);
    auto block = [&](const block_q4_0x16 &b, const q4x16_act &x, __m512 acc) {
        const int32_t *xq = (const int32_t *)x.q;
        __m512i sl = _mm512_set1_epi32(x.c), sh = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            const __m512i v = _mm512_loadu_si512(b.qs + 64 * j);
            sl = _mm512_dpbusd_epi32(sl, _mm512_and_si512(v, lo), _mm512_set1_epi32(xq[j]));
            sh = _mm512_dpbusd_epi32(sh, _mm512_and_si512(v, hi), _mm512_set1_epi32(xq[4 + j]));
        }
        const __m512i s = _mm512_add_epi32(sl, _mm512_srai_epi32(sh, 4));
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)b.d));
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(x.d)), acc);
    };
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        acc0 = block(t[i], a[i], acc0);
        acc1 = block(t[i + 1], a[i + 1], acc1);
    }
    if (i < nb) acc0 = block(t[i], a[i], acc0);
    _mm512_storeu_ps(y, _mm512_add_ps(acc0, acc1));
}

// q4_kx16 decode (blocks.h): as tile_gemv_q4_0x16 per 64-column chunk (low nibbles = sub-block
// 2c, high = 2c + 1), then each sub-block's int32 row sums times its 6-bit scales, decoded for all
// 16 rows from the tile's byte-major scale bytes; the minimums meet the activation sums once per
// super-block. All integer until the super-block's two float products.
void tile_gemv_q4_kx16(int64_t K, const uint8_t *tile, const void *xp, float *y) {
    const block_q4_kx16 *t = (const block_q4_kx16 *)tile;
    const q4kx16_act *a = (const q4kx16_act *)xp;
    const __m512i lo = _mm512_set1_epi8(0x0F), hi = _mm512_set1_epi8((char)0xF0);
    const __m128i m63 = _mm_set1_epi8(63), m15 = _mm_set1_epi8(15), m3 = _mm_set1_epi8(3);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < K / QK_K; b++) {
        const block_q4_kx16 &B = t[b];
        const q4kx16_act &x = a[b];
        const int32_t *xq = (const int32_t *)x.q;
        __m128i sb[K_SCALE_SIZE];
        for (int k = 0; k < K_SCALE_SIZE; k++) sb[k] = _mm_loadu_si128((const __m128i *)B.scales[k]);
        auto top2 = [&](__m128i v) { return _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(v, 6), m3), 4); }; // (v >> 6) << 4
        auto scale = [&](int s) {
            const __m128i v = s < 4 ? _mm_and_si128(sb[s], m63) : _mm_or_si128(_mm_and_si128(sb[s + 4], m15), top2(sb[s - 4]));
            return _mm512_cvtepu8_epi32(v);
        };
        auto minimum = [&](int s) {
            const __m128i v = s < 4 ? _mm_and_si128(sb[s + 4], m63)
                                    : _mm_or_si128(_mm_and_si128(_mm_srli_epi16(sb[s + 4], 4), m15), top2(sb[s]));
            return _mm512_cvtepu8_epi32(v);
        };
        __m512i isum = _mm512_setzero_si512(), msum = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
            __m512i sl = _mm512_setzero_si512(), sh = _mm512_setzero_si512();
            for (int j = 0; j < 8; j++) {
                const __m512i v = _mm512_loadu_si512(B.qs[c][j]);
                sl = _mm512_dpbusd_epi32(sl, _mm512_and_si512(v, lo), _mm512_set1_epi32(xq[16 * c + j]));
                sh = _mm512_dpbusd_epi32(sh, _mm512_and_si512(v, hi), _mm512_set1_epi32(xq[16 * c + 8 + j]));
            }
            isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(sl, scale(2 * c)));
            isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_srai_epi32(sh, 4), scale(2 * c + 1)));
        }
        for (int s = 0; s < 8; s++) msum = _mm512_add_epi32(msum, _mm512_mullo_epi32(minimum(s), _mm512_set1_epi32(x.bsum[s])));
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)B.d));
        const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)B.dmin));
        const __m512 v = _mm512_fmsub_ps(dw, _mm512_cvtepi32_ps(isum), _mm512_mul_ps(dm, _mm512_cvtepi32_ps(msum)));
        acc = _mm512_fmadd_ps(v, _mm512_set1_ps(x.d), acc);
    }
    _mm512_storeu_ps(y, acc);
}

// q6_kx16 decode (blocks.h): per half and j, three vectors give the 6-bit codes of four element
// groups (low/high nibbles of two ql vectors, two bits each of qh), four VPDPBUSDs with the
// broadcast activations, summed per 16-element sub-block; then per sub-block the codes' -32
// offset (activation sums) and the int8 scales of all 16 rows, in integers.
void tile_gemv_q6_kx16(int64_t K, const uint8_t *tile, const void *xp, float *y) {
    const block_q6_kx16 *t = (const block_q6_kx16 *)tile;
    const q6kx16_act *a = (const q6kx16_act *)xp;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < K / QK_K; b++) {
        const block_q6_kx16 &B = t[b];
        const q6kx16_act &x = a[b];
        const int32_t *xq = (const int32_t *)x.q;
        __m512i isum = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            // Sub-block 8h + 2g + (j >= 4) of group g: named accumulators (an array indexed by j
            // would live on the stack: 2x slower hot, 2.5x from DRAM).
            __m512i s0 = _mm512_set1_epi32(x.c[8 * h]), s1 = _mm512_set1_epi32(x.c[8 * h + 1]);
            __m512i s2 = _mm512_set1_epi32(x.c[8 * h + 2]), s3 = _mm512_set1_epi32(x.c[8 * h + 3]);
            __m512i s4 = _mm512_set1_epi32(x.c[8 * h + 4]), s5 = _mm512_set1_epi32(x.c[8 * h + 5]);
            __m512i s6 = _mm512_set1_epi32(x.c[8 * h + 6]), s7 = _mm512_set1_epi32(x.c[8 * h + 7]);
            auto step = [&](int j, __m512i &a0, __m512i &a1, __m512i &a2, __m512i &a3) {
                const __m512i l0 = _mm512_loadu_si512(B.q[h][j][0]), l1 = _mm512_loadu_si512(B.q[h][j][1]);
                const __m512i hh = _mm512_loadu_si512(B.q[h][j][2]);
                const __m512i q0 = _mm512_or_si512(_mm512_and_si512(l0, m4), _mm512_and_si512(_mm512_slli_epi16(hh, 4), m30));
                const __m512i q1 = _mm512_or_si512(_mm512_and_si512(l1, m4), _mm512_and_si512(_mm512_slli_epi16(hh, 2), m30));
                const __m512i q2 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4), _mm512_and_si512(hh, m30));
                const __m512i q3 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
                                                   _mm512_and_si512(_mm512_srli_epi16(hh, 2), m30));
                const int base = 32 * h + j;
                a0 = _mm512_dpbusd_epi32(a0, q0, _mm512_set1_epi32(xq[base]));
                a1 = _mm512_dpbusd_epi32(a1, q1, _mm512_set1_epi32(xq[base + 8]));
                a2 = _mm512_dpbusd_epi32(a2, q2, _mm512_set1_epi32(xq[base + 16]));
                a3 = _mm512_dpbusd_epi32(a3, q3, _mm512_set1_epi32(xq[base + 24]));
            };
            for (int j = 0; j < 4; j++) step(j, s0, s2, s4, s6);
            for (int j = 4; j < 8; j++) step(j, s1, s3, s5, s7);
            const __m512i sums[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
            for (int i = 0; i < 8; i++) {
                const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)B.scales[8 * h + i]));
                isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(sums[i], sc));
            }
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)B.d));
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(x.d)), _mm512_cvtepi32_ps(isum), acc);
    }
    _mm512_storeu_ps(y, acc);
}

float dot_q4_1(int64_t n, const void *w, const void *x) {
    const block_q4_1 *a = (const block_q4_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    const int64_t nb = n / QK4_1;
    __m512 acc = _mm512_setzero_ps();
    float summs = 0.0f;
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_nibbles2(a[k].qs, a[k + 1].qs),
                                              load2(b[k].qs, b[k + 1].qs));
        const __m512 d = scale2(h2f(a[k].d) * h2f(b[k].d),
                                h2f(a[k + 1].d) * h2f(b[k + 1].d));
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
        summs += h2f(a[k].m) * h2f(b[k].s) + h2f(a[k + 1].m) * h2f(b[k + 1].s);
    }
    float s = _mm512_reduce_add_ps(acc) + summs;
    if (k < nb) s += kernels_generic()->dot[(int)type::q4_1](QK4_1, &a[k], &b[k]); // odd last block
    return s;
}

void axpy_f32(int64_t n, float a, const void *x, float *y) {
    const float *v = (const float *)x;
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, v + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

void axpy_f16(int64_t n, float a, const void *x, float *y) {
    const fp16_t *v = (const fp16_t *)x;
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 vx = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, v + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, vx, _mm512_maskz_loadu_ps(m, y + i)));
    }
}

isa_kernels make() {
    isa_entries e{dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0, dot_q4_1, axpy_f32, axpy_f16};
    // 2x2 tiles: the AVX2 ones (this CPU runs AVX2 too) until AVX-512 tiles are written.
    if (const isa_kernels *a = kernels_avx2_unchecked()) { // AVX-512 CPUs run AVX2
        e.q8_0_2x2 = a->dot2x2[(int)type::q8_0];
        e.q4_0_2x2 = a->dot2x2[(int)type::q4_0];
        e.q4_1_2x2 = a->dot2x2[(int)type::q4_1];
    }
    // Formats without AVX-512 kernels (q5_0/q5_1, q2_k, q3_k, ternary) run the AVX2 ones.
    const isa_kernels *base = kernels_avx2_unchecked();
    isa_kernels t = kernels_make("avx512", e, base ? base : kernels_generic());
    kernels_add_avx512_k(&t);
    t.gemm_i8 = gemm_i8_avx512_get();
    t.gemm_i8_max_code = 255;
    t.gemv_prep[(int)type::q4_0] = gemv_prep_q4_0;
    t.gemv_dot[(int)type::q4_0] = gemv_dot_q4_0;
    t.tile_gemv[(int)type::q4_0x16] = tile_gemv_q4_0x16;
    t.tile_gemv[(int)type::q4_kx16] = tile_gemv_q4_kx16;
    t.tile_gemv[(int)type::q6_kx16] = tile_gemv_q6_kx16;
    t.gemv_prep[(int)type::f16] = gemv_prep_f16;
    t.gemv_dot[(int)type::f16] = gemv_dot_f16;
    kernels_add_lut_avx512(&t);
    kernels_add_attn_avx512(&t);
    return t;
}

} // namespace

// Called only after kernels_avx512() (vec-dot-generic.cpp, built without ISA flags) has checked
// the CPU: code in this file may use the ISA anywhere, even in a function's prologue.
const isa_kernels *kernels_avx512_unchecked() {
    static const isa_kernels t = make();
    return &t;
}

} // namespace tern

#else
namespace tern {
const isa_kernels *kernels_avx512_unchecked() { return nullptr; }
} // namespace tern
#endif
