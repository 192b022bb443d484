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
    TERN_RETURN_IF_ERROR(read_sliding_window(f, "gemma2", 4096, [](int64_t il) { return il % 2 == 0; }, hp));
    // Queries are scaled by 1/sqrt(head_dim), except in the 27B model (46 layers): 1/sqrt(n_embd/n_head).
    hp->attn_scale = 1.0f / std::sqrt((float)(hp->n_layer == 46 ? hp->n_embd / hp->n_head : hp->head_dim));
    return status::ok();
}

status gemma2_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    TERN_CHECK_OR_RETURN(hp.ffn_bundle_type < 0, code::unsupported, "a bundled (flash-prepare) FFN is not supported for gemma2");
    return load_llama_layers(hp, t, w, true);
}

} // namespace

extern const arch_def k_arch_gemma2 = {"gemma2", gemma2_hparams, gemma2_weights, build_gemma_graph};

} // namespace tern
