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
    int64_t swa = 0;
    if (f.find("gemma3.attention.sliding_window"))
        TERN_CHECK_OR_RETURN(f.get_i64("gemma3.attention.sliding_window", &swa) && swa > 0 && swa < (1ll << 31),
                             code::bad_format, "gemma3.attention.sliding_window is invalid");
    hp->n_swa = swa;
    hp->swa_layers.resize((size_t)hp->n_layer);
    for (int64_t il = 0; il < hp->n_layer; il++) hp->swa_layers[(size_t)il] = (il + 1) % 6 != 0;
    hp->rope_base_swa = 10000.0f; // local layers (Gemma 3's fixed local base)
    // Queries scaled by 1/sqrt(head_dim), except the 27B model (62 layers): 1/sqrt(n_embd/n_head).
    hp->attn_scale = 1.0f / std::sqrt((float)(hp->n_layer == 62 ? hp->n_embd / hp->n_head : hp->head_dim));
    return status::ok();
}

status gemma3_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_CHECK_OR_RETURN(hp.ffn_bundle_type < 0, code::unsupported, "a bundled (flash-prepare) FFN is not supported for gemma3");
    load_embeddings(hp, t, w);
    w->layers.resize(hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) {
        layer_weights &l = w->layers[il];
        load_llama_block(hp, t, il, &l);
        const std::string p = "blk." + std::to_string(il) + ".";
        l.post_attn_norm = t.get(p + "post_attention_norm.weight", {hp.n_embd});
        l.post_ffn_norm = t.get(p + "post_ffw_norm.weight", {hp.n_embd});
        if (!l.q_norm || !l.k_norm) t.get(p + (l.q_norm ? "attn_k_norm.weight" : "attn_q_norm.weight"), {hp.head_dim}); // required: names the missing one
    }
    return t.error;
}

} // namespace

extern const arch_def k_arch_gemma3 = {"gemma3", gemma3_hparams, gemma3_weights, build_gemma_graph};

} // namespace tern
