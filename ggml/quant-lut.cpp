// quant-lut.cpp — reference (de)quantizers of tern's LUT types (layout in blocks.h). They work on
// whole tiles of 32 rows; these are the executable definition of the format. code_pos() is
// exported (lut_code_pos) for the scalar GEMV reference.
#include "blocks.h"
#include "fp16.h"
#include "quant-ref.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tern {

namespace {

constexpr int kR = LUT_TILE_ROWS, kG = LUT_GROUP;

struct lut_shape {
    int bits;
    bool has_min; // tlB: w = d*q + m; tlt: w = d*(q - 1)
    size_t header() const { return has_min ? 0 : (size_t)kR * 4; }
    size_t group_bytes() const { return (size_t)kR * lut_block_bytes(bits, has_min); }
    size_t planes_offset() const { return (size_t)kR * lut_scale_bytes(bits, has_min); }
    int sets() const { return lut_scale_sets(bits, has_min); }
    // tlB: the fp16 d[32], m[32] of scale set s in a group
    static fp16_t *dm(uint8_t *grp, int s) { return (fp16_t *)(grp + lut_set_offset(s)); }
    static const fp16_t *dm(const uint8_t *grp, int s) { return (const fp16_t *)(grp + lut_set_offset(s)); }
};

// Where the code of (row r, quad qd, plane b) lives in a group's code area: byte offset, and
// whether it is the high nibble (layout in blocks.h).
inline size_t code_pos(int bits, int r, int qd, int b, bool *hi) {
    const size_t block = (size_t)(qd >> 1) * 32 * bits, lane = (size_t)(qd & 1) * 16;
    const int e = r & 7;
    if (b < (bits & ~1)) { // paired plane
        *hi = (r & 15) >= 8;
        return block + (size_t)(b >> 1) * 64 + (size_t)(r >> 4) * 32 + lane + 2 * e + (b & 1);
    }
    *hi = r >= 16; // the single last plane of an odd bit count
    return block + (size_t)(bits >> 1) * 64 + lane + 2 * e + ((r >> 3) & 1);
}

// q (one value per column of the quad) for row r, quad qd of a group's codes.
inline void get_quad(const uint8_t *codes, int bits, int r, int qd, int q[4]) {
    q[0] = q[1] = q[2] = q[3] = 0;
    for (int b = 0; b < bits; b++) {
        bool hi;
        const uint8_t byte = codes[code_pos(bits, r, qd, b, &hi)];
        const uint8_t c = hi ? byte >> 4 : byte & 15;
        for (int i = 0; i < 4; i++) q[i] |= ((c >> i) & 1) << b;
    }
}

inline void set_quad(uint8_t *codes, int bits, int r, int qd, const int q[4]) {
    for (int b = 0; b < bits; b++) {
        uint8_t c = 0;
        for (int i = 0; i < 4; i++) c |= (uint8_t)(((q[i] >> b) & 1) << i);
        bool hi;
        uint8_t &byte = codes[code_pos(bits, r, qd, b, &hi)];
        byte = hi ? (uint8_t)((byte & 0x0F) | (c << 4)) : (uint8_t)((byte & 0xF0) | c);
    }
}

void tile_to_float(const lut_shape &sh, const void *tile, int64_t K, int r0, int n, float *dst) {
    const uint8_t *t = (const uint8_t *)tile;
    const float *D = (const float *)t;
    for (int r = r0; r < r0 + n; r++) {
        float *out = dst + (int64_t)(r - r0) * K;
        for (int64_t g = 0; g < K / kG; g++) {
            const uint8_t *grp = t + sh.header() + (size_t)g * sh.group_bytes();
            for (int qd = 0; qd < kG / 4; qd++) {
                const fp16_t *dm = lut_shape::dm(grp, qd / (kG / 4 / sh.sets()));
                const float d = sh.has_min ? fp16_to_fp32(dm[r]) : D[r] * (float)grp[r];
                const float m = sh.has_min ? fp16_to_fp32(dm[kR + r]) : -d;
                int q[4];
                get_quad(grp + sh.planes_offset(), sh.bits, r, qd, q);
                for (int i = 0; i < 4; i++) out[g * kG + 4 * qd + i] = d * (float)q[i] + m;
            }
        }
    }
}

// Weighted least-squares (d, m) for w ~ d*q + m, q in [0, nmax] (d may come out negative, for grids
// taken over from Q4_0 below): min/max start, then a few rounds
// of assign q / refit, keeping the best. Errors are weighted by w^2 + mean(w^2) (as llama.cpp's
// K-quant searches do): large weights matter most to the model's output, and plain RMS fits of
// 64-wide groups let them drift (SmolLM2 tl4: perplexity 12.89 unweighted).
void fit_affine(const float *w, int n, int nmax, float *d_out, float *m_out) {
    float mn = w[0], mx = w[0];
    double s2 = 0;
    for (int i = 0; i < n; i++) mn = std::min(mn, w[i]), mx = std::max(mx, w[i]), s2 += (double)w[i] * w[i];
    const double sigma2 = s2 / n;
    auto weight = [&](int i) { return (double)w[i] * w[i] + sigma2; };
    float d = (mx - mn) / (float)nmax, m = mn;
    auto error = [&](float dd, float mm) { // with d and m as stored (fp16)
        dd = fp16_to_fp32(fp32_to_fp16(dd));
        mm = fp16_to_fp32(fp32_to_fp16(mm));
        double e = 0;
        for (int i = 0; i < n; i++) {
            const int q = dd != 0 ? std::clamp((int)std::nearbyint((w[i] - mm) / dd), 0, nmax) : 0;
            const double r = w[i] - (dd * (float)q + mm);
            e += weight(i) * r * r;
        }
        return e;
    };
    double best = error(d, m);
    float bd = d, bm = m;
    // start points: the full range, and ranges shrunk towards the middle (clipping outliers of
    // small weight is sometimes cheaper than a coarse grid)
    for (int start = 0; start < 6 && mx > mn; start++) {
        const float shrink = 1.0f - 0.04f * (float)start;
        const float mid = 0.5f * (mx + mn), half = 0.5f * (mx - mn) * shrink;
        d = 2 * half / (float)nmax;
        m = mid - half;
        for (int it = 0; it < 4 && d > 0; it++) {
            double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
            for (int i = 0; i < n; i++) {
                const int q = std::clamp((int)std::nearbyint((w[i] - m) / d), 0, nmax);
                const double c = weight(i);
                sw += c, sq += c * q, sqq += c * q * q, sx += c * w[i], sqx += c * q * w[i];
            }
            const double det = sw * sqq - sq * sq;
            if (det <= 0) break;
            const float nd = (float)((sw * sqx - sq * sx) / det);
            const float nm = (float)((sx - nd * sq) / sw);
            if (!(nd > 0)) break;
            d = nd, m = nm;
            const double e = error(d, m);
            if (e < best) best = e, bd = d, bm = m;
        }
    }
    // Weights that already lie on a grid (converted from Q4_0/Q4_1 blocks of the same width) keep
    // it: the step is the smallest gap between distinct values. Offsets tried: the minimum (Q4_1),
    // and Q4_0's d*(q - 8), whose step d may be negative (its largest magnitude maps to q = 0), so
    // the levels run from -8|d| up or from 8|d| down; m = -8d is exact in fp16 where 7|d| would
    // not be.
    if (best > 0 && mx > mn) {
        std::vector<float> v(w, w + n);
        std::sort(v.begin(), v.end());
        float gap = 0;
        for (int i = 1; i < n; i++)
            if (v[i] > v[i - 1] && (gap == 0 || v[i] - v[i - 1] < gap)) gap = v[i] - v[i - 1];
        const float half = 0.5f * (float)(nmax + 1) * gap;
        const float cand[3][2] = {{gap, mn}, {gap, -half}, {-gap, half}};
        for (const auto &c : cand) {
            const double e = error(c[0], c[1]);
            if (e < best) best = e, bd = c[0], bm = c[1];
        }
    }
    *d_out = bd;
    *m_out = bm;
}

void tile_from_float(const lut_shape &sh, const float *src, void *tile, int64_t K) {
    uint8_t *t = (uint8_t *)tile;
    std::memset(t, 0, sh.header() + (size_t)(K / kG) * sh.group_bytes());
    float *D = (float *)t;
    const int64_t n_groups = K / kG;
    const int nmax = (1 << sh.bits) - 1, sets = sh.sets(), cols = kG / sets; // columns per scale set
    // d and m per scale set (tlt: per group)
    std::vector<float> dq(n_groups * sets), mq(n_groups * sets);
    for (int r = 0; r < kR; r++) {
        const float *w = src + (int64_t)r * K;
        if (sh.has_min) {
            for (int64_t g = 0; g < n_groups; g++)
                for (int s = 0; s < sets; s++) {
                    float d, m;
                    fit_affine(w + g * kG + s * cols, cols, nmax, &d, &m);
                    fp16_t *dm = lut_shape::dm(t + (size_t)g * sh.group_bytes(), s);
                    dm[r] = fp32_to_fp16(d);
                    dm[kR + r] = fp32_to_fp16(m);
                    dq[g * sets + s] = fp16_to_fp32(dm[r]);
                    mq[g * sets + s] = fp16_to_fp32(dm[kR + r]);
                }
        } else { // ternary: d = max |w| per group (exact for {-s, 0, s} data), 8 bits relative to the row's max
            float dmax = 0;
            for (int64_t g = 0; g < n_groups; g++) {
                float amax = 0;
                for (int i = 0; i < kG; i++) amax = std::max(amax, std::fabs(w[g * kG + i]));
                dq[g] = amax;
                dmax = std::max(dmax, amax);
            }
            D[r] = dmax / 255.0f;
            for (int64_t g = 0; g < n_groups; g++) {
                const int s = D[r] > 0 ? std::clamp((int)std::nearbyint(dq[g] / D[r]), 0, 255) : 0;
                t[sh.header() + (size_t)g * sh.group_bytes() + r] = (uint8_t)s;
                dq[g] = D[r] * (float)s;
                mq[g] = -dq[g];
            }
        }
        for (int64_t g = 0; g < n_groups; g++) {
            uint8_t *grp = t + sh.header() + (size_t)g * sh.group_bytes();
            for (int qd = 0; qd < kG / 4; qd++) {
                const int64_t k = g * sets + 4 * qd / cols;
                int q[4];
                for (int i = 0; i < 4; i++) {
                    const float v = w[g * kG + 4 * qd + i];
                    q[i] = dq[k] != 0 ? std::clamp((int)std::nearbyint((v - mq[k]) / dq[k]), 0, nmax) : 0;
                }
                set_quad(grp + sh.planes_offset(), sh.bits, r, qd, q);
            }
        }
    }
}

constexpr lut_shape k_tl1{1, true}, k_tl2{2, true}, k_tl3{3, true}, k_tl4{4, true}, k_tlt{2, false};

} // namespace

size_t lut_code_pos(int bits, int r, int qd, int b, bool *hi) { return code_pos(bits, r, qd, b, hi); }

#define TERN_DEFINE_LUT(name)                                                                          \
    void name##_tile_to_float(const void *tile, int64_t K, int r0, int n, float *dst) {                \
        tile_to_float(k_##name, tile, K, r0, n, dst);                                                  \
    }                                                                                                  \
    void name##_tile_from_float(const float *src, void *tile, int64_t K) { tile_from_float(k_##name, src, tile, K); }
TERN_DEFINE_LUT(tl1)
TERN_DEFINE_LUT(tl2)
TERN_DEFINE_LUT(tl3)
TERN_DEFINE_LUT(tl4)
TERN_DEFINE_LUT(tlt)

} // namespace tern
