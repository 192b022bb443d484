// vec-dot-avx2.cpp — AVX2 + FMA + F16C kernels (this file alone is built with -mavx2 -mfma
// -mf16c; it is only called when cpu_features says the CPU and OS support them).
#include "ggml/fp16.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX2)
#include "simd-avx2.h"

#include <algorithm>
#include <type_traits>

namespace tern {

namespace {

using namespace avx2;

float dot_f32(int64_t n, const void *w, const void *x) {
    const float *a = (const float *)w, *b = (const float *)x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float s = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

float dot_f16(int64_t n, const void *w, const void *x) {
    const fp16_t *a = (const fp16_t *)w;
    const float *b = (const float *)x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i + 8))),
                               _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), _mm256_loadu_ps(b + i), acc0);
    float s = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += fp16_to_fp32(a[i]) * b[i];
    return s;
}

// Decode with f16 weights: activations rounded to f16 once per matmul (gemv_act_type, vec-dot.h),
// which halves their share of L1 on long rows (see vec-dot-avx512.cpp).
void gemv_prep_f16(int64_t n, const float *x, void *xp, int ith, int nth) {
    fp16_t *h = (fp16_t *)xp;
    const int64_t nv = (n + 7) / 8, per = (nv + nth - 1) / nth;
    for (int64_t v = per * ith; v < std::min(nv, per * (ith + 1)); v++) {
        const int64_t i = 8 * v;
        if (n - i >= 8)
            _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
        else
            for (int64_t j = i; j < n; j++) h[j] = fp32_to_fp16(x[j]);
    }
}

float gemv_dot_f16(int64_t n, const void *w, const void *xp) {
    const fp16_t *a = (const fp16_t *)w, *b = (const fp16_t *)xp;
    auto ld = [](const fp16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); };
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(ld(a + i), ld(b + i), acc0);
        acc1 = _mm256_fmadd_ps(ld(a + i + 8), ld(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(ld(a + i), ld(b + i), acc0);
    float s = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]);
    return s;
}

float dot_bf16(int64_t n, const void *w, const void *x) {
    const bf16_t *a = (const bf16_t *)w;
    const float *b = (const float *)x;
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i v = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(a + i))), 16);
        acc = _mm256_fmadd_ps(_mm256_castsi256_ps(v), _mm256_loadu_ps(b + i), acc);
    }
    float s = hsum256(acc);
    for (; i < n; i++) s += bf16_to_fp32(a[i]) * b[i];
    return s;
}

