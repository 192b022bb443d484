// gemm-i8.cpp — weight packing and activation quantization for the integer prefill GEMM
// (formats in gemm-i8.h), and the scalar reference micro-kernel the ISA kernels are tested against.
#include "gemm-i8.h"

#include "ggml/blocks.h"
#include "ggml/fp16.h"
#include "ggml/quant-ref.h"
#include "vec-dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern {

namespace {

// Packers write one row straight into its panel column: the q dword of elements 4g..4g+3 at
// q + 64*g (q already offset by 4*row), a and b of sub-block j at a[16*j], b[16*j]. The formats
// keep 4 consecutive elements in 4 consecutive bytes (or bits of them), so most are decoded 4 at a
// time with 32-bit masks and shifts.
// Each packs the blocks [i0, i1) of its own block size.
using pack_fn = void (*)(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b);

inline uint32_t ld32(const uint8_t *p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline void st32(uint8_t *q, int64_t g, uint32_t v) { std::memcpy(q + 64 * g, &v, 4); }
constexpr uint32_t LO4 = 0x0F0F0F0Fu, LO2 = 0x03030303u, LO1 = 0x01010101u;
// Bits j..j+3 of x as the low bits of four bytes.
inline uint32_t spread4(uint32_t x, int j) {
    const uint32_t n = (x >> j) & 15;
    return (n & 1) | (n & 2) << 7 | (n & 4) << 14 | (n & 8) << 21;
}

void pack_q4_0(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q4_0 *x = (const block_q4_0 *)row;
    for (int64_t i = i0; i < i1; i++) {
        const float d = fp16_to_fp32(x[i].d);
        a[16 * i] = d, b[16 * i] = -8.0f * d;
        for (int g = 0; g < 4; g++) {
            const uint32_t v = ld32(x[i].qs + 4 * g);
            st32(q, 8 * i + g, v & LO4);
            st32(q, 8 * i + 4 + g, (v >> 4) & LO4);
        }
    }
}
void pack_q4_1(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q4_1 *x = (const block_q4_1 *)row;
    for (int64_t i = i0; i < i1; i++) {
        a[16 * i] = fp16_to_fp32(x[i].d), b[16 * i] = fp16_to_fp32(x[i].m);
        for (int g = 0; g < 4; g++) {
            const uint32_t v = ld32(x[i].qs + 4 * g);
            st32(q, 8 * i + g, v & LO4);
            st32(q, 8 * i + 4 + g, (v >> 4) & LO4);
        }
    }
}
template <class B> void pack_q5_codes(const B *x, int64_t i0, int64_t i1, uint8_t *q) {
    for (int64_t i = i0; i < i1; i++) {
        const uint32_t qh = ld32(x[i].qh);
        for (int g = 0; g < 4; g++) {
            const uint32_t v = ld32(x[i].qs + 4 * g);
            st32(q, 8 * i + g, (v & LO4) | spread4(qh, 4 * g) << 4);
            st32(q, 8 * i + 4 + g, ((v >> 4) & LO4) | spread4(qh, 16 + 4 * g) << 4);
        }
    }
}
void pack_q5_0(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q5_0 *x = (const block_q5_0 *)row;
    for (int64_t i = i0; i < i1; i++) a[16 * i] = fp16_to_fp32(x[i].d), b[16 * i] = -16.0f * a[16 * i];
    pack_q5_codes(x, i0, i1, q);
}
void pack_q5_1(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q5_1 *x = (const block_q5_1 *)row;
    for (int64_t i = i0; i < i1; i++) a[16 * i] = fp16_to_fp32(x[i].d), b[16 * i] = fp16_to_fp32(x[i].m);
    pack_q5_codes(x, i0, i1, q);
}
void pack_q8_0(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q8_0 *x = (const block_q8_0 *)row;
    for (int64_t i = i0; i < i1; i++) {
        const float d = fp16_to_fp32(x[i].d);
        a[16 * i] = d, b[16 * i] = -128.0f * d;
        for (int g = 0; g < 8; g++) st32(q, 8 * i + g, ld32((const uint8_t *)x[i].qs + 4 * g) ^ 0x80808080u); // w + 128
    }
}
// q4_k/q5_k: sub-block j of a super-block has scale d*sc_j and offset -dmin*m_j.
template <bool Q5> void pack_k45(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *scales, *qs, *qh = nullptr;
        float d, dmin;
        if (Q5) {
            const block_q5_k &x = ((const block_q5_k *)row)[i];
            scales = x.scales, qs = x.qs, qh = x.qh, d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
        } else {
            const block_q4_k &x = ((const block_q4_k *)row)[i];
            scales = x.scales, qs = x.qs, d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
        }
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            k4_scale_min(scales, j, &sc, &mn);
            a[16 * (8 * i + j)] = d * (float)sc, b[16 * (8 * i + j)] = -dmin * (float)mn;
        }
        for (int c = 0; c < 4; c++)
            for (int g = 0; g < 8; g++) { // elements 64c + 4g.. (low nibbles), 64c + 32 + 4g.. (high)
                const uint32_t v = ld32(qs + 32 * c + 4 * g);
                uint32_t lo = v & LO4, hi = (v >> 4) & LO4;
                if (Q5) {
                    const uint32_t h = ld32(qh + 4 * g);
                    lo |= ((h >> (2 * c)) & LO1) << 4, hi |= ((h >> (2 * c + 1)) & LO1) << 4;
                }
                st32(q, 64 * i + 16 * c + g, lo);
                st32(q, 64 * i + 16 * c + 8 + g, hi);
            }
    }
}
// The 2-bit planes of q2_k, q3_k and tq2_0: element 128h + 32p + l at bits 2p of qs[32h + l].
inline void pack_2bit_planes(const uint8_t *qs, uint8_t *q, int64_t g0, const uint8_t *hmask = nullptr) {
    for (int h = 0; h < 2; h++)
        for (int p = 0; p < 4; p++)
            for (int g = 0; g < 8; g++) {
                uint32_t v = (ld32(qs + 32 * h + 4 * g) >> (2 * p)) & LO2;
                if (hmask) v |= ((ld32(hmask + 4 * g) >> (4 * h + p)) & LO1) << 2;
                st32(q, g0 + 32 * h + 8 * p + g, v);
            }
}
void pack_q2_k(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q2_k *x = (const block_q2_k *)row;
    for (int64_t i = i0; i < i1; i++) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int s = 0; s < 16; s++) {
            a[16 * (16 * i + s)] = d * (float)(x[i].scales[s] & 15);
            b[16 * (16 * i + s)] = -dmin * (float)(x[i].scales[s] >> 4);
        }
        pack_2bit_planes(x[i].qs, q, 64 * i);
    }
}
void pack_q3_k(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q3_k *x = (const block_q3_k *)row;
    for (int64_t i = i0; i < i1; i++) {
        const float d = fp16_to_fp32(x[i].d);
        for (int s = 0; s < 16; s++) { // x = dl * (q2 + 4*hbit - 4)
            a[16 * (16 * i + s)] = d * (float)k3_scale(x[i].scales, s);
            b[16 * (16 * i + s)] = -4.0f * a[16 * (16 * i + s)];
        }
        pack_2bit_planes(x[i].qs, q, 64 * i, x[i].hmask);
    }
}
void pack_q6_k(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_q6_k *x = (const block_q6_k *)row;
    for (int64_t i = i0; i < i1; i++) {
        const float d = fp16_to_fp32(x[i].d);
        for (int s = 0; s < 16; s++) a[16 * (16 * i + s)] = d * (float)x[i].scales[s], b[16 * (16 * i + s)] = -32.0f * a[16 * (16 * i + s)];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
            const int64_t g0 = 64 * i + 32 * h;
            for (int g = 0; g < 8; g++) {
                const uint32_t l0 = ld32(ql + 4 * g), l1 = ld32(ql + 32 + 4 * g), hh = ld32(qh + 4 * g);
                st32(q, g0 + g, (l0 & LO4) | (hh & LO2) << 4);
                st32(q, g0 + 8 + g, (l1 & LO4) | ((hh >> 2) & LO2) << 4);
                st32(q, g0 + 16 + g, ((l0 >> 4) & LO4) | ((hh >> 4) & LO2) << 4);
                st32(q, g0 + 24 + g, ((l1 >> 4) & LO4) | ((hh >> 6) & LO2) << 4);
            }
        }
    }
}
// Ternary: the stored trit t = w + 1 is already the unsigned code; one scale per 256.
void set_ternary_scales(float d, float *a, float *b) {
    for (int j = 0; j < QK_K / 32; j++) a[16 * j] = d, b[16 * j] = -d;
}
void pack_tq2_0(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_tq2_0 *x = (const block_tq2_0 *)row;
    for (int64_t i = i0; i < i1; i++) {
        set_ternary_scales(fp16_to_fp32(x[i].d), a + 16 * 8 * i, b + 16 * 8 * i);
        pack_2bit_planes(x[i].qs, q, 64 * i);
    }
}
inline uint8_t trit(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    return (uint8_t)(((uint8_t)(byte * pow3[n]) * 3) >> 8);
}
void pack_tq1_0(const void *row, int64_t i0, int64_t i1, uint8_t *q, float *a, float *b) {
    const block_tq1_0 *x = (const block_tq1_0 *)row;
    uint8_t t[QK_K];
    for (int64_t i = i0; i < i1; i++) {
        set_ternary_scales(fp16_to_fp32(x[i].d), a + 16 * 8 * i, b + 16 * 8 * i);
        for (int k = 0; k < 5; k++)
            for (int m = 0; m < 32; m++) t[32 * k + m] = trit(x[i].qs[m], k);
        for (int k = 0; k < 5; k++)
            for (int m = 0; m < 16; m++) t[160 + 16 * k + m] = trit(x[i].qs[32 + m], k);
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 4; j++) t[240 + 4 * k + j] = trit(x[i].qh[j], k);
        for (int g = 0; g < QK_K / 4; g++) st32(q, 64 * i + g, ld32(t + 4 * g));
    }
}

