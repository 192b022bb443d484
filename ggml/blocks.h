// blocks.h — byte layouts of the quantized GGUF block formats (identical to ggml's, so files load
// as they are). Every block stores its own scale(s) as fp16 (uint16_t bits) unless noted.
//
// Legacy formats hold 32 weights per block; K-quants and ternary formats hold 256 (QK_K) in
// a super-block with sub-block scales. Each struct says how an element x[i] is recovered; the
// reference code in quant-*.cpp is the executable definition.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

constexpr int QK8_0 = 32;
struct block_q8_0 {
    uint16_t d;        // scale
    int8_t qs[QK8_0];  // x = d * q
};
static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");

constexpr int QK8_1 = 32;
struct block_q8_1 {
    uint16_t d;        // scale
    uint16_t s;        // d * sum(qs)
    int8_t qs[QK8_1];
};
static_assert(sizeof(block_q8_1) == 36, "q8_1 layout");

constexpr int QK4_0 = 32;
struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];  // x[j] = d*((qs[j]&15)-8), x[j+16] = d*((qs[j]>>4)-8)
};
static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");

// q4_0x16: tern's in-memory layout of q4_0 weights for decode (never in a file; the CPU backend
// repacks q4_0 matrices into it at load where its kernels gain, see weight_layout in backend.h).
// Rows are tiled 16 at a time; per 32-column block a tile holds the 16 rows' fp16 scales, then
// their 16 x 16 nibble bytes ordered so that one 64-byte vector j (0..3) holds, at byte 4r + e,
// row r's element 4j+e in its low nibble and element 16+4j+e in its high nibble. A decode kernel
// then computes 16 rows at once, each 4-byte lane one row, the activations broadcast, and the 16
// scales come in one vector: no per-row shuffles. Bytes per row are q4_0's.
constexpr int Q4X16_ROWS = 16;
struct block_q4_0x16 {
    uint16_t d[Q4X16_ROWS];
    uint8_t qs[Q4X16_ROWS * QK4_0 / 2];
};
static_assert(sizeof(block_q4_0x16) == Q4X16_ROWS * sizeof(block_q4_0), "q4_0x16 layout");

constexpr int QK4_1 = 32;
struct block_q4_1 {
    uint16_t d;
    uint16_t m;             // minimum
    uint8_t qs[QK4_1 / 2];  // x[j] = d*(qs[j]&15)+m, x[j+16] = d*(qs[j]>>4)+m
};
static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");

constexpr int QK5_0 = 32;
struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];          // bit j of the little-endian uint32: 5th bit of element j
    uint8_t qs[QK5_0 / 2];  // low nibbles as q4_0; x = d*(q5 - 16)
};
static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");

constexpr int QK5_1 = 32;
struct block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];  // x = d*q5 + m
};
static_assert(sizeof(block_q5_1) == 24, "q5_1 layout");

// ---- K-quants: 256 weights per super-block ---------------------------------------------------
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;

// 2-bit, 16 sub-blocks of 16: x = d*(scales[s]&15)*q - dmin*(scales[s]>>4).
// qs: 2 halves of 128; in half h byte l (0..31) holds at bit-pair p the element
// 128h + 32p + l (so sub-block s = 8h + 2p + l/16).
struct block_q2_k {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    uint16_t d;
    uint16_t dmin;
};
static_assert(sizeof(block_q2_k) == 84, "q2_k layout");

// 3-bit, 16 sub-blocks of 16 with signed 6-bit scales (stored +32, packed in 12 bytes):
// x = d*(sc-32)*(q2 - (hbit ? 0 : 4)); low 2 bits in qs as in q2_k, the high bit of element
// 128h + 32p + l in hmask[l] bit 4h+p.
struct block_q3_k {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[K_SCALE_SIZE];
    uint16_t d;
};
static_assert(sizeof(block_q3_k) == 110, "q3_k layout");