// Quantized kernels take two blocks per iteration into two accumulators so the FMA latency
// chains overlap (one chain per block was latency-bound: ~14 cycles per block).
float dot_q8_0(int64_t n, const void *w, const void *x) {
    const block_q8_0 *a = (const block_q8_0 *)w, *b = (const block_q8_0 *)x;
    const int64_t nb = n / QK8_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
        const __m256i p0 = dot_i8(_mm256_loadu_si256((const __m256i *)a[k].qs), _mm256_loadu_si256((const __m256i *)b[k].qs));
        const __m256i p1 =
            dot_i8(_mm256_loadu_si256((const __m256i *)a[k + 1].qs), _mm256_loadu_si256((const __m256i *)b[k + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k + 1].d) * h2f(b[k + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; k < nb; k++) {
        const __m256i p = dot_i8(_mm256_loadu_si256((const __m256i *)a[k].qs), _mm256_loadu_si256((const __m256i *)b[k].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

float dot_q4_0(int64_t n, const void *w, const void *x) {
    const block_q4_0 *a = (const block_q4_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    const int64_t nb = n / QK4_0;
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
        const __m256i p0 = dot_i8(_mm256_sub_epi8(unpack_nibbles(a[k].qs), off), _mm256_loadu_si256((const __m256i *)b[k].qs));
        const __m256i p1 =
            dot_i8(_mm256_sub_epi8(unpack_nibbles(a[k + 1].qs), off), _mm256_loadu_si256((const __m256i *)b[k + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k + 1].d) * h2f(b[k + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; k < nb; k++) {
        const __m256i p = dot_i8(_mm256_sub_epi8(unpack_nibbles(a[k].qs), off), _mm256_loadu_si256((const __m256i *)b[k].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

float dot_q4_1(int64_t n, const void *w, const void *x) {
    const block_q4_1 *a = (const block_q4_1 *)w;
    const block_q8_1 *b = (const block_q8_1 *)x;
    const int64_t nb = n / QK4_1;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float summs0 = 0.0f, summs1 = 0.0f;
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
        const __m256i p0 = dot_u8_i8(unpack_nibbles(a[k].qs), _mm256_loadu_si256((const __m256i *)b[k].qs));
        const __m256i p1 = dot_u8_i8(unpack_nibbles(a[k + 1].qs), _mm256_loadu_si256((const __m256i *)b[k + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k + 1].d) * h2f(b[k + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
        summs0 += h2f(a[k].m) * h2f(b[k].s);
        summs1 += h2f(a[k + 1].m) * h2f(b[k + 1].s);
    }
    for (; k < nb; k++) {
        const __m256i p = dot_u8_i8(unpack_nibbles(a[k].qs), _mm256_loadu_si256((const __m256i *)b[k].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a[k].d) * h2f(b[k].d)), _mm256_cvtepi32_ps(p), acc0);
        summs0 += h2f(a[k].m) * h2f(b[k].s);
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) + (summs0 + summs1);
}

// ---- 2x2 tiles for batched matmuls ---------------------------------------------------------
// One unpacked weight block and one activation block each feed two products; four
// accumulators, one per output.
inline __m256i dot_abs_sign(__m256i aw, __m256i w, __m256i x) { // |w| precomputed as aw
    return _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}

inline void store4(float *out, __m256 a00, __m256 a10, __m256 a01, __m256 a11, const float *add) {
    out[0] = hsum256(a00) + add[0];
    out[1] = hsum256(a10) + add[1];
    out[2] = hsum256(a01) + add[2];
    out[3] = hsum256(a11) + add[3];
}

template <bool IS_Q4_0>
void dot2x2_sym(int64_t n, const void *w0, const void *w1, const void *x0, const void *x1, float *out) {
    using wblock = typename std::conditional<IS_Q4_0, block_q4_0, block_q8_0>::type;
    const wblock *a0 = (const wblock *)w0, *a1 = (const wblock *)w1;
    const block_q8_0 *b0 = (const block_q8_0 *)x0, *b1 = (const block_q8_0 *)x1;
    __m256 c00 = _mm256_setzero_ps(), c10 = c00, c01 = c00, c11 = c00;
    for (int64_t k = 0; k < n / QK8_0; k++) {
        __m256i q0, q1;
        if constexpr (IS_Q4_0) {
            q0 = _mm256_sub_epi8(unpack_nibbles(a0[k].qs), _mm256_set1_epi8(8));
            q1 = _mm256_sub_epi8(unpack_nibbles(a1[k].qs), _mm256_set1_epi8(8));
        } else {
            q0 = _mm256_loadu_si256((const __m256i *)a0[k].qs);
            q1 = _mm256_loadu_si256((const __m256i *)a1[k].qs);
        }
        const __m256i aq0 = _mm256_sign_epi8(q0, q0), aq1 = _mm256_sign_epi8(q1, q1);
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)b0[k].qs);
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)b1[k].qs);
        const float dw0 = h2f(a0[k].d), dw1 = h2f(a1[k].d), dx0 = h2f(b0[k].d), dx1 = h2f(b1[k].d);
        c00 = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * dx0), _mm256_cvtepi32_ps(dot_abs_sign(aq0, q0, y0)), c00);
        c10 = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * dx0), _mm256_cvtepi32_ps(dot_abs_sign(aq1, q1, y0)), c10);
        c01 = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * dx1), _mm256_cvtepi32_ps(dot_abs_sign(aq0, q0, y1)), c01);
        c11 = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * dx1), _mm256_cvtepi32_ps(dot_abs_sign(aq1, q1, y1)), c11);
    }
    const float zero[4] = {0, 0, 0, 0};
    store4(out, c00, c10, c01, c11, zero);
}

void dot2x2_q4_1(int64_t n, const void *w0, const void *w1, const void *x0, const void *x1, float *out) {
    const block_q4_1 *a0 = (const block_q4_1 *)w0, *a1 = (const block_q4_1 *)w1;
    const block_q8_1 *b0 = (const block_q8_1 *)x0, *b1 = (const block_q8_1 *)x1;
    __m256 c00 = _mm256_setzero_ps(), c10 = c00, c01 = c00, c11 = c00;
    __m128 mins = _mm_setzero_ps(); // {m0 s0, m1 s0, m0 s1, m1 s1}
    for (int64_t k = 0; k < n / QK4_1; k++) {
        const __m256i q0 = unpack_nibbles(a0[k].qs), q1 = unpack_nibbles(a1[k].qs);
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)b0[k].qs);
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)b1[k].qs);
        const float dw0 = h2f(a0[k].d), dw1 = h2f(a1[k].d), dx0 = h2f(b0[k].d), dx1 = h2f(b1[k].d);
        c00 = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * dx0), _mm256_cvtepi32_ps(dot_u8_i8(q0, y0)), c00);
        c10 = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * dx0), _mm256_cvtepi32_ps(dot_u8_i8(q1, y0)), c10);
        c01 = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * dx1), _mm256_cvtepi32_ps(dot_u8_i8(q0, y1)), c01);
        c11 = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * dx1), _mm256_cvtepi32_ps(dot_u8_i8(q1, y1)), c11);
        const float m0 = h2f(a0[k].m), m1 = h2f(a1[k].m), s0 = h2f(b0[k].s), s1 = h2f(b1[k].s);
        mins = _mm_fmadd_ps(_mm_setr_ps(m0, m1, m0, m1), _mm_setr_ps(s0, s0, s1, s1), mins);
    }
    float add[4];
    _mm_storeu_ps(add, mins);
    store4(out, c00, c10, c01, c11, add);
}

