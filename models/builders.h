// builders.h — graph pieces shared by architectures (norms, attention block, FFNs) and the
// common hyperparameter reader.
#pragma once

#include "model.h"

namespace tern {

// Reads `<arch>.*` keys common to llama-like models; validates them (positive, head dims agree).
status read_common_hparams(const gguf_file &f, const std::string &arch, hparams *hp);

// token_embd [E, V], output_norm [E] and output [E, V] (tied to token_embd when absent).
void load_embeddings(const hparams &hp, tensor_lookup &t, model_weights *w);

// The llama block's tensors of layer il: attn_norm, attn_q/k/v/output, ffn_norm, ffn_gate/up/down.
void load_llama_block(const hparams &hp, tensor_lookup &t, int64_t il, layer_weights *l);

// Embeddings and every layer's llama block (load_llama_block); with `gemma_norms`, also each
// layer's post_attention_norm and post_ffw_norm. Returns the lookup's error.
status load_llama_layers(const hparams &hp, tensor_lookup &t, model_weights *w, bool gemma_norms = false);

// `<arch>.attention.sliding_window` into hp->n_swa (def when absent; must be positive), and the
// layers it applies to: those with is_swa(il).
status read_sliding_window(const gguf_file &f, const std::string &arch, int64_t def, bool (*is_swa)(int64_t il), hparams *hp);

// x [E, M] -> rms_norm(x) * w
tensor *build_norm(graph &g, tensor *x, tensor *w, float eps);

// Self-attention with RoPE over the layer's KV cache: x [E, M] (already normed) -> [E, M].
tensor *build_attn(graph &g, const hparams &hp, const layer_weights &lw, tensor *x, const graph_inputs &in, int il);
// RoPE on q [D, H, M] and k [D, Hkv, M], k and v [Hkv*D, M] appended to layer il's KV cache, then
// attention over the cache: -> [H*D, M].
tensor *build_rope_attn(graph &g, const hparams &hp, tensor *q, tensor *k, tensor *v, const graph_inputs &in, int il);

// SwiGLU FFN: down(silu(gate x) * up x); over a bundled layout, the sparse FFN with hp.ffn_keep.
tensor *build_ffn_swiglu(graph &g, const hparams &hp, const layer_weights &lw, tensor *x);

// The Gemma 2/3 decoder: embeddings * sqrt(n_embd); per layer x += post_attn_norm(attn(norm(x)))
// and x += post_ffn_norm(down(gelu(gate h) * up h)), h = ffn_norm(x); final norm, output, cap.
tensor *build_gemma_graph(graph &g, const hparams &hp, const model_weights &w, const graph_inputs &in);

// Final norm + output projection; only the last token's column unless all_logits.
tensor *build_output(graph &g, const hparams &hp, const model_weights &w, tensor *x, const graph_inputs &in);

} // namespace tern
