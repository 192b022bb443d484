// gemm-i8-avx512.cpp — the AVX-512 VNNI micro-kernel of the integer prefill GEMM (gemm-i8.h).
// Built with AVX-512 flags, used only through the AVX-512 table after the CPU check.
//
// The 16 panel rows are the 16 lanes of a vector. Per sub-block the sb/4 weight vectors are
// loaded once and serve every token: for token t, VPDPBUSD multiplies each with 4 activation bytes
// broadcast to all lanes (sb/4 instructions, 16 x sb products), then the integer sums are scaled
// into the token's float accumulator. No horizontal sums anywhere.
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX512)
#include <immintrin.h>

#include <cstring>

namespace tern {

namespace {

inline __m512i bcast4(const int8_t *p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

template <int SBQ, int NT>
void tile(int64_t K, const uint8_t *panel, const i8_acts &x, float *y, size_t ldy, int n_rows) {
    constexpr int SB = SBQ * 4;
    const int64_t nsb = K / SB;
    const float *pa = (const float *)(panel + (size_t)K * 16), *pb = pa + nsb * 16;
    __m512 acc[NT];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t j = 0; j < nsb; j++) {
        __m512i w[SBQ];
#pragma GCC unroll 8
        for (int g = 0; g < SBQ; g++) w[g] = _mm512_loadu_si512(panel + (j * SBQ + g) * 64);
        const __m512 a = _mm512_loadu_ps(pa + j * 16), b = _mm512_loadu_ps(pb + j * 16);
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) {
            const int8_t *xq = x.q + t * x.ldq + j * SB;
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int g = 0; g < SBQ; g += 2) {
                s0 = _mm512_dpbusd_epi32(s0, w[g], bcast4(xq + 4 * g));
                s1 = _mm512_dpbusd_epi32(s1, w[g + 1], bcast4(xq + 4 * g + 4));
            }
            const __m512 ad = _mm512_mul_ps(a, _mm512_set1_ps(x.d[t * x.ldd + j]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), ad, acc[t]);
            acc[t] = _mm512_fmadd_ps(b, _mm512_set1_ps(x.s[t * x.lds + j]), acc[t]);
        }
    }
    const __mmask16 m = (__mmask16)((1u << n_rows) - 1);
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(y + t * ldy, m, acc[t]);
}

template <int SBQ> void tile_n(int64_t K, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy, int n_rows) {
    switch (n_tok) {
    case 1: return tile<SBQ, 1>(K, panel, x, y, ldy, n_rows);
    case 2: return tile<SBQ, 2>(K, panel, x, y, ldy, n_rows);
    case 3: return tile<SBQ, 3>(K, panel, x, y, ldy, n_rows);
    case 4: return tile<SBQ, 4>(K, panel, x, y, ldy, n_rows);
    case 5: return tile<SBQ, 5>(K, panel, x, y, ldy, n_rows);
    case 6: return tile<SBQ, 6>(K, panel, x, y, ldy, n_rows);
    case 7: return tile<SBQ, 7>(K, panel, x, y, ldy, n_rows);
    default: return tile<SBQ, 8>(K, panel, x, y, ldy, n_rows);
    }
}

void gemm_i8_avx512(int64_t K, int sb, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy, int n_rows) {
    if (sb == 32) tile_n<8>(K, panel, x, n_tok, y, ldy, n_rows);
    else tile_n<4>(K, panel, x, n_tok, y, ldy, n_rows);
}

} // namespace

gemm_i8_fn gemm_i8_avx512_get() { return gemm_i8_avx512; }

} // namespace tern

#else
namespace tern {
gemm_i8_fn gemm_i8_avx512_get() { return nullptr; }
} // namespace tern
#endif
