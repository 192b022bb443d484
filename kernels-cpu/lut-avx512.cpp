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
    // tl4's 20-line groups: prefetching them into L2 rather than L1 streamed one thread's weights
    // 1.4x faster from DRAM (bench-gemv 3200 x 8640, one thread); smaller groups do best with L1.
    constexpr auto PF_HINT = B == 4 ? _MM_HINT_T1 : _MM_HINT_T0;
    const __m512i m15 = _mm512_set1_epi8(15);
    const __m512i w01 = _mm512_set1_epi16(0x0201), w23 = _mm512_set1_epi16(0x0804);
    __m512 P[NT][2], Q[NT][2]; // rows 0-15, 16-31
    for (int n = 0; n < NT; n++)
        for (int j = 0; j < 2; j++) P[n][j] = Q[n][j] = _mm512_setzero_ps();
    for (int64_t g = 0; g < K / LUT_GROUP; g++) {
        const uint8_t *grp = tile + header + (size_t)g * group_bytes;
        const uint8_t *codes = grp + codes_off;
        for (size_t off = 0; off < group_bytes; off += 64) _mm_prefetch((const char *)grp + 4 * group_bytes + off, PF_HINT);
        // the group's scales first (reading a group front to back measured faster from DRAM)
        __m512 D[SETS][2], M[SETS][2];
        for (int s = 0; s < SETS; s++)
            for (int j = 0; j < 2; j++) {
                if (HAS_MIN) {
                    const fp16_t *dm = (const fp16_t *)(grp + lut_set_offset(s));
                    D[s][j] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(dm + 16 * j)));
                    M[s][j] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(dm + LUT_TILE_ROWS + 16 * j)));
                } else {
                    D[s][j] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(grp + 16 * j))));
                    M[s][j] = D[s][j];
                }
            }
        // per token and scale set: low nibbles (rows 0-7 | 16-23), high nibbles (rows 8-15 |
        // 24-31); in each 256-bit half, lane 0 the even quads and lane 1 the odd ones
        __m512i LS[NT][SETS], HS[NT][SETS];
        for (int n = 0; n < NT; n++)
            for (int s = 0; s < SETS; s++) LS[n][s] = HS[n][s] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int v = 0; v < 8; v++) {
            const int s = v / VS;
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
                    LS[n][s] = _mm512_add_epi16(LS[n][s], _mm512_maddubs_epi16(wu, _mm512_shuffle_epi8(T[n], lo)));
                    HS[n][s] = _mm512_add_epi16(HS[n][s], _mm512_maddubs_epi16(wu, _mm512_shuffle_epi8(T[n], hi)));
                }
            }
        }
        for (int s = 0; s < SETS; s++) {
            // rows 0-15 and 16-31 as zmm floats: lanes [L0 H0 L2 H2] + [L1 H1 L3 H3] puts the even
            // and odd quads' int16 sums of rows 0-7, 8-15, 16-23, 24-31 side by side, in order
            const __m512 *d = D[s], *m = M[s];
            const __m512i even = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), odd = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
            for (int n = 0; n < NT; n++) {
                const __m512i a16 = _mm512_add_epi16(_mm512_permutex2var_epi64(LS[n][s], even, HS[n][s]),
                                                     _mm512_permutex2var_epi64(LS[n][s], odd, HS[n][s]));
                const float X = lut_set_xsum(acts[n].xsum, g, s, SETS);
                const __m512 ts = _mm512_set1_ps(acts[n].tscale[g]), cx = _mm512_set1_ps(c2 * X);
                for (int j = 0; j < 2; j++) {
                    const __m256i h = j ? _mm512_extracti64x4_epi64(a16, 1) : _mm512_castsi512_si256(a16);
                    const __m512 acc = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(h));
                    P[n][j] = _mm512_fmadd_ps(d[j], _mm512_fmadd_ps(ts, acc, cx), P[n][j]);
                    if (HAS_MIN) Q[n][j] = _mm512_fmadd_ps(m[j], _mm512_set1_ps(X), Q[n][j]);
                }
            }
        }
    }
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int n = 0; n < NT; n++)
        for (int j = 0; j < 2; j++) {
            const __m512 r = HAS_MIN ? _mm512_fmadd_ps(half, P[n][j], Q[n][j])
                                     : _mm512_mul_ps(_mm512_mul_ps(half, _mm512_loadu_ps((const float *)tile + 16 * j)), P[n][j]);
            _mm512_storeu_ps(y[n] + 16 * j, r);
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
