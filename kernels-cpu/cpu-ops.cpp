// cpu-ops.cpp — CPU implementation of every graph op. Each op function is called by all
// threads of the parallel region with (ith, nth) and splits its own work; ops that need two
// phases (quantize activations, then dot products) call barrier(c) between them.
//
// Conventions: ne[0] is the innermost dim; rows are ne[0] elements; activations are f32 and
// contiguous; weights may be any type with a dot kernel.
#include "cpu-ops.h"

#include "gemm-i8.h"
#include "ggml/fp16.h"
#include "lut.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tern {

namespace {

inline float *row_f32(const tensor *t, int64_t r) { return (float *)((uint8_t *)t->data + r * t->nb[1]); }

size_t gemm_scratch_bytes(int64_t K) { return ((size_t)(2 * GEMM_PANEL_ROWS) * (size_t)K * sizeof(float) + 63) / 64 * 64; }

inline size_t align64(size_t n) { return (n + 63) / 64 * 64; }

// Work area of the integer GEMM: the quantized activations (shared), then a panel per thread.
struct i8_work {
    size_t q, d, s, thread0, per_thread;
};
i8_work i8_work_layout(int64_t K, int64_t M, int sb) {
    i8_work l;
    l.q = 0;
    l.d = align64((size_t)(M * K));
    l.s = l.d + align64((size_t)(M * (K / sb)) * sizeof(float));
    l.thread0 = l.s + align64((size_t)(M * (K / sb)) * sizeof(float));
    l.per_thread = align64(i8_panel_bytes(K, sb));
    return l;
}

void op_get_rows(const op_ctx &c, tensor *dst) {
    const tensor *table = dst->src[0], *ids = dst->src[1];
    int64_t lo, hi;
    split(ids->ne[0], c.ith, c.nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        int32_t id = ((const int32_t *)ids->data)[i];
        if (id < 0 || id >= table->ne[1]) id = 0; // ids are validated by the runtime; never read out of bounds
        rows_to_float(table->ttype, table->data, table->ne[0], id, 1, row_f32(dst, i));
    }
}

// Prefill path: weights dequantized 16 rows at a time into a k-major f32 panel (per-thread
// scratch), then multiplied with f32 activations by the ISA's GEMM micro-kernel, 6 tokens per
// call. Activations are not quantized on this path (more accurate than the dot path).
void mul_mat_gemm(const op_ctx &c, tensor *dst) {
    const tensor *w = dst->src[0], *x = dst->src[1];
    const int64_t K = w->ne[0], N = w->ne[1], M = tensor_nrows(x);
    float *scratch = (float *)(c.work + (size_t)c.ith * gemm_scratch_bytes(K));
    float *panel = scratch, *rows = scratch + GEMM_PANEL_ROWS * K; // rows: [16][K], panel: [K][16]
    const uint8_t *wd = (const uint8_t *)w->data;
    const size_t ldx = x->nb[1] / sizeof(float);
    const float *xd = (const float *)x->data;
    float *y = (float *)dst->data;
    const int64_t n_chunks = (N + GEMM_PANEL_ROWS - 1) / GEMM_PANEL_ROWS;
    for (int64_t ch = c.ith; ch < n_chunks; ch = c.nth + c.next_chunk->fetch_add(1, std::memory_order_relaxed)) {
        const int64_t r0 = ch * GEMM_PANEL_ROWS;
        const int nr = (int)std::min<int64_t>(GEMM_PANEL_ROWS, N - r0);
        if (c.k->gemm_pack_half && (w->ttype == type::f16 || w->ttype == type::bf16)) {
            c.k->gemm_pack_half(w->ttype, wd + r0 * w->nb[1], w->nb[1], nr, K, panel);
        } else {
            rows_to_float(w->ttype, wd, K, r0, nr, rows); // 16-row chunks never straddle a 32-row tile
            std::fill(rows + nr * K, rows + GEMM_PANEL_ROWS * K, 0.0f);
            c.k->gemm_pack(rows, K, panel);
        }
        for (int64_t m = 0; m < M; m += GEMM_PANEL_TOKENS) {
            const int nt = (int)std::min<int64_t>(GEMM_PANEL_TOKENS, M - m);
            c.k->gemm_panel(K, panel, xd + m * ldx, ldx, nt, y + m * N + r0, (size_t)N, nr);
        }
    }
}

// Integer prefill path (gemm-i8.h): activations quantized once (rows split over threads), then
// 16-row chunks of weights handed out dynamically; each chunk is repacked into the thread's u8
// panel and multiplied with all M tokens, 8 at a time.
void mul_mat_gemm_i8(const op_ctx &c, tensor *dst) {
    const tensor *w = dst->src[0], *x = dst->src[1];
    const int64_t K = w->ne[0], N = w->ne[1], M = tensor_nrows(x);
    const int sb = i8_subblock(w->ttype);
    const i8_work l = i8_work_layout(K, M, sb);
    int8_t *aq = (int8_t *)(c.work + l.q);
    float *ad = (float *)(c.work + l.d), *as = (float *)(c.work + l.s);
    int64_t lo, hi;
    split(M, c.ith, c.nth, &lo, &hi);
    uint8_t *panel = c.work + l.thread0 + (size_t)c.ith * l.per_thread; // also the quantizer's scratch
    const type vdt = type_get(w->ttype)->vec_dot_type;
    for (int64_t m = lo; m < hi; m++)
        i8_quantize_act(vdt, row_f32(x, m), K, sb, panel, aq + m * K, ad + m * (K / sb), as + m * (K / sb));
    barrier(c);
    const uint8_t *wd = (const uint8_t *)w->data;
    float *y = (float *)dst->data;
    const int64_t n_chunks = (N + I8_PANEL_ROWS - 1) / I8_PANEL_ROWS;
    for (int64_t ch = c.ith; ch < n_chunks; ch = c.nth + c.next_chunk->fetch_add(1, std::memory_order_relaxed)) {
        const int64_t r0 = ch * I8_PANEL_ROWS;
        const int nr = (int)std::min<int64_t>(I8_PANEL_ROWS, N - r0);
        i8_pack_panel(w->ttype, wd + r0 * w->nb[1], w->nb[1], nr, K, panel);
        for (int64_t m = 0; m < M; m += I8_PANEL_TOKENS) {
            const int nt = (int)std::min<int64_t>(I8_PANEL_TOKENS, M - m);
            const i8_acts xa{aq + m * K, ad + m * (K / sb), as + m * (K / sb), (size_t)K, (size_t)(K / sb), (size_t)(K / sb)};
            c.k->gemm_i8(K, sb, panel, xa, nt, y + m * N + r0, (size_t)N, nr);
        }
    }
}

// LUT types (lut.h): each activation row is turned into int8 lookup tables once, then 32-row
// weight tiles are handed out to threads and each tile is multiplied with every prepared row
// (the tile stays in L1 while the rows' tables are read).
void mul_mat_lut(const op_ctx &c, tensor *dst) {
    const tensor *w = dst->src[0], *x = dst->src[1];
    const int64_t K = w->ne[0], N = w->ne[1], M = tensor_nrows(x);
    const size_t ab = lut_act_bytes(K);
    int64_t lo, hi;
    split(M, c.ith, c.nth, &lo, &hi);
    for (int64_t m = lo; m < hi; m++) {
        const lut_act_slot a = lut_act_at(c.work + m * ab, K);
        c.k->lut_prep(K, row_f32(x, m), a.tables, a.tscale, a.xsum);
    }
    barrier(c);
    const uint8_t *wd = (const uint8_t *)w->data;
    const size_t tile_bytes = w->nb[1] * LUT_TILE_ROWS;
    float *y = (float *)dst->data;
    const int64_t n_tiles = N / LUT_TILE_ROWS;
    const int64_t per = matmul_chunk_rows(n_tiles, M, c.nth, 0, 1); // tiles per chunk (each swept over M at once)
    const int64_t n_chunks = (n_tiles + per - 1) / per;
    for (int64_t ch = c.ith; ch < n_chunks; ch = c.nth + c.next_chunk->fetch_add(1, std::memory_order_relaxed)) {
        for (int64_t t = ch * per; t < std::min(n_tiles, (ch + 1) * per); t++) {
            const uint8_t *tile = wd + t * tile_bytes;
            int64_t m = 0;
            if (c.k->lut_gemv2) // two tokens per pass: each code decoded once
                for (; m + 2 <= M; m += 2) {
                    const lut_act acts[2] = {lut_act_at(c.work + m * ab, K).in(), lut_act_at(c.work + (m + 1) * ab, K).in()};
                    c.k->lut_gemv2(w->ttype, K, tile, acts, y + m * N + t * LUT_TILE_ROWS, y + (m + 1) * N + t * LUT_TILE_ROWS);
                }
            for (; m < M; m++) {
                const lut_act a = lut_act_at(c.work + m * ab, K).in();
                c.k->lut_gemv(w->ttype, K, tile, a.tables, a.tscale, a.xsum, y + m * N + t * LUT_TILE_ROWS);
            }
        }
    }
}

// Row-tiled weights (q4_0x16) outside the GEMM: each activation column prepared once (gemv_prep;
// a decode column shared by q/k/v or gate/up only once), then 16-row tiles handed out in chunks
// and each tile multiplied with every column while it is in L1.
void mul_mat_tiled(const op_ctx &c, tensor *dst) {
    const tensor *w = dst->src[0], *x = dst->src[1];
    const int64_t K = w->ne[0], N = w->ne[1], M = tensor_nrows(x);
    const gemv_prep_fn prep = c.k->gemv_prep[(int)w->ttype];
    const tile_gemv_fn gemv = c.k->tile_gemv[(int)w->ttype];
    const size_t ab = GEMV_ACT_BYTES(K);
    const bool shared = M == 1 && !c.invariant && c.gemv;
    if (!shared || c.gemv->x != x || c.gemv->prep != prep) { // every thread sees the same value here
        for (int64_t m = 0; m < M; m++) prep(K, row_f32(x, m), c.work + m * ab, c.ith, c.nth);
        barrier(c);
        if (c.gemv && c.ith == 0) *c.gemv = shared ? gemv_cache{x, prep} : gemv_cache{};
    }
    const int rows = type_get(w->ttype)->tile_rows;
    const int64_t n_tiles = N / rows;
    const size_t tile_bytes = (size_t)rows * w->nb[1];
    const int64_t per = matmul_chunk_rows(n_tiles, M, c.nth, tile_bytes, 1);
    const int64_t n_chunks = (n_tiles + per - 1) / per;
    const uint8_t *wd = (const uint8_t *)w->data;
    float *y = (float *)dst->data;
    for (int64_t ch = c.ith; ch < n_chunks; ch = c.nth + c.next_chunk->fetch_add(1, std::memory_order_relaxed))
        for (int64_t t = ch * per; t < std::min(n_tiles, (ch + 1) * per); t++)
            for (int64_t m = 0; m < M; m++) gemv(K, wd + t * tile_bytes, c.work + m * ab, y + m * N + t * rows);
}

// y[N, M] = W[K, N] . x[K, M]: activations converted once to W's vec_dot_type, then
// row-chunks of W are spread over threads and each chunk is swept across all M columns
// (the chunk stays in cache while the activations stream).
void op_mul_mat(const op_ctx &c, tensor *dst) {
    const tensor *w = dst->src[0], *x = dst->src[1];
    const int64_t K = w->ne[0], N = w->ne[1], M = tensor_nrows(x);
    // Decode kernel with its own activation layout (one row, not batch-invariant mode).
    const bool tiled = c.k->tile_gemv[(int)w->ttype] != nullptr;
    const gemv_prep_fn prep = M == 1 && !c.invariant ? c.k->gemv_prep[(int)w->ttype] : nullptr;
    if (!prep && !tiled && c.gemv && c.ith == 0) *c.gemv = {}; // every other path writes the work area its own way
    if (!c.invariant) {
        const mm_path path = cpu_mul_mat_path(c.k, w->ttype, M);
        if ((path == mm_path::gemm_f32 || path == mm_path::gemm_i8) && c.gemv && c.ith == 0) *c.gemv = {};
        if (path == mm_path::gemm_f32) return mul_mat_gemm(c, dst);
        if (path == mm_path::gemm_i8) return mul_mat_gemm_i8(c, dst);
    }
    if (tiled) return mul_mat_tiled(c, dst);
    if (type_is_lut(w->ttype)) return mul_mat_lut(c, dst);
    const type_traits *wt = type_get(w->ttype);
    const type vdt = wt->vec_dot_type;
    vec_dot_fn dot = c.k->dot[(int)w->ttype];
    const uint8_t *act = (const uint8_t *)x->data;
    size_t act_stride = x->nb[1];
    if (prep) { // prepared once for the matmuls sharing this input
        if (!c.gemv || c.gemv->x != x || c.gemv->prep != prep) { // every thread sees the same value here
            prep(K, row_f32(x, 0), c.work, c.ith, c.nth);
            barrier(c);
            if (c.gemv && c.ith == 0) *c.gemv = {x, prep}; // read again only after this node's barrier
        }
        act = c.work;
        act_stride = 0;
        dot = c.k->gemv_dot[(int)w->ttype];
    } else if (vdt != type::f32) {
        const size_t rs = row_size(vdt, K);
        uint8_t *q = c.work;
        const from_float_fn quant = type_get(vdt)->from_float;
        int64_t lo, hi;
        split(M, c.ith, c.nth, &lo, &hi);
        for (int64_t m = lo; m < hi; m++) quant(row_f32(x, m), q + m * rs, K);
        barrier(c);
        act = q;
        act_stride = rs;
    }
    const int64_t chunk = matmul_chunk_rows(N, M, c.nth, w->nb[1], 16);
    const int64_t n_chunks = (N + chunk - 1) / chunk;
    float *y = (float *)dst->data;
    const dot2x2_fn tile = c.k->dot2x2[(int)w->ttype];
    const uint8_t *wd = (const uint8_t *)w->data;
    const size_t ws = w->nb[1];
    // Chunks are handed out dynamically (a thread slowed by a busy sibling takes fewer); each
    // thread's first chunk is its own index, then it draws from the shared counter.
    for (int64_t ch = c.ith; ch < n_chunks; ch = c.nth + c.next_chunk->fetch_add(1, std::memory_order_relaxed)) {
        const int64_t r0 = ch * chunk, r1 = std::min(N, r0 + chunk);
        int64_t m = 0;
        // Pairs of columns x pairs of rows. Batch-invariant mode sends every column through the
        // tile (an odd last one paired with itself): an output's arithmetic then never depends on
        // whether its column had a partner.
        if (tile) {
            for (; m + 2 <= M || (c.invariant && m < M); m += 2) {
                const bool alone = m + 1 == M;
                const uint8_t *x0 = act + m * act_stride, *x1 = alone ? x0 : x0 + act_stride;
                float *y0 = y + m * N, *y1 = alone ? nullptr : y0 + N;
                if (alone) {
                    int64_t r = r0;
                    for (; r + 2 <= r1; r += 2) {
                        float o[4];
                        tile(K, wd + r * ws, wd + (r + 1) * ws, x0, x0, o);
                        y0[r] = o[0], y0[r + 1] = o[1];
                    }
                    for (; r < r1; r++) y0[r] = dot(K, wd + r * ws, x0);
                    continue;
                }
                int64_t r = r0;
                for (; r + 2 <= r1; r += 2) {
                    float o[4];
                    tile(K, wd + r * ws, wd + (r + 1) * ws, x0, x1, o);
                    y0[r] = o[0], y0[r + 1] = o[1], y1[r] = o[2], y1[r + 1] = o[3];
                }
                for (; r < r1; r++) {
                    y0[r] = dot(K, wd + r * ws, x0);
                    y1[r] = dot(K, wd + r * ws, x1);
                }
            }
        }
        for (; m < M; m++) {
            const uint8_t *xm = act + m * act_stride;
            float *ym = y + m * N;
            for (int64_t r = r0; r < r1; r++) ym[r] = dot(K, wd + r * ws, xm);
        }
    }
}

// GELU (tanh approximation) as ggml's CPU backend computes it by default: the input rounded to
// f16, then an f16 table of GELU values (so the result is f16-rounded too); identity/zero beyond
// +-10. Matching it keeps Gemma's logits within 1e-4 of llama.cpp's.
float gelu_f16(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    const float h = fp16_to_fp32(fp32_to_fp16(x));
    const float y = 0.5f * h * (1.0f + std::tanh(0.79788456080286535588f * h * (1.0f + 0.044715f * h * h)));
    return fp16_to_fp32(fp32_to_fp16(y));
}

template <class F> void elementwise2(const op_ctx &c, tensor *dst, F f) {
    const tensor *a = dst->src[0], *b = dst->src[1] ? dst->src[1] : dst->src[0];
    const int64_t n = a->ne[0], rows = tensor_nrows(a);
    const bool bcast = tensor_nrows(b) == 1;
    int64_t lo, hi;
    split(rows, c.ith, c.nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const float *pa = row_f32(a, r), *pb = row_f32(b, bcast ? 0 : r);
        float *pd = row_f32(dst, r);
        for (int64_t i = 0; i < n; i++) pd[i] = f(pa[i], pb[i]);
    }
}

void op_scale(const op_ctx &c, tensor *dst) {
    const float s = dst->fparams[0];
    const int64_t n = tensor_nelements(dst->src[0]);
    int64_t lo, hi;
    split(n, c.ith, c.nth, &lo, &hi); // contiguous f32: one flat range
    const float *px = (const float *)dst->src[0]->data;
    float *pd = (float *)dst->data;
    for (int64_t i = lo; i < hi; i++) pd[i] = px[i] * s;
}

void op_rms_norm(const op_ctx &c, tensor *dst) {
    const tensor *x = dst->src[0];
    const int64_t n = x->ne[0];
    const float eps = dst->fparams[0];
    int64_t lo, hi;
    split(tensor_nrows(x), c.ith, c.nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const float *px = row_f32(x, r);
        float *pd = row_f32(dst, r);
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++) ss += (double)px[i] * px[i];
        const float s = (float)(1.0 / std::sqrt(ss / (double)n + eps));
        for (int64_t i = 0; i < n; i++) pd[i] = px[i] * s;
    }
}

