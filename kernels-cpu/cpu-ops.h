// cpu-ops.h — per-op CPU compute functions, called by every thread of the parallel region.
#pragma once

#include "ggml/tensor.h"
#include "thread-barrier.h"
#include "vec-dot.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace tern {

// Which activation row the work area holds in a decode kernel's layout (gemv_prep): matmuls that
// share their input (q/k/v, gate/up) prepare it once. Written by thread 0 only between barriers;
// cleared by every node that writes the work area otherwise.
struct gemv_cache {
    const tensor *x = nullptr;
    gemv_prep_fn prep = nullptr;
};

struct op_ctx {
    int ith, nth;           // this thread, thread count
    uint8_t *work;          // shared scratch of cpu_op_work_size() bytes
    const isa_kernels *k;   // kernel table in use
    std::atomic<int64_t> *next_chunk; // per-node work counter, zero before the node runs
    bool invariant = false; // compute_options::batch_invariant
    thread_barrier *bar = nullptr; // shared by the nth threads (null: one thread)
    gemv_cache *gemv = nullptr;    // shared; null: no reuse
};

size_t cpu_op_work_size(const tensor *node, int n_threads);

// [lo, hi): thread ith's share of n items split evenly over nth threads.
inline void split(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi) {
    const int64_t per = (n + nth - 1) / nth;
    *lo = per * ith < n ? per * ith : n;
    *hi = *lo + per < n ? *lo + per : n;
}

// Rows per work chunk of a matmul over N weight rows of row_bytes each and M activation columns
// (a multiple of gran, at least gran). Chunks are handed out dynamically. Small batches stream
// each weight row once or twice, and many small chunks handed out alternately cut every thread's
// sequential read of the weights into pieces: the llama-1b shape's TQ2_0 decode on 2 Zen 5 cores
// ran at 47 t/s with 16-row chunks and 96 with a quarter of the rows per chunk. So they get about
// two chunks per thread, capped at 256 KiB once a chunk is swept for more than one column pair
// (it should stay in L2 between sweeps). Batches of 16 or more compute enough per row that gran
// rows balance best.
inline int64_t matmul_chunk_rows(int64_t N, int64_t M, int nth, size_t row_bytes, int64_t gran) {
    if (M >= 16) return gran;
    int64_t rows = (N + 2 * nth - 1) / (2 * nth);
    if (M > 2 && row_bytes > 0) rows = std::min<int64_t>(rows, (int64_t)((256u << 10) / row_bytes));
    rows = (rows + gran - 1) / gran * gran;
    return rows < gran ? gran : rows;
}

// Between the phases of one op: all threads of the parallel region meet here.
inline void barrier(const op_ctx &c) {
    if (c.bar) c.bar->wait();
}

// Batches of at least this many tokens may take a GEMM path (see cpu-ops.cpp).
constexpr int64_t GEMM_MIN_TOKENS = 8;
// How a matmul runs: dot = activations quantized to the weight's vec_dot_type, dot / 2x2-tile
// kernels; lut = table lookup (LUT types); gemm_f32 = weights dequantized into f32 panels, f32
// activations; gemm_i8 = weights repacked into u8 panels, activations quantized as on the dot
// path (gemm-i8.h). TERN_GEMM forces: 0 = dot, 1 = gemm_f32, 2 = gemm_i8 (where the type and kernel
// table allow); unset = the measured per-type choice.
enum class mm_path { dot, lut, gemm_f32, gemm_i8 };
mm_path cpu_mul_mat_path(const isa_kernels *k, type wt, int64_t M);
// Where no int8 GEMM applies: whether the f32 GEMM beats the dot kernels (measured per type).
bool gemm_prefill_default(type wt);
inline bool cpu_mul_mat_uses_gemm(const isa_kernels *k, type wt, int64_t M) {
    const mm_path p = cpu_mul_mat_path(k, wt, M);
    return p == mm_path::gemm_f32 || p == mm_path::gemm_i8;
}
bool cpu_supports_op(const tensor *node);

// attention.cpp: kv_store and attention over a layer's KV cache (ggml/kv-layout.h).
size_t cpu_attention_work_size(const tensor *node, int n_threads);
bool cpu_attention_supported(const tensor *node, const isa_kernels *k); // also for kv_store
void cpu_kv_store(const op_ctx &c, tensor *dst);
void cpu_attention(const op_ctx &c, tensor *dst);
void cpu_op_compute(const op_ctx &c, tensor *node);

// sparse-ffn.cpp: ffn_select and sparse_ffn (flash sparse mode).
size_t cpu_sparse_ffn_work_size(const tensor *node, int n_threads);
bool cpu_sparse_ffn_supported(const tensor *node);
void cpu_ffn_select(const op_ctx &c, tensor *dst);
void cpu_sparse_ffn(const op_ctx &c, tensor *dst);

} // namespace tern
