// quant-lut.cpp — reference (de)quantizers of tern's LUT types (layout in blocks.h). They work on
// whole tiles of 32 rows; these are the executable definition of the format. code_pos() is
// exported (lut_code_pos) for the scalar GEMV reference.
#include "blocks.h"
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
    size_t header() const { return (size_t)kR * (has_min ? 8 : 4); }
    size_t group_bytes() const { return (size_t)kR * lut_block_bytes(bits, has_min); }
    size_t planes_offset() const { return (size_t)kR * (has_min ? 2 : 1); }
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
    const float *D = (const float *)t, *M = sh.has_min ? D + kR : nullptr;
    for (int r = r0; r < r0 + n; r++) {
        float *out = dst + (int64_t)(r - r0) * K;
        for (int64_t g = 0; g < K / kG; g++) {
            const uint8_t *grp = t + sh.header() + (size_t)g * sh.group_bytes();
            const float d = D[r] * (float)grp[r];
            const float m = sh.has_min ? M[r] * (float)(int8_t)grp[kR + r] : -d;
            for (int qd = 0; qd < kG / 4; qd++) {
                int q[4];
                get_quad(grp + sh.planes_offset(), sh.bits, r, qd, q);
                for (int i = 0; i < 4; i++) out[g * kG + 4 * qd + i] = d * (float)q[i] + m;
            }
        }
    }
}

// Least-squares (d, m) for w ~ d*q + m, q in [0, nmax]: min/max start, then a few rounds of
// assign q / refit, keeping the best.
void fit_affine(const float *w, int n, int nmax, float *d_out, float *m_out) {
    float mn = w[0], mx = w[0];
    for (int i = 1; i < n; i++) mn = std::min(mn, w[i]), mx = std::max(mx, w[i]);
    float d = (mx - mn) / (float)nmax, m = mn;
    auto error = [&](float dd, float mm) {
        double e = 0;
        for (int i = 0; i < n; i++) {
            const int q = dd > 0 ? std::clamp((int)std::nearbyint((w[i] - mm) / dd), 0, nmax) : 0;
            const double r = w[i] - (dd * (float)q + mm);
            e += r * r;
        }
        return e;
    };
    double best = error(d, m);
    float bd = d, bm = m;
    for (int it = 0; it < 4 && d > 0; it++) {
        double sq = 0, sqq = 0, sw = 0, sqw = 0;
        for (int i = 0; i < n; i++) {
            const int q = std::clamp((int)std::nearbyint((w[i] - m) / d), 0, nmax);
            sq += q, sqq += (double)q * q, sw += w[i], sqw += (double)q * w[i];
        }
        const double det = n * sqq - sq * sq;
        if (det <= 0) break;
        d = (float)((n * sqw - sq * sw) / det);
        m = (float)((sw - d * sq) / n);
        if (d <= 0) break;
        const double e = error(d, m);
        if (e < best) best = e, bd = d, bm = m;
    }
    *d_out = bd;
    *m_out = bm;
}

void tile_from_float(const lut_shape &sh, const float *src, void *tile, int64_t K) {
    uint8_t *t = (uint8_t *)tile;
    std::memset(t, 0, sh.header() + (size_t)(K / kG) * sh.group_bytes());
    float *D = (float *)t, *M = sh.has_min ? D + kR : nullptr;
    const int64_t n_groups = K / kG;
    const int nmax = (1 << sh.bits) - 1;
    std::vector<float> d(n_groups), m(n_groups);
    for (int r = 0; r < kR; r++) {
        const float *w = src + (int64_t)r * K;
        for (int64_t g = 0; g < n_groups; g++) {
            if (sh.has_min) {
                fit_affine(w + g * kG, kG, nmax, &d[g], &m[g]);
            } else { // ternary: d = max |w| (exact for {-s, 0, s} data, as TQ1_0/TQ2_0)
                float amax = 0;
                for (int i = 0; i < kG; i++) amax = std::max(amax, std::fabs(w[g * kG + i]));
                d[g] = amax;
                m[g] = -amax;
            }
        }
        const float dmax = *std::max_element(d.begin(), d.end());
        float mabs = 0;
        for (float v : m) mabs = std::max(mabs, std::fabs(v));
        D[r] = dmax / 255.0f;
        if (sh.has_min) M[r] = mabs / 127.0f;
        for (int64_t g = 0; g < n_groups; g++) {
            uint8_t *grp = t + sh.header() + (size_t)g * sh.group_bytes();
            const int s = D[r] > 0 ? std::clamp((int)std::nearbyint(d[g] / D[r]), 0, 255) : 0;
            grp[r] = (uint8_t)s;
            const float dq = D[r] * (float)s;
            float mq = -dq;
            if (sh.has_min) {
                const int tq = M[r] > 0 ? std::clamp((int)std::nearbyint(m[g] / M[r]), -127, 127) : 0;
                grp[kR + r] = (uint8_t)(int8_t)tq;
                mq = M[r] * (float)tq;
            }
            for (int qd = 0; qd < kG / 4; qd++) {
                int q[4];
                for (int i = 0; i < 4; i++) {
                    const float v = w[g * kG + 4 * qd + i];
                    q[i] = dq > 0 ? std::clamp((int)std::nearbyint((v - mq) / dq), 0, nmax) : 0;
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
