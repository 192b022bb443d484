// llama.cpp — the llama architecture (LLaMA 1/2/3, SmolLM, TinyLlama, Mistral): pre-RMSNorm
// blocks, RoPE (interleaved pairs), grouped-query attention, SwiGLU FFN, optional tied output
// head; Mistral-style sliding-window attention on every layer when the file sets
// `llama.attention.sliding_window`.
#include "builders.h"

namespace tern {

namespace {

status llama_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "llama", hp));
    hp->rope_mode = rope_mode_normal;
    return read_sliding_window(f, "llama", 0, [](int64_t) { return true; }, hp);
}

status llama_weights(const hparams &hp, tensor_lookup &t, model_weights *w) { return load_llama_layers(hp, t, w); }

} // namespace

// Shared by the llama-layout architectures (qwen2, phi3).
tensor *llama_graph(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in) {
    tensor *x = g.get_rows(w.tok_embd, in.tokens); // [E, M]
    for (int il = 0; il < (int)hp.n_layer; il++) {
        const layer_weights &l = w.layers[il];
        x = g.add(x, build_attn(g, hp, l, build_norm(g, x, l.attn_norm, hp.rms_eps), in, il));
        x = g.add(x, build_ffn_swiglu(g, hp, l, build_norm(g, x, l.ffn_norm, hp.rms_eps)));
    }
    return build_output(g, hp, w, x, in);
}

extern const arch_def k_arch_llama = {"llama", llama_hparams, llama_weights, llama_graph};

} // namespace tern
