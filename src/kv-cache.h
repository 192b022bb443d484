// kv-cache.h — the context's key/value memory: per layer one K and one V matrix of
// [n_embd_kv, n_ctx] elements (F16 or F32), rows indexed by position. `used` tokens are valid.
#pragma once

#include "ggml/status.h"
#include "ggml/tensor.h"
#include "models/model.h"

#include <vector>

namespace tern {

class kv_cache {
  public:
    status init(const hparams &hp, int64_t n_ctx, type t);
    // Per-layer cache tensors for a graph under construction (leaves aliasing our memory).
    void bind(graph &g, std::vector<tensor *> *k, std::vector<tensor *> *v);
    int64_t n_ctx() const { return n_ctx_; }
    int64_t used = 0;
    size_t bytes() const { return mem_.size(); }
    type elem_type() const { return type_; }

  private:
    int64_t n_ctx_ = 0, n_layer_ = 0, row_ = 0;
    type type_ = type::f16;
    std::vector<uint8_t> mem_;
};

} // namespace tern
