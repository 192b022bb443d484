// quant-ref.h — scalar reference (de)quantizers for every computable block format.
//
// to_float(src, dst, n) and from_float(src, dst, n): n is a multiple of the format's block size.
// These are the executable definitions of the formats (and the oracle SIMD code is tested
// against); speed is secondary. The quantizers are tern's own: they minimise squared error per
// block with a few rounds of least-squares refinement, they are not bit-identical to ggml's
// (files made by either load in both), except q8_k, which reproduces ggml's activation rounding
// because llama.cpp's outputs depend on it.
#pragma once

#include "type-table.h"

#include <cstddef>
#include <cstdint>

namespace tern {

#define TERN_DECLARE_QUANT(name)                                 \
    void name##_to_float(const void *src, float *dst, int64_t n); \
    void name##_from_float(const float *src, void *dst, int64_t n);

TERN_DECLARE_QUANT(q8_0)
TERN_DECLARE_QUANT(q8_1)
TERN_DECLARE_QUANT(q4_0)
TERN_DECLARE_QUANT(q4_1)
TERN_DECLARE_QUANT(q5_0)
TERN_DECLARE_QUANT(q5_1)
TERN_DECLARE_QUANT(q2_k)
TERN_DECLARE_QUANT(q3_k)
TERN_DECLARE_QUANT(q4_k)
TERN_DECLARE_QUANT(q5_k)
TERN_DECLARE_QUANT(q6_k)
TERN_DECLARE_QUANT(q8_k)
TERN_DECLARE_QUANT(tq1_0)
TERN_DECLARE_QUANT(tq2_0)

#undef TERN_DECLARE_QUANT

// The 6-bit scale/min pairs of q4_k/q5_k (j = 0..7) and the signed 6-bit scales of q3_k
// (j = 0..15, already minus 32), unpacked from their 12-byte fields.
void k4_scale_min(const uint8_t *packed, int j, int *sc, int *mn);
int k3_scale(const uint8_t *packed, int j);

// Round half to even, as ggml's nearest_int (used where bit-exactness with llama.cpp matters).
inline int round_even(float x) {
    const float magic = 12582912.0f; // 1.5 * 2^23
    float v = x + magic;
    int32_t i;
    __builtin_memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// Round half away from zero: std::lround for |x| < 2^31, written so that compilers vectorize it
// (the library call kept the activation quantizers scalar). x - (int)x is exact in float.
inline int round_away(float x) {
    const int i = (int)x;
    const float f = x - (float)i;
    return i + (f >= 0.5f) - (f <= -0.5f);
}

// LUT types (blocks.h): whole tiles of LUT_TILE_ROWS rows; see type_traits::tile_to_float.
#define TERN_DECLARE_LUT(name)                                                      \
    void name##_tile_to_float(const void *tile, int64_t K, int r0, int n, float *dst); \
    void name##_tile_from_float(const float *src, void *tile, int64_t K);
TERN_DECLARE_LUT(tl1)
TERN_DECLARE_LUT(tl2)
TERN_DECLARE_LUT(tl3)
TERN_DECLARE_LUT(tl4)
TERN_DECLARE_LUT(tlt)
// Runtime-tiled types (blocks.h): a tile converts through the rows of its file type `row`, which
// unpack/pack take apart and put together; every *x16 tile_to_float/tile_from_float is this.
using tile_unpack_fn = void (*)(const void *tile, int64_t K, int r, void *row);
using tile_pack_fn = void (*)(const void *rows, size_t row_bytes, int64_t K, void *tile);
void tiled_to_float(type row, tile_unpack_fn unpack, const void *tile, int64_t K, int r0, int n, float *dst);
void tiled_from_float(type row, tile_pack_fn pack, const float *src, void *tile, int64_t K);
// q4_0x16 (blocks.h): whole tiles of Q4X16_ROWS rows, same signatures.
TERN_DECLARE_LUT(q4_0x16)
// Tile of 16 q4_0 rows (row_bytes apart, K elements each) -> q4_0x16, and back.
void q4_0x16_pack(const void *rows, size_t row_bytes, int64_t K, void *tile);
void q4_0x16_unpack_row(const void *tile, int64_t K, int r, void *row);
TERN_DECLARE_LUT(q4_kx16)
void q4_kx16_pack(const void *rows, size_t row_bytes, int64_t K, void *tile);
void q4_kx16_unpack_row(const void *tile, int64_t K, int r, void *row);
TERN_DECLARE_LUT(q6_kx16)
void q6_kx16_pack(const void *rows, size_t row_bytes, int64_t K, void *tile);
void q6_kx16_unpack_row(const void *tile, int64_t K, int r, void *row);
// Byte offset (within a group's codes) of the code of (row r, quad qd, plane b), and its nibble.
size_t lut_code_pos(int bits, int r, int qd, int b, bool *hi);

} // namespace tern
