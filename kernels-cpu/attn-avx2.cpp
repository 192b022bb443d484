// attn-avx2.cpp — AVX2 kernels for attention over compressed KV caches (q8_0 / q4_0 value
// accumulation, KIVI key-group scores and value accumulation; layouts in ggml/kv-layout.h).
// Built with -mavx2 -mfma -mf16c, called only after the CPU check in vec-dot-generic.cpp.
#include "ggml/blocks.h"
#include "ggml/fp16.h"
#include "ggml/kv-layout.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX2)
#include "simd-avx2.h"

#include <immintrin.h>

namespace tern {

namespace {

inline __m256 u8x8_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
inline __m256 i8x8_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }
inline __m256 h8_ps(const fp16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

void axpy_q8_0(int64_t n, float a, const void *x, float *y) {
    const block_q8_0 *b = (const block_q8_0 *)x;
    for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
        const __m256 d = _mm256_set1_ps(a * fp16_to_fp32(b[i].d));
        const __m128i lo = _mm_loadu_si128((const __m128i *)b[i].qs), hi = _mm_loadu_si128((const __m128i *)(b[i].qs + 16));
        _mm256_storeu_ps(y, _mm256_fmadd_ps(d, i8x8_ps(lo), _mm256_loadu_ps(y)));
        _mm256_storeu_ps(y + 8, _mm256_fmadd_ps(d, i8x8_ps(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(y + 8)));
        _mm256_storeu_ps(y + 16, _mm256_fmadd_ps(d, i8x8_ps(hi), _mm256_loadu_ps(y + 16)));
        _mm256_storeu_ps(y + 24, _mm256_fmadd_ps(d, i8x8_ps(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(y + 24)));
    }
}

// y[0..32) += d * (codes - 8) for 16 bytes of nibbles (low: 0..15, high: 16..31), or with a zero
// point: y += s * code + z.
inline void nibbles_axpy(__m128i p, __m256 s, __m256 z, float *y) {
    const __m128i m15 = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(p, m15), hi = _mm_and_si128(_mm_srli_epi16(p, 4), m15);
    _mm256_storeu_ps(y, _mm256_add_ps(_mm256_loadu_ps(y), _mm256_fmadd_ps(s, u8x8_ps(lo), z)));
    _mm256_storeu_ps(y + 8, _mm256_add_ps(_mm256_loadu_ps(y + 8), _mm256_fmadd_ps(s, u8x8_ps(_mm_srli_si128(lo, 8)), z)));
    _mm256_storeu_ps(y + 16, _mm256_add_ps(_mm256_loadu_ps(y + 16), _mm256_fmadd_ps(s, u8x8_ps(hi), z)));
    _mm256_storeu_ps(y + 24, _mm256_add_ps(_mm256_loadu_ps(y + 24), _mm256_fmadd_ps(s, u8x8_ps(_mm_srli_si128(hi, 8)), z)));
}

// y[i + 8k] += s * code + z for 8 bytes of 2-bit codes (byte i, bits 2k..2k+1).
inline void crumbs_axpy(const uint8_t *p, __m256 s, __m256 z, float *y) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)), m3 = _mm256_set1_epi32(3);
    for (int k = 0; k < 4; k++) {
        const __m256 c = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 2 * k), m3));
        _mm256_storeu_ps(y + 8 * k, _mm256_add_ps(_mm256_loadu_ps(y + 8 * k), _mm256_fmadd_ps(s, c, z)));
    }
}

void axpy_q4_0(int64_t n, float a, const void *x, float *y) {
    const block_q4_0 *b = (const block_q4_0 *)x;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float d = a * fp16_to_fp32(b[i].d);
        nibbles_axpy(_mm_loadu_si128((const __m128i *)b[i].qs), _mm256_set1_ps(d), _mm256_set1_ps(-8.0f * d), y + i * QK4_0);
    }
}

