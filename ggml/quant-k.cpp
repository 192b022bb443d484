// quant-k.cpp — reference code for the K-quants (q2_k … q6_k) and their activation format q8_k.
//
// Quantizing a super-block: each sub-block gets the scale (and minimum) that minimises its squared
// error (fit_affine / fit_symmetric: a handful of starting scales, each refined by least squares
// on the rounded levels), then the sub-block scales themselves are quantized against one fp16
// super-scale (two for affine formats), and the levels are re-rounded with the scales as stored.
#include "fp16.h"
#include "quant-ref.h"
#include "type-table.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tern {

namespace {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// x[i] ~ s*q[i] - m with q in 0..nmax, s >= 0, m >= 0 (min <= 0, as the formats store it).
float fit_affine(const float *x, int n, int nmax, float *s_out, float *m_out) {
    float lo = 0.0f, hi = x[0];
    for (int i = 0; i < n; i++) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    if (hi <= lo) { // all zero
        *s_out = 0.0f, *m_out = -lo;
        return 0.0f;
    }
    float best_err = INFINITY, best_s = (hi - lo) / nmax, best_m = -lo;
    for (int k : {-10, -5, -2, 0, 2, 5, 8}) { // start points around the full-range scale
        const float is = (nmax + 0.1f * k) / (hi - lo);
        // Rounded levels for this start, then the least-squares (s, m) for those levels.
        float sq = 0, sq2 = 0, sx = 0, sqx = 0;
        for (int i = 0; i < n; i++) {
            const int q = clampi(round_even((x[i] - lo) * is), 0, nmax);
            sq += (float)q, sq2 += (float)(q * q), sx += x[i], sqx += (float)q * x[i];
        }
        const float det = n * sq2 - sq * sq;
        float s, b; // x ~ s*q + b
        if (det > 0) {
            s = (n * sqx - sq * sx) / det;
            b = (sq2 * sx - sq * sqx) / det;
        } else {
            s = (hi - lo) / nmax, b = lo;
        }
        if (b > 0) b = 0, s = sq2 > 0 ? sqx / sq2 : 0; // minimum must stay <= 0
        if (s <= 0) continue;
        const float inv = 1.0f / s;
        float err = 0;
        for (int i = 0; i < n; i++) {
            const int q = clampi(round_even((x[i] - b) * inv), 0, nmax);
            const float e = s * q + b - x[i];
            err += e * e;
        }
        if (err < best_err) best_err = err, best_s = s, best_m = -b;
    }
    *s_out = best_s, *m_out = best_m;
    return best_err;
}

// x[i] ~ s*q[i] with q in qmin..qmax; s may be negative (the largest magnitude goes to qmin).
float fit_symmetric(const float *x, int n, int qmin, int qmax) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++)
        if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
    if (amax == 0.0f) return 0.0f;
    float best_err = INFINITY, best_s = max / qmin;
    for (int k : {-6, -4, -2, 0, 2, 4, 6}) {
        const float s0 = max / (qmin - 0.1f * k);
        const float inv0 = 1.0f / s0;
        float sqx = 0, sq2 = 0;
        for (int i = 0; i < n; i++) {
            const int q = clampi(round_even(x[i] * inv0), qmin, qmax);
            sqx += (float)q * x[i], sq2 += (float)(q * q);
        }
        if (sq2 == 0) continue;
        const float s = sqx / sq2, inv = 1.0f / s;
        float err = 0;
        for (int i = 0; i < n; i++) {
            const int q = clampi(round_even(x[i] * inv), qmin, qmax);
            const float e = s * q - x[i];
            err += e * e;
        }
        if (err < best_err) best_err = err, best_s = s;
    }
    return best_s;
}

// Quantize non-negative sub-block values v[0..n) to 0..vmax against one scale; returns the scale
// as stored (fp16 bits) and writes the levels.
uint16_t quantize_scales_unsigned(const float *v, int n, int vmax, int *out) {
    float mx = 0.0f;
    for (int i = 0; i < n; i++) mx = std::max(mx, v[i]);
    const uint16_t dh = fp32_to_fp16(mx / vmax);
    const float d = fp16_to_fp32(dh);
    for (int i = 0; i < n; i++) out[i] = d > 0 ? clampi((int)round_even(v[i] / d), 0, vmax) : 0;
    return dh;
}