void axpy_f32(int64_t n, float a, const void *x, float *y) {
    const float *v = (const float *)x;
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(v + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * v[i];
}

void axpy_f16(int64_t n, float a, const void *x, float *y) {
    const fp16_t *v = (const fp16_t *)x;
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i))),
                                                _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * fp16_to_fp32(v[i]);
}

isa_kernels make() {
    isa_kernels t = kernels_make("avx2", {dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4_0, dot_q4_1, axpy_f32, axpy_f16,
                                          dot2x2_sym<false>, dot2x2_sym<true>, dot2x2_q4_1});
    kernels_add_avx2_k(&t);
    t.gemv_prep[(int)type::f16] = gemv_prep_f16;
    t.gemv_dot[(int)type::f16] = gemv_dot_f16;
    kernels_add_lut_avx2(&t);
    kernels_add_attn_avx2(&t);
    t.gemm_panel = gemm_panel_avx2_get();
    t.gemm_pack = gemm_pack_avx2_get();
    t.gemm_pack_half = gemm_pack_half_avx2_get();
    return t;
}

} // namespace

// Called only after kernels_avx2() (vec-dot-generic.cpp, built without ISA flags) has checked
// the CPU: code in this file may use the ISA anywhere, even in a function's prologue.
const isa_kernels *kernels_avx2_unchecked() {
    static const isa_kernels t = make();
    return &t;
}

} // namespace tern

#else
namespace tern {
const isa_kernels *kernels_avx2_unchecked() { return nullptr; }
} // namespace tern
#endif