pack_fn packer(type t) {
    switch (t) {
    case type::q4_0: return pack_q4_0;
    case type::q4_1: return pack_q4_1;
    case type::q5_0: return pack_q5_0;
    case type::q5_1: return pack_q5_1;
    case type::q8_0: return pack_q8_0;
    case type::q4_k: return pack_k45<false>;
    case type::q5_k: return pack_k45<true>;
    case type::q2_k: return pack_q2_k;
    case type::q3_k: return pack_q3_k;
    case type::q6_k: return pack_q6_k;
    case type::tq1_0: return pack_tq1_0;
    case type::tq2_0: return pack_tq2_0;
    default: return nullptr;
    }
}

// q4_0x16 tiles (blocks.h) already hold the panel's byte order: vector j's low nibbles are panel
// group j, its high nibbles group 4 + j.
static_assert(Q4X16_ROWS == I8_PANEL_ROWS, "a q4_0x16 tile is one panel");
void pack_tile_q4_0x16(const uint8_t *tile, int64_t K, uint8_t *panel, float *pa, float *pb) {
    const block_q4_0x16 *t = (const block_q4_0x16 *)tile;
    for (int64_t i = 0; i < K / QK4_0; i++) {
        for (int r = 0; r < Q4X16_ROWS; r++) {
            const float d = fp16_to_fp32(t[i].d[r]);
            pa[16 * i + r] = d, pb[16 * i + r] = -8.0f * d;
        }
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 64; k += 4) {
                const uint32_t v = ld32(t[i].qs + 64 * j + k), lo = v & LO4, hi = (v >> 4) & LO4;
                std::memcpy(panel + 64 * (8 * i + j) + k, &lo, 4);
                std::memcpy(panel + 64 * (8 * i + 4 + j) + k, &hi, 4);
            }
    }
}

