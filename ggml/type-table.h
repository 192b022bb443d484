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
    count_ = 40,
};

using to_float_fn = void (*)(const void *src, float *dst, int64_t n);
using from_float_fn = void (*)(const float *src, void *dst, int64_t n);

struct type_traits {
    const char *name;     // nullptr: id not in use
    int64_t block_size;   // elements per block
    size_t type_size;     // bytes per block
    bool quantized;
    to_float_fn to_float;     // reference dequantizer (nullptr: not computable yet)
    from_float_fn from_float; // reference quantizer
    type vec_dot_type;        // activation format for dot products with this weight type
};

// Row for t, or nullptr when t is outside the table or unused.
const type_traits *type_get(type t);
const type_traits *type_get(uint32_t raw);
const char *type_name(type t);
// Parse "q4_0", "F16", ... ; returns false when unknown.
bool type_from_name(const char *name, type *out);

// Bytes for one row of n elements; n must be a multiple of the block size.
size_t row_size(type t, int64_t n);

} // namespace tern
