// gemm-i8.h — the integer prefill GEMM: block-quantized weights repacked, 16 rows at a time, into
// an unsigned 8-bit panel; activations quantized once per matmul to signed 8 bits; the ISA kernel
// multiplies them with VPDPBUSD (u8 x s8 -> s32) or SDOT, rows in vector lanes, tokens broadcast.
//
// Every packable format is written exactly as w = a * q + b per sub-block of SB elements
// (q an unsigned byte, a and b floats per row and sub-block): q4_0 (q = nibble, b = -8a), q4_1,
// q5_0, q5_1, q8_0 (q = w + 128, b = -128a), q4_k and q5_k (a = d*sc, b = -dmin*m), the ternary
// formats (q = w + 1, b = -a) with SB = 32, and q2_k, q3_k, q6_k, whose scales change every 16
// elements, with SB = 16. The panel therefore holds the weights' own integers: no rounding is
// added on the weight side. Activations are quantized once per matmul exactly as the dot path
// quantizes them (the weight type's vec_dot_type: q8_0, q8_1 or q8_k blocks, so results agree with
// the dot kernels and with llama.cpp's integer products); per sub-block the kernel takes their
// scale d and s = d * sum(q) (q8_1: the block's stored s), which carries the b term:
//   y = sum over sub-blocks of a * d * (q_w . q_x) + b * s.
#pragma once

#include "ggml/type-table.h"

#include <cstddef>
#include <cstdint>

namespace tern {

constexpr int I8_PANEL_ROWS = 16, I8_PANEL_TOKENS = 8;

// Elements per sub-block of weight type t on this path: 32 or 16; 0 when t is not packable.
int i8_subblock(type t);
// The largest code t's panel holds (q8_0: 255, q6_k: 63, q4_*: 15, ..., ternary: 2).
int i8_max_code(type t);

// Panel of 16 rows over K (K a multiple of sb): q [K/sb][sb/4][16 rows][4 bytes] (so one 64-byte
// vector holds 4 consecutive elements of each row), then a and b, [K/sb][16] floats each.
size_t i8_panel_bytes(int64_t K, int sb);
// Pack n_rows (<= 16) rows of type t, row_bytes apart, into panel (rows past n_rows are zero).
void i8_pack_panel(type t, const uint8_t *rows, size_t row_bytes, int n_rows, int64_t K, uint8_t *panel);

// One activation row quantized to blocks of vdt (in tmp, row_size(vdt, K) bytes), then taken apart:
// q[K], d[K/sb], s[K/sb] (see above).
void i8_quantize_act(type vdt, const float *x, int64_t K, int sb, uint8_t *tmp, int8_t *q, float *d, float *s);

} // namespace tern