template <int BITS>
void kivi_vaxpy(int64_t D, float a, const uint8_t *row, float *y) {
    const uint8_t *codes = row + (D / 32) * 4;
    for (int64_t b = 0; b < D / 32; b++) {
        const fp16_t *sz = (const fp16_t *)(row + b * 4);
        const __m256 s = _mm256_set1_ps(a * fp16_to_fp32(sz[0])), z = _mm256_set1_ps(a * fp16_to_fp32(sz[1]));
        if (BITS == 4) nibbles_axpy(_mm_loadu_si128((const __m128i *)(codes + b * 16)), s, z, y + b * 32);
        else crumbs_axpy(codes + b * 8, s, z, y + b * 32);
    }
}

// Scores of a key group: for each channel, q[c]*scale[c] times the 32 tokens' codes, accumulated
// in four 8-token vectors; sum_c q[c]*zero[c] added at the end.
template <int BITS>
void kivi_kscore(int64_t D, const uint8_t *group, const float *q, float *s) {
    const fp16_t *scale = (const fp16_t *)group, *zero = scale + D;
    const uint8_t *codes = group + D * 4;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, bias = a0;
    alignas(32) float qs[8];
    for (int64_t c0 = 0; c0 < D; c0 += 8) {
        const __m256 qv = _mm256_loadu_ps(q + c0);
        bias = _mm256_fmadd_ps(qv, h8_ps(zero + c0), bias);
        _mm256_store_ps(qs, _mm256_mul_ps(qv, h8_ps(scale + c0)));
        for (int j = 0; j < 8; j++) {
            const __m256 w = _mm256_set1_ps(qs[j]);
            if (BITS == 4) {
                const __m128i p = _mm_loadu_si128((const __m128i *)(codes + (c0 + j) * 16)), m15 = _mm_set1_epi8(15);
                const __m128i lo = _mm_and_si128(p, m15), hi = _mm_and_si128(_mm_srli_epi16(p, 4), m15);
                a0 = _mm256_fmadd_ps(w, u8x8_ps(lo), a0);
                a1 = _mm256_fmadd_ps(w, u8x8_ps(_mm_srli_si128(lo, 8)), a1);
                a2 = _mm256_fmadd_ps(w, u8x8_ps(hi), a2);
                a3 = _mm256_fmadd_ps(w, u8x8_ps(_mm_srli_si128(hi, 8)), a3);
            } else {
                const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(codes + (c0 + j) * 8)));
                const __m256i m3 = _mm256_set1_epi32(3);
                a0 = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_and_si256(v, m3)), a0);
                a1 = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 2), m3)), a1);
                a2 = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 4), m3)), a2);
                a3 = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 6)), a3);
            }
        }
    }
    __m128 b4 = _mm_add_ps(_mm256_castps256_ps128(bias), _mm256_extractf128_ps(bias, 1));
    b4 = _mm_add_ps(b4, _mm_movehl_ps(b4, b4));
    b4 = _mm_add_ss(b4, _mm_movehdup_ps(b4));
    const __m256 bv = _mm256_broadcastss_ps(b4);
    _mm256_storeu_ps(s, _mm256_add_ps(a0, bv));
    _mm256_storeu_ps(s + 8, _mm256_add_ps(a1, bv));
    _mm256_storeu_ps(s + 16, _mm256_add_ps(a2, bv));
    _mm256_storeu_ps(s + 24, _mm256_add_ps(a3, bv));
}

