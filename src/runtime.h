// runtime.h — the structs behind the C API's opaque handles, and the runtime's internal calls.
#pragma once

#include "tern.h"

#include "ggml/backend.h"
#include "ggml/gguf.h"
#include "ggml/plan.h"
#include "kv-cache.h"
#include "models/model.h"
#include "vocab.h"
#include "weight-store.h"

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

struct tern_model {
    std::unique_ptr<tern::gguf_file> file;
    const tern::arch_def *arch = nullptr;
    tern::hparams hp;
    tern::model_weights w;
    tern::vocab voc;
    std::deque<tern::tensor> weights; // leaves whose data lies in the mapping (or the store's RAM)
    std::unique_ptr<tern::weight_store> store; // with a memory budget; destroyed before `weights`
    // Weights repacked at load into a backend's runtime layout (backend_iface::weight_layout).
    std::vector<std::unique_ptr<uint8_t, void (*)(void *)>> repacked;
    uint64_t n_params = 0, n_bytes = 0;
    std::string desc;
    bool vocab_only = false;
    int32_t n_gpu_layers = 0; // layers whose weights carry tensor_flag_offload (L + 1: the output too)
    int32_t gpu_device = -1;
};

struct tern_context {
    tern_model *model = nullptr;
    tern_context_params params{};
    const tern::backend_iface *backend = nullptr;
    std::vector<std::unique_ptr<tern::kv_cache>> seqs; // one KV cache per sequence (n_seq_max)
    tern::kv_cache &kv() { return *seqs[0]; }
    const tern::kv_cache &kv() const { return *seqs[0]; }
    tern::arena act;
    std::vector<float> logits; // [n_rows, n_vocab]
    // tern_decode_batch: the last token's logits of each sequence in the last batch ([n_seq][n_vocab]).
    std::vector<float> seq_logits;
    std::vector<uint8_t> seq_has_logits;
    int32_t n_logit_rows = 0;
    int32_t last_batch = 0;    // tokens in the last tern_decode call
    bool last_all = false;
    tern_perf perf{};
};

struct tern_sampler {
    tern_sampler_params params{};
    uint64_t rng_state = 0;
    std::deque<tern_token> history;
};

namespace tern {

// Error plumbing for the C API: remember the message for tern_last_error, return the code.
tern_status set_error(const status &st);
void log_msg(tern_log_level level, const char *fmt, ...);

status model_load(const char *path, const tern_model_params &params, std::unique_ptr<tern_model> *out);
status context_decode(tern_context *ctx, const int32_t *tokens, int32_t n, bool all_logits);
// One forward pass over several sequences (tern_decode_batch).
status context_decode_batch(tern_context *ctx, const int32_t *tokens, const int32_t *seq_ids, int32_t n);
// Mean-pooled, L2-normalized final hidden states of tokens run as sequence `seq` (cleared first).
status context_embed(tern_context *ctx, int32_t seq, const int32_t *tokens, int32_t n, float *out);

// Registers the backends compiled into this build (CPU always).
void backends_init();
// The backend a context of m computes with when m offloads layers: the GPU backend with its device
// open, or the CPU (with a warning) when there is none.
const backend_iface *gpu_backend(const tern_model *m);

// Renders Jinja template text (jinja.h) over the messages. A template that does not parse is
// bad_format; one that fails while rendering (raise_exception, a type error) invalid_argument.
std::string chat_render_template(const std::string &tmpl, const tern_chat_message *msgs, size_t n, bool add_assistant,
                                 const std::string &bos, const std::string &eos, status *st);
std::string chat_apply_template(const tern_model *model, const char *tmpl, const tern_chat_message *msgs,
                                size_t n, bool add_assistant, status *st);

} // namespace tern