// Signed sub-block scales to lo..hi (lo < 0) against one scale: the largest magnitude maps to lo
// or to hi, whichever leaves the smaller squared error (the range is asymmetric).
uint16_t quantize_scales_signed(const float *v, int n, int lo, int hi, int *out) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++)
        if (std::fabs(v[i]) > amax) amax = std::fabs(v[i]), max = v[i];
    uint16_t best = 0;
    float best_err = INFINITY;
    for (float target : {(float)lo, (float)hi}) {
        const uint16_t dh = fp32_to_fp16(max / target);
        const float d = fp16_to_fp32(dh);
        float err = 0;
        for (int i = 0; i < n; i++) {
            const int q = d != 0 ? clampi((int)round_even(v[i] / d), lo, hi) : 0;
            err += (q * d - v[i]) * (q * d - v[i]);
        }
        if (err < best_err) best_err = err, best = dh;
    }
    const float d = fp16_to_fp32(best);
    for (int i = 0; i < n; i++) out[i] = d != 0 ? clampi((int)round_even(v[i] / d), lo, hi) : 0;
    return best;
}

// Levels of an affine sub-block with its stored scale and minimum.
void round_affine(const float *x, int n, float s, float m, int nmax, int *q) {
    for (int i = 0; i < n; i++) q[i] = s > 0 ? clampi((int)round_even((x[i] + m) / s), 0, nmax) : 0;
}
void round_symmetric(const float *x, int n, float s, int qmin, int qmax, int *q) {
    for (int i = 0; i < n; i++) q[i] = s != 0 ? clampi((int)round_even(x[i] / s), qmin, qmax) : 0;
}

// Affine K-quant super-block: n_sub sub-blocks of `sub` weights, levels 0..nmax, scales and
// minimums quantized to 0..smax. Writes levels L[256], scale codes sc[], min codes mn[].
void quantize_affine_superblock(const float *x, int n_sub, int sub, int nmax, int smax, int *L, int *sc, int *mn,
                                uint16_t *d, uint16_t *dmin) {
    float s[16], m[16];
    for (int j = 0; j < n_sub; j++) fit_affine(x + j * sub, sub, nmax, &s[j], &m[j]);
    *d = quantize_scales_unsigned(s, n_sub, smax, sc);
    *dmin = quantize_scales_unsigned(m, n_sub, smax, mn);
    const float df = fp16_to_fp32(*d), mf = fp16_to_fp32(*dmin);
    for (int j = 0; j < n_sub; j++) round_affine(x + j * sub, sub, df * sc[j], mf * mn[j], nmax, L + j * sub);
}

void quantize_symmetric_superblock(const float *x, int qmin, int qmax, int slo, int shi, int *L, int *sc, uint16_t *d) {
    float s[16];
    for (int j = 0; j < 16; j++) s[j] = fit_symmetric(x + 16 * j, 16, qmin, qmax);
    *d = quantize_scales_signed(s, 16, slo, shi, sc);
    const float df = fp16_to_fp32(*d);
    for (int j = 0; j < 16; j++) round_symmetric(x + 16 * j, 16, df * sc[j], qmin, qmax, L + 16 * j);
}

// 2-bit fields as q2_k/q3_k lay them out: element 128h + 32p + l at byte 32h + l, bits 2p.
void pack_2bit(const int *L, uint8_t *qs) {
    std::memset(qs, 0, QK_K / 4);
    for (int i = 0; i < QK_K; i++) {
        const int h = i / 128, p = (i % 128) / 32, l = i % 32;
        qs[32 * h + l] |= (uint8_t)((L[i] & 3) << (2 * p));
    }
}

