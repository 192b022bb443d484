// lut-avx512.cpp — AVX-512 (BW) table-lookup GEMV for the even-bit LUT types tl2, tl4 and tlt (see
// lut.h). One zmm holds a plane pair's two 32-byte code vectors of a quad pair (rows 0..15 and
// 16..31), so each vpshufb/vpmaddubsw does the work of two AVX2 ones; the quad pair's 32-byte
// table is broadcast to both halves. tl1/tl3 (a lone last plane) keep the AVX2 kernel. Called only
// after the CPU check in vec-dot-generic.cpp.
#include "ggml/fp16.h"
#include "lut.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX512)
#include <immintrin.h>

namespace tern {

namespace {

template <int B, bool HAS_MIN, int NT>
void gemv_tile(int64_t K, const uint8_t *tile, const lut_act *acts, float *const *y) {
    static_assert(B % 2 == 0, "even bit counts only");
    constexpr size_t header = HAS_MIN ? 0 : (size_t)LUT_TILE_ROWS * 4;
    constexpr size_t group_bytes = (size_t)LUT_TILE_ROWS * lut_block_bytes(B, HAS_MIN);
    constexpr size_t codes_off = (size_t)LUT_TILE_ROWS * lut_scale_bytes(B, HAS_MIN);
    constexpr int NP = B / 2;
    constexpr int SETS = lut_scale_sets(B, HAS_MIN), VS = 8 / SETS; // quad pairs per scale set
    const float c2 = HAS_MIN ? (float)((1 << B) - 1) : 1.0f;
    const __m512i m15 = _mm512_set1_epi8(15);
    const __m512i w01 = _mm512_set1_epi16(0x0201), w23 = _mm512_set1_epi16(0x0804);
    __m256 P[NT][4], Q[NT][4];
    for (int n = 0; n < NT; n++)
        for (int i = 0; i < 4; i++) P[n][i] = Q[n][i] = _mm256_setzero_ps();
    for (int64_t g = 0; g < K / LUT_GROUP; g++) {
        const uint8_t *grp = tile + header + (size_t)g * group_bytes;
        const uint8_t *codes = grp + codes_off;
        for (size_t off = 0; off < group_bytes; off += 64) _mm_prefetch((const char *)grp + 4 * group_bytes + off, _MM_HINT_T0);
        for (int s = 0; s < SETS; s++) {
            // per token: low nibbles (rows 0-7 | 16-23), high nibbles (rows 8-15 | 24-31); in each
            // 256-bit half, lane 0 the even quads and lane 1 the odd ones
            __m512i L[NT], H[NT];
            for (int n = 0; n < NT; n++) L[n] = H[n] = _mm512_setzero_si512();
#pragma GCC unroll 2
            for (int v = s * VS; v < (s + 1) * VS; v++) {
                __m512i T[NT];
                for (int n = 0; n < NT; n++)
                    T[n] = _mm512_broadcast_i64x4(
                        _mm256_loadu_si256((const __m256i *)(acts[n].tables + (g * (LUT_GROUP / 4) + 2 * v) * LUT_TABLE_BYTES)));
                const uint8_t *p = codes + (size_t)v * 32 * B;
                for (int u = 0; u < NP; u++) {
                    const __m512i wu = u == 0 ? w01 : w23;
                    const __m512i c = _mm512_loadu_si512((const void *)(p + u * 64));
                    const __m512i lo = _mm512_and_si512(c, m15), hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), m15);
                    for (int n = 0; n < NT; n++) {
                        L[n] = _mm512_add_epi16(L[n], _mm512_maddubs_epi16(wu, _mm512_shuffle_epi8(T[n], lo)));
                        H[n] = _mm512_add_epi16(H[n], _mm512_maddubs_epi16(wu, _mm512_shuffle_epi8(T[n], hi)));
                    }
                }
            }
            __m256 d[4], m[4];
            for (int i = 0; i < 4; i++) {
                if (HAS_MIN) {
                    const fp16_t *dm = (const fp16_t *)(grp + (size_t)s * 4 * LUT_TILE_ROWS);
                    d[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + 8 * i)));
                    m[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + LUT_TILE_ROWS + 8 * i)));
                } else {
                    d[i] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(grp + 8 * i))));
                }
            }
            for (int n = 0; n < NT; n++) {
                // row blocks 0..3 = rows 0-7, 8-15, 16-23, 24-31
                const __m256i parts[4] = {_mm512_castsi512_si256(L[n]), _mm512_castsi512_si256(H[n]),
                                          _mm512_extracti64x4_epi64(L[n], 1), _mm512_extracti64x4_epi64(H[n], 1)};
                const float X = SETS == 2 ? acts[n].xsum[2 * g + s] : lut_xsum64(acts[n].xsum, g);
                const __m256 ts = _mm256_set1_ps(acts[n].tscale[g]), cx = _mm256_set1_ps(c2 * X);
                for (int i = 0; i < 4; i++) {
                    const __m128i a16 = _mm_add_epi16(_mm256_castsi256_si128(parts[i]), _mm256_extracti128_si256(parts[i], 1));
                    const __m256 acc = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(a16));
                    P[n][i] = _mm256_fmadd_ps(d[i], _mm256_fmadd_ps(ts, acc, cx), P[n][i]);
                    if (HAS_MIN) Q[n][i] = _mm256_fmadd_ps(m[i], _mm256_set1_ps(X), Q[n][i]);
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

lut_gemv_fn g_avx2_gemv;
lut_gemv2_fn g_avx2_gemv2;

void lut_gemv_avx512(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale, const float *xsum,
                     float *y) {
    const lut_act a{tables, tscale, xsum};
    float *ys[1] = {y};
    switch (t) {
    case type::tl2: return gemv_tile<2, true, 1>(K, tile, &a, ys);
    case type::tl4: return gemv_tile<4, true, 1>(K, tile, &a, ys);
    case type::tlt: return gemv_tile<2, false, 1>(K, tile, &a, ys);
    default: return g_avx2_gemv(t, K, tile, tables, tscale, xsum, y);
    }
}

void lut_gemv2_avx512(type t, int64_t K, const uint8_t *tile, const lut_act *acts, float *y0, float *y1) {
    float *ys[2] = {y0, y1};
    switch (t) {
    case type::tl2: return gemv_tile<2, true, 2>(K, tile, acts, ys);
    case type::tl4: return gemv_tile<4, true, 2>(K, tile, acts, ys);
    case type::tlt: return gemv_tile<2, false, 2>(K, tile, acts, ys);
    default: return g_avx2_gemv2(t, K, tile, acts, y0, y1);
    }
}

} // namespace

// t holds the AVX2 LUT kernels already (the AVX-512 table starts from the AVX2 one).
void kernels_add_lut_avx512(isa_kernels *t) {
    if (!t->lut_gemv || !t->lut_gemv2) return;
    g_avx2_gemv = t->lut_gemv;
    g_avx2_gemv2 = t->lut_gemv2;
    t->lut_gemv = lut_gemv_avx512;
    t->lut_gemv2 = lut_gemv2_avx512;
}

} // namespace tern

#else
namespace tern {
void kernels_add_lut_avx512(isa_kernels *) {}
} // namespace tern
#endif
