// type-table.h — every tensor element type tern knows, one row each.
//
// Ids are GGUF's (ggml_type) so files load as they are. A row gives the block size (elements per
// block), the bytes per block, a reference to_float / from_float (scalar, the oracle the fast
// kernels are tested against) and vec_dot_type: the format activations are converted to, once per
// matmul, before dot products with weights of this type. Types with a size but no to_float are
// recognised (tern info prints them) but cannot be computed with yet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "blocks.h"

namespace tern {

enum class type : uint32_t {
    f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
    q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15,
    iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22,
    iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30,
    tq1_0 = 34, tq2_0 = 35,
    // tern's own lookup-table types (blocks.h, "LUT types"); ids far above ggml's.
    tl1 = 128, tl2 = 129, tl3 = 130, tlt = 132, tl4 = 133, // 131: retired tl4 layout (blocks.h)
    // Runtime-only layouts, never read from or written to a file (blocks.h).
    q4_0x16 = 134, q4_kx16 = 135, q6_kx16 = 136,
    count_ = 137,
};

using to_float_fn = void (*)(const void *src, float *dst, int64_t n);
using from_float_fn = void (*)(const float *src, void *dst, int64_t n);

// Row-tiled types (the LUT types) store tile_rows rows interleaved, so one row cannot be read
// alone: they convert whole tiles. src/dst hold rows [r0, r0 + n) of one tile of K-element rows.
using tile_to_float_fn = void (*)(const void *tile, int64_t K, int r0, int n, float *dst);
using tile_from_float_fn = void (*)(const float *src, void *tile, int64_t K); // all tile_rows rows

struct type_traits {
    const char *name;     // nullptr: id not in use
    int64_t block_size;   // elements per block
    size_t type_size;     // bytes per block
    bool quantized;
    to_float_fn to_float;     // reference dequantizer (nullptr: not computable yet, or row-tiled)
    from_float_fn from_float; // reference quantizer
    type vec_dot_type;        // activation format for dot products with this weight type
    int tile_rows = 0;        // > 0: row-tiled type (below); rows of a tensor must be a multiple
    size_t row_extra = 0;     // bytes per row besides the blocks (per-row scales of tiled types)
    tile_to_float_fn tile_to_float = nullptr;
    tile_from_float_fn tile_from_float = nullptr;
};

// Row for t, or nullptr when t is outside the table or unused.
const type_traits *type_get(type t);
const type_traits *type_get(uint32_t raw);
const char *type_name(type t);
// Parse "q4_0", "F16", ... ; returns false when unknown.
bool type_from_name(const char *name, type *out);

// Bytes for one row of n elements; n must be a multiple of the block size. For a row-tiled type
// this is a tile's bytes divided by its rows (a tensor's size is still rows * row_size).
size_t row_size(type t, int64_t n);

// tern's row-tiled lookup-table weight types (tl1..tl4, tlt; blocks.h).
inline bool type_is_lut(type t) {
    return t == type::tl1 || t == type::tl2 || t == type::tl3 || t == type::tl4 || t == type::tlt;
}

// Layouts the runtime makes from a file's type but never stores in a file (q4_0x16, q4_kx16,
// q6_kx16).
inline bool type_is_runtime_only(type t) { return t == type::q4_0x16 || t == type::q4_kx16 || t == type::q6_kx16; }
// The runtime tile layout made from file type t (q4_0 -> q4_0x16, q4_k -> q4_kx16,
// q6_k -> q6_kx16); t itself for every other type.
inline type type_tiled_for(type t) {
    return t == type::q4_0 ? type::q4_0x16 : t == type::q4_k ? type::q4_kx16 : t == type::q6_k ? type::q6_kx16 : t;
}
// Repacks n rows of K elements of type `from` (row_size(from, K) bytes apart, a plain layout) into
// `to` at dst (whole tiles; n a multiple of its tile_rows). Bit-exact: the same values. Supported:
// to == type_tiled_for(from). False (nothing written) for any other pair or shape; with
// n = 0 it only says whether the pair and K are supported.
bool rows_repack(type from, type to, const void *src, void *dst, int64_t K, int64_t n);
// The same within one buffer (both layouts take the same bytes), a tile at a time.
bool rows_repack_inplace(type from, type to, void *data, int64_t K, int64_t n);

// Whether values of type t can be converted to f32 (plain or row-tiled).
bool type_can_dequantize(type t);
// Rows [r0, r0 + n) of a 2-D tensor's data (rows of K elements of type t) to f32, dst[n][K];
// works for plain and row-tiled types (a tiled range must lie within one tile).
void rows_to_float(type t, const void *data, int64_t K, int64_t r0, int64_t n, float *dst);
// Quantizes rows [r0, r0 + n) (src[n][K]) into data; a tiled range must be whole tiles.
void rows_from_float(type t, const float *src, void *data, int64_t K, int64_t r0, int64_t n);

} // namespace tern
