// gemma3.cpp — the gemma3 architecture (Gemma 3 text models, e.g. 270M): the Gemma 2 decoder
// (scaled embeddings, post-norms, GeGLU) without soft-capping, with per-head RMS norms on q and k
// before RoPE, and interleaved attention: five sliding-window layers (window
// `gemma3.attention.sliding_window`, RoPE base 10000) then one global layer (RoPE base
// `gemma3.rope.freq_base`).
#include "builders.h"

#include <cmath>

namespace tern {

namespace {

status gemma3_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "gemma3", hp));
    hp->rope_mode = rope_mode_neox;
    TERN_RETURN_IF_ERROR(read_sliding_window(f, "gemma3", 0, [](int64_t il) { return (il + 1) % 6 != 0; }, hp));
    hp->rope_base_swa = 10000.0f; // local layers (Gemma 3's fixed local base)
    // Queries scaled by 1/sqrt(head_dim), except the 27B model (62 layers): 1/sqrt(n_embd/n_head).
    hp->attn_scale = 1.0f / std::sqrt((float)(hp->n_layer == 62 ? hp->n_embd / hp->n_head : hp->head_dim));
    return status::ok();
}

status gemma3_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_CHECK_OR_RETURN(hp.ffn_bundle_type < 0, code::unsupported, "a bundled (flash-prepare) FFN is not supported for gemma3");
    TERN_RETURN_IF_ERROR(load_llama_layers(hp, t, w, true));
    for (int64_t il = 0; il < hp.n_layer; il++) // the per-head norms are optional in the llama block, required here
        TERN_CHECK_OR_RETURN(w->layers[il].q_norm && w->layers[il].k_norm, code::bad_format,
                             "model is missing tensor 'blk.%lld.attn_%s_norm.weight'", (long long)il, w->layers[il].q_norm ? "k" : "q");
    return t.error;
}

} // namespace

extern const arch_def k_arch_gemma3 = {"gemma3", gemma3_hparams, gemma3_weights, build_gemma_graph};

} // namespace tern