// Multi-row value accumulation: for each 32-channel block, four accumulators live in registers
// while every row's block is added; zero points (q4_0's -8, KIVI's zero) are summed separately.
struct acc32 {
    __m256 a[4];
    float zsum = 0;
    void load(const float *y) {
        for (int k = 0; k < 4; k++) a[k] = _mm256_loadu_ps(y + 8 * k);
    }
    void store(float *y) const {
        const __m256 z = _mm256_set1_ps(zsum);
        for (int k = 0; k < 4; k++) _mm256_storeu_ps(y + 8 * k, _mm256_add_ps(a[k], z));
    }
    void add(__m256 w, __m256 c0, __m256 c1, __m256 c2, __m256 c3) {
        a[0] = _mm256_fmadd_ps(w, c0, a[0]), a[1] = _mm256_fmadd_ps(w, c1, a[1]);
        a[2] = _mm256_fmadd_ps(w, c2, a[2]), a[3] = _mm256_fmadd_ps(w, c3, a[3]);
    }
    void add_nibbles(__m256 w, __m128i p) {
        const __m128i m15 = _mm_set1_epi8(15);
        const __m128i lo = _mm_and_si128(p, m15), hi = _mm_and_si128(_mm_srli_epi16(p, 4), m15);
        add(w, u8x8_ps(lo), u8x8_ps(_mm_srli_si128(lo, 8)), u8x8_ps(hi), u8x8_ps(_mm_srli_si128(hi, 8)));
    }
    void add_crumbs(__m256 w, const uint8_t *p) {
        const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)), m3 = _mm256_set1_epi32(3);
        add(w, _mm256_cvtepi32_ps(_mm256_and_si256(v, m3)), _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 2), m3)),
            _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 4), m3)), _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 6)));
    }
};

void vacc_f16(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    for (int64_t b = 0; b < D; b += 32) {
        acc32 A;
        A.load(y + b);
        for (int64_t j = 0; j < n; j++) {
            const fp16_t *r = (const fp16_t *)(base + j * stride) + b;
            A.add(_mm256_set1_ps(p[j]), h8_ps(r), h8_ps(r + 8), h8_ps(r + 16), h8_ps(r + 24));
        }
        A.store(y + b);
    }
}

void vacc_q8_0(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    for (int64_t b = 0; b < D / QK8_0; b++) {
        acc32 A;
        A.load(y + b * QK8_0);
        for (int64_t j = 0; j < n; j++) {
            const block_q8_0 *blk = (const block_q8_0 *)(base + j * stride) + b;
            const __m128i lo = _mm_loadu_si128((const __m128i *)blk->qs), hi = _mm_loadu_si128((const __m128i *)(blk->qs + 16));
            A.add(_mm256_set1_ps(p[j] * fp16_to_fp32(blk->d)), i8x8_ps(lo), i8x8_ps(_mm_srli_si128(lo, 8)), i8x8_ps(hi),
                  i8x8_ps(_mm_srli_si128(hi, 8)));
        }
        A.store(y + b * QK8_0);
    }
}

void vacc_q4_0(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    for (int64_t b = 0; b < D / QK4_0; b++) {
        acc32 A;
        A.load(y + b * QK4_0);
        for (int64_t j = 0; j < n; j++) {
            const block_q4_0 *blk = (const block_q4_0 *)(base + j * stride) + b;
            const float w = p[j] * fp16_to_fp32(blk->d);
            A.add_nibbles(_mm256_set1_ps(w), _mm_loadu_si128((const __m128i *)blk->qs));
            A.zsum -= 8.0f * w;
        }
        A.store(y + b * QK4_0);
    }
}

template <int BITS>
void vacc_kivi(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y) {
    const size_t codes = (size_t)(D / 32) * 4;
    for (int64_t b = 0; b < D / 32; b++) {
        acc32 A;
        A.load(y + b * 32);
        for (int64_t j = 0; j < n; j++) {
            const uint8_t *row = base + j * stride;
            const fp16_t *sz = (const fp16_t *)(row + b * 4);
            const uint8_t *c = row + codes + b * 32 * BITS / 8;
            if (BITS == 4) A.add_nibbles(_mm256_set1_ps(p[j] * fp16_to_fp32(sz[0])), _mm_loadu_si128((const __m128i *)c));
            else A.add_crumbs(_mm256_set1_ps(p[j] * fp16_to_fp32(sz[0])), c);
            A.zsum += p[j] * fp16_to_fp32(sz[1]);
        }
        A.store(y + b * 32);
    }
}