void k4_pack_scales(const int *sc, const int *mn, uint8_t *q) {
    for (int j = 0; j < 4; j++) {
        q[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
        q[j + 4] = (uint8_t)(mn[j] | ((mn[j + 4] >> 4) << 6));
        q[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}


} // namespace

void k4_scale_min(const uint8_t *q, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// ---- q4_kx16: 16 q4_k rows interleaved per super-block (blocks.h) ----------------------------
void q4_kx16_pack(const void *rows, size_t row_bytes, int64_t K, void *tile) {
    block_q4_kx16 *t = (block_q4_kx16 *)tile;
    for (int64_t b = 0; b < K / QK_K; b++)
        for (int r = 0; r < Q4X16_ROWS; r++) {
            const block_q4_k &q = ((const block_q4_k *)((const uint8_t *)rows + r * row_bytes))[b];
            t[b].d[r] = q.d, t[b].dmin[r] = q.dmin;
            for (int k = 0; k < K_SCALE_SIZE; k++) t[b].scales[k][r] = q.scales[k];
            for (int c = 0; c < 4; c++)
                for (int j = 0; j < 8; j++) std::memcpy(&t[b].qs[c][j][4 * r], q.qs + 32 * c + 4 * j, 4);
        }
}
void q4_kx16_unpack_row(const void *tile, int64_t K, int r, void *row) {
    const block_q4_kx16 *t = (const block_q4_kx16 *)tile;
    block_q4_k *q = (block_q4_k *)row;
    for (int64_t b = 0; b < K / QK_K; b++) {
        q[b].d = t[b].d[r], q[b].dmin = t[b].dmin[r];
        for (int k = 0; k < K_SCALE_SIZE; k++) q[b].scales[k] = t[b].scales[k][r];
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 8; j++) std::memcpy(q[b].qs + 32 * c + 4 * j, &t[b].qs[c][j][4 * r], 4);
    }
}
void q4_kx16_tile_to_float(const void *tile, int64_t K, int r0, int n, float *dst) {
    tiled_to_float(type::q4_k, q4_kx16_unpack_row, tile, K, r0, n, dst);
}
void q4_kx16_tile_from_float(const float *src, void *tile, int64_t K) {
    tiled_from_float(type::q4_k, q4_kx16_pack, src, tile, K);
}

// ---- q6_kx16: 16 q6_k rows interleaved per super-block (blocks.h) ----------------------------
// noipa: GCC 12 at -O3 (its -fpeel-loops) deleted this call from an inlined tile_from_float, which
// then left the tile unwritten; -O2, UBSan builds and the out-of-line calls were right. Tested.
__attribute__((noipa)) void q6_kx16_pack(const void *rows, size_t row_bytes, int64_t K, void *tile) {
    block_q6_kx16 *t = (block_q6_kx16 *)tile;
    for (int64_t b = 0; b < K / QK_K; b++)
        for (int r = 0; r < Q4X16_ROWS; r++) {
            const block_q6_k &q = ((const block_q6_k *)((const uint8_t *)rows + r * row_bytes))[b];
            t[b].d[r] = q.d;
            for (int s = 0; s < QK_K / 16; s++) t[b].scales[s][r] = q.scales[s];
            for (int h = 0; h < 2; h++)
                for (int j = 0; j < 8; j++) {
                    std::memcpy(&t[b].q[h][j][0][4 * r], q.ql + 64 * h + 4 * j, 4);
                    std::memcpy(&t[b].q[h][j][1][4 * r], q.ql + 64 * h + 32 + 4 * j, 4);
                    std::memcpy(&t[b].q[h][j][2][4 * r], q.qh + 32 * h + 4 * j, 4);
                }
        }
}
void q6_kx16_unpack_row(const void *tile, int64_t K, int r, void *row) {
    const block_q6_kx16 *t = (const block_q6_kx16 *)tile;
    block_q6_k *q = (block_q6_k *)row;
    for (int64_t b = 0; b < K / QK_K; b++) {
        q[b].d = t[b].d[r];
        for (int s = 0; s < QK_K / 16; s++) q[b].scales[s] = t[b].scales[s][r];
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 8; j++) {
                std::memcpy(q[b].ql + 64 * h + 4 * j, &t[b].q[h][j][0][4 * r], 4);
                std::memcpy(q[b].ql + 64 * h + 32 + 4 * j, &t[b].q[h][j][1][4 * r], 4);
                std::memcpy(q[b].qh + 32 * h + 4 * j, &t[b].q[h][j][2][4 * r], 4);
            }
    }
}
void q6_kx16_tile_to_float(const void *tile, int64_t K, int r0, int n, float *dst) {
    tiled_to_float(type::q6_k, q6_kx16_unpack_row, tile, K, r0, n, dst);
}
void q6_kx16_tile_from_float(const float *src, void *tile, int64_t K) {
    tiled_from_float(type::q6_k, q6_kx16_pack, src, tile, K);
}

int k3_scale(const uint8_t *s, int j) {
    const int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// ---- Q2_K ---------------------------------------------------------------------------------------
void q2_k_from_float(const float *x, void *dst, int64_t n) {
    block_q2_k *y = (block_q2_k *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int L[QK_K], sc[16], mn[16];
        quantize_affine_superblock(x, 16, 16, 3, 15, L, sc, mn, &y[b].d, &y[b].dmin);
        for (int j = 0; j < 16; j++) y[b].scales[j] = (uint8_t)(sc[j] | (mn[j] << 4));
        pack_2bit(L, y[b].qs);
    }
}
void q2_k_to_float(const void *src, float *y, int64_t n) {
    const block_q2_k *x = (const block_q2_k *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 4; p++)
                for (int half = 0; half < 2; half++) {
                    const uint8_t s = x[b].scales[8 * h + 2 * p + half];
                    const float dl = d * (s & 15), ml = dmin * (s >> 4);
                    const uint8_t *q = x[b].qs + 32 * h + 16 * half;
                    float *o = y + 128 * h + 32 * p + 16 * half;
                    for (int l = 0; l < 16; l++) o[l] = dl * ((q[l] >> (2 * p)) & 3) - ml;
                }
    }
}

// ---- Q3_K ---------------------------------------------------------------------------------------
void q3_k_from_float(const float *x, void *dst, int64_t n) {
    block_q3_k *y = (block_q3_k *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int L[QK_K], sc[16];
        quantize_symmetric_superblock(x, -4, 3, -32, 31, L, sc, &y[b].d);
        std::memset(y[b].scales, 0, K_SCALE_SIZE);
        for (int j = 0; j < 16; j++) {
            const int u = sc[j] + 32;
            y[b].scales[j % 8] |= (uint8_t)((u & 15) << (j < 8 ? 0 : 4));
            y[b].scales[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
        }
        std::memset(y[b].hmask, 0, sizeof y[b].hmask);
        for (int i = 0; i < QK_K; i++) {
            const int u = L[i] + 4; // 0..7: low 2 bits in qs, bit 2 in hmask
            L[i] = u & 3;
            const int h = i / 128, p = (i % 128) / 32, l = i % 32;
            if (u & 4) y[b].hmask[l] |= (uint8_t)(1 << (4 * h + p));
        }
        pack_2bit(L, y[b].qs);
    }
}
void q3_k_to_float(const void *src, float *y, int64_t n) {
    const block_q3_k *x = (const block_q3_k *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d);
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 4; p++)
                for (int half = 0; half < 2; half++) {
                    const float dl = d * k3_scale(x[b].scales, 8 * h + 2 * p + half);
                    const uint8_t *q = x[b].qs + 32 * h + 16 * half, *hm = x[b].hmask + 16 * half;
                    float *o = y + 128 * h + 32 * p + 16 * half;
                    for (int l = 0; l < 16; l++)
                        o[l] = dl * (((q[l] >> (2 * p)) & 3) - ((hm[l] >> (4 * h + p)) & 1 ? 0 : 4));
                }
    }
}

