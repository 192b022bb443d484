// vec-dot-avx512-k.cpp — AVX-512 (BW, VNNI) dot products for the K-quants q4_k, q5_k, q6_k and
// the ternary tq1_0
// (built with the AVX-512 flags; called only after the CPU check in vec-dot-generic.cpp).
//
// One 512-bit register holds 64 consecutive weights as unsigned bytes u, so it meets 64
// consecutive q8_k activation bytes with no shuffling of the activations. VPMADDUBSW turns u * y
// into 32 pair sums (int16; at most 2 * 63 * 128, no saturation) and VPDPWSSD multiplies them by
// the sub-block scales (int16, one per pair lane) and adds into int32 lanes: the whole super-block
// is summed in integers and converted once. The per-block offsets (q6_k's -32) and minimums
// (q4_k/q5_k) are taken out through q8_k's 16-element sums, as in the AVX2 kernels.
#include "ggml/blocks.h"
#include "ggml/type-table.h"
#include "vec-dot.h"

#if defined(__x86_64__) && defined(TERN_HAVE_AVX512)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace tern {

namespace {

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// The 12 scale bytes of q4_k/q5_k as 8 scales and 8 minimums, one byte each (layout in blocks.h),
// built in general registers: going through memory would stall store-to-load forwarding.
inline void k4_unpack(const uint8_t *q, __m128i *sc, __m128i *mn) {
    uint32_t w0, w1, w2;
    std::memcpy(&w0, q, 4), std::memcpy(&w1, q + 4, 4), std::memcpy(&w2, q + 8, 4);
    const uint64_t s_lo = w0 & 0x3f3f3f3f, m_lo = w1 & 0x3f3f3f3f;
    const uint64_t s_hi = (w2 & 0x0f0f0f0f) | (((w0 >> 6) & 0x03030303) << 4);
    const uint64_t m_hi = ((w2 >> 4) & 0x0f0f0f0f) | (((w1 >> 6) & 0x03030303) << 4);
    *sc = _mm_cvtsi64_si128((long long)(s_lo | s_hi << 32));
    *mn = _mm_cvtsi64_si128((long long)(m_lo | m_hi << 32));
}

// Word-lane index vector: lane i takes word first + i / run.
inline __m512i word_runs(int first, int run) {
    alignas(64) int16_t v[32];
    for (int i = 0; i < 32; i++) v[i] = (int16_t)(first + i / run);
    return _mm512_load_si512(v);
}

// Word-lane shift vector: lo for lanes 0-15 (bytes 0-31), hi for lanes 16-31.
inline __m512i half_shifts(int lo, int hi) {
    return _mm512_inserti64x4(_mm512_set1_epi16((short)lo), _mm256_set1_epi16((short)hi), 1);
}

// ---- q4_k / q5_k: 8 sub-blocks of 32 -----------------------------------------------------------
// 64 bytes of qs (chunks c and c+1 of 32 bytes) give two registers: low nibbles = elements
// 64c+0..31 in bytes 0-31 and 64c+64..95 in bytes 32-63 (sub-blocks 2c, 2c+2), high nibbles =
// 64c+32..63 and 64c+96..127 (sub-blocks 2c+1, 2c+3). The activations meet them in that order:
// put together from two 32-byte loads in the dot kernel, stored so by gemv_prep for decode. q5_k's
// fifth bit of element 64c+l is bit 2c of qh[l], of element 64c+32+l bit 2c+1.
//
// The sub-block scales become VPDPWSSD's word operand with one byte shuffle: the 8 scale bytes are
// broadcast to every 128-bit lane, and each shuffle control picks scale g into the words of lanes
// 0-1 and scale g+2 into those of lanes 2-3, zero-extended.
struct k45_consts {
    __m512i m4, one, sc_lo[2], sc_hi[2], qh_lo[2], qh_hi[2];
    k45_consts() {
        m4 = _mm512_set1_epi8(15), one = _mm512_set1_epi8(1);
        auto ctl = [](int g) {
            alignas(64) int8_t v[64];
            for (int i = 0; i < 64; i++) v[i] = (i & 1) ? (int8_t)0x80 : (int8_t)(i < 32 ? g : g + 2);
            return _mm512_load_si512(v);
        };
        for (int j = 0; j < 2; j++) {
            sc_lo[j] = ctl(4 * j), sc_hi[j] = ctl(4 * j + 1);
            qh_lo[j] = half_shifts(4 * j, 4 * j + 2), qh_hi[j] = half_shifts(4 * j + 1, 4 * j + 3);
        }
    }
};

// The integer sum of one super-block: sum_g sc[g] * dot(u_g, y_g) over the 8 sub-blocks, with the
// activations of chunk pair j as two registers (ya: low-nibble order, yb: high-nibble order).
template <bool five, typename Y>
inline __m512i k45_isum(const k45_consts &k, const uint8_t *qs, const uint8_t *qh5, __m128i sc8, Y acts) {
    const __m512i scb = _mm512_broadcastq_epi64(sc8);
    const __m512i qh = five ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh5)) : _mm512_setzero_si512();
    __m512i isum = _mm512_setzero_si512();
    for (int j = 0; j < 2; j++) {
        const __m512i q = _mm512_loadu_si512(qs + 64 * j);
        __m512i lo = _mm512_and_si512(q, k.m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), k.m4);
        if (five) {
            lo = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, k.qh_lo[j]), k.one), 4));
            hi = _mm512_or_si512(hi, _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, k.qh_hi[j]), k.one), 4));
        }
        __m512i ya, yb;
        acts(j, &ya, &yb);
        isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(lo, ya), _mm512_shuffle_epi8(scb, k.sc_lo[j]));
        isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(hi, yb), _mm512_shuffle_epi8(scb, k.sc_hi[j]));
    }
    return isum;
}