// q4_kx16 tiles: chunk c's vector j gives panel groups 16c + j (low nibbles, sub-block 2c) and
// 16c + 8 + j (high, 2c + 1) of its super-block; a and b as pack_k45 computes them.
void pack_tile_q4_kx16(const uint8_t *tile, int64_t K, uint8_t *panel, float *pa, float *pb) {
    const block_q4_kx16 *t = (const block_q4_kx16 *)tile;
    for (int64_t i = 0; i < K / QK_K; i++) {
        for (int r = 0; r < Q4X16_ROWS; r++) {
            uint8_t sc[K_SCALE_SIZE];
            for (int k = 0; k < K_SCALE_SIZE; k++) sc[k] = t[i].scales[k][r];
            const float d = fp16_to_fp32(t[i].d[r]), dmin = fp16_to_fp32(t[i].dmin[r]);
            for (int j = 0; j < 8; j++) {
                int s, mn;
                k4_scale_min(sc, j, &s, &mn);
                pa[16 * (8 * i + j) + r] = d * (float)s, pb[16 * (8 * i + j) + r] = -dmin * (float)mn;
            }
        }
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 8; j++)
                for (int k = 0; k < 64; k += 4) {
                    const uint32_t v = ld32(t[i].qs[c][j] + k), lo = v & LO4, hi = (v >> 4) & LO4;
                    std::memcpy(panel + 64 * (64 * i + 16 * c + j) + k, &lo, 4);
                    std::memcpy(panel + 64 * (64 * i + 16 * c + 8 + j) + k, &hi, 4);
                }
    }
}