// 4-bit, 8 sub-blocks of 32 with 6-bit scale and min packed in 12 bytes:
// x = d*sc*q - dmin*m. qs: 4 chunks of 32 bytes; chunk c holds elements 64c+l (low nibble) and
// 64c+32+l (high nibble).
struct block_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q4_k) == 144, "q4_k layout");

// q4_kx16: q4_k's runtime tile of 16 rows (like q4_0x16, never in a file). Per 256-column
// super-block: the rows' fp16 d and dmin, their 12 packed scale bytes with byte k of all 16 rows
// together (scales[k][r], so one 16-byte load decodes a sub-block's 6-bit scale or minimum for
// every row), then qs[c][j]: 64 bytes whose byte 4r + e is row r's qs[32c + 4j + e] (low nibble:
// element 64c + 4j + e, high: 64c + 32 + 4j + e). Bytes per row are q4_k's.
struct block_q4_kx16 {
    uint16_t d[Q4X16_ROWS], dmin[Q4X16_ROWS];
    uint8_t scales[K_SCALE_SIZE][Q4X16_ROWS];
    uint8_t qs[4][8][64];
};
static_assert(sizeof(block_q4_kx16) == Q4X16_ROWS * sizeof(block_q4_k), "q4_kx16 layout");

// 5-bit: q4_k plus a 5th bit; element 64c+l has it in qh[l] bit 2c, 64c+32+l in bit 2c+1.
struct block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q5_k) == 176, "q5_k layout");

// 6-bit, 16 sub-blocks of 16 with int8 scales: x = d*scales[s]*(q6 - 32). Two halves of 128;
// in half h: element 128h + 32p + l (p = 0..3, l = 0..31) has low 4 bits in
// ql[64h + l + 32*(p&1)] (low nibble for p < 2, high for p >= 2) and high 2 bits in
// qh[32h + l] bits 2p..2p+1.
struct block_q6_k {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
};
static_assert(sizeof(block_q6_k) == 210, "q6_k layout");

// q6_kx16: q6_k's runtime tile of 16 rows (never in a file). Per super-block: the rows' fp16 d,
// their 16 int8 scales byte-major (scales[s][r]), then for each half h and j < 8 three 64-byte
// vectors q[h][j][0..2] whose byte 4r + e is row r's ql[64h + 4j + e], ql[64h + 32 + 4j + e] and
// qh[32h + 4j + e]: together the codes of elements 128h + 32g + 4j + e for the four g. A kernel
// reads the tile front to back (three interleaved streams per block read from DRAM 2.3x slower:
// the prefetchers lost them). Bytes per row are q6_k's.
struct block_q6_kx16 {
    uint16_t d[Q4X16_ROWS];
    int8_t scales[QK_K / 16][Q4X16_ROWS];
    uint8_t q[2][8][3][64];
};
static_assert(sizeof(block_q6_kx16) == Q4X16_ROWS * sizeof(block_q6_k), "q6_kx16 layout");

// 8-bit activations for K-quant and ternary dot products: float scale, sums of 16-groups.
struct block_q8_k {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};
static_assert(sizeof(block_q8_k) == 292, "q8_k layout");

// ---- ternary {-1, 0, 1} * d ------------------------------------------------------------------
// tq2_0: 2 bits per weight, stored value t = w + 1. Byte j (0..63) holds at bit-pair p the element
// 128*(j/32) + 32p + j%32.
struct block_tq2_0 {
    uint8_t qs[QK_K / 4];
    uint16_t d;
};
static_assert(sizeof(block_tq2_0) == 66, "tq2_0 layout");

// tq1_0: 1.6 bits per weight. Each qs byte packs 5 trits (t = w + 1) as the fixed-point fraction
// ceil(T * 256 / 243) of T = sum t_n 3^(4-n); trit n is recovered as ((uint8)(b * 3^n) * 3) >> 8.
// qs[0..31] hold elements 32n + m, qs[32..47] elements 160 + 16n + m, qh[0..3] (4 trits each)
// elements 240 + 4n + j.
struct block_tq1_0 {
    uint8_t qs[(QK_K - 4 * QK_K / 64) / 5];
    uint8_t qh[QK_K / 64];
    uint16_t d;
};
static_assert(sizeof(block_tq1_0) == 54, "tq1_0 layout");