// One q4_k/q5_k super-block as the kernels need it: its codes (and q5_k's fifth bits), the scales
// and minimums as bytes, and {yd*d, yd*dmin, 0, 0} for the activation scale yd.
struct k45_block {
    const uint8_t *qs, *qh;
    __m128i sc8, mn8;
    __m128 f;
};
template <bool five> inline k45_block k45_at(const void *w, int64_t i, float yd) {
    const uint8_t *blk = (const uint8_t *)w + i * (five ? sizeof(block_q5_k) : sizeof(block_q4_k));
    const block_q4_k *a4 = (const block_q4_k *)blk;
    const block_q5_k *a5 = (const block_q5_k *)blk;
    k45_block r;
    r.qs = five ? a5->qs : a4->qs;
    r.qh = five ? a5->qh : nullptr;
    k4_unpack(five ? a5->scales : a4->scales, &r.sc8, &r.mn8);
    uint32_t dd;
    std::memcpy(&dd, blk, 4); // d, dmin are the first two halves of both layouts
    r.f = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)dd)), _mm_set1_ps(yd));
    return r;
}

template <bool five> float dot_q45_k(int64_t n, const void *w, const void *x) {
    static const k45_consts k;
    const block_q8_k *b = (const block_q8_k *)x;
    __m512 acc = _mm512_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const k45_block q = k45_at<five>(w, i, b[i].d);
        const __m128i mn8 = q.mn8;
        const __m128 f = q.f;
        // minimums: mn[g] * (bsums[2g] + bsums[2g+1]), with each mn[g] doubled into two words
        const __m256i mprod = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8)),
                                                _mm256_loadu_si256((const __m256i *)b[i].bsums));
        accm = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(f)) /* yd * dmin */, _mm256_cvtepi32_ps(mprod), accm);
        const int8_t *y = b[i].qs;
        auto acts = [y](int j, __m512i *ya, __m512i *yb) {
            const int8_t *p = y + 128 * j;
            auto two = [](const int8_t *a, const int8_t *c) {
                return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                                          _mm256_loadu_si256((const __m256i *)c), 1);
            };
            *ya = two(p, p + 64), *yb = two(p + 32, p + 96);
        };
        const __m512i isum = k45_isum<five>(k, q.qs, q.qh, q.sc8, acts);
        acc = _mm512_fmadd_ps(_mm512_broadcastss_ps(f), _mm512_cvtepi32_ps(isum), acc);
    }
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(_mm512_zextps256_ps512(accm));
}

// Decode: the q8_k activations of each super-block stored once per matmul in the kernel's order
// (qs[0..255] as the four 64-byte registers of k45_isum), with the pair sums
// bsums[2g] + bsums[2g+1] ready for the minimums. 320 bytes, so qs stays 64-byte aligned.
struct k45_act {
    int8_t qs[QK_K];
    float d;
    int16_t psum[8];
    uint8_t pad[44];
};
static_assert(sizeof(k45_act) == 320, "q4_k/q5_k gemv activation block");

void gemv_prep_q45_k(int64_t n, const float *x, void *xp, int ith, int nth) {
    k45_act *g = (k45_act *)xp;
    const int64_t nb = n / QK_K, per = (nb + nth - 1) / nth;
    for (int64_t i = per * ith; i < std::min(nb, per * (ith + 1)); i++) {
        block_q8_k b;
        type_get(type::q8_k)->from_float(x + i * QK_K, &b, QK_K); // the dot path's rounding
        for (int j = 0; j < 2; j++) {
            const int8_t *p = b.qs + 128 * j;
            std::memcpy(g[i].qs + 128 * j, p, 32);
            std::memcpy(g[i].qs + 128 * j + 32, p + 64, 32);
            std::memcpy(g[i].qs + 128 * j + 64, p + 32, 32);
            std::memcpy(g[i].qs + 128 * j + 96, p + 96, 32);
        }
        g[i].d = b.d;
        for (int s = 0; s < 8; s++) g[i].psum[s] = (int16_t)(b.bsums[2 * s] + b.bsums[2 * s + 1]);
        std::memset(g[i].pad, 0, sizeof g[i].pad);
    }
}

