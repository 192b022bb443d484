// lut.h — table-lookup GEMV for tern's LUT weight types (T-MAC's idea; layout in ggml/blocks.h).
//
// For a quad of activations x0..x3, the signed table T[c] = sum_i (bit i of c ? x_i : -x_i) over
// the 16 codes c. With q = sum_b 2^b bit_b and bit = (s + 1) / 2, s = +-1:
//     sum_i q_i x_i = 1/2 sum_b 2^b T[code_b] + (2^B - 1)/2 * sum_i x_i,
// so a B-bit weight costs B lookups per 4 weights, and the result needs only the activation sum
// per group besides. T is quantized to int8 per 64-column group (tscale = max sum|x| / 127), so a
// lookup is a byte shuffle (vpshufb / tbl). Mirror symmetry T[15 - c] = -T[c] (exact in floating
// point and under round-to-nearest-even) halves the table building: 8 entries are computed and 8
// negated. The kernels keep all 16 entries: storing half and applying the sign per lookup (T-MAC's
// mirror consolidation) measured 17 vector ops per 64 codes on this Zen CPU against 10 for full
// tables with paired planes (issue 4's note).
// Aggregation: a row's codes of planes 2u and 2u+1 sit in adjacent bytes, so one maddubs with the
// byte weights (2^2u, 2^(2u+1)) turns two lookups into the row's int16 partial sum (an odd last
// plane uses the weights (2^b, 0) and (0, 2^b)). |sum| <= 16 quads * 15 * 127 fits in int16.
// Per row and scale set: y += d * (tscale/2 * ACC + c * X) + m * X, where ACC = sum_b 2^b sum T
// over the set's columns, X their activation sum, c = (2^B - 1)/2 for tlB and 1/2 for tlt (whose
// m = -d). Activation sums are kept per 32 columns (tl4's scale sets); a 64-column set adds two.
#pragma once

#include "ggml/blocks.h"
#include "ggml/type-table.h"
#include "vec-dot.h"

#include <cstddef>
#include <cstdint>

namespace tern {

inline int lut_bits(type t) { return t == type::tlt ? 2 : t == type::tl4 ? 4 : (int)t - (int)type::tl1 + 1; }

// Scratch for one prepared activation row of K columns: tables (16 bytes per quad, K * 4 bytes),
// then the table scale per 64-column group and the activation sum per 32 columns (floats).
// Rounded up to 64 bytes.
constexpr int LUT_TABLE_BYTES = 16;
inline size_t lut_act_bytes(int64_t K) {
    return ((size_t)K * 4 + (size_t)(K / LUT_GROUP + K / LUT_XSUM_COLS) * sizeof(float) + 63) / 64 * 64;
}
// Activation sum of columns [64g, 64g + 64) from the per-32 sums.
inline float lut_xsum64(const float *xsum, int64_t g) { return xsum[2 * g] + xsum[2 * g + 1]; }
// Activation sum of scale set s of group g, for a type with `sets` sets per group.
inline float lut_set_xsum(const float *xsum, int64_t g, int s, int sets) {
    return sets == 2 ? xsum[2 * g + s] : lut_xsum64(xsum, g);
}
// Where row m's prepared activation lives in a scratch of lut_act_bytes(K)-sized slots.
struct lut_act_slot {
    int8_t *tables;
    float *tscale, *xsum;
    lut_act in() const { return {tables, tscale, xsum}; }
};
inline lut_act_slot lut_act_at(uint8_t *base, int64_t K) {
    float *f = (float *)(base + (size_t)K * 4);
    return {(int8_t *)base, f, f + K / LUT_GROUP};
}

// Scalar reference versions (every ISA's kernels are tested against them).
void lut_prep_generic(int64_t K, const float *x, int8_t *tables, float *tscale, float *xsum);
void lut_gemv_generic(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale,
                      const float *xsum, float *y);

} // namespace tern
