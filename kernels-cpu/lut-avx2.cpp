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

constexpr size_t LUT_PREFETCH = 4; // groups ahead

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
        float amax = 0;
        for (int qd = 0; qd < LUT_GROUP / 4; qd++) {
            const float *q = xg + 4 * qd;
            amax = std::fmax(amax, ((std::fabs(q[0]) + std::fabs(q[1])) + std::fabs(q[2])) + std::fabs(q[3]));
        }
        for (int half = 0; half < 2; half++) { // the sums per 32 columns
            const float *xh = xg + half * LUT_XSUM_COLS;
            __m256 acc = _mm256_loadu_ps(xh);
            for (int i = 8; i < LUT_XSUM_COLS; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(xh + i));
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            xsum[2 * g + half] = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
        }
        const float inv = amax > 0 ? 127.0f / amax : 0.0f;
        tscale[g] = amax / 127.0f;
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

template <int B, bool HAS_MIN, int NT>
void gemv_tile(int64_t K, const uint8_t *tile, const lut_act *acts, float *const *y) {
    constexpr size_t header = HAS_MIN ? 0 : (size_t)LUT_TILE_ROWS * 4;
    constexpr size_t group_bytes = (size_t)LUT_TILE_ROWS * lut_block_bytes(B, HAS_MIN);
    constexpr size_t codes_off = (size_t)LUT_TILE_ROWS * lut_scale_bytes(B, HAS_MIN);
    constexpr int NP = B / 2; // plane pairs; an odd B adds one single plane
    constexpr int SETS = lut_scale_sets(B, HAS_MIN), VS = 8 / SETS; // quad pairs per scale set
    const float c2 = HAS_MIN ? (float)((1 << B) - 1) : 1.0f;
    // tl4's 20-line groups: prefetching them into L2 rather than L1 streamed one thread's weights
    // 1.4x faster from DRAM (bench-gemv 3200 x 8640, one thread); smaller groups do best with L1.
    constexpr auto PF_HINT = B == 4 ? _MM_HINT_T1 : _MM_HINT_T0;
    const __m256i m15 = _mm256_set1_epi8(15);
    const __m256i w01 = _mm256_set1_epi16(0x0201), w23 = _mm256_set1_epi16(0x0804); // plane weights
    const __m256i ws_e = _mm256_set1_epi16(1 << (B - 1)), ws_o = _mm256_set1_epi16((1 << (B - 1)) << 8);
    __m256 P[NT][4], Q[NT][4];
    for (int n = 0; n < NT; n++)
        for (int i = 0; i < 4; i++) P[n][i] = Q[n][i] = _mm256_setzero_ps();
    const int64_t n_groups = K / LUT_GROUP;
    for (int64_t g = 0; g < n_groups; g++) {
        const uint8_t *grp = tile + header + (size_t)g * group_bytes;
        const uint8_t *codes = grp + codes_off;
        // Software prefetch a few groups ahead (past the tile's end too: the next tile follows in
        // memory): decode streams the weights once, and the hardware prefetcher alone left a
        // single thread at ~half the core's streaming bandwidth.
        for (size_t off = 0; off < group_bytes; off += 64) _mm_prefetch((const char *)grp + LUT_PREFETCH * group_bytes + off, PF_HINT);
        for (int s = 0; s < SETS; s++) {
            // per token: rows 0-7, 8-15, 16-23, 24-31; lane 0 the even quads, lane 1 the odd ones
            __m256i A[NT][4];
            for (int n = 0; n < NT; n++)
                for (int i = 0; i < 4; i++) A[n][i] = _mm256_setzero_si256();
#pragma GCC unroll 2
            for (int v = s * VS; v < (s + 1) * VS; v++) {
                __m256i T[NT];
                for (int n = 0; n < NT; n++)
                    T[n] = _mm256_loadu_si256((const __m256i *)(acts[n].tables + (g * (LUT_GROUP / 4) + 2 * v) * LUT_TABLE_BYTES));
                const uint8_t *p = codes + (size_t)v * 32 * B;
                for (int u = 0; u < NP; u++) {
                    const __m256i wu = u == 0 ? w01 : w23;
                    for (int h = 0; h < 2; h++) {
                        const __m256i c = _mm256_loadu_si256((const __m256i *)(p + u * 64 + h * 32));
                        const __m256i lo = _mm256_and_si256(c, m15), hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), m15);
                        for (int n = 0; n < NT; n++) {
                            A[n][2 * h] = _mm256_add_epi16(A[n][2 * h], _mm256_maddubs_epi16(wu, _mm256_shuffle_epi8(T[n], lo)));
                            A[n][2 * h + 1] = _mm256_add_epi16(A[n][2 * h + 1], _mm256_maddubs_epi16(wu, _mm256_shuffle_epi8(T[n], hi)));
                        }
                    }
                }
                if (B & 1) {
                    const __m256i c = _mm256_loadu_si256((const __m256i *)(p + NP * 64));
                    const __m256i li = _mm256_and_si256(c, m15), hi_i = _mm256_and_si256(_mm256_srli_epi16(c, 4), m15);
                    for (int n = 0; n < NT; n++) {
                        const __m256i lo = _mm256_shuffle_epi8(T[n], li), hi = _mm256_shuffle_epi8(T[n], hi_i);
                        A[n][0] = _mm256_add_epi16(A[n][0], _mm256_maddubs_epi16(ws_e, lo));
                        A[n][1] = _mm256_add_epi16(A[n][1], _mm256_maddubs_epi16(ws_o, lo));
                        A[n][2] = _mm256_add_epi16(A[n][2], _mm256_maddubs_epi16(ws_e, hi));
                        A[n][3] = _mm256_add_epi16(A[n][3], _mm256_maddubs_epi16(ws_o, hi));
                    }
                }
            }
            for (int i = 0; i < 4; i++) {
                __m256 d, m;
                if (HAS_MIN) {
                    const fp16_t *dm = (const fp16_t *)(grp + lut_set_offset(s));
                    d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + 8 * i)));
                    m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + LUT_TILE_ROWS + 8 * i)));
                } else {
                    d = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(grp + 8 * i))));
                }
                for (int n = 0; n < NT; n++) {
                    const float X = lut_set_xsum(acts[n].xsum, g, s, SETS);
                    const __m128i a16 = _mm_add_epi16(_mm256_castsi256_si128(A[n][i]), _mm256_extracti128_si256(A[n][i], 1));
                    const __m256 acc = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(a16));
                    const __m256 ts = _mm256_set1_ps(acts[n].tscale[g]), cx = _mm256_set1_ps(c2 * X);
                    P[n][i] = _mm256_fmadd_ps(d, _mm256_fmadd_ps(ts, acc, cx), P[n][i]);
                    if (HAS_MIN) Q[n][i] = _mm256_fmadd_ps(m, _mm256_set1_ps(X), Q[n][i]);
                }
            }
        }
    }
    const __m256 half = _mm256_set1_ps(0.5f);
    for (int n = 0; n < NT; n++)
        for (int i = 0; i < 4; i++) {
            const __m256 r = HAS_MIN ? _mm256_fmadd_ps(half, P[n][i], Q[n][i])
                                     : _mm256_mul_ps(_mm256_mul_ps(half, _mm256_loadu_ps((const float *)tile + 8 * i)), P[n][i]);
            _mm256_storeu_ps(y[n] + 8 * i, r);
        }
}

