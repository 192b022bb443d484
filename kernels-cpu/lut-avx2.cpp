// lut-avx2.cpp — AVX2 table-lookup GEMV for the LUT types (see lut.h; built with -mavx2 -mfma,
// called only after the CPU check in vec-dot-generic.cpp). A 32-byte code vector holds one quad
// per 128-bit lane (the two tables of a quad pair load as one 32-byte vector), 64 codes; vpshufb
// looks them up and maddubs with the planes' weights sums each row's two bytes into int16.
#include "ggml/fp16.h"
#include "lut.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX2)
#include <immintrin.h>

#include <cmath>

namespace tern {

namespace {

// Same arithmetic, in the same order, as lut_prep_generic (tables are bit-identical).
void lut_prep_avx2(int64_t K, const float *x, int8_t *tables, float *tscale, float *xsum) {
    // sign patterns of j = 0..7 for x0, x1, x2 (bit set: +x, clear: -x)
    auto pattern = [&](int bit) {
        alignas(32) float m[8];
        for (int j = 0; j < 8; j++) m[j] = (j >> bit) & 1 ? 0.0f : -0.0f;
        return _mm256_load_ps(m);
    };
    const __m256 s0 = pattern(0), s1 = pattern(1), s2 = pattern(2);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7), rev = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    for (int64_t g = 0; g < K / LUT_GROUP; g++) {
        const float *xg = x + g * LUT_GROUP;
        float amax = 0, sum = 0;
        for (int qd = 0; qd < LUT_GROUP / 4; qd++) {
            const float *q = xg + 4 * qd;
            amax = std::fmax(amax, ((std::fabs(q[0]) + std::fabs(q[1])) + std::fabs(q[2])) + std::fabs(q[3]));
        }
        __m256 acc = _mm256_loadu_ps(xg);
        for (int i = 8; i < LUT_GROUP; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(xg + i));
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        sum = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
        const float inv = amax > 0 ? 127.0f / amax : 0.0f;
        tscale[g] = amax / 127.0f;
        xsum[g] = sum;
        const __m256 vinv = _mm256_set1_ps(inv);
        int8_t *out = tables + g * (LUT_GROUP / 4) * LUT_TABLE_BYTES;
        for (int qd = 0; qd < LUT_GROUP / 4; qd++) {
            const float *q = xg + 4 * qd;
            const __m256 x0 = _mm256_xor_ps(_mm256_set1_ps(q[0]), s0), x1 = _mm256_xor_ps(_mm256_set1_ps(q[1]), s1);
            const __m256 x2 = _mm256_xor_ps(_mm256_set1_ps(q[2]), s2);
            const __m256 v = _mm256_sub_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), x2), _mm256_set1_ps(q[3]));
            const __m256i e = _mm256_cvtps_epi32(_mm256_mul_ps(v, vinv));                      // T[0..7]
            const __m256i m = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_permutevar8x32_epi32(e, rev)); // T[8..15]
            const __m256i p16 = _mm256_packs_epi32(e, m);
            const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16, p16), order);
            _mm_storeu_si128((__m128i *)(out + qd * LUT_TABLE_BYTES), _mm256_castsi256_si128(p8));
        }
    }
}

