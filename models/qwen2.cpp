// qwen2.cpp — the qwen2 architecture (Qwen1.5, Qwen2, Qwen2.5): the llama block with biases on
// the q/k/v projections and NEOX RoPE (pairs x[i], x[i + d/2]); and qwen3 (Qwen3 dense), which
// drops the biases for per-head q/k norms.
#include "builders.h"

namespace tern {

namespace {

status qwen2_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "qwen2", hp));
    hp->rope_mode = rope_mode_neox;
    return status::ok();
}

status qwen2_weights(const hparams &hp, tensor_lookup &t, model_weights *w) { return load_llama_layers(hp, t, w); }

} // namespace

// The llama graph (build_attn adds the biases when the layer has them).
tensor *llama_graph(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in);

extern const arch_def k_arch_qwen2 = {"qwen2", qwen2_hparams, qwen2_weights, llama_graph};

namespace {
// qwen3: the qwen2 layout without the q/k/v biases, with per-head RMS norms on q and k before RoPE
// (attn_q_norm / attn_k_norm, required).
status qwen3_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "qwen3", hp));
    hp->rope_mode = rope_mode_neox;
    return status::ok();
}
status qwen3_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_RETURN_IF_ERROR(load_llama_layers(hp, t, w));
    for (int64_t il = 0; il < hp.n_layer; il++)
        TERN_CHECK_OR_RETURN(w->layers[il].q_norm && w->layers[il].k_norm, code::bad_format,
                             "model is missing tensor 'blk.%lld.attn_%s_norm.weight'", (long long)il, w->layers[il].q_norm ? "k" : "q");
    return status::ok();
}
} // namespace

extern const arch_def k_arch_qwen3 = {"qwen3", qwen3_hparams, qwen3_weights, llama_graph};

} // namespace tern