template <int NT> void gemv_dispatch(type t, int64_t K, const uint8_t *tile, const lut_act *a, float *const *y) {
    switch (t) {
    case type::tl1: return gemv_tile<1, true, NT>(K, tile, a, y);
    case type::tl2: return gemv_tile<2, true, NT>(K, tile, a, y);
    case type::tl3: return gemv_tile<3, true, NT>(K, tile, a, y);
    case type::tl4: return gemv_tile<4, true, NT>(K, tile, a, y);
    case type::tlt: return gemv_tile<2, false, NT>(K, tile, a, y);
    default: return;
    }
}

void lut_gemv_avx2(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale, const float *xsum,
                   float *y) {
    const lut_act a{tables, tscale, xsum};
    gemv_dispatch<1>(t, K, tile, &a, &y);
}

void lut_gemv2_avx2(type t, int64_t K, const uint8_t *tile, const lut_act *acts, float *y0, float *y1) {
    float *y[2] = {y0, y1};
    gemv_dispatch<2>(t, K, tile, acts, y);
}

} // namespace

void kernels_add_lut_avx2(isa_kernels *t) {
    t->lut_prep = lut_prep_avx2;
    t->lut_gemv = lut_gemv_avx2;
    t->lut_gemv2 = lut_gemv2_avx2;
}

} // namespace tern

#else
namespace tern {
void kernels_add_lut_avx2(isa_kernels *) {}
} // namespace tern
#endif