// q6_kx16 tiles: half h's vectors j give panel groups 64i + 32h + 8g + j for the four element
// groups g (codes as pack_q6_k builds them); a = d * scale, b = -32 a.
void pack_tile_q6_kx16(const uint8_t *tile, int64_t K, uint8_t *panel, float *pa, float *pb) {
    const block_q6_kx16 *t = (const block_q6_kx16 *)tile;
    for (int64_t i = 0; i < K / QK_K; i++) {
        for (int r = 0; r < Q4X16_ROWS; r++) {
            const float d = fp16_to_fp32(t[i].d[r]);
            for (int s = 0; s < 16; s++) {
                const float av = d * (float)t[i].scales[s][r];
                pa[16 * (16 * i + s) + r] = av, pb[16 * (16 * i + s) + r] = -32.0f * av;
            }
        }
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 8; j++)
                for (int k = 0; k < 64; k += 4) {
                    const uint32_t l0 = ld32(t[i].q[h][j][0] + k), l1 = ld32(t[i].q[h][j][1] + k), hh = ld32(t[i].q[h][j][2] + k);
                    const uint32_t q[4] = {(l0 & LO4) | (hh & LO2) << 4, (l1 & LO4) | ((hh >> 2) & LO2) << 4,
                                           ((l0 >> 4) & LO4) | ((hh >> 4) & LO2) << 4, ((l1 >> 4) & LO4) | ((hh >> 6) & LO2) << 4};
                    for (int g = 0; g < 4; g++) std::memcpy(panel + 64 * (64 * i + 32 * h + 8 * g + j) + k, &q[g], 4);
                }
    }
}

} // namespace

int i8_subblock(type t) {
    if (t == type::q4_0x16 || t == type::q4_kx16) return 32;
    if (t == type::q6_kx16) return 16;
    if (!packer(t)) return 0;
    return t == type::q2_k || t == type::q3_k || t == type::q6_k ? 16 : 32;
}

int i8_max_code(type t) {
    switch (t) {
    case type::q8_0: return 255;
    case type::q6_k: case type::q6_kx16: return 63;
    case type::q5_0: case type::q5_1: case type::q5_k: return 31;
    case type::q4_0: case type::q4_1: case type::q4_k: case type::q4_0x16: case type::q4_kx16: return 15;
    case type::q3_k: return 7;
    case type::q2_k: return 3;
    case type::tq1_0: case type::tq2_0: return 2;
    default: return 0;
    }
}

size_t i8_panel_bytes(int64_t K, int sb) { return (size_t)K * I8_PANEL_ROWS + 2 * (size_t)(K / sb) * I8_PANEL_ROWS * sizeof(float); }