// ---- Q4_K ---------------------------------------------------------------------------------------
void q4_k_from_float(const float *x, void *dst, int64_t n) {
    block_q4_k *y = (block_q4_k *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int L[QK_K], sc[8], mn[8];
        quantize_affine_superblock(x, 8, 32, 15, 63, L, sc, mn, &y[b].d, &y[b].dmin);
        k4_pack_scales(sc, mn, y[b].scales);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}
void q4_k_to_float(const void *src, float *y, int64_t n) {
    const block_q4_k *x = (const block_q4_k *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        for (int c = 0; c < 4; c++) {
            int sc0, mn0, sc1, mn1;
            k4_scale_min(x[b].scales, 2 * c, &sc0, &mn0);
            k4_scale_min(x[b].scales, 2 * c + 1, &sc1, &mn1);
            const float d0 = d * sc0, m0 = dmin * mn0, d1 = d * sc1, m1 = dmin * mn1;
            const uint8_t *q = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++) y[64 * c + l] = d0 * (q[l] & 15) - m0;
            for (int l = 0; l < 32; l++) y[64 * c + 32 + l] = d1 * (q[l] >> 4) - m1;
        }
    }
}

// ---- Q5_K ---------------------------------------------------------------------------------------
void q5_k_from_float(const float *x, void *dst, int64_t n) {
    block_q5_k *y = (block_q5_k *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int L[QK_K], sc[8], mn[8];
        quantize_affine_superblock(x, 8, 32, 31, 63, L, sc, mn, &y[b].d, &y[b].dmin);
        k4_pack_scales(sc, mn, y[b].scales);
        std::memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
                y[b].qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
    }
}
void q5_k_to_float(const void *src, float *y, int64_t n) {
    const block_q5_k *x = (const block_q5_k *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        for (int c = 0; c < 4; c++) {
            int sc0, mn0, sc1, mn1;
            k4_scale_min(x[b].scales, 2 * c, &sc0, &mn0);
            k4_scale_min(x[b].scales, 2 * c + 1, &sc1, &mn1);
            const float d0 = d * sc0, m0 = dmin * mn0, d1 = d * sc1, m1 = dmin * mn1;
            const uint8_t *q = x[b].qs + 32 * c, *qh = x[b].qh;
            for (int l = 0; l < 32; l++) y[64 * c + l] = d0 * ((q[l] & 15) | ((qh[l] >> (2 * c)) & 1) << 4) - m0;
            for (int l = 0; l < 32; l++) y[64 * c + 32 + l] = d1 * ((q[l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4) - m1;
        }
    }
}

// ---- Q6_K ---------------------------------------------------------------------------------------
void q6_k_from_float(const float *x, void *dst, int64_t n) {
    block_q6_k *y = (block_q6_k *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int L[QK_K], sc[16];
        quantize_symmetric_superblock(x, -32, 31, -128, 127, L, sc, &y[b].d);
        for (int j = 0; j < 16; j++) y[b].scales[j] = (int8_t)sc[j];
        std::memset(y[b].ql, 0, sizeof y[b].ql);
        std::memset(y[b].qh, 0, sizeof y[b].qh);
        for (int i = 0; i < QK_K; i++) {
            const int u = L[i] + 32, h = i / 128, p = (i % 128) / 32, l = i % 32;
            y[b].ql[64 * h + l + 32 * (p & 1)] |= (uint8_t)((u & 15) << (p < 2 ? 0 : 4));
            y[b].qh[32 * h + l] |= (uint8_t)((u >> 4) << (2 * p));
        }
    }
}
void q6_k_to_float(const void *src, float *y, int64_t n) {
    const block_q6_k *x = (const block_q6_k *)src;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_fp32(x[b].d);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *sc = x[b].scales + 8 * h;
            float *o = y + 128 * h;
            for (int l = 0; l < 32; l++) {
                const int g = l / 16;
                o[l] = d * sc[g] * (((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32);
                o[l + 32] = d * sc[g + 2] * (((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = d * sc[g + 4] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = d * sc[g + 6] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
    }
}

// ---- Q8_K (activations; rounding as ggml's so integer products agree bit for bit) ---------------
void q8_k_from_float(const float *x, void *dst, int64_t n) {
    block_q8_k *y = (block_q8_k *)dst;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++)
            if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
        if (amax == 0.0f) {
            std::memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) y[b].qs[j] = (int8_t)std::min(127, round_even(iscale * x[j]));
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y[b].qs[16 * g + j];
            y[b].bsums[g] = (int16_t)s;
        }
        y[b].d = 1.0f / iscale;
    }
}
void q8_k_to_float(const void *src, float *y, int64_t n) {
    const block_q8_k *x = (const block_q8_k *)src;
    for (int64_t b = 0; b < n / QK_K; b++)
        for (int j = 0; j < QK_K; j++) *y++ = x[b].d * x[b].qs[j];
}

} // namespace tern
