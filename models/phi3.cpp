// phi3.cpp — the phi3 architecture (Phi-3, Phi-3.5 mini): the llama block with fused tensors —
// attn_qkv holds [q | k | v] and ffn_up holds [gate | up], split at load into weights of their own
// (their rows lie apart in the file) — NEOX RoPE, and sliding-window attention on every layer when
// `phi3.attention.sliding_window` is set.
#include "builders.h"

namespace tern {

namespace {

status phi3_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "phi3", hp));
    hp->rope_mode = rope_mode_neox;
    return read_sliding_window(f, "phi3", 0, [](int64_t) { return true; }, hp);
}

status phi3_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_CHECK_OR_RETURN(hp.ffn_bundle_type < 0, code::unsupported, "a bundled (flash-prepare) FFN is not supported for phi3");
    return load_llama_layers(hp, t, w);
}

} // namespace

tensor *llama_graph(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in);

extern const arch_def k_arch_phi3 = {"phi3", phi3_hparams, phi3_weights, llama_graph};

} // namespace tern
