// lut.h — table-lookup GEMV for tern's LUT weight types (T-MAC's idea; layout in ggml/blocks.h).
//
// For a quad of activations x0..x3 the signed table T[c] = sum_i (bit i of c ? x_i : -x_i) over the
// 16 codes c has T[~c] = -T[c], so only the 8 entries with bit 3 clear are kept (mirror
// consolidation): H[j] = T[j], j < 8; a weight code with bit 3 set reads H[~c & 7] negated (codes
// are stored already folded). With q = sum_b 2^b bit_b and bit = (s + 1) / 2, s = +-1:
//     sum_i q_i x_i = 1/2 sum_b 2^b T[code_b] + (2^B - 1)/2 * sum_i x_i,
// so a B-bit weight costs B lookups per 4 weights and the result needs only the activation sum
// per group. H is quantized to int8 per 64-column group (scale tscale = max sum|x| / 127) so a
// lookup is a byte shuffle (vpshufb / tbl); the two quads of a 16-byte table make adjacent bytes
// of one row, which a pairwise add (maddubs with ones / vpadal) sums into int16 per row.
// Per row and group: y += d * (tscale/2 * ACC + c * X) + m * X, where ACC = sum_b 2^b sum T, X the
// activation sum, c = (2^B - 1)/2 for tlB and 1/2 for tlt (whose m = -d).
#pragma once

#include "ggml/blocks.h"
#include "ggml/type-table.h"

#include <cstddef>
#include <cstdint>

namespace tern {

inline bool type_is_lut(type t) { return t >= type::tl1 && t <= type::tlt; }
inline int lut_bits(type t) { return t == type::tlt ? 2 : (int)t - (int)type::tl1 + 1; }

// Scratch for one prepared activation row of K columns: tables (K/4 * 8 bytes), then per group
// the table scale and activation sum (floats). Rounded up to 64 bytes.
inline size_t lut_act_bytes(int64_t K) {
    return ((size_t)K * 2 + (size_t)(K / LUT_GROUP) * 2 * sizeof(float) + 63) / 64 * 64;
}
struct lut_act_view {
    int8_t *tables;
    float *tscale, *xsum;
};
inline lut_act_view lut_act_at(uint8_t *base, int64_t K) {
    float *f = (float *)(base + (size_t)K * 2);
    return {(int8_t *)base, f, f + K / LUT_GROUP};
}

// Scalar reference versions (every ISA's kernels are tested against them).
void lut_prep_generic(int64_t K, const float *x, int8_t *tables, float *tscale, float *xsum);
void lut_gemv_generic(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale,
                      const float *xsum, float *y);

} // namespace tern