// mode 0: rotate pairs (x[2i], x[2i+1]) (llama); mode 2: pairs (x[i], x[i + n_rot/2]) (NEOX).
// The angles depend on the position and the pair only: computed once per token for all heads.
void op_rope(const op_ctx &c, tensor *dst) {
    const tensor *x = dst->src[0], *pos = dst->src[1];
    const int64_t D = x->ne[0], H = x->ne[1], M = x->ne[2];
    const int n_rot = dst->iparams[0], mode = dst->iparams[1];
    const double base = dst->fparams[0];
    std::vector<float> cs(n_rot / 2), sn(n_rot / 2);
    int64_t lo, hi;
    split(M, c.ith, c.nth, &lo, &hi);
    for (int64_t m = lo; m < hi; m++) {
        const double p = ((const int32_t *)pos->data)[m];
        for (int i = 0; i < n_rot / 2; i++) {
            const double theta = p * std::pow(base, -2.0 * i / n_rot);
            cs[i] = (float)std::cos(theta);
            sn[i] = (float)std::sin(theta);
        }
        for (int64_t h = 0; h < H; h++) {
            const float *px = (const float *)((const uint8_t *)x->data + h * x->nb[1] + m * x->nb[2]);
            float *pd = (float *)((uint8_t *)dst->data + h * dst->nb[1] + m * dst->nb[2]);
            for (int i = 0; i < n_rot / 2; i++) {
                const int i0 = mode == 2 ? i : 2 * i, i1 = mode == 2 ? i + n_rot / 2 : 2 * i + 1;
                const float a = px[i0], b = px[i1];
                pd[i0] = a * cs[i] - b * sn[i];
                pd[i1] = a * sn[i] + b * cs[i];
            }
            for (int64_t i = n_rot; i < D; i++) pd[i] = px[i];
        }
    }
}

} // namespace