inline __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Four f16 key rows per pass against the f32 query; the four sums reduce together.
void kdot_f16(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *q, float *s) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const fp16_t *r0 = (const fp16_t *)(base + j * stride), *r1 = (const fp16_t *)(base + (j + 1) * stride);
        const fp16_t *r2 = (const fp16_t *)(base + (j + 2) * stride), *r3 = (const fp16_t *)(base + (j + 3) * stride);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t c = 0; c < D; c += 8) {
            const __m256 qv = _mm256_loadu_ps(q + c);
            a0 = _mm256_fmadd_ps(h8_ps(r0 + c), qv, a0);
            a1 = _mm256_fmadd_ps(h8_ps(r1 + c), qv, a1);
            a2 = _mm256_fmadd_ps(h8_ps(r2 + c), qv, a2);
            a3 = _mm256_fmadd_ps(h8_ps(r3 + c), qv, a3);
        }
        _mm_storeu_ps(s + j, hsum4(a0, a1, a2, a3));
    }
    for (; j < n; j++) {
        const fp16_t *r = (const fp16_t *)(base + j * stride);
        __m256 a = _mm256_setzero_ps();
        for (int64_t c = 0; c < D; c += 8) a = _mm256_fmadd_ps(h8_ps(r + c), _mm256_loadu_ps(q + c), a);
        const __m128 h = hsum4(a, _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        s[j] = _mm_cvtss_f32(h);
    }
}

// q8_0 / q4_0 key rows against the query quantized to q8_0 (x), four rows per pass.
template <bool Q4>
inline __m256i block_dot(const uint8_t *row, int64_t b, const block_q8_0 *x, float *d) {
    if (Q4) {
        const block_q4_0 *k = (const block_q4_0 *)row + b;
        *d = avx2::h2f(k->d) * avx2::h2f(x[b].d);
        return avx2::dot_i8(_mm256_sub_epi8(avx2::unpack_nibbles(k->qs), _mm256_set1_epi8(8)),
                            _mm256_loadu_si256((const __m256i *)x[b].qs));
    }
    const block_q8_0 *k = (const block_q8_0 *)row + b;
    *d = avx2::h2f(k->d) * avx2::h2f(x[b].d);
    return avx2::dot_i8(_mm256_loadu_si256((const __m256i *)k->qs), _mm256_loadu_si256((const __m256i *)x[b].qs));
}

template <bool Q4>
void kdot_q(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *q, float *s) {
    const block_q8_0 *x = (const block_q8_0 *)q;
    const int64_t nb = D / 32;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t b = 0; b < nb; b++)
            for (int r = 0; r < 4; r++) {
                float d;
                const __m256i p = block_dot<Q4>(base + (j + r) * stride, b, x, &d);
                a[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), a[r]);
            }
        _mm_storeu_ps(s + j, hsum4(a[0], a[1], a[2], a[3]));
    }
    for (; j < n; j++) {
        __m256 a = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            float d;
            const __m256i p = block_dot<Q4>(base + j * stride, b, x, &d);
            a = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), a);
        }
        s[j] = avx2::hsum256(a);
    }
}

} // namespace

void kernels_add_attn_avx2(isa_kernels *t) {
    t->kv_kdot[(int)kv_format::f16] = kdot_f16;
    t->kv_kdot[(int)kv_format::q8_0] = kdot_q<false>;
    t->kv_kdot[(int)kv_format::q4_0] = kdot_q<true>;
    t->kv_vacc[(int)kv_format::f16] = vacc_f16;
    t->kv_vacc[(int)kv_format::q8_0] = vacc_q8_0;
    t->kv_vacc[(int)kv_format::q4_0] = vacc_q4_0;
    t->kv_vacc[(int)kv_format::kivi4] = vacc_kivi<4>;
    t->kv_vacc[(int)kv_format::kivi2] = vacc_kivi<2>;
    t->axpy[(int)type::q8_0] = axpy_q8_0;
    t->axpy[(int)type::q4_0] = axpy_q4_0;
    t->kivi_kscore[0] = kivi_kscore<4>;
    t->kivi_kscore[1] = kivi_kscore<2>;
    t->kivi_vaxpy[0] = kivi_vaxpy<4>;
    t->kivi_vaxpy[1] = kivi_vaxpy<2>;
}

} // namespace tern

#else
namespace tern {
void kernels_add_attn_avx2(isa_kernels *) {}
} // namespace tern
#endif
