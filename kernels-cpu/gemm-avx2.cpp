// gemm-avx2.cpp — the AVX2+FMA micro-kernel of the prefill GEMM (built with -mavx2 -mfma; used
// only through the AVX2/AVX-512 tables, after the CPU check).
//
// One call: 16 weight rows (packed k-major: wp[k*16 + r]) times up to 6 token rows of f32
// activations, accumulated over all K in 12 registers (2 row-vectors x 6 tokens) and stored
// straight into y[t*ldy + r]: no horizontal sums, 2 weight loads + 6 broadcasts per 12 FMAs.
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX2)
#include <immintrin.h>

#include <cstring>

namespace tern {

namespace {

template <int T> void panel(int64_t K, const float *wp, const float *x, size_t ldx, float *y, size_t ldy, int n_rows) {
    __m256 acc[T][2];
    for (int t = 0; t < T; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const __m256 w0 = _mm256_loadu_ps(wp + 16 * k), w1 = _mm256_loadu_ps(wp + 16 * k + 8);
        for (int t = 0; t < T; t++) {
            const __m256 xb = _mm256_broadcast_ss(x + t * ldx + k);
            acc[t][0] = _mm256_fmadd_ps(w0, xb, acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(w1, xb, acc[t][1]);
        }
    }
    for (int t = 0; t < T; t++) {
        float *yt = y + t * ldy;
        if (n_rows == 16) {
            _mm256_storeu_ps(yt, acc[t][0]);
            _mm256_storeu_ps(yt + 8, acc[t][1]);
        } else {
            alignas(32) float tmp[16];
            _mm256_store_ps(tmp, acc[t][0]);
            _mm256_store_ps(tmp + 8, acc[t][1]);
            for (int r = 0; r < n_rows; r++) yt[r] = tmp[r];
        }
    }
}

inline void store16(float *yt, __m256 a, __m256 b, int n_rows) {
    if (n_rows == 16) {
        _mm256_storeu_ps(yt, a);
        _mm256_storeu_ps(yt + 8, b);
        return;
    }
    alignas(32) float tmp[16];
    _mm256_store_ps(tmp, a);
    _mm256_store_ps(tmp + 8, b);
    for (int r = 0; r < n_rows; r++) yt[r] = tmp[r];
}

// The full 16 x 6 tile with named accumulators (an array of __m256 gets spilled to the stack).
void panel6(int64_t K, const float *wp, const float *x, size_t ldx, float *y, size_t ldy, int n_rows) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
    __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx, *x4 = x + 4 * ldx, *x5 = x + 5 * ldx;
    for (int64_t k = 0; k < K; k++, wp += 16) {
        const __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_loadu_ps(wp + 8);
        __m256 b = _mm256_broadcast_ss(x0 + k);
        a00 = _mm256_fmadd_ps(w0, b, a00), a01 = _mm256_fmadd_ps(w1, b, a01);
        b = _mm256_broadcast_ss(x1 + k);
        a10 = _mm256_fmadd_ps(w0, b, a10), a11 = _mm256_fmadd_ps(w1, b, a11);
        b = _mm256_broadcast_ss(x2 + k);
        a20 = _mm256_fmadd_ps(w0, b, a20), a21 = _mm256_fmadd_ps(w1, b, a21);
        b = _mm256_broadcast_ss(x3 + k);
        a30 = _mm256_fmadd_ps(w0, b, a30), a31 = _mm256_fmadd_ps(w1, b, a31);
        b = _mm256_broadcast_ss(x4 + k);
        a40 = _mm256_fmadd_ps(w0, b, a40), a41 = _mm256_fmadd_ps(w1, b, a41);
        b = _mm256_broadcast_ss(x5 + k);
        a50 = _mm256_fmadd_ps(w0, b, a50), a51 = _mm256_fmadd_ps(w1, b, a51);
    }
    store16(y, a00, a01, n_rows);
    store16(y + ldy, a10, a11, n_rows);
    store16(y + 2 * ldy, a20, a21, n_rows);
    store16(y + 3 * ldy, a30, a31, n_rows);
    store16(y + 4 * ldy, a40, a41, n_rows);
    store16(y + 5 * ldy, a50, a51, n_rows);
}

void gemm_panel_avx2(int64_t K, const float *wp, const float *x, size_t ldx, int n_tok, float *y, size_t ldy, int n_rows) {
    switch (n_tok) {
    case 6: panel6(K, wp, x, ldx, y, ldy, n_rows); break;
    case 5: panel<5>(K, wp, x, ldx, y, ldy, n_rows); break;
    case 4: panel<4>(K, wp, x, ldx, y, ldy, n_rows); break;
    case 3: panel<3>(K, wp, x, ldx, y, ldy, n_rows); break;
    case 2: panel<2>(K, wp, x, ldx, y, ldy, n_rows); break;
    default: panel<1>(K, wp, x, ldx, y, ldy, n_rows); break;
    }
}

// r[0..7] (8 rows x 8 k) -> p[k * 16 + i] for k, i < 8: an 8x8 register transpose.
inline void transpose8_store(const __m256 *r, float *p) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(p + 0 * 16, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(p + 1 * 16, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(p + 2 * 16, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(p + 3 * 16, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(p + 4 * 16, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(p + 5 * 16, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(p + 6 * 16, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(p + 7 * 16, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// rows [16][K] (row-major) -> panel [K][16]: 8x8 register transposes; K % 8 tail in scalar.
void gemm_pack_avx2(const float *rows, int64_t K, float *panel) {
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
        for (int rb = 0; rb < 16; rb += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(rows + (rb + i) * K + k);
            transpose8_store(r, panel + k * 16 + rb);
        }
    for (; k < K; k++)
        for (int r = 0; r < 16; r++) panel[k * 16 + r] = rows[r * K + k];
}

// 16 rows of f16 or bf16 weights (row r at rows + r * row_bytes; rows >= n_rows read as zero)
// straight into the [K][16] f32 panel: converted 8 elements at a time and transposed as above, so
// the rows never pass through an f32 copy (the separate to_float + pack cost a quarter of F16
// prefill time).
template <bool bf16> inline __m256 load8(const uint16_t *p) {
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}
template <bool bf16> inline float load1(uint16_t h) {
    if (bf16) {
        const uint32_t u = (uint32_t)h << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    return _cvtsh_ss(h);
}

template <bool bf16> void pack_half(const uint8_t *rows, size_t row_bytes, int n_rows, int64_t K, float *panel) {
    auto row = [&](int r) { return (const uint16_t *)(rows + (size_t)r * row_bytes); };
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
        for (int rb = 0; rb < 16; rb += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = rb + i < n_rows ? load8<bf16>(row(rb + i) + k) : _mm256_setzero_ps();
            transpose8_store(r, panel + k * 16 + rb);
        }
    for (; k < K; k++)
        for (int r = 0; r < 16; r++) panel[k * 16 + r] = r < n_rows ? load1<bf16>(row(r)[k]) : 0.0f;
}

void gemm_pack_half_avx2(type t, const void *rows, size_t row_bytes, int n_rows, int64_t K, float *panel) {
    if (t == type::bf16) pack_half<true>((const uint8_t *)rows, row_bytes, n_rows, K, panel);
    else pack_half<false>((const uint8_t *)rows, row_bytes, n_rows, K, panel);
}

} // namespace

gemm_panel_fn gemm_panel_avx2_get() { return gemm_panel_avx2; }
gemm_pack_fn gemm_pack_avx2_get() { return gemm_pack_avx2; }
gemm_pack_half_fn gemm_pack_half_avx2_get() { return gemm_pack_half_avx2; }

} // namespace tern

#else
namespace tern {
gemm_panel_fn gemm_panel_avx2_get() { return nullptr; }
gemm_pack_fn gemm_pack_avx2_get() { return nullptr; }
gemm_pack_half_fn gemm_pack_half_avx2_get() { return nullptr; }
} // namespace tern
#endif
