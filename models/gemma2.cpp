// gemma2.cpp — the gemma2 architecture (Gemma 2): embeddings scaled by sqrt(n_embd), RMS norms
// before and after each sublayer (post_attention_norm, post_ffw_norm on the sublayer's output),
// GeGLU FFN (GELU-tanh gate), NEOX RoPE, attention scores and final logits soft-capped with tanh,
// and sliding-window attention on the even layers (0, 2, ...), global on the odd ones.
#include "builders.h"

#include <cmath>

namespace tern {

namespace {

status read_f32(const gguf_file &f, const std::string &key, float def, float *out) {
    double v = def;
    if (f.find(key)) TERN_CHECK_OR_RETURN(f.get_f64(key, &v) && v >= 0 && std::isfinite(v), code::bad_format, "%s is invalid", key.c_str());
    *out = (float)v;
    return status::ok();
}

status gemma2_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "gemma2", hp));
    hp->rope_mode = rope_mode_neox;
    TERN_RETURN_IF_ERROR(read_f32(f, "gemma2.attn_logit_softcapping", 50.0f, &hp->attn_softcap));
    TERN_RETURN_IF_ERROR(read_f32(f, "gemma2.final_logit_softcapping", 30.0f, &hp->final_softcap));
    int64_t swa = 4096;
    if (f.find("gemma2.attention.sliding_window"))
        TERN_CHECK_OR_RETURN(f.get_i64("gemma2.attention.sliding_window", &swa) && swa > 0 && swa < (1ll << 31),
                             code::bad_format, "gemma2.attention.sliding_window is invalid");
    hp->n_swa = swa;
    hp->swa_layers.resize((size_t)hp->n_layer);
    for (int64_t il = 0; il < hp->n_layer; il++) hp->swa_layers[(size_t)il] = il % 2 == 0;
    // Queries are scaled by 1/sqrt(head_dim), except in the 27B model (46 layers): 1/sqrt(n_embd/n_head).
    hp->attn_scale = 1.0f / std::sqrt((float)(hp->n_layer == 46 ? hp->n_embd / hp->n_head : hp->head_dim));
    return status::ok();
}

status gemma2_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_CHECK_OR_RETURN(hp.ffn_bundle_type < 0, code::unsupported, "a bundled (flash-prepare) FFN is not supported for gemma2");
    load_embeddings(hp, t, w);
    w->layers.resize(hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) {
        layer_weights &l = w->layers[il];
        load_llama_block(hp, t, il, &l);
        const std::string p = "blk." + std::to_string(il) + ".";
        l.post_attn_norm = t.get(p + "post_attention_norm.weight", {hp.n_embd});
        l.post_ffn_norm = t.get(p + "post_ffw_norm.weight", {hp.n_embd});
    }
    return t.error;
}

tensor *gemma2_build(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in) {
    return build_gemma_graph(g, hp, w, in);
}

} // namespace

extern const arch_def k_arch_gemma2 = {"gemma2", gemma2_hparams, gemma2_weights, gemma2_build};

} // namespace tern
