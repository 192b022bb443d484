// tensor.h — tensors and compute graphs.
//
// A tensor has a type, up to 4 dims `ne` (ne[0] innermost, the row length) and byte strides
// `nb`, plus the op that produces it and its sources. Leaves (op::none) are weights, inputs or
// caches whose `data` the caller sets; op nodes get `data` from the memory planner (plan.h).
// Views share their source's memory. A graph owns its tensors; nodes are kept in creation order,
// which is a valid execution order because a node can only name tensors that already exist.
#pragma once

#include "type-table.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace tern {

struct kv_batch; // kv-layout.h

enum class op : uint8_t {
    none,      // leaf: weight, input or cache
    view,      // reshape/row-slice of src[0]; no compute
    get_rows,  // src0 [E, V] any type, src1 [M] i32 -> [E, M] f32
    mul_mat,   // src0 [K, N] weight, src1 [K, M] f32 -> [N, M] f32 (y = W x for each column)
    add,       // src0 [E, M] + src1 [E, M] (or [E], broadcast)
    mul,       // src0 [E, M] * src1 [E, M] (or [E], broadcast)
    rms_norm,  // src0 [E, M] -> x / sqrt(mean(x^2) + eps); fparams[0] = eps
    rope,      // src0 [D, H, M] f32, src1 [M] i32 positions; iparams: n_rot, mode; fparams: base
    silu_mul,  // silu(src0) * src1, same shapes
    relu2_mul, // relu(src0)^2 * src1, same shapes (BitNet b1.58's squared-ReLU FFN)
    gelu_mul,  // gelu_tanh(src0) * src1, same shapes (Gemma's GeGLU); GELU as ggml's CPU computes it
               // (input and result rounded to f16)
    scale,     // src0 * fparams[0]
    softcap,   // fparams[0] * tanh(src0 / fparams[0]) (Gemma 2's logit soft-capping)
    kv_store,  // append keys src0 and values src1 [D*Hkv, M] f32 to the KV cache src2 (kv-layout.h)
    attention, // src0 q [D, H, M] over KV cache src1 (after kv_store src2) -> [D*H, M]; fparams[0] = scale,
               // fparams[1] = score soft-cap (0: none), iparams[0] = sliding window (0: none)
    // Sparse SwiGLU FFN over a row-column bundled layout (docs/weights-memory.md, "sparse mode"):
    ffn_select, // src0 gate output g [F, M] -> [F, M]: silu(g) where |silu(g)| is among the
                // fparams[0] * F largest of its column (ties kept), else 0; fparams[0] >= 1 keeps all
    sparse_ffn, // src0 coefficients [F, M] (ffn_select), src1 x [E, M], src2 bundles (i8 [stride, F],
                // iparams[0], [1] = the up rows' and down columns' types):
                // y = sum over j with c[j] != 0 of c[j] * (up_j . x) * down_j
    count_,
};
const char *op_name(op o);

enum tensor_flags : uint32_t {
    tensor_flag_input = 1,  // written by the caller before compute
    tensor_flag_output = 2, // read by the caller after compute: never reused by the planner
    // A bundle table whose data is an array of ne[1] row pointers (rows scattered in memory; a
    // null row is one the graph does not read), not the rows themselves.
    tensor_flag_indirect = 4,
    // A weight that a GPU backend may keep in its own memory and use there (the layers chosen by
    // tern_model_params.n_gpu_layers); nodes reading weights without it run on the CPU.
    tensor_flag_offload = 8,
};

// One neuron's bundle in a sparse FFN table: its up row (type up) then its down column as a row
// (type down), E elements each, then padding up to the table's row stride.
size_t ffn_bundle_bytes(type up, type down, int64_t E);

struct tensor {
    type ttype = type::f32;
    int64_t ne[4] = {1, 1, 1, 1}; // elements per dim
    size_t nb[4] = {0, 0, 0, 0};  // bytes per step in each dim
    op kind = op::none;
    tensor *src[4] = {nullptr, nullptr, nullptr, nullptr};
    int32_t iparams[8] = {};
    float fparams[4] = {};
    void *data = nullptr;
    tensor *view_src = nullptr; // for op::view: the tensor whose memory this aliases
    size_t view_offset = 0;
    uint32_t flags = 0;
    std::string name;
};

int64_t tensor_nelements(const tensor *t);
int64_t tensor_nrows(const tensor *t);
size_t tensor_nbytes(const tensor *t);
bool tensor_is_contiguous(const tensor *t);
void tensor_set_shape(tensor *t, type ty, int n_dims, const int64_t *ne);

// Graph: an arena of tensors plus the op nodes in execution order, and builders for each op.
class graph {
  public:
    tensor *new_tensor(type ty, int n_dims, const int64_t *ne, const char *name = "");
    tensor *new_tensor_1d(type ty, int64_t ne0, const char *name = "");
    tensor *new_tensor_2d(type ty, int64_t ne0, int64_t ne1, const char *name = "");

    tensor *get_rows(tensor *table, tensor *ids);
    tensor *mul_mat(tensor *w, tensor *x);
    tensor *add(tensor *a, tensor *b);
    tensor *mul(tensor *a, tensor *b);
    tensor *rms_norm(tensor *x, float eps);
    tensor *rope(tensor *x, tensor *pos, int n_rot, float base, int mode);
    tensor *silu_mul(tensor *gate, tensor *up);
    tensor *relu2_mul(tensor *gate, tensor *up);
    tensor *gelu_mul(tensor *gate, tensor *up);
    tensor *softcap(tensor *x, float cap);
    tensor *scale(tensor *x, float s);
    tensor *ffn_select(tensor *g, float keep);
    tensor *sparse_ffn(tensor *coef, tensor *x, tensor *bundles, type up, type down);
    // A layer's KV cache enters a graph as a leaf whose data is a kv_batch (kv-layout.h): the
    // caches of the sequences the pass covers.
    tensor *kv_cache_leaf(kv_batch *batch);
    // Append the pass's keys and values [D*Hkv, M] (keys already rotated) to the cache.
    tensor *kv_store(tensor *k, tensor *v, tensor *cache);
    // Causal attention of q [D, H, M] (GQA: H a multiple of the cache's KV heads) over the cache's
    // committed slots plus the pass's tokens up to each query's own; `stored` is the kv_store node.
    // window > 0: sliding-window attention, a query at position p sees keys at positions > p - window.
    // softcap > 0: scores become softcap * tanh(score / softcap) before the softmax (Gemma 2).
    tensor *attention(tensor *q, tensor *cache, tensor *stored, float scale, int window = 0, float softcap = 0.0f);
    // Contiguous reshape (shares memory).
    tensor *reshape(tensor *x, int n_dims, const int64_t *ne);
    tensor *reshape_2d(tensor *x, int64_t ne0, int64_t ne1);
    tensor *reshape_3d(tensor *x, int64_t ne0, int64_t ne1, int64_t ne2);
    // Columns [first, first+n) of a 2-D tensor (a view of whole rows).
    tensor *view_cols(tensor *x, int64_t first, int64_t n);

    void mark_output(tensor *t) { t->flags |= tensor_flag_output; }
    const std::vector<tensor *> &nodes() const { return nodes_; }

  private:
    tensor *new_node(op o, type ty, int n_dims, const int64_t *ne);
    tensor *gated(op o, tensor *gate, tensor *up); // act(gate) * up
    std::deque<tensor> pool_;
    std::vector<tensor *> nodes_;
};

} // namespace tern
