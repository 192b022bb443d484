// bitnet.cpp — the bitnet architecture (BitNet b1.58: 1bitLLM/bitnet_b1_58-*, microsoft
// bitnet-b1.58-2B-4T converted to GGUF): llama-like blocks with NEOX RoPE, an RMS "sub-norm" on
// the attention output before the output projection and another on the FFN's inner activations
// before the down projection, ternary weight matrices (any weight type; TQ1_0/TQ2_0 or tern's LUT
// types keep them compact), tied output. The FFN gate is SiLU unless the file says
// `bitnet.hidden_activation = relu2` (squared ReLU, what the 2B-4T model was trained with).
// Optional 1-element `blk.N.<matrix>.scale` tensors multiply that matrix's output.
#include "builders.h"

#include <cmath>

namespace tern {

namespace {

status bitnet_hparams(const gguf_file &f, hparams *hp) {
    TERN_RETURN_IF_ERROR(read_common_hparams(f, "bitnet", hp));
    TERN_CHECK_OR_RETURN(hp->ffn_bundle_type < 0, code::unsupported,
                         "a bundled (flash-prepare) FFN is not supported for bitnet: its FFN sub-norm needs every neuron");
    hp->rope_mode = rope_mode_neox;
    std::string act;
    if (f.get_str("bitnet.hidden_activation", &act)) {
        TERN_CHECK_OR_RETURN(act == "silu" || act == "relu2", code::unsupported,
                             "bitnet.hidden_activation '%s' is not supported (silu, relu2)", act.c_str());
        hp->ffn_relu2 = act == "relu2";
    }
    return status::ok();
}

// A matrix's optional output scale: a 1-element f32 tensor next to it.
float read_scale(tensor_lookup &t, const std::string &name) {
    const tensor *s = t.get(name, {1}, false);
    return s ? *(const float *)s->data : 1.0f;
}

status bitnet_weights(const hparams &hp, tensor_lookup &t, model_weights *w) {
    load_embeddings(hp, t, w);
    w->layers.resize(hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer && t.error.is_ok(); il++) {
        layer_weights &l = w->layers[il];
        load_llama_block(hp, t, il, &l);
        const std::string p = "blk." + std::to_string(il) + ".";
        l.attn_sub_norm = t.get(p + "attn_sub_norm.weight", {hp.head_dim * hp.n_head});
        l.ffn_sub_norm = t.get(p + "ffn_sub_norm.weight", {hp.n_ff});
        if (!t.error.is_ok()) break;
        l.wq_scale = read_scale(t, p + "attn_q.scale");
        l.wk_scale = read_scale(t, p + "attn_k.scale");
        l.wv_scale = read_scale(t, p + "attn_v.scale");
        l.wo_scale = read_scale(t, p + "attn_output.scale");
        l.gate_scale = read_scale(t, p + "ffn_gate.scale");
        l.up_scale = read_scale(t, p + "ffn_up.scale");
        l.down_scale = read_scale(t, p + "ffn_down.scale");
    }
    return t.error;
}

tensor *scaled_mm(graph &g, tensor *w, tensor *x, float s) {
    tensor *y = g.mul_mat(w, x);
    return s == 1.0f ? y : g.scale(y, s);
}

tensor *bitnet_build(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in) {
    const int64_t M = in.n_tokens, D = hp.head_dim;
    tensor *x = g.get_rows(w.tok_embd, in.tokens); // [E, M]
    for (int il = 0; il < (int)hp.n_layer; il++) {
        const layer_weights &l = w.layers[il];
        tensor *h = build_norm(g, x, l.attn_norm, hp.rms_eps);
        tensor *q = g.reshape_3d(scaled_mm(g, l.wq, h, l.wq_scale), D, hp.n_head, M);
        tensor *k = g.reshape_3d(scaled_mm(g, l.wk, h, l.wk_scale), D, hp.n_head_kv, M);
        tensor *v = scaled_mm(g, l.wv, h, l.wv_scale);
        tensor *a = build_rope_attn(g, hp, q, k, v, in, il);
        a = build_norm(g, a, l.attn_sub_norm, hp.rms_eps);
        x = g.add(x, scaled_mm(g, l.wo, a, l.wo_scale));

        h = build_norm(g, x, l.ffn_norm, hp.rms_eps);
        tensor *gate = scaled_mm(g, l.ffn_gate, h, l.gate_scale), *up = scaled_mm(g, l.ffn_up, h, l.up_scale);
        tensor *f = hp.ffn_relu2 ? g.relu2_mul(gate, up) : g.silu_mul(gate, up);
        f = build_norm(g, f, l.ffn_sub_norm, hp.rms_eps);
        x = g.add(x, scaled_mm(g, l.ffn_down, f, l.down_scale));
    }
    return build_output(g, hp, w, x, in);
}

} // namespace

extern const arch_def k_arch_bitnet = {"bitnet", bitnet_hparams, bitnet_weights, bitnet_build};

} // namespace tern