// ---- tern's lookup-table (LUT) types: tl1, tl2, tl3, tl4, tlt ------------------------------------
// Made for table-lookup GEMV (T-MAC): weights are bit planes of 4-weight codes, so a kernel indexes
// a per-activation table with them instead of dequantizing. Rows are stored in tiles of
// LUT_TILE_ROWS = 32 interleaved rows (a tensor's row count must be a multiple of 32); columns in
// groups of LUT_GROUP = 64 (row length a multiple of 64).
//
// Values: tlB (B = 1..4 bits) w = d*q + m with q in [0, 2^B), d and m fp16 per row and scale set;
// tlt (ternary, BitNet) w = d*(q - 1), q in {0, 1, 2}, d = D_row*s with s u8 per row and group
// (BitNet scales are uniform per tensor, so 8 bits relative to the row's D lose nothing there;
// for general weights per-row 8-bit scales collapse groups next to outliers, hence fp16 in tlB).
// Scale sets: tl1..tl3 and tlt have one per group (64 columns). tl4 has two (columns 0..31 and
// 32..63 of the group), so a Q4_0/Q4_1 file's 32-element blocks carry over exactly, at 5.0 bits
// per weight; with one set per 64 columns (4.5 bits, type id 131 of older tern builds, no longer
// read) SmolLM2-135M lost 4.8% perplexity against Q4_0.
//
// A tile of K-wide rows is
//   header:  tlt only: f32 D[32]                                             (row_extra 4 bytes)
//   K/64 groups, each:  tlB per scale set fp16 d[32], fp16 m[32]; tlt u8 s[32]; then the codes
//   (32 rows x 64 columns x B bits)
// A code is 4 bits: bit i = bit b of q at column 4*quad + i, for one (row, quad, plane b). The codes
// of a group are 8 blocks of 32*B bytes, one per quad pair v (quads 2v, 2v+1; tl4's second scale
// set covers v = 4..7). In a block, planes
// come in pairs (0,1), (2,3) of two 32-byte vectors each (rows 0..15, then 16..31), then for odd B
// the last plane alone in one 32-byte vector. In every vector, bytes 0..15 hold quad 2v and bytes
// 16..31 quad 2v+1 (one table per 128-bit lane), byte 2e+j of a lane (e = 0..7, j = 0..1):
//   pair vector, row half h:  low nibble row 16h+e, high nibble row 16h+8+e; plane 2u+j
//   single vector:            low nibble row 8j+e,  high nibble row 16+8j+e
// so the two bytes a pairwise multiply-add (maddubs) combines always belong to one row.
constexpr int LUT_TILE_ROWS = 32, LUT_GROUP = 64;
// Activation sums are kept per LUT_XSUM_COLS columns (the narrowest scale set).
constexpr int LUT_XSUM_COLS = 32;
// Scale sets per group (see above).
constexpr int lut_scale_sets(int bits, bool has_min) { return has_min && bits == 4 ? 2 : 1; }
// Bytes per row per group: scale(s) and the codes (has_min: tlB's fp16 d and m, else tlt's u8 s).
constexpr size_t lut_scale_bytes(int bits, bool has_min) { return has_min ? 4 * (size_t)lut_scale_sets(bits, has_min) : 1; }
constexpr size_t lut_block_bytes(int bits, bool has_min) { return lut_scale_bytes(bits, has_min) + (size_t)bits * LUT_GROUP / 8; }
// tlB: byte offset of scale set s's fp16 d[32] (then m[32]) within a group.
constexpr size_t lut_set_offset(int s) { return (size_t)s * 4 * LUT_TILE_ROWS; }

} // namespace tern
