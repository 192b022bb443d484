// vec-dot-avx2-k.cpp — AVX2 dot products for q5_0/q5_1 and the K-quant and ternary formats
// (built with -mavx2 -mfma -mf16c; called only after the CPU check in vec-dot-generic.cpp).
//
// Pattern for the 256-weight formats: weights are unpacked to unsigned bytes u (0..63), multiplied
// with the int8 activations by maddubs (pairs -> int16), weighted by the sub-block scales with
// madd (-> int32) and summed in integers over the super-block; offsets (q = u - 4, u - 32, t - 1)
// and minimums are taken out once per super-block through q8_k's 16-element sums.
#include "ggml/fp16.h"
#include "ggml/quant-ref.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX2)
#include "simd-avx2.h"

#include <cstring>

namespace tern {

namespace {

using namespace avx2;

inline __m256i load(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

// Scale pair for one 32-element chunk: sub-block g for lanes 0..7 (elements 0..15), g+1 for 8..15.
inline __m256i scale_pair(int s0, int s1) {
    return _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
}

// 2-bit field p of 32 bytes (q2_k/q3_k/tq2_0 layouts).
inline __m256i bits2(__m256i q, int p) { return _mm256_and_si256(_mm256_srli_epi16(q, 2 * p), _mm256_set1_epi8(3)); }

// ---- q5_0 / q5_1 (32 per block) --------------------------------------------------------------
inline __m256i q5_values(const uint8_t *qs, const uint8_t *qh) {
    uint32_t h;
    std::memcpy(&h, qh, 4);
    return _mm256_or_si256(unpack_nibbles(qs), _mm256_and_si256(bits_to_bytes(h), _mm256_set1_epi8(16)));
}

float dot_q5_0(int64_t n, const void *w, const void *x) {
    const block_q5_0 *a = (const block_q5_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    const __m256i off = _mm256_set1_epi8(16);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const int64_t nb = n / QK5_0;
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
        const __m256i p0 = dot_i8(_mm256_sub_epi8(q5_values(a[k].qs, a[k].qh), off), load(b[k].qs));
        const __m256i p1 = dot_i8(_mm256_sub_epi8(q5_values(a[k + 1].qs, a[k + 1].qh), off), load(b[k + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k + 1].d) * h2f(b[k + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; k < nb; k++) {
        const __m256i p = dot_i8(_mm256_sub_epi8(q5_values(a[k].qs, a[k].qh), off), load(b[k].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

float dot_q5_1(int64_t n, const void *w, const void *x) {
    const block_q5_1 *a = (const block_q5_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t k = 0; k < n / QK5_1; k++) {
        const __m256i p = dot_u8_i8(q5_values(a[k].qs, a[k].qh), load(b[k].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p), acc);
        summs += h2f(a[k].m) * h2f(b[k].s);
    }
    return hsum256(acc) + summs;
}

// ---- q2_k -------------------------------------------------------------------------------------
float dot_q2_k(int64_t n, const void *w, const void *x) {
    const block_q2_k *a = (const block_q2_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    __m256 acc = _mm256_setzero_ps();
    float mins = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        // minimum term: sum_g (scales[g] >> 4) * bsums[g]
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)a[k].scales);
        const __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(15)));
        const int msum = hsum_i32(_mm256_madd_epi16(mn16, load(b[k].bsums)));
        __m256i isum = _mm256_setzero_si256();
        const int8_t *y = b[k].qs;
        for (int h = 0; h < 2; h++) {
            const __m256i q = load(a[k].qs + 32 * h);
            for (int p = 0; p < 4; p++, y += 32) {
                const int g = 8 * h + 2 * p;
                const __m256i prod = _mm256_maddubs_epi16(bits2(q, p), load(y));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(prod, scale_pair(a[k].scales[g] & 15, a[k].scales[g + 1] & 15)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[k].d * h2f(a[k].d)), _mm256_cvtepi32_ps(isum), acc);
        mins += b[k].d * h2f(a[k].dmin) * (float)msum;
    }
    return hsum256(acc) - mins;
}

// ---- q3_k: u = low 2 bits | high bit << 2, q = u - 4 ------------------------------------------
float dot_q3_k(int64_t n, const void *w, const void *x) {
    const block_q3_k *a = (const block_q3_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k < n / QK_K; k++) {
        // 16 signed 6-bit scales from 12 bytes with 32-bit operations (layout in blocks.h)
        uint32_t w0, w1, w2;
        std::memcpy(&w0, a[k].scales, 4), std::memcpy(&w1, a[k].scales + 4, 4), std::memcpy(&w2, a[k].scales + 8, 4);
        const uint32_t m4b = 0x0f0f0f0f, m2b = 0x03030303;
        alignas(16) uint32_t u[4] = {(w0 & m4b) | ((w2 & m2b) << 4), (w1 & m4b) | (((w2 >> 2) & m2b) << 4),
                                     ((w0 >> 4) & m4b) | (((w2 >> 4) & m2b) << 4), ((w1 >> 4) & m4b) | (((w2 >> 6) & m2b) << 4)};
        const __m128i sc8 = _mm_sub_epi8(_mm_load_si128((const __m128i *)u), _mm_set1_epi8(32));
        alignas(16) int8_t sc[16];
        _mm_store_si128((__m128i *)sc, sc8);
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        // offset term, as a vector: 4 * sum_g sc[g] * bsums[g]
        const __m256i offv = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load(b[k].bsums)), 2);
        const __m256i hm = load(a[k].hmask);
        __m256i isum = _mm256_setzero_si256();
        const int8_t *y = b[k].qs;
        for (int h = 0; h < 2; h++) {
            const __m256i q = load(a[k].qs + 32 * h);
            for (int p = 0; p < 4; p++, y += 32) {
                const int g = 8 * h + 2 * p;
                const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + p), _mm256_set1_epi8(1));
                const __m256i u = _mm256_or_si256(bits2(q, p), _mm256_slli_epi16(hb, 2));
                const __m256i prod = _mm256_maddubs_epi16(u, load(y));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(prod, scale_pair(sc[g], sc[g + 1])));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[k].d * h2f(a[k].d)), _mm256_cvtepi32_ps(_mm256_sub_epi32(isum, offv)), acc);
    }
    return hsum256(acc);
}

// ---- q4_k / q5_k: 8 sub-blocks of 32, 6-bit scale and min ---------------------------------------
// The 12 scale bytes as 8 scales and 8 minimums (bytes), with 32-bit operations (see blocks.h /
// k4_scale_min for the layout).
inline void k4_unpack(const uint8_t *q, uint8_t sc[8], uint8_t mn[8]) {
    uint32_t w0, w1, w2;
    std::memcpy(&w0, q, 4), std::memcpy(&w1, q + 4, 4), std::memcpy(&w2, q + 8, 4);
    const uint32_t s_lo = w0 & 0x3f3f3f3f, m_lo = w1 & 0x3f3f3f3f;
    const uint32_t s_hi = (w2 & 0x0f0f0f0f) | (((w0 >> 6) & 0x03030303) << 4);
    const uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0f) | (((w1 >> 6) & 0x03030303) << 4);
    std::memcpy(sc, &s_lo, 4), std::memcpy(sc + 4, &s_hi, 4);
    std::memcpy(mn, &m_lo, 4), std::memcpy(mn + 4, &m_hi, 4);
}

template <bool five> float dot_q45_k(int64_t n, const void *w, const void *x) {
    const block_q8_k *b = (const block_q8_k *)x;
    const size_t bytes = five ? sizeof(block_q5_k) : sizeof(block_q4_k);
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t k = 0; k < n / QK_K; k++) {
        const uint8_t *blk = (const uint8_t *)w + k * bytes;
        const block_q4_k *a4 = (const block_q4_k *)blk;
        const block_q5_k *a5 = (const block_q5_k *)blk;
        const uint8_t *qs = five ? a5->qs : a4->qs;
        alignas(8) uint8_t sc[8], mn[8];
        k4_unpack(five ? a5->scales : a4->scales, sc, mn);
        // minimum term, kept as a vector: mn[g] * (bsums[2g] + bsums[2g+1]) in lane g
        uint64_t mn64;
        std::memcpy(&mn64, mn, 8);
        const __m256i pair_sums = _mm256_madd_epi16(load(b[k].bsums), ones);
        const __m256i mprod = _mm256_mullo_epi32(pair_sums, _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mn64)));
        const float yd = b[k].d;
        accm = _mm256_fmadd_ps(_mm256_set1_ps(yd * h2f(a4->dmin)), _mm256_cvtepi32_ps(mprod), accm);
        __m256i isum = _mm256_setzero_si256();
        const int8_t *y = b[k].qs;
        const __m256i qh = five ? load(a5->qh) : _mm256_setzero_si256();
        for (int c = 0; c < 4; c++, y += 64) {
            const __m256i q = load(qs + 32 * c);
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (five) {
                const __m256i one = _mm256_set1_epi8(1);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
            }
            const __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load(y)), _mm256_set1_epi16(sc[2 * c]));
            const __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load(y + 32)), _mm256_set1_epi16(sc[2 * c + 1]));
            isum = _mm256_add_epi32(isum, _mm256_add_epi32(plo, phi));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(yd * h2f(a4->d)), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(_mm256_sub_ps(acc, accm));
}