template <int B, bool HAS_MIN>
void gemv_tile(int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale, const float *xsum, float *y) {
    constexpr size_t header = HAS_MIN ? 0 : (size_t)LUT_TILE_ROWS * 4;
    constexpr size_t group_bytes = (size_t)LUT_TILE_ROWS * lut_block_bytes(B, HAS_MIN);
    constexpr size_t codes_off = (size_t)LUT_TILE_ROWS * lut_scale_bytes(HAS_MIN);
    constexpr int NP = B / 2; // plane pairs; an odd B adds one single plane
    const float c2 = HAS_MIN ? (float)((1 << B) - 1) : 1.0f;
    const __m256i m15 = _mm256_set1_epi8(15);
    const __m256i w01 = _mm256_set1_epi16(0x0201), w23 = _mm256_set1_epi16(0x0804); // plane weights
    const __m256i ws_e = _mm256_set1_epi16(1 << (B - 1)), ws_o = _mm256_set1_epi16((1 << (B - 1)) << 8);
    __m256 P[4], Q[4];
    for (int i = 0; i < 4; i++) P[i] = Q[i] = _mm256_setzero_ps();
    const int64_t n_groups = K / LUT_GROUP;
    for (int64_t g = 0; g < n_groups; g++) {
        const uint8_t *grp = tile + header + (size_t)g * group_bytes;
        const uint8_t *codes = grp + codes_off;
        const int8_t *tg = tables + g * (LUT_GROUP / 4) * LUT_TABLE_BYTES;
        // rows 0-7, 8-15, 16-23, 24-31; lane 0 the even quads, lane 1 the odd ones
        __m256i A0 = _mm256_setzero_si256(), A1 = A0, A2 = A0, A3 = A0;
#pragma GCC unroll 2
        for (int v = 0; v < 8; v++) {
            const __m256i T = _mm256_loadu_si256((const __m256i *)(tg + v * 2 * LUT_TABLE_BYTES));
            const uint8_t *p = codes + (size_t)v * 32 * B;
            for (int u = 0; u < NP; u++) {
                const __m256i wu = u == 0 ? w01 : w23;
                const __m256i c0 = _mm256_loadu_si256((const __m256i *)(p + u * 64));
                const __m256i c1 = _mm256_loadu_si256((const __m256i *)(p + u * 64 + 32));
                A0 = _mm256_add_epi16(A0, _mm256_maddubs_epi16(wu, _mm256_shuffle_epi8(T, _mm256_and_si256(c0, m15))));
                A1 = _mm256_add_epi16(A1, _mm256_maddubs_epi16(wu, _mm256_shuffle_epi8(T, _mm256_and_si256(_mm256_srli_epi16(c0, 4), m15))));
                A2 = _mm256_add_epi16(A2, _mm256_maddubs_epi16(wu, _mm256_shuffle_epi8(T, _mm256_and_si256(c1, m15))));
                A3 = _mm256_add_epi16(A3, _mm256_maddubs_epi16(wu, _mm256_shuffle_epi8(T, _mm256_and_si256(_mm256_srli_epi16(c1, 4), m15))));
            }
            if (B & 1) {
                const __m256i c = _mm256_loadu_si256((const __m256i *)(p + NP * 64));
                const __m256i lo = _mm256_shuffle_epi8(T, _mm256_and_si256(c, m15));
                const __m256i hi = _mm256_shuffle_epi8(T, _mm256_and_si256(_mm256_srli_epi16(c, 4), m15));
                A0 = _mm256_add_epi16(A0, _mm256_maddubs_epi16(ws_e, lo));
                A1 = _mm256_add_epi16(A1, _mm256_maddubs_epi16(ws_o, lo));
                A2 = _mm256_add_epi16(A2, _mm256_maddubs_epi16(ws_e, hi));
                A3 = _mm256_add_epi16(A3, _mm256_maddubs_epi16(ws_o, hi));
            }
        }
        const __m256 ts = _mm256_set1_ps(tscale[g]), cx = _mm256_set1_ps(c2 * xsum[g]);
        const __m256i A[4] = {A0, A1, A2, A3};
        for (int i = 0; i < 4; i++) {
            const __m128i a16 = _mm_add_epi16(_mm256_castsi256_si128(A[i]), _mm256_extracti128_si256(A[i], 1));
            const __m256 acc = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(a16));
            if (HAS_MIN) {
                const fp16_t *dm = (const fp16_t *)grp;
                const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + 8 * i)));
                const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + LUT_TILE_ROWS + 8 * i)));
                P[i] = _mm256_fmadd_ps(d, _mm256_fmadd_ps(ts, acc, cx), P[i]);
                Q[i] = _mm256_fmadd_ps(m, _mm256_set1_ps(xsum[g]), Q[i]);
            } else {
                const __m256 s = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(grp + 8 * i))));
                P[i] = _mm256_fmadd_ps(s, _mm256_fmadd_ps(ts, acc, cx), P[i]);
            }
        }
    }
    const __m256 half = _mm256_set1_ps(0.5f);
    for (int i = 0; i < 4; i++) {
        const __m256 r = HAS_MIN ? _mm256_fmadd_ps(half, P[i], Q[i])
                                 : _mm256_mul_ps(_mm256_mul_ps(half, _mm256_loadu_ps((const float *)tile + 8 * i)), P[i]);
        _mm256_storeu_ps(y + 8 * i, r);
    }
}

void lut_gemv_avx2(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale, const float *xsum,
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

void kernels_add_lut_avx2(isa_kernels *t) {
    t->lut_prep = lut_prep_avx2;
    t->lut_gemv = lut_gemv_avx2;
}

} // namespace tern

#else
namespace tern {
void kernels_add_lut_avx2(isa_kernels *) {}
} // namespace tern
#endif
