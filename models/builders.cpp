// builders.cpp — shared graph pieces.
#include "builders.h"

#include <cmath>

namespace tern {

status read_common_hparams(const gguf_file &f, const std::string &arch, hparams *hp) {
    hp->arch = arch;
    auto need = [&](const char *suffix, int64_t *out) -> status {
        const std::string key = arch + "." + suffix;
        TERN_CHECK_OR_RETURN(f.get_i64(key, out), code::bad_format, "model metadata lacks '%s'", key.c_str());
        TERN_CHECK_OR_RETURN(*out > 0 && *out < (1ll << 31), code::bad_format, "model metadata '%s' = %lld is invalid",
                             key.c_str(), (long long)*out);
        return status::ok();
    };
    TERN_RETURN_IF_ERROR(need("embedding_length", &hp->n_embd));
    TERN_RETURN_IF_ERROR(need("block_count", &hp->n_layer));
    TERN_RETURN_IF_ERROR(need("attention.head_count", &hp->n_head));
    TERN_RETURN_IF_ERROR(need("feed_forward_length", &hp->n_ff));
    hp->n_head_kv = hp->n_head;
    if (f.find(arch + ".attention.head_count_kv")) TERN_RETURN_IF_ERROR(need("attention.head_count_kv", &hp->n_head_kv));
    hp->n_ctx_train = 2048;
    if (f.find(arch + ".context_length")) TERN_RETURN_IF_ERROR(need("context_length", &hp->n_ctx_train));
    TERN_CHECK_OR_RETURN(hp->n_embd % hp->n_head == 0, code::bad_format,
                         "embedding length %lld is not a multiple of the head count %lld", (long long)hp->n_embd,
                         (long long)hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (f.find(arch + ".attention.key_length")) TERN_RETURN_IF_ERROR(need("attention.key_length", &hp->head_dim));
    TERN_CHECK_OR_RETURN(hp->n_head % hp->n_head_kv == 0, code::bad_format,
                         "head count %lld is not a multiple of the KV head count %lld", (long long)hp->n_head,
                         (long long)hp->n_head_kv);
    hp->n_rot = hp->head_dim;
    if (f.find(arch + ".rope.dimension_count")) TERN_RETURN_IF_ERROR(need("rope.dimension_count", &hp->n_rot));
    TERN_CHECK_OR_RETURN(hp->n_rot <= hp->head_dim && hp->n_rot % 2 == 0, code::bad_format,
                         "rope dimension count %lld does not fit head size %lld", (long long)hp->n_rot,
                         (long long)hp->head_dim);
    double v;
    if (f.get_f64(arch + ".attention.layer_norm_rms_epsilon", &v)) hp->rms_eps = (float)v;
    if (f.get_f64(arch + ".rope.freq_base", &v)) hp->rope_base = (float)v;
    TERN_CHECK_OR_RETURN(hp->rms_eps > 0 && hp->rms_eps < 1 && hp->rope_base > 1, code::bad_format,
                         "rms epsilon %g or rope base %g is invalid", hp->rms_eps, hp->rope_base);
    // A bundled FFN (flash-prepare): the up rows' and down columns' types.
    auto bundle_type = [&](const char *key, int64_t *out) -> status {
        if (!f.find(key)) return status::ok();
        int64_t bt = -1;
        TERN_CHECK_OR_RETURN(f.get_i64(key, &bt), code::bad_format, "%s is not an integer", key);
        const type_traits *tr = bt >= 0 && bt < (int64_t)type::count_ ? type_get((uint32_t)bt) : nullptr;
        TERN_CHECK_OR_RETURN(tr && tr->to_float && tr->tile_rows == 0 && hp->n_embd % tr->block_size == 0 &&
                                 256 % tr->block_size == 0,
                             code::bad_format, "%s = %lld is not a type the bundled FFN can use", key, (long long)bt);
        *out = bt;
        return status::ok();
    };
    int64_t up = -1, down = -1;
    TERN_RETURN_IF_ERROR(bundle_type("tern.ffn_bundle.type", &up));
    TERN_RETURN_IF_ERROR(bundle_type("tern.ffn_bundle.down_type", &down));
    hp->ffn_bundle_type = (int)up;
    hp->ffn_bundle_down_type = (int)(up >= 0 && down < 0 ? up : down);
    return status::ok();
}

void load_embeddings(const hparams &hp, tensor_lookup &t, model_weights *w) {
    w->tok_embd = t.get("token_embd.weight", {hp.n_embd, hp.n_vocab});
    w->output_norm = t.get("output_norm.weight", {hp.n_embd});
    w->output = t.get("output.weight", {hp.n_embd, hp.n_vocab}, false);
    if (!w->output) w->output = w->tok_embd; // tied
}

void load_llama_block(const hparams &hp, tensor_lookup &t, int64_t il, layer_weights *l) {
    const int64_t E = hp.n_embd, F = hp.n_ff, Q = hp.head_dim * hp.n_head, KV = hp.n_embd_kv();
    const std::string p = "blk." + std::to_string(il) + ".";
    l->attn_norm = t.get(p + "attn_norm.weight", {E});
    if (t.has(p + "attn_qkv.weight")) { // fused (phi3 layout)
        const auto qkv = t.get_split(p + "attn_qkv.weight", E, {Q, KV, KV});
        if (qkv.size() == 3) l->wq = qkv[0], l->wk = qkv[1], l->wv = qkv[2];
    } else {
        l->wq = t.get(p + "attn_q.weight", {E, Q});
        l->wk = t.get(p + "attn_k.weight", {E, KV});
        l->wv = t.get(p + "attn_v.weight", {E, KV});
    }
    l->bq = t.get(p + "attn_q.bias", {Q}, false); // qwen2
    l->bk = t.get(p + "attn_k.bias", {KV}, false);
    l->bv = t.get(p + "attn_v.bias", {KV}, false);
    l->q_norm = t.get(p + "attn_q_norm.weight", {hp.head_dim}, false); // gemma3, qwen3
    l->k_norm = t.get(p + "attn_k_norm.weight", {hp.head_dim}, false);
    l->wo = t.get(p + "attn_output.weight", {Q, E});
    l->ffn_norm = t.get(p + "ffn_norm.weight", {E});
    const bool fused_gate_up = !t.has(p + "ffn_gate.weight") && hp.ffn_bundle_type < 0; // phi3: ffn_up holds [gate | up]
    l->ffn_gate = fused_gate_up ? nullptr : t.get(p + "ffn_gate.weight", {E, F});
    if (hp.ffn_bundle_type >= 0) {
        l->ffn_bundle = t.get_raw(p + "ffn_bundle.weight", F, (int64_t)ffn_bundle_bytes((type)hp.ffn_bundle_type, (type)hp.ffn_bundle_down_type, E));
        return;
    }
    if (fused_gate_up) {
        const auto gu = t.get_split(p + "ffn_up.weight", E, {F, F});
        if (gu.size() == 2) l->ffn_gate = gu[0], l->ffn_up = gu[1];
    } else {
        l->ffn_up = t.get(p + "ffn_up.weight", {E, F});
    }
    l->ffn_down = t.get(p + "ffn_down.weight", {F, E});
}

status load_llama_layers(const hparams &hp, tensor_lookup &t, model_weights *w, bool gemma_norms) {
    load_embeddings(hp, t, w);
    w->layers.resize(hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) {
        layer_weights &l = w->layers[il];
        load_llama_block(hp, t, il, &l);
        if (!gemma_norms) continue;
        const std::string p = "blk." + std::to_string(il) + ".";
        l.post_attn_norm = t.get(p + "post_attention_norm.weight", {hp.n_embd});
        l.post_ffn_norm = t.get(p + "post_ffw_norm.weight", {hp.n_embd});
    }
    return t.error;
}

status read_sliding_window(const gguf_file &f, const std::string &arch, int64_t def, bool (*is_swa)(int64_t il), hparams *hp) {
    const std::string key = arch + ".attention.sliding_window";
    int64_t swa = def;
    if (f.find(key))
        TERN_CHECK_OR_RETURN(f.get_i64(key, &swa) && swa >= 0 && swa < (1ll << 31), code::bad_format, "%s is invalid", key.c_str());
    hp->n_swa = swa;
    hp->swa_layers.resize((size_t)hp->n_layer);
    for (int64_t il = 0; il < hp->n_layer; il++) hp->swa_layers[(size_t)il] = is_swa(il);
    return status::ok();
}

tensor *build_norm(graph &g, tensor *x, tensor *w, float eps) { return g.mul(g.rms_norm(x, eps), w); }

tensor *build_attn(graph &g, const hparams &hp, const layer_weights &lw, tensor *x, const graph_inputs &in, int il) {
    const int64_t M = in.n_tokens, D = hp.head_dim;
    auto proj = [&](tensor *w, tensor *b) { return b ? g.add(g.mul_mat(w, x), b) : g.mul_mat(w, x); };
    tensor *q = g.reshape_3d(proj(lw.wq, lw.bq), D, hp.n_head, M);    // [D, H, M]
    tensor *k = g.reshape_3d(proj(lw.wk, lw.bk), D, hp.n_head_kv, M); // [D, Hkv, M]
    if (lw.q_norm) q = build_norm(g, q, lw.q_norm, hp.rms_eps);       // each head's vector
    if (lw.k_norm) k = build_norm(g, k, lw.k_norm, hp.rms_eps);
    tensor *v = proj(lw.wv, lw.bv);                                   // [Hkv*D, M]
    return g.mul_mat(lw.wo, build_rope_attn(g, hp, q, k, v, in, il));
}

tensor *build_rope_attn(graph &g, const hparams &hp, tensor *q, tensor *k, tensor *v, const graph_inputs &in, int il) {
    const int64_t M = in.n_tokens, D = hp.head_dim;
    q = g.rope(q, in.positions, (int)hp.n_rot, hp.rope_base_of(il), hp.rope_mode);
    k = g.rope(k, in.positions, (int)hp.n_rot, hp.rope_base_of(il), hp.rope_mode);
    tensor *st = g.kv_store(g.reshape_2d(k, D * hp.n_head_kv, M), v, in.kv[il]);
    const float scale = hp.attn_scale > 0.0f ? hp.attn_scale : 1.0f / std::sqrt((float)D);
    return g.attention(q, in.kv[il], st, scale, hp.swa_layer(il) ? (int)hp.n_swa : 0, hp.attn_softcap);
}

tensor *build_ffn_swiglu(graph &g, const hparams &hp, const layer_weights &lw, tensor *x) {
    if (lw.ffn_bundle)
        return g.sparse_ffn(g.ffn_select(g.mul_mat(lw.ffn_gate, x), hp.ffn_keep), x, lw.ffn_bundle, (type)hp.ffn_bundle_type,
                            (type)hp.ffn_bundle_down_type);
    return g.mul_mat(lw.ffn_down, g.silu_mul(g.mul_mat(lw.ffn_gate, x), g.mul_mat(lw.ffn_up, x)));
}

tensor *build_gemma_graph(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in) {
    // ggml multiplies by sqrt(n_embd) computed in f32.
    tensor *x = g.scale(g.get_rows(w.tok_embd, in.tokens), (float)std::sqrt((float)hp.n_embd)); // [E, M]
    for (int il = 0; il < (int)hp.n_layer; il++) {
        const layer_weights &l = w.layers[il];
        tensor *a = build_attn(g, hp, l, build_norm(g, x, l.attn_norm, hp.rms_eps), in, il);
        x = g.add(x, build_norm(g, a, l.post_attn_norm, hp.rms_eps));
        tensor *h = build_norm(g, x, l.ffn_norm, hp.rms_eps);
        tensor *f = g.mul_mat(l.ffn_down, g.gelu_mul(g.mul_mat(l.ffn_gate, h), g.mul_mat(l.ffn_up, h)));
        x = g.add(x, build_norm(g, f, l.post_ffn_norm, hp.rms_eps));
    }
    return build_output(g, hp, w, x, in);
}

tensor *build_output(graph &g, const hparams &hp, const model_weights &w, tensor *x, const graph_inputs &in) {
    if (in.embeddings) {
        tensor *h = build_norm(g, x, w.output_norm, hp.rms_eps);
        g.mark_output(h);
        return h;
    }
    if (in.out_ids) x = g.get_rows(x, in.out_ids);
    else if (!in.all_logits && in.n_tokens > 1) x = g.view_cols(x, in.n_tokens - 1, 1);
    tensor *logits = g.mul_mat(w.output, build_norm(g, x, w.output_norm, hp.rms_eps));
    if (hp.final_softcap > 0.0f) logits = g.softcap(logits, hp.final_softcap);
    g.mark_output(logits);
    return logits;
}

} // namespace tern