// ---- q6_k: u = 6 bits, q = u - 32 ---------------------------------------------------------------
float dot_q6_k(int64_t n, const void *w, const void *x) {
    const block_q6_k *a = (const block_q6_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k < n / QK_K; k++) {
        // offset term as a vector: 32 * sum_g sc[g] * bsums[g]
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[k].scales));
        __m256i isum = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load(b[k].bsums)), 5);
        isum = _mm256_sub_epi32(_mm256_setzero_si256(), isum);
        const int8_t *y = b[k].qs;
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = load(a[k].ql + 64 * h), ql1 = load(a[k].ql + 64 * h + 32);
            const __m256i qh = load(a[k].qh + 32 * h);
            for (int p = 0; p < 4; p++, y += 32) {
                const __m256i ql = p & 1 ? ql1 : ql0;
                const __m256i lo = p < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
                const __m256i u = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), m3), 4));
                const int g = 8 * h + 2 * p;
                const __m256i prod = _mm256_maddubs_epi16(u, load(y));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(prod, scale_pair(a[k].scales[g], a[k].scales[g + 1])));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[k].d * h2f(a[k].d)), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

// ---- tq2_0: t = w + 1 in 0..2 -------------------------------------------------------------------
float dot_tq2_0(int64_t n, const void *w, const void *x) {
    const block_tq2_0 *a = (const block_tq2_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k < n / QK_K; k++) {
        __m256i s16 = _mm256_setzero_si256(); // 8 maddubs of at most 2*2*127 each: fits int16
        const int8_t *y = b[k].qs;
        for (int h = 0; h < 2; h++) {
            const __m256i q = load(a[k].qs + 32 * h);
            for (int p = 0; p < 4; p++, y += 32) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(bits2(q, p), load(y)));
        }
        // sum of y = sum of bsums; subtract it once (t - 1)
        const __m256i ysum = _mm256_madd_epi16(load(b[k].bsums), ones);
        const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s16, ones), ysum);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[k].d * h2f(a[k].d)), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