template <bool five> float gemv_dot_q45_k(int64_t n, const void *w, const void *xp) {
    static const k45_consts k;
    const k45_act *g = (const k45_act *)xp;
    __m512 acc = _mm512_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const k45_block q = k45_at<five>(w, i, g[i].d);
        const __m128 f = q.f;
        const __m128i mprod = _mm_madd_epi16(_mm_cvtepu8_epi16(q.mn8), _mm_loadu_si128((const __m128i *)g[i].psum));
        accm = _mm_fmadd_ps(_mm_permute_ps(f, 0x55), _mm_cvtepi32_ps(mprod), accm); // yd * dmin
        const int8_t *y = g[i].qs;
        auto acts = [y](int j, __m512i *ya, __m512i *yb) {
            *ya = _mm512_loadu_si512(y + 128 * j), *yb = _mm512_loadu_si512(y + 128 * j + 64);
        };
        const __m512i isum = k45_isum<five>(k, q.qs, q.qh, q.sc8, acts);
        acc = _mm512_fmadd_ps(_mm512_broadcastss_ps(f), _mm512_cvtepi32_ps(isum), acc);
    }
    const __m128 m = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    return _mm512_reduce_add_ps(acc) - _mm_cvtss_f32(_mm_add_ss(m, _mm_movehdup_ps(m)));
}

// ---- q6_k: u = 6 bits, q = u - 32, 16 sub-blocks of 16 ---------------------------------------------
// Half h (128 elements): ql[64h..64h+63] low nibbles are elements 128h+0..63, high nibbles
// 128h+64..127; their two high bits are qh[32h + l] bits (0,1), (2,3), (4,5), (6,7) for elements
// 128h + l, +32, +64, +96. qh is broadcast to both register halves and shifted per half.
float dot_q6_k(int64_t n, const void *w, const void *x) {
    const block_q6_k *a = (const block_q6_k *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    const __m512i m4 = _mm512_set1_epi8(15), m3 = _mm512_set1_epi8(3);
    const __m512i sidx[4] = {word_runs(0, 8), word_runs(4, 8), word_runs(8, 8), word_runs(12, 8)};
    const __m512i sh_lo = half_shifts(0, 2), sh_hi = half_shifts(4, 6);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < n / QK_K; k++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[k].scales));
        // the -32 offset: 32 * sum_g sc[g] * bsums[g], taken out at the start
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)b[k].bsums)), 5);
        __m512i isum = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), off));
        const __m512i scv = _mm512_castsi256_si512(sc16);
        const int8_t *y = b[k].qs;
        for (int h = 0; h < 2; h++, y += 128) {
            const __m512i ql = _mm512_loadu_si512(a[k].ql + 64 * h);
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a[k].qh + 32 * h)));
            const __m512i u0 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                               _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh_lo), m3), 4));
            const __m512i u1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                               _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh_hi), m3), 4));
            const __m512i p0 = _mm512_maddubs_epi16(u0, _mm512_loadu_si512(y));
            const __m512i p1 = _mm512_maddubs_epi16(u1, _mm512_loadu_si512(y + 64));
            isum = _mm512_dpwssd_epi32(isum, p0, _mm512_permutexvar_epi16(sidx[2 * h], scv));
            isum = _mm512_dpwssd_epi32(isum, p1, _mm512_permutexvar_epi16(sidx[2 * h + 1], scv));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(b[k].d * h2f(a[k].d)), _mm512_cvtepi32_ps(isum), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

