// vec-dot.h — per-ISA tables of the CPU's innermost kernels.
//
// dot[t](n, w, x): one weight row w of type t (n elements) times one activation row x already in
// type_get(t)->vec_dot_type (f32 for f32/f16/bf16 weights, q8_0 for q8_0/q4_0/q5_0, q8_1 for
// q4_1/q5_1, q8_k for the K-quants and ternary formats).
// axpy[t](n, a, x, y): y[i] += a * x[i] for an f32, f16, q8_0 or q4_0 row x (attention's value
// accumulate: the cache row is dequantized on the fly).
// The generic (scalar) table is the reference; each ISA table fills what it accelerates and
// falls back to generic entries for the rest. kernels_select() picks the best the CPU runs,
// or the one named by the environment variable TERN_ISA (generic, avx2, avx512, neon / neon-dotprod).
#pragma once

#include "ggml/kv-layout.h"
#include "ggml/type-table.h"

#include <cstdint>

namespace tern {

using vec_dot_fn = float (*)(int64_t n, const void *w, const void *x);
using axpy_fn = void (*)(int64_t n, float a, const void *x, float *y);
// Two weight rows times two activation rows: out = {w0.x0, w1.x0, w0.x1, w1.x1}. Batched matmuls
// (prompt processing) use it so each unpacked weight block and activation block serves twice.
using dot2x2_fn = void (*)(int64_t n, const void *w0, const void *w1, const void *x0, const void *x1, float *out);

// Prefill GEMM micro-kernel: 16 weight rows packed k-major (wp[k*16 + r], n_rows <= 16 valid)
// times n_tok <= 6 f32 activation rows x[t*ldx + k]; writes y[t*ldy + r] for r < n_rows.
using gemm_panel_fn = void (*)(int64_t K, const float *wp, const float *x, size_t ldx, int n_tok, float *y, size_t ldy,
                               int n_rows);
constexpr int GEMM_PANEL_ROWS = 16, GEMM_PANEL_TOKENS = 6;
// rows [16][K] row-major -> panel [K][16] (the layout gemm_panel reads).
using gemm_pack_fn = void (*)(const float *rows, int64_t K, float *panel);
// The same from 16 f16 or bf16 weight rows (row r at rows + r * row_bytes, rows >= n_rows as zero),
// converting as it goes.
using gemm_pack_half_fn = void (*)(type t, const void *rows, size_t row_bytes, int n_rows, int64_t K, float *panel);

// Integer prefill GEMM micro-kernel (gemm-i8.h): one 16-row u8 panel (K elements, sub-blocks of
// sb) times n_tok <= 8 quantized activation rows (token t: q + t*ldq, d + t*ldd, s + t*lds);
// writes y[t*ldy + r] for r < n_rows. d and s hold one value per sub-block.
struct i8_acts {
    const int8_t *q;
    const float *d, *s;
    size_t ldq, ldd, lds;
};
using gemm_i8_fn = void (*)(int64_t K, int sb, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy,
                            int n_rows);

// Decode with the activation row in a kernel's own layout (one row: M = 1, not batch-invariant
// mode): gemv_prep[t](n, x, xp, ith, nth) quantizes the f32 row x into at most GEMV_ACT_BYTES(n)
// bytes at xp, with the same rounding as gemv_act_type(t) (thread ith of nth does its share; all
// of it when nth = 1); gemv_dot[t](n, w, xp) is then dot[t] of x so rounded.
using gemv_prep_fn = void (*)(int64_t n, const float *x, void *xp, int ith, int nth);
inline size_t GEMV_ACT_BYTES(int64_t n) { return (size_t)(n / 128 + 1) * 256; }
// Row-tiled decode (q4_0x16, q4_kx16, q6_kx16; blocks.h): tile_gemv[t](K, tile, xp, y) writes y[0..16) for one
// 16-row tile, xp prepared by gemv_prep[t]. q4_0x16's prepared row is one q4x16_act per 32-element
// block: the q8_0 rounding of x (the dot path's), d as float and c = -8 * sum(q), which carries
// the weights' offset of 8 in integer arithmetic.
using tile_gemv_fn = void (*)(int64_t K, const uint8_t *tile, const void *xp, float *y);
struct q4x16_act {
    int8_t q[32];
    float d;
    int32_t c;
};
static_assert(sizeof(q4x16_act) * 128 / 32 <= 256, "fits GEMV_ACT_BYTES");
// q4_kx16's: one per 256 elements, the q8_k rounding (q, d) and the sums of q per 32 elements.
struct q4kx16_act {
    int8_t q[256];
    float d;
    int32_t bsum[8];
};
static_assert(sizeof(q4kx16_act) <= 256 * 2, "fits GEMV_ACT_BYTES");
// q6_kx16's: the q8_k rounding and c = -32 * (sum of q) per 16 elements (the codes' offset).
struct q6kx16_act {
    int8_t q[256];
    float d;
    int32_t c[16];
};
static_assert(sizeof(q6kx16_act) <= 256 * 2, "fits GEMV_ACT_BYTES");

// The rounding gemv_prep applies: vec_dot_type, except f16 weights, whose decode activations are
// rounded to f16 (as ggml's vec_dot_type for F16): half the L1 footprint of f32 on long rows.
inline type gemv_act_type(type t) { return t == type::f16 ? type::f16 : type_get(t)->vec_dot_type; }

// LUT GEMV (tern's tl1..tl4/tlt weights, blocks.h). lut_prep turns one f32 activation row into
// int8 tables (16 entries per quad of 4 activations), a table scale per 64-column group and an
// activation sum per 32 columns (see lut.h). lut_gemv multiplies one 32-row tile by
// one prepared activation row: y[r] for r < 32.
using lut_prep_fn = void (*)(int64_t K, const float *x, int8_t *tables, float *tscale, float *xsum);
using lut_gemv_fn = void (*)(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale,
                             const float *xsum, float *y);

// The same for two prepared activation rows at once (prefill): each code is decoded once and
// looked up in both rows' tables. y0, y1: 32 outputs each.
struct lut_act {
    const int8_t *tables;
    const float *tscale, *xsum;
};
using lut_gemv2_fn = void (*)(type t, int64_t K, const uint8_t *tile, const lut_act *acts, float *y0, float *y1);

// KIVI attention kernels (layout in ggml/kv-layout.h), index 0 = kivi4, 1 = kivi2.
// kivi_kscore: s[t] = sum_c q[c] * k[t][c] for the 32 tokens of one key group (head size D).
// kivi_vaxpy: y[c] += a * v[c] for one value row (head size D).
using kivi_kscore_fn = void (*)(int64_t D, const uint8_t *group, const float *q, float *s);
using kivi_vaxpy_fn = void (*)(int64_t D, float a, const uint8_t *row, float *y);
// y[c] += sum_j p[j] * v_j[c] over n value rows of a KV format (rows at base + j*stride), with y
// kept in registers across the rows (D a multiple of 32). Null: per-row axpy calls.
using kv_vacc_fn = void (*)(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *p, float *y);
// s[j] = q . k_j for n key rows of a per-token KV format (rows at base + j*stride; q in f32 for
// f16 rows, in q8_0 blocks for q8_0/q4_0 rows), D a multiple of 32. Null: per-row dot calls.
using kv_kdot_fn = void (*)(int64_t D, int64_t n, const uint8_t *base, size_t stride, const float *q, float *s);

struct isa_kernels {
    const char *isa;
    lut_prep_fn lut_prep;
    lut_gemv_fn lut_gemv;
    lut_gemv2_fn lut_gemv2; // null: two lut_gemv calls
    gemm_panel_fn gemm_panel; // null: batches use the dot kernels
    gemm_pack_fn gemm_pack;   // set with gemm_panel
    gemm_pack_half_fn gemm_pack_half; // null: f16/bf16 rows converted by rows_to_float, then packed
    gemm_i8_fn gemm_i8;       // null: no integer GEMM (gemm_i8_generic is the tests' reference)
    int gemm_i8_max_code;     // largest panel code gemm_i8 multiplies exactly (255 VNNI, 127 SDOT)
    vec_dot_fn dot[(int)type::count_];
    axpy_fn axpy[(int)type::count_];
    gemv_prep_fn gemv_prep[(int)type::count_]; // null: activations as vec_dot_type for dot
    vec_dot_fn gemv_dot[(int)type::count_];
    tile_gemv_fn tile_gemv[(int)type::count_]; // row-tiled decode; generic entries inherited
    dot2x2_fn dot2x2[(int)type::count_]; // null: use four dot calls
    kivi_kscore_fn kivi_kscore[2];
    kivi_vaxpy_fn kivi_vaxpy[2];
    kv_vacc_fn kv_vacc[(int)kv_format::count_];
    kv_kdot_fn kv_kdot[(int)kv_format::count_];
};

const isa_kernels *kernels_generic();
const isa_kernels *kernels_avx2();   // nullptr when not built or not supported here
const isa_kernels *kernels_avx512(); // nullptr when not built or not supported here
const isa_kernels *kernels_neon();   // nullptr when not built (NEON is baseline on aarch64)
const isa_kernels *kernels_neon_dotprod(); // nullptr when not built or the CPU lacks SDOT
const isa_kernels *kernels_select();

// The ISA files' tables without the CPU check (the checked getters above call these).
gemm_panel_fn gemm_panel_avx2_get(); // nullptr when not built
gemm_pack_fn gemm_pack_avx2_get();
gemm_pack_half_fn gemm_pack_half_avx2_get();
const isa_kernels *kernels_avx2_unchecked();
const isa_kernels *kernels_avx512_unchecked();
const isa_kernels *kernels_neon_dotprod_unchecked();
void gemm_i8_generic(int64_t K, int sb, const uint8_t *panel, const i8_acts &x, int n_tok, float *y, size_t ldy, int n_rows);
gemm_i8_fn gemm_i8_avx512_get(); // nullptr when not built
gemm_i8_fn gemm_i8_neon_get();   // nullptr when not built with the dot-product extension

// The kernels an ISA file provides for the formats of issue 2; a null entry falls back to generic.
struct isa_entries {
    vec_dot_fn f32, f16, bf16, q8_0, q4_0, q4_1;
    axpy_fn axpy_f32, axpy_f16;
    dot2x2_fn q8_0_2x2 = nullptr, q4_0_2x2 = nullptr, q4_1_2x2 = nullptr;
};
isa_kernels kernels_make(const char *isa, const isa_entries &e, const isa_kernels *base = kernels_generic());

// Fill the entries for q5_0/q5_1, the K-quants and the ternary formats (one per ISA file pair).
void kernels_add_generic_k(isa_kernels *t);
void kernels_add_avx2_k(isa_kernels *t);   // no-op when not built
void kernels_add_avx512_k(isa_kernels *t); // no-op when not built
void kernels_add_lut_generic(isa_kernels *t);
void kernels_add_lut_avx2(isa_kernels *t); // no-op when not built
void kernels_add_lut_avx512(isa_kernels *t); // needs the AVX2 LUT entries in t; no-op when not built
void kernels_add_lut_neon(isa_kernels *t); // no-op when not built
// Attention over compressed KV caches: q8_0/q4_0 axpy and the KIVI kernels.
void kernels_add_attn_generic(isa_kernels *t);
void kernels_add_attn_avx2(isa_kernels *t); // no-op when not built
void kernels_add_attn_avx512(isa_kernels *t); // no-op when not built
void kernels_add_attn_neon(isa_kernels *t); // no-op when not built

} // namespace tern