// Prefill path per weight type, chosen by measurement (tern bench -p 64 -t 1, llama-1b shape,
// AVX2, TERN_GEMM=0 vs 1; numbers in issue 3's note): true = dequantize + f32 GEMM, false =
// quantized activations + dot / 2x2-tile kernels. f16 6.0 -> 13.2 t/s, q8_0 9.8 -> 13.8,
// q4_0 8.8 -> 11.5, q4_k_m 5.9 -> 14.2, tq1_0 6.5 -> 12.0, but tq2_0 19.4 -> 9.2 (its dot kernel is
// cheaper than dequantizing). f32 stays on the dot path: its activations are not quantized there
// either, and it keeps llama.cpp's summation order on the golden F32 models. The LUT types stay
// on the table-lookup path for every batch size (each 32-row tile is reused from L1 for all tokens):
// tl2 llama-1b pp32 7.9 t/s through the GEMM (scalar tile dequantization) vs 31.2 t/s by lookup.
bool gemm_prefill_default(type wt) {
    if (type_is_lut(wt)) return false;
    switch (wt) {
    case type::f32:
    case type::tq2_0: return false;
    default: return true;
    }
}

mm_path cpu_mul_mat_path(const isa_kernels *k, type wt, int64_t M) {
    const mm_path fallback = type_is_lut(wt) ? mm_path::lut : mm_path::dot;
    if (M < GEMM_MIN_TOKENS) return fallback;
    static const int force = [] {
        const char *e = std::getenv("TERN_GEMM"); // 0: dot/LUT, 1: f32 GEMM, 2: int8 GEMM (for measuring)
        return e && *e ? std::atoi(e) : -1;
    }();
    const bool i8 = k->gemm_i8 && i8_subblock(wt) != 0 && i8_max_code(wt) <= k->gemm_i8_max_code;
    const bool f32 = k->gemm_panel && k->gemm_pack && type_can_dequantize(wt);
    if (force == 0) return fallback;
    if (force == 1) return f32 ? mm_path::gemm_f32 : fallback;
    if (force == 2) return i8 ? mm_path::gemm_i8 : fallback;
    if (i8) return mm_path::gemm_i8;
    return f32 && gemm_prefill_default(wt) ? mm_path::gemm_f32 : fallback;
}

