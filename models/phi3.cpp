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
    int64_t swa = 0;
    if (f.find("phi3.attention.sliding_window")) {
        TERN_CHECK_OR_RETURN(f.get_i64("phi3.attention.sliding_window", &swa) && swa >= 0 && swa < (1ll << 31),
                             code::bad_format, "phi3.attention.sliding_window is invalid");
    }
    hp->n_swa = swa;
    hp->swa_layers.assign((size_t)hp->n_layer, 1);
    return status::ok();
}

status phi3_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_CHECK_OR_RETURN(hp.ffn_bundle_type < 0, code::unsupported, "a bundled (flash-prepare) FFN is not supported for phi3");
    load_embeddings(hp, t, w);
    w->layers.resize(hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) load_llama_block(hp, t, il, &w->layers[il]);
    return t.error;
}

} // namespace

tensor *llama_graph(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in);

extern const arch_def k_arch_phi3 = {"phi3", phi3_hparams, phi3_weights, llama_graph};

} // namespace tern
