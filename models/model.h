// model.h — what an architecture file describes: hyperparameters read from GGUF metadata,
// the weight tensors it needs, and the forward graph. One file per architecture registers an
// arch_def; shared graph pieces live in builders.h.
#pragma once

#include "ggml/gguf.h"
#include "ggml/status.h"
#include "ggml/tensor.h"

#include <string>
#include <vector>

namespace tern {

enum rope_mode : int { rope_mode_normal = 0, rope_mode_neox = 2 };

struct hparams {
    std::string arch;
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
    int64_t n_ctx_train = 0, n_rot = 0;
    float rms_eps = 1e-5f, rope_base = 10000.0f;
    int rope_mode = rope_mode_normal;
    bool ffn_relu2 = false; // FFN gate activation: squared ReLU (BitNet b1.58 2B4T), else SiLU
    // Row-column bundled FFN (`tern flash-prepare`): the bundles' element type, or -1; and the
    // fraction of FFN neurons each token uses (set by the runtime; 1 = all, exact).
    int ffn_bundle_type = -1, ffn_bundle_down_type = -1; // up rows', down columns' types
    float ffn_keep = 1.0f;
    // Sliding-window attention: a query sees the last n_swa positions (0: all), on the layers
    // flagged in swa_layers (phi3: all; gemma2: even ones; gemma3: five of every six). Those layers
    // may use their own RoPE base (rope_base_swa, 0: rope_base).
    int64_t n_swa = 0;
    std::vector<uint8_t> swa_layers;
    float rope_base_swa = 0.0f;
    float attn_scale = 0.0f;    // q.k scale (0: 1/sqrt(head_dim))
    float attn_softcap = 0.0f;  // attention scores soft-capped at this (0: off; Gemma 2)
    float final_softcap = 0.0f; // logits soft-capped at this (0: off; Gemma 2)
    bool swa_layer(int64_t il) const { return n_swa > 0 && il < (int64_t)swa_layers.size() && swa_layers[(size_t)il]; }
    float rope_base_of(int64_t il) const { return swa_layer(il) && rope_base_swa > 0.0f ? rope_base_swa : rope_base; }
    int64_t n_embd_kv() const { return head_dim * n_head_kv; }
};

struct layer_weights {
    tensor *attn_norm = nullptr;                                // [E]
    tensor *wq = nullptr, *wk = nullptr, *wv = nullptr;         // [E, H*D], [E, Hkv*D], [E, Hkv*D]
    tensor *wo = nullptr;                                       // [H*D, E]
    tensor *bq = nullptr, *bk = nullptr, *bv = nullptr;         // optional biases [H*D], [Hkv*D], [Hkv*D] (qwen2)
    tensor *ffn_norm = nullptr;                                 // [E]
    tensor *ffn_gate = nullptr, *ffn_up = nullptr;              // [E, F]
    tensor *ffn_down = nullptr;                                 // [F, E]
    tensor *ffn_bundle = nullptr; // i8 [stride, F]: per neuron its up row and down column (flash-prepare)
    // BitNet: RMS norms applied to the attention output before wo and to the FFN's inner
    // activations before ffn_down; optional per-matrix output scales (1-element tensors).
    tensor *attn_sub_norm = nullptr, *ffn_sub_norm = nullptr;   // [H*D], [F]
    // Gemma: RMS norms on the attention and FFN outputs before they join the residual.
    tensor *post_attn_norm = nullptr, *post_ffn_norm = nullptr; // [E], [E]
    tensor *q_norm = nullptr, *k_norm = nullptr;                // per-head RMS norms [D] before RoPE (gemma3, qwen3)
    float wq_scale = 1, wk_scale = 1, wv_scale = 1, wo_scale = 1, gate_scale = 1, up_scale = 1, down_scale = 1;
};

struct model_weights {
    tensor *tok_embd = nullptr;    // [E, V]
    tensor *output_norm = nullptr; // [E]
    tensor *output = nullptr;      // [E, V] (== tok_embd when tied)
    std::vector<layer_weights> layers;
};

// Supplied by the runtime's loader: a weight tensor by GGUF name, shape-checked. A missing
// required tensor or a wrong shape is recorded in `error` and nullptr returned.
class tensor_lookup {
  public:
    virtual ~tensor_lookup() = default;
    virtual tensor *get(const std::string &name, int n_dims, const int64_t *ne, bool required) = 0;
    tensor *get(const std::string &name, std::initializer_list<int64_t> ne, bool required = true) {
        return get(name, (int)ne.size(), ne.begin(), required);
    }
    // A fused matrix [ne0, sum(rows)] split into weights of rows[i] rows each (phi3's qkv and
    // gate-up): each part is a weight of its own, lying in the file where its rows are.
    virtual bool has(const std::string &name) const = 0;
    virtual std::vector<tensor *> get_split(const std::string &name, int64_t ne0, const std::vector<int64_t> &rows) = 0;
    // A table of raw bytes (GGUF type i8), `rows` rows of at least `min_row_bytes` each.
    virtual tensor *get_raw(const std::string &name, int64_t rows, int64_t min_row_bytes) = 0;
    status error;
};

// What a forward pass gets from the runtime for one batch.
struct graph_inputs {
    tensor *tokens = nullptr;    // [M] i32
    tensor *positions = nullptr; // [M] i32
    int64_t n_tokens = 0;        // M
    std::vector<tensor *> kv;    // per layer: its KV cache leaf (graph::kv_cache_leaf)
    bool all_logits = false;     // logits for every token, else only the last
    // Several sequences in one pass: the columns (each sequence's last token) whose logits are
    // wanted, [S] i32; null for a single sequence.
    tensor *out_ids = nullptr;
    bool embeddings = false;     // return the final normed hidden states [E, M] instead of logits
};

struct arch_def {
    const char *name;
    status (*load_hparams)(const gguf_file &f, hparams *hp);
    status (*load_weights)(const hparams &hp, tensor_lookup &lookup, model_weights *w);
    // Returns the logits tensor: [V, M], [V, S] (out_ids) or [V, 1]; with embeddings, [E, M].
    tensor *(*build)(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in);
};

// The architecture registered under `name`, or nullptr.
const arch_def *arch_find(const std::string &name);
std::vector<std::string> arch_names();

} // namespace tern