size_t cpu_op_work_size(const tensor *node, int n_threads) {
    switch (node->kind) {
    case op::mul_mat: {
        const type vdt = type_get(node->src[0]->ttype)->vec_dot_type;
        const int64_t K = node->src[1]->ne[0], M = tensor_nrows(node->src[1]);
        const size_t dot = type_is_lut(node->src[0]->ttype) ? lut_act_bytes(K) * (size_t)M
                           : vdt == type::f32                 ? 0
                                                              : row_size(vdt, K) * (size_t)M;
        const size_t gemm = M >= GEMM_MIN_TOKENS ? gemm_scratch_bytes(K) * (size_t)n_threads : 0;
        const int sb = i8_subblock(node->src[0]->ttype);
        size_t i8 = 0;
        if (M >= GEMM_MIN_TOKENS && sb) {
            const i8_work l = i8_work_layout(K, M, sb);
            i8 = l.thread0 + l.per_thread * (size_t)n_threads;
        }
        // Decode kernels' own layout; row-tiled weights prepare every column so.
        const bool tiled = type_is_runtime_only(node->src[0]->ttype);
        const size_t gemv = M == 1 || tiled ? GEMV_ACT_BYTES(K) * (size_t)M : 0;
        return std::max({dot, gemm, i8, gemv});
    }
    case op::attention: return cpu_attention_work_size(node, n_threads);
    case op::ffn_select:
    case op::sparse_ffn: return cpu_sparse_ffn_work_size(node, n_threads);
    default: return 0;
    }
}