void i8_pack_panel(type t, const uint8_t *rows, size_t row_bytes, int n_rows, int64_t K, uint8_t *panel) {
    const int sb = i8_subblock(t);
    if (type_is_runtime_only(t)) { // a whole tile (n_rows is 16: tensors hold whole tiles)
        float *pa = (float *)(panel + (size_t)K * I8_PANEL_ROWS);
        const auto pack = t == type::q4_0x16 ? pack_tile_q4_0x16 : t == type::q4_kx16 ? pack_tile_q4_kx16 : pack_tile_q6_kx16;
        return pack(rows, K, panel, pa, pa + (K / sb) * I8_PANEL_ROWS);
    }
    const pack_fn pack = packer(t);
    const int64_t nsb = K / sb, bs = type_get(t)->block_size;
    float *pa = (float *)(panel + (size_t)K * I8_PANEL_ROWS), *pb = pa + nsb * I8_PANEL_ROWS;
    // 256 elements of all 16 rows at a time: each 64-byte group is completed while in L1.
    for (int64_t e0 = 0; e0 < K; e0 += 256) {
        const int64_t i0 = e0 / bs, i1 = std::min(K, e0 + 256) / bs;
        for (int r = 0; r < n_rows; r++) pack(rows + r * row_bytes, i0, i1, panel + 4 * r, pa + r, pb + r);
    }
    for (int r = n_rows; r < I8_PANEL_ROWS; r++) {
        for (int64_t g = 0; g < K / 4; g++) st32(panel + 4 * r, g, 0);
        for (int64_t j = 0; j < nsb; j++) pa[j * I8_PANEL_ROWS + r] = pb[j * I8_PANEL_ROWS + r] = 0.0f;
    }
}

void i8_quantize_act(type vdt, const float *x, int64_t K, int sb, uint8_t *tmp, int8_t *q, float *d, float *s) {
    type_get(vdt)->from_float(x, tmp, K);
    const int64_t nsb = K / sb;
    if (vdt == type::q8_k) { // its bsums are the sums of 16-element groups
        const block_q8_k *b = (const block_q8_k *)tmp;
        for (int64_t i = 0; i < K / QK_K; i++) std::memcpy(q + i * QK_K, b[i].qs, QK_K);
        for (int64_t j = 0; j < nsb; j++) {
            const block_q8_k &bk = b[j * sb / QK_K];
            const int g = (int)(j * sb % QK_K) / 16;
            d[j] = bk.d, s[j] = bk.d * (float)(bk.bsums[g] + (sb == 32 ? bk.bsums[g + 1] : 0));
        }
    } else if (vdt == type::q8_1) { // sb == 32: the block's own (f16) d and d * sum, as the dot kernels use
        const block_q8_1 *b = (const block_q8_1 *)tmp;
        for (int64_t j = 0; j < nsb; j++) {
            std::memcpy(q + j * 32, b[j].qs, 32);
            d[j] = fp16_to_fp32(b[j].d), s[j] = fp16_to_fp32(b[j].s);
        }
    } else { // q8_0
        const block_q8_0 *b = (const block_q8_0 *)tmp;
        for (int64_t i = 0; i < K / 32; i++) std::memcpy(q + i * 32, b[i].qs, 32);
        for (int64_t j = 0; j < nsb; j++) {
            int32_t sum = 0;
            for (int e = 0; e < sb; e++) sum += q[j * sb + e];
            d[j] = fp16_to_fp32(b[j * sb / 32].d), s[j] = d[j] * (float)sum;
        }
    }
}

// The reference: same sums, same order of the float steps as the vector kernels.
void gemm_i8_generic(int64_t K, int sb, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy, int n_rows) {
    const int64_t nsb = K / sb;
    const float *pa = (const float *)(panel + (size_t)K * I8_PANEL_ROWS), *pb = pa + nsb * I8_PANEL_ROWS;
    for (int t = 0; t < n_tok; t++)
        for (int r = 0; r < n_rows; r++) {
            float acc = 0.0f;
            for (int64_t j = 0; j < nsb; j++) {
                int32_t dot = 0;
                for (int e = 0; e < sb; e++) {
                    const int64_t k = j * sb + e;
                    dot += (int32_t)panel[(k / 4) * 64 + 4 * r + k % 4] * x.q[t * x.ldq + k];
                }
                const float ad = pa[j * I8_PANEL_ROWS + r] * x.d[t * x.ldd + j];
                acc = std::fma((float)dot, ad, acc);
                acc = std::fma(pb[j * I8_PANEL_ROWS + r], x.s[t * x.lds + j], acc);
            }
            y[t * ldy + r] = acc;
        }
}

} // namespace tern