// ---- tq1_0: five trits per byte ------------------------------------------------------------------
// Trit n of byte b is floor(3 * x / 256) with x = 3^n * b mod 256, i.e. 1 for x > 85 plus 1 for
// x > 170: byte multiplications and two unsigned compares give 64 trits, and VPDPBUSD multiplies
// them (0..2) with the activations. The 256 elements of a block are four registers of 64:
//   A: qs[0..31] x {1, 3} (elements m, 32 + m)             -> y[0..63]
//   B: qs[0..31] x {9, 27}                                -> y[64..127]
//   C: qs[32..47] x {1, 3, 9, 27} (elements 160 + 16n + m) -> y[160..223]
//   D: qs[0..47] x 81 and qh[0..3] x {1, 3, 9, 27}          -> y[128..159] and y[224..255]
// (qh[j]'s trit n is element 240 + 4n + j). w = t - 1: the sum of y comes off through bsums.
struct tq1_consts {
    __m512i m_a, m_b, m_c, m_d, d_ctl, ones, hi_bytes, c85, c170;
    tq1_consts() {
        alignas(64) int16_t a[32], b[32], c[32], d[32];
        alignas(64) int8_t ctl[64];
        for (int i = 0; i < 32; i++) { // word i holds bytes 2i, 2i+1
            a[i] = i < 16 ? 1 : 3, b[i] = i < 16 ? 9 : 27, c[i] = (int16_t)(i < 8 ? 1 : i < 16 ? 3 : i < 24 ? 9 : 27);
            static const int16_t qh_pow[8] = {1, 1, 3, 3, 9, 9, 27, 27};
            d[i] = i < 24 ? 81 : qh_pow[i - 24];
        }
        for (int i = 0; i < 64; i++) ctl[i] = (int8_t)(i < 48 ? i % 16 : i % 4); // lane 3: qh[0..3] four times
        m_a = _mm512_load_si512(a), m_b = _mm512_load_si512(b), m_c = _mm512_load_si512(c), m_d = _mm512_load_si512(d);
        d_ctl = _mm512_load_si512(ctl);
        ones = _mm512_set1_epi8(1), hi_bytes = _mm512_set1_epi16((short)0xFF00);
        c85 = _mm512_set1_epi8(85), c170 = _mm512_set1_epi8((char)170);
    }
};

// Bytes of v times the multiplier in their word of m, mod 256 (both bytes of a word share it).
inline __m512i mul_bytes(const tq1_consts &k, __m512i v, __m512i m) {
    const __m512i lo = _mm512_mullo_epi16(v, m);                               // even bytes right
    const __m512i hi = _mm512_mullo_epi16(_mm512_and_si512(v, k.hi_bytes), m); // odd bytes right
    return _mm512_mask_blend_epi8(0xAAAAAAAAAAAAAAAAull, lo, hi);
}

inline __m512i trit_dot(const tq1_consts &k, __m512i acc, __m512i x, __m512i y) {
    __m512i t = _mm512_maskz_mov_epi8(_mm512_cmpgt_epu8_mask(x, k.c85), k.ones);
    t = _mm512_mask_add_epi8(t, _mm512_cmpgt_epu8_mask(x, k.c170), t, k.ones);
    return _mm512_dpbusd_epi32(acc, t, y);
}

float dot_tq1_0(int64_t n, const void *w, const void *x) {
    static const tq1_consts k;
    const block_tq1_0 *a = (const block_tq1_0 *)w;
    const block_q8_k *b = (const block_q8_k *)x;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *qs = a[i].qs;
        const int8_t *y = b[i].qs;
        const __m512i q01 = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qs));
        const __m512i q2 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(qs + 32)));
        // qs and qh are the first 52 bytes of the block: a masked load reads nothing past them
        const __m512i q3 = _mm512_shuffle_epi8(_mm512_maskz_loadu_epi8(0x000FFFFFFFFFFFFFull, qs), k.d_ctl);
        const __m512i yd = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(y + 128))),
                                              _mm256_loadu_si256((const __m256i *)(y + 224)), 1);
        // -sum(y) as the start value, spread over eight lanes
        const __m256i ysum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b[i].bsums), _mm256_set1_epi16(1));
        __m512i isum = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), ysum));
        isum = trit_dot(k, isum, mul_bytes(k, q01, k.m_a), _mm512_loadu_si512(y));
        isum = trit_dot(k, isum, mul_bytes(k, q01, k.m_b), _mm512_loadu_si512(y + 64));
        isum = trit_dot(k, isum, mul_bytes(k, q2, k.m_c), _mm512_loadu_si512(y + 160));
        isum = trit_dot(k, isum, mul_bytes(k, q3, k.m_d), yd);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * h2f(a[i].d)), _mm512_cvtepi32_ps(isum), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

} // namespace

void kernels_add_avx512_k(isa_kernels *t) {
    t->dot[(int)type::q4_k] = dot_q45_k<false>;
    t->dot[(int)type::q5_k] = dot_q45_k<true>;
    t->dot[(int)type::q6_k] = dot_q6_k;
    t->dot[(int)type::tq1_0] = dot_tq1_0;
    t->gemv_prep[(int)type::q4_k] = t->gemv_prep[(int)type::q5_k] = gemv_prep_q45_k;
    t->gemv_dot[(int)type::q4_k] = gemv_dot_q45_k<false>;
    t->gemv_dot[(int)type::q5_k] = gemv_dot_q45_k<true>;
}

} // namespace tern

#else
namespace tern {
void kernels_add_avx512_k(isa_kernels *) {}
} // namespace tern
#endif