bool cpu_supports_op(const tensor *node) {
    switch (node->kind) {
    case op::get_rows: return type_can_dequantize(node->src[0]->ttype);
    case op::mul_mat:
        return kernels_generic()->dot[(int)node->src[0]->ttype] != nullptr || type_is_lut(node->src[0]->ttype) ||
               kernels_generic()->tile_gemv[(int)node->src[0]->ttype] != nullptr;
    case op::kv_store:
    case op::attention: return cpu_attention_supported(node, kernels_generic());
    case op::ffn_select:
    case op::sparse_ffn: return cpu_sparse_ffn_supported(node);
    case op::count_: return false;
    default: return true;
    }
}

void cpu_op_compute(const op_ctx &c, tensor *node) {
    switch (node->kind) {
    case op::none:
    case op::view:
    case op::count_: break;
    case op::get_rows: op_get_rows(c, node); break;
    case op::mul_mat: op_mul_mat(c, node); break;
    case op::ffn_select: cpu_ffn_select(c, node); break;
    case op::sparse_ffn: cpu_sparse_ffn(c, node); break;
    case op::add: elementwise2(c, node, [](float a, float b) { return a + b; }); break;
    case op::mul: elementwise2(c, node, [](float a, float b) { return a * b; }); break;
    case op::rms_norm: op_rms_norm(c, node); break;
    case op::rope: op_rope(c, node); break;
    case op::silu_mul: elementwise2(c, node, [](float g, float u) { return g / (1.0f + std::exp(-g)) * u; }); break;
    case op::relu2_mul:
        elementwise2(c, node, [](float g, float u) {
            const float r = g > 0.0f ? g : 0.0f;
            return r * r * u;
        });
        break;
    case op::gelu_mul: elementwise2(c, node, [](float g, float u) { return gelu_f16(g) * u; }); break;
    case op::scale: op_scale(c, node); break;
    case op::softcap: {
        const float cap = node->fparams[0], inv = 1.0f / cap;
        elementwise2(c, node, [cap, inv](float x, float) { return cap * std::tanh(x * inv); });
        break;
    }
    case op::kv_store: cpu_kv_store(c, node); break;
    case op::attention: cpu_attention(c, node); break;
    }
}

} // namespace tern
