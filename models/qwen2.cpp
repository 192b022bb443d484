// qwen2.cpp — the qwen2 architecture (Qwen1.5, Qwen2, Qwen2.5): the llama block with biases on
// the q/k/v projections and NEOX RoPE (pairs x[i], x[i + d/2]).
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

} // namespace tern