// ---- tq1_0: trits by fixed-point multiplication ---------------------------------------------------
// Byte b, trit n: ((b * 3^n) mod 256) * 3 >> 8. In 16-bit lanes: w = b * (3^n << 8) keeps
// ((b * 3^n) mod 256) << 8, and mulhi(w, 3) = that * 3 >> 8.
inline __m256i trits16(__m256i b16, int pow3) {
    return _mm256_mulhi_epu16(_mm256_mullo_epi16(b16, _mm256_set1_epi16((short)(pow3 << 8))), _mm256_set1_epi16(3));
}

float dot_tq1_0(int64_t n, const void *w, const void *x) {
    const block_tq1_0 *a = (const block_tq1_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    static const int pow3[5] = {1, 3, 9, 27, 81};
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k < n / QK_K; k++) {
        const int8_t *y = b[k].qs;
        __m256i isum = _mm256_setzero_si256();
        // qs[0..31]: trit n of byte m is element 32n + m
        const __m256i b0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)a[k].qs));
        const __m256i b1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a[k].qs + 16)));
        for (int t = 0; t < 5; t++, y += 32) {
            const __m256i y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)y));
            const __m256i y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y + 16)));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(trits16(b0, pow3[t]), y0));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(trits16(b1, pow3[t]), y1));
        }
        // qs[32..47]: element 160 + 16n + m
        const __m256i b2 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a[k].qs + 32)));
        for (int t = 0; t < 5; t++, y += 16) {
            const __m256i yv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)y));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(trits16(b2, pow3[t]), yv));
        }
        // qh[0..3]: element 240 + 4n + j; 16 elements as one vector: lane 4n + j holds qh[j] with trit n
        uint32_t qh;
        std::memcpy(&qh, a[k].qh, 4);
        const __m256i hb = _mm256_cvtepu8_epi16(_mm_set1_epi32((int)qh));
        const __m256i mul = _mm256_setr_epi16(1 << 8, 1 << 8, 1 << 8, 1 << 8, 3 << 8, 3 << 8, 3 << 8, 3 << 8, 9 << 8, 9 << 8,
                                              9 << 8, 9 << 8, 27 << 8, 27 << 8, 27 << 8, 27 << 8);
        const __m256i th = _mm256_mulhi_epu16(_mm256_mullo_epi16(hb, mul), _mm256_set1_epi16(3));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(th, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)y))));
        // t - 1: subtract the sum of y
        const __m256i ysum = _mm256_madd_epi16(load(b[k].bsums), _mm256_set1_epi16(1));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[k].d * h2f(a[k].d)), _mm256_cvtepi32_ps(_mm256_sub_epi32(isum, ysum)), acc);
    }
    return hsum256(acc);
}

} // namespace

void kernels_add_avx2_k(isa_kernels *t) {
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

#else
namespace tern {
void kernels_add_avx2_k(isa_kernels *) {}
} // namespace tern
#endif
