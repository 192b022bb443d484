// attn-avx512.cpp — AVX-512 versions of the KIVI attention kernels (layouts in ggml/kv-layout.h):
// a 32-token key group is two 16-lane vectors, so each channel costs two FMAs. The q8_0 / q4_0
// value kernels stay the AVX2 ones (a 32-element block is already one pass there). Called only
// after the CPU check in vec-dot-generic.cpp.
#include "ggml/fp16.h"
#include "ggml/kv-layout.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX512)
#include <immintrin.h>

namespace tern {

namespace {

inline __m512 u8x16_ps(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }

// The 32 codes of a channel (or value block) as two 16-lane float vectors in token order.
template <int BITS>
inline void codes32(const uint8_t *p, __m512 *lo, __m512 *hi) {
    if (BITS == 4) {
        const __m128i v = _mm_loadu_si128((const __m128i *)p), m15 = _mm_set1_epi8(15);
        *lo = u8x16_ps(_mm_and_si128(v, m15));
        *hi = u8x16_ps(_mm_and_si128(_mm_srli_epi16(v, 4), m15));
    } else {
        // bytes 0..7 twice; lanes 0..7 take bits 0-1 (tokens 0..7), lanes 8..15 bits 2-3 (8..15), ...
        const __m512i b = _mm512_cvtepu8_epi32(_mm_set1_epi64x(*(const int64_t *)p));
        const __m512i m3 = _mm512_set1_epi32(3);
        const __m512i s01 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
        const __m512i s23 = _mm512_setr_epi32(4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6);
        *lo = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srlv_epi32(b, s01), m3));
        *hi = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srlv_epi32(b, s23), m3));
    }
}

template <int BITS>
void kivi_kscore(int64_t D, const uint8_t *group, const float *q, float *s) {
    const fp16_t *scale = (const fp16_t *)group, *zero = scale + D;
    const uint8_t *codes = group + D * 4;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, bias = a0;
    alignas(64) float qs[16];
    for (int64_t c0 = 0; c0 < D; c0 += 16) {
        const __m512 qv = _mm512_loadu_ps(q + c0);
        bias = _mm512_fmadd_ps(qv, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(zero + c0))), bias);
        _mm512_store_ps(qs, _mm512_mul_ps(qv, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(scale + c0)))));
        for (int j = 0; j < 16; j++) {
            __m512 lo, hi;
            codes32<BITS>(codes + (c0 + j) * KIVI_GROUP * BITS / 8, &lo, &hi);
            const __m512 w = _mm512_set1_ps(qs[j]);
            a0 = _mm512_fmadd_ps(w, lo, a0);
            a1 = _mm512_fmadd_ps(w, hi, a1);
        }
    }
    const __m512 b = _mm512_set1_ps(_mm512_reduce_add_ps(bias));
    _mm512_storeu_ps(s, _mm512_add_ps(a0, b));
    _mm512_storeu_ps(s + 16, _mm512_add_ps(a1, b));
}

template <int BITS>
void kivi_vaxpy(int64_t D, float a, const uint8_t *row, float *y) {
    const uint8_t *codes = row + (D / 32) * 4;
    for (int64_t blk = 0; blk < D / 32; blk++) {
        const fp16_t *sz = (const fp16_t *)(row + blk * 4);
        const __m512 s = _mm512_set1_ps(a * fp16_to_fp32(sz[0])), z = _mm512_set1_ps(a * fp16_to_fp32(sz[1]));
        __m512 lo, hi;
        codes32<BITS>(codes + blk * 32 * BITS / 8, &lo, &hi);
        float *yb = y + blk * 32;
        _mm512_storeu_ps(yb, _mm512_add_ps(_mm512_loadu_ps(yb), _mm512_fmadd_ps(s, lo, z)));
        _mm512_storeu_ps(yb + 16, _mm512_add_ps(_mm512_loadu_ps(yb + 16), _mm512_fmadd_ps(s, hi, z)));
    }
}

} // namespace

void kernels_add_attn_avx512(isa_kernels *t) {
    t->kivi_kscore[0] = kivi_kscore<4>;
    t->kivi_kscore[1] = kivi_kscore<2>;
    t->kivi_vaxpy[0] = kivi_vaxpy<4>;
    t->kivi_vaxpy[1] = kivi_vaxpy<2>;
}

} // namespace tern

#else
namespace tern {
void kernels_add_attn_avx512(isa_kernels *) {}
} // namespace tern
#endif
