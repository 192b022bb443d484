// api.cpp — the C API: argument checks, error text, and calls into the runtime. No exception
// escapes: every entry point that can allocate catches std::exception.
#include "runtime.h"
#include "flash-prepare.h"

#include "kernels-cpu/cpu-backend.h"
#include "quantize.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <new>

namespace tern {
const char *last_error_text();
void log_set(tern_log_callback cb, void *data);
tern_token sampler_sample(tern_sampler *s, const float *logits, int32_t n_vocab);
} // namespace tern

using namespace tern;

namespace {
tern_status fail(code c, const char *msg) { return set_error(status(c, msg)); }

// Copy `s` into buf (NUL-terminated, truncated to fit); returns the full length.
int32_t copy_out(const std::string &s, char *buf, size_t size) {
    if (buf && size > 0) {
        const size_t n = std::min(s.size(), size - 1);
        std::memcpy(buf, s.data(), n);
        buf[n] = 0;
    }
    return (int32_t)s.size();
}

template <class F> tern_status guarded(F f) {
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return fail(code::out_of_memory, "out of memory");
    } catch (const std::exception &e) {
        return fail(code::internal, e.what());
    }
}
} // namespace

extern "C" {

const char *tern_last_error(void) { return last_error_text(); }

const char *tern_status_str(tern_status s) {
    switch (s) {
    case TERN_OK: return "ok";
    case TERN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TERN_ERR_IO: return "i/o error";
    case TERN_ERR_BAD_FORMAT: return "bad format";
    case TERN_ERR_UNSUPPORTED: return "unsupported";
    case TERN_ERR_OUT_OF_MEMORY: return "out of memory";
    case TERN_ERR_CONTEXT_FULL: return "context full";
    case TERN_ERR_ABORTED: return "aborted";
    case TERN_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *tern_version(void) { return "0.1.0"; }

void tern_log_set(tern_log_callback cb, void *user_data) { log_set(cb, user_data); }

// ---- model ---------------------------------------------------------------------------------
tern_model_params tern_model_default_params(void) {
    tern_model_params p;
    p.vocab_only = false;
    p.use_mlock = false;
    p.mem_budget = 0;
    p.direct_io = true;
    p.flash_keep = 0.0f;
    p.flash_window = 0;
    p.progress_callback = nullptr;
    p.progress_user_data = nullptr;
    p.n_gpu_layers = 0;
    p.gpu_device = -1;
    return p;
}

int32_t tern_devices(char *buf, size_t size) {
    backends_init();
    std::string all;
    for (const backend_iface *b : backend_list())
        if (b->devices)
            for (const std::string &line : b->devices()) all += line + "\n";
    return copy_out(all, buf, size);
}

tern_status tern_model_load(const char *path, const tern_model_params *params, tern_model **out) {
    if (!out) return fail(code::invalid_argument, "tern_model_load: out is NULL");
    *out = nullptr;
    return guarded([&] {
        const tern_model_params p = params ? *params : tern_model_default_params();
        std::unique_ptr<tern_model> m;
        status st = model_load(path, p, &m);
        if (!st) return set_error(st);
        *out = m.release();
        return TERN_OK;
    });
}

void tern_model_free(tern_model *model) {
    if (!model) return;
    // GPU backends forget the copies they keep of this model's weights.
    std::vector<const tensor *> w;
    for (const tensor &t : model->weights) w.push_back(&t);
    for (const backend_iface *b : backend_list())
        if (b->release) b->release(w.data(), w.size());
    delete model;
}

int32_t tern_model_n_vocab(const tern_model *m) { return m ? (int32_t)m->hp.n_vocab : 0; }
int32_t tern_model_n_ctx_train(const tern_model *m) { return m ? (int32_t)m->hp.n_ctx_train : 0; }
int32_t tern_model_n_embd(const tern_model *m) { return m ? (int32_t)m->hp.n_embd : 0; }
int32_t tern_model_n_layer(const tern_model *m) { return m ? (int32_t)m->hp.n_layer : 0; }
uint64_t tern_model_size_bytes(const tern_model *m) { return m ? m->n_bytes : 0; }
uint64_t tern_model_n_params(const tern_model *m) { return m ? m->n_params : 0; }

int32_t tern_model_desc(const tern_model *m, char *buf, size_t size) { return m ? copy_out(m->desc, buf, size) : -1; }

int32_t tern_model_kernels(const tern_model *m, char *buf, size_t size) {
    if (!m) return -1;
    backends_init();
    const backend_iface *cpu = backend_find("cpu");
    std::map<std::string, std::pair<int, uint64_t>> by_type; // matrices only
    for (const tensor &t : m->weights)
        if (t.ne[1] > 1) {
            auto &e = by_type[type_name(t.ttype)];
            e.first++;
            e.second += tensor_nbytes(&t);
        }
    std::string s;
    for (const auto &kv : by_type) {
        type t;
        type_from_name(kv.first.c_str(), &t);
        char line[256];
        std::snprintf(line, sizeof line, "%s: %d tensors, %.1f MiB; decode: %s; prefill: %s\n", kv.first.c_str(),
                      kv.second.first, kv.second.second / 1048576.0, cpu ? cpu->describe_matmul(t, 1).c_str() : "?",
                      cpu ? cpu->describe_matmul(t, 64).c_str() : "?");
        s += line;
    }
    return copy_out(s, buf, size);
}

int32_t tern_model_meta_str(const tern_model *m, const char *key, char *buf, size_t size) {
    if (!m || !key) return -1;
    const gguf_kv *kv = m->file->find(key);
    if (!kv) return -1;
    std::string s;
    switch (kv->type) {
    case gguf_vtype::string: s = kv->str; break;
    case gguf_vtype::array: s = "[" + std::to_string(kv->arr_n) + " " + gguf_vtype_name(kv->arr_type) + "]"; break;
    case gguf_vtype::f32:
    case gguf_vtype::f64: s = std::to_string(kv->f); break;
    case gguf_vtype::boolean: s = kv->u ? "true" : "false"; break;
    case gguf_vtype::u64:
    case gguf_vtype::u32:
    case gguf_vtype::u16:
    case gguf_vtype::u8: s = std::to_string(kv->u); break;
    default: s = std::to_string(kv->i);
    }
    return copy_out(s, buf, size);
}

// ---- vocabulary ----------------------------------------------------------------------------
tern_token tern_token_bos(const tern_model *m) { return m ? m->voc.bos : TERN_TOKEN_NULL; }
tern_token tern_token_eos(const tern_model *m) { return m ? m->voc.eos : TERN_TOKEN_NULL; }
bool tern_token_is_eog(const tern_model *m, tern_token t) { return m && m->voc.is_eog(t); }
bool tern_add_bos(const tern_model *m) { return m && m->voc.add_bos; }

int32_t tern_tokenize(const tern_model *m, const char *text, int32_t text_len, tern_token *tokens, int32_t n_max,
                      bool add_special, bool parse_special) {
    if (!m || (!text && text_len > 0) || text_len < 0) {
        fail(code::invalid_argument, "tern_tokenize: bad arguments");
        return INT32_MIN;
    }
    try {
        const std::vector<token_id> ids =
            m->voc.tokenize(std::string(text ? text : "", (size_t)text_len), add_special, parse_special);
        if ((int64_t)ids.size() > n_max || (!tokens && !ids.empty())) return -(int32_t)ids.size();
        std::copy(ids.begin(), ids.end(), tokens);
        return (int32_t)ids.size();
    } catch (const std::exception &e) {
        fail(code::internal, e.what());
        return INT32_MIN;
    }
}

int32_t tern_token_to_piece(const tern_model *m, tern_token t, char *buf, int32_t size, bool special) {
    if (!m || !m->voc.valid(t)) return INT32_MIN;
    const std::string s = m->voc.token_to_piece(t, special);
    if ((int32_t)s.size() > size || (!buf && !s.empty())) return -(int32_t)s.size();
    std::memcpy(buf, s.data(), s.size());
    return (int32_t)s.size();
}

int32_t tern_detokenize(const tern_model *m, const tern_token *tokens, int32_t n, char *text, int32_t size,
                        bool remove_special, bool unparse_special) {
    if (!m || n < 0 || (!tokens && n > 0)) return INT32_MIN;
    for (int32_t i = 0; i < n; i++)
        if (!m->voc.valid(tokens[i])) return INT32_MIN;
    const std::string s = m->voc.detokenize(tokens, (size_t)n, remove_special, unparse_special);
    if ((int32_t)s.size() > size || (!text && !s.empty())) return -(int32_t)s.size();
    std::memcpy(text, s.data(), s.size());
    return (int32_t)s.size();
}

int32_t tern_chat_apply_template(const tern_model *m, const char *tmpl, const tern_chat_message *msgs, size_t n,
                                 bool add_assistant, char *buf, int32_t size) {
    if (!m || (!msgs && n > 0)) return -1;
    status st;
    const std::string s = chat_apply_template(m, tmpl, msgs, n, add_assistant, &st);
    if (!st) {
        set_error(st);
        return -1;
    }
    return copy_out(s, buf, size > 0 ? (size_t)size : 0);
}

namespace {
// tern_kv_type (public numbering) -> kv_format
void tern_kv_type_to_format(tern_kv_type t, kv_format *out) {
    static const kv_format formats[] = {kv_format::f16, kv_format::f32, kv_format::q8_0, kv_format::q4_0,
                                        kv_format::kivi4, kv_format::kivi2};
    *out = formats[(int)t];
}
} // namespace

// ---- context -------------------------------------------------------------------------------
tern_context_params tern_context_default_params(void) {
    tern_context_params p;
    p.n_ctx = 0;
    p.n_batch = 512;
    p.n_threads = 0;
    p.kv_type = TERN_KV_F16;
    p.kv_policy = TERN_KV_ALL;
    p.kv_budget = 0;
    p.kv_sinks = 4;
    p.kv_residual = 32;
    p.abort_callback = nullptr;
    p.abort_user_data = nullptr;
    p.n_seq_max = 1;
    p.batch_invariant = false;
    return p;
}

tern_status tern_context_init(tern_model *m, const tern_context_params *params, tern_context **out) {
    if (!out) return fail(code::invalid_argument, "tern_context_init: out is NULL");
    *out = nullptr;
    if (!m) return fail(code::invalid_argument, "tern_context_init: model is NULL");
    if (m->vocab_only) return fail(code::invalid_argument, "model was loaded vocab-only: it cannot compute");
    return guarded([&] {
        backends_init();
        auto ctx = std::make_unique<tern_context>();
        ctx->model = m;
        ctx->params = params ? *params : tern_context_default_params();
        tern_context_params &p = ctx->params;
        if (p.n_ctx == 0) p.n_ctx = (uint32_t)std::min<int64_t>(m->hp.n_ctx_train, 4096);
        if (p.n_batch == 0) p.n_batch = 512;
        if (p.n_threads <= 0) p.n_threads = cpu_default_threads();
        if (p.n_ctx > (1u << 24)) return fail(code::invalid_argument, "n_ctx is larger than 16M tokens");
        if ((unsigned)p.kv_type > TERN_KV_KIVI2) return fail(code::invalid_argument, "unknown kv_type");
        if ((unsigned)p.kv_policy > TERN_KV_SNAPKV) return fail(code::invalid_argument, "unknown kv_policy");
        if (p.kv_budget < 0 || p.kv_sinks < 0) return fail(code::invalid_argument, "kv_budget and kv_sinks must be >= 0");
        ctx->backend = backend_find("cpu");
        if (!ctx->backend) return fail(code::internal, "no CPU backend registered");
        if (m->n_gpu_layers > 0) ctx->backend = gpu_backend(m);
        kv_config kc;
        kv_format fmt;
        tern_kv_type_to_format(p.kv_type, &fmt);
        kc.fmt = fmt;
        kc.policy = (kv_policy)p.kv_policy;
        kc.n_ctx = p.n_ctx;
        kc.n_batch = p.n_batch;
        kc.budget = p.kv_budget;
        kc.sinks = p.kv_sinks;
        kc.residual = p.kv_residual > 0 ? p.kv_residual : 32;
        if (p.n_seq_max == 0) p.n_seq_max = 1;
        if (p.n_seq_max > 256) return fail(code::invalid_argument, "n_seq_max is larger than 256");
        for (uint32_t s = 0; s < p.n_seq_max; s++) {
            ctx->seqs.push_back(std::make_unique<kv_cache>());
            status st = ctx->seqs.back()->init(m->hp, kc);
            if (!st) return set_error(st);
        }
        ctx->seq_logits.assign((size_t)p.n_seq_max * (size_t)m->hp.n_vocab, 0.0f);
        ctx->seq_has_logits.assign(p.n_seq_max, 0);
        *out = ctx.release();
        return TERN_OK;
    });
}

void tern_context_free(tern_context *ctx) {
    if (!ctx) return;
    // GPU backends forget their copies of this context's KV cache.
    std::vector<uint64_t> uids;
    for (auto &kv : ctx->seqs)
        for (int64_t il = 0; il < kv->n_layer(); il++) uids.push_back(kv->layer(il)->uid);
    for (const backend_iface *b : backend_list())
        if (b->release_kv) b->release_kv(uids.data(), uids.size());
    delete ctx;
}

uint32_t tern_n_ctx(const tern_context *ctx) { return ctx ? ctx->params.n_ctx : 0; }
int32_t tern_context_pos(const tern_context *ctx) { return ctx ? (int32_t)ctx->kv().n_past() : 0; }

tern_status tern_context_truncate(tern_context *ctx, int32_t pos) {
    if (!ctx || pos < 0) return fail(code::invalid_argument, "tern_context_truncate: bad arguments");
    return guarded([&] {
        ctx->kv().truncate(pos);
        return TERN_OK;
    });
}

bool tern_kv_type_parse(const char *name, tern_kv_type *out) {
    kv_format f;
    if (!out || !kv_format_parse(name, &f)) return false;
    static const tern_kv_type map[] = {TERN_KV_F32, TERN_KV_F16, TERN_KV_Q8_0, TERN_KV_Q4_0, TERN_KV_KIVI4, TERN_KV_KIVI2};
    *out = map[(int)f];
    return true;
}

bool tern_kv_policy_parse(const char *name, tern_kv_policy *out) {
    kv_policy p;
    if (!out || !kv_policy_parse(name, &p)) return false;
    *out = (tern_kv_policy)p;
    return true;
}

double tern_model_kv_bytes_per_token(const tern_model *m, tern_kv_type t, int32_t n_tokens, int32_t kv_residual) {
    if (!m || (unsigned)t > TERN_KV_KIVI2) return -1;
    kv_format f;
    tern_kv_type_to_format(t, &f);
    if (f > kv_format::f16 && m->hp.head_dim % 32 != 0) return -1;
    return kv_bytes_per_token(m->hp, f, n_tokens, kv_residual > 0 ? kv_residual : 32);
}

tern_status tern_context_kv_fill_synthetic(tern_context *ctx, int32_t n, uint64_t seed) {
    if (!ctx || n < 0) return fail(code::invalid_argument, "tern_context_kv_fill_synthetic: bad arguments");
    return guarded([&] {
        if (ctx->kv().config().policy == kv_policy::all && ctx->kv().n_past() + n > ctx->kv().config().n_ctx)
            return set_error(make_status(code::context_full, "%d tokens do not fit in the context", n));
        status st = ctx->kv().fill_synthetic(n, seed);
        ctx->n_logit_rows = 0;
        return st ? TERN_OK : set_error(st);
    });
}

tern_kv_stats tern_context_kv_stats(const tern_context *ctx, int32_t n_tokens) {
    tern_kv_stats s{};
    if (!ctx) return s;
    s.bytes_per_token = ctx->kv().bytes_per_token(n_tokens > 0 ? n_tokens : ctx->params.n_ctx);
    s.f16_bytes_per_token = ctx->kv().f16_bytes_per_token();
    for (const auto &kv : ctx->seqs) s.bytes_allocated += kv->bytes();
    s.n_cached = (int32_t)ctx->kv().n_cached();
    return s;
}

void tern_context_set_threads(tern_context *ctx, int32_t n) {
    if (ctx) ctx->params.n_threads = n > 0 ? n : cpu_default_threads();
}

tern_status tern_decode(tern_context *ctx, const tern_token *tokens, int32_t n, bool all_logits) {
    if (!ctx) return fail(code::invalid_argument, "tern_decode: context is NULL");
    return guarded([&] {
        status st = context_decode(ctx, tokens, n, all_logits);
        return st ? TERN_OK : set_error(st);
    });
}

uint32_t tern_n_seq(const tern_context *ctx) { return ctx ? (uint32_t)ctx->seqs.size() : 0; }

int32_t tern_seq_pos(const tern_context *ctx, int32_t seq) {
    if (!ctx || seq < 0 || seq >= (int32_t)ctx->seqs.size()) return -1;
    return (int32_t)ctx->seqs[(size_t)seq]->n_past();
}

tern_status tern_seq_truncate(tern_context *ctx, int32_t seq, int32_t pos) {
    if (!ctx || seq < 0 || seq >= (int32_t)ctx->seqs.size() || pos < 0)
        return fail(code::invalid_argument, "tern_seq_truncate: bad arguments");
    return guarded([&] {
        ctx->seqs[(size_t)seq]->truncate(pos);
        ctx->seq_has_logits[(size_t)seq] = 0;
        return TERN_OK;
    });
}

tern_status tern_decode_batch(tern_context *ctx, const tern_token *tokens, const int32_t *seq_ids, int32_t n) {
    if (!ctx) return fail(code::invalid_argument, "tern_decode_batch: context is NULL");
    return guarded([&] {
        status st = context_decode_batch(ctx, tokens, seq_ids, n);
        return st ? TERN_OK : set_error(st);
    });
}

const float *tern_get_logits_seq(tern_context *ctx, int32_t seq) {
    if (!ctx || seq < 0 || seq >= (int32_t)ctx->seqs.size() || !ctx->seq_has_logits[(size_t)seq]) return nullptr;
    return ctx->seq_logits.data() + (size_t)seq * (size_t)ctx->model->hp.n_vocab;
}

namespace {
constexpr char k_seq_magic[8] = {'T', 'E', 'R', 'N', 'S', 'E', 'Q', '1'};
// The last-token logits of a sequence, if any: per-sequence ones from tern_decode_batch, else
// (sequence 0) those of the last tern_decode.
const float *seq_last_logits(tern_context *ctx, int32_t seq) {
    if (ctx->seq_has_logits[(size_t)seq]) return ctx->seq_logits.data() + (size_t)seq * (size_t)ctx->model->hp.n_vocab;
    if (seq == 0 && ctx->n_logit_rows > 0) return tern_get_logits(ctx, -1);
    return nullptr;
}
} // namespace

size_t tern_seq_state_get(tern_context *ctx, int32_t seq, uint8_t *buf, size_t buf_size) {
    if (!ctx || seq < 0 || seq >= (int32_t)ctx->seqs.size()) {
        fail(code::invalid_argument, "tern_seq_state_get: bad arguments");
        return 0;
    }
    std::vector<uint8_t> out(k_seq_magic, k_seq_magic + 8);
    const tern_model *m = ctx->model;
    const int64_t head[] = {m->hp.n_vocab, m->hp.n_embd, m->hp.n_layer, (int64_t)m->n_bytes};
    out.insert(out.end(), (const uint8_t *)head, (const uint8_t *)(head + 4));
    const float *l = seq_last_logits(ctx, seq);
    const int64_t has = l != nullptr;
    out.insert(out.end(), (const uint8_t *)&has, (const uint8_t *)(&has + 1));
    if (l) out.insert(out.end(), (const uint8_t *)l, (const uint8_t *)(l + m->hp.n_vocab));
    ctx->seqs[(size_t)seq]->save_state(&out);
    if (buf) std::memcpy(buf, out.data(), std::min(buf_size, out.size()));
    return out.size();
}

tern_status tern_seq_state_set(tern_context *ctx, int32_t seq, const uint8_t *buf, size_t size) {
    if (!ctx || seq < 0 || seq >= (int32_t)ctx->seqs.size() || !buf) return fail(code::invalid_argument, "tern_seq_state_set: bad arguments");
    return guarded([&] {
        const tern_model *m = ctx->model;
        const size_t V = (size_t)m->hp.n_vocab, fixed = 8 + 5 * sizeof(int64_t);
        if (size < fixed || std::memcmp(buf, k_seq_magic, 8) != 0) return fail(code::invalid_argument, "not a tern sequence state");
        int64_t head[5];
        std::memcpy(head, buf + 8, sizeof head);
        if (head[0] != m->hp.n_vocab || head[1] != m->hp.n_embd || head[2] != m->hp.n_layer || head[3] != (int64_t)m->n_bytes)
            return fail(code::invalid_argument, "the sequence state was saved with another model");
        if ((head[4] != 0 && head[4] != 1) || size < fixed + (head[4] ? V * sizeof(float) : 0))
            return fail(code::invalid_argument, "the sequence state is truncated");
        const size_t off = fixed + (head[4] ? V * sizeof(float) : 0);
        status st = ctx->seqs[(size_t)seq]->load_state(buf + off, size - off);
        if (!st) return set_error(st);
        ctx->seq_has_logits[(size_t)seq] = (uint8_t)head[4];
        if (head[4]) std::memcpy(ctx->seq_logits.data() + (size_t)seq * V, buf + fixed, V * sizeof(float));
        if (seq == 0) { // tern_get_logits(ctx, -1) continues from the restored state
            ctx->n_logit_rows = head[4] ? 1 : 0;
            ctx->last_batch = head[4] ? 1 : 0;
            ctx->last_all = false;
            ctx->logits.resize(head[4] ? V : 0);
            if (head[4]) std::memcpy(ctx->logits.data(), buf + fixed, V * sizeof(float));
        }
        return TERN_OK;
    });
}

tern_status tern_embed(tern_context *ctx, int32_t seq, const tern_token *tokens, int32_t n, float *out) {
    if (!ctx || !out || seq < 0 || seq >= (int32_t)ctx->seqs.size())
        return fail(code::invalid_argument, "tern_embed: bad arguments");
    return guarded([&] {
        status st = context_embed(ctx, seq, tokens, n, out);
        return st ? TERN_OK : set_error(st);
    });
}

const float *tern_get_logits(tern_context *ctx, int32_t i) {
    if (!ctx || ctx->n_logit_rows == 0) return nullptr;
    if (i < 0) i += ctx->last_batch;
    if (i < 0 || i >= ctx->last_batch) return nullptr;
    const int64_t V = ctx->model->hp.n_vocab;
    if (ctx->last_all) return ctx->logits.data() + (size_t)i * V;
    return i == ctx->last_batch - 1 ? ctx->logits.data() : nullptr;
}

tern_perf tern_context_perf(const tern_context *ctx) { return ctx ? ctx->perf : tern_perf{}; }

tern_io_stats tern_model_io_stats(const tern_model *m) {
    tern_io_stats r{};
    if (!m || !m->store) return r;
    const store_stats s = m->store->stats();
    r.streaming = s.streaming;
    r.direct_io = s.direct_io;
    r.mem_budget = s.budget;
    r.bytes_weights = s.bytes_weights;
    r.bytes_resident = s.bytes_pinned;
    r.bytes_buffer = s.bytes_ring;
    r.bytes_streamed_per_pass = s.bytes_streamed_per_pass;
    r.n_resident = s.n_pinned;
    r.n_streamed = s.n_streamed;
    r.n_passes = s.n_passes;
    r.bytes_read = s.bytes_read;
    r.n_reads = s.n_reads;
    r.bytes_used = s.bytes_used;
    r.bytes_used_in_ram = s.bytes_used_in_ram;
    r.read_ms = s.read_ms;
    r.io_wait_ms = s.io_wait_ms;
    r.neurons_used = s.neurons_used;
    r.neurons_cached = s.neurons_cached;
    r.bytes_read_neurons = s.bytes_read_neurons;
    r.bytes_window = s.bytes_window;
    return r;
}
void tern_context_perf_reset(tern_context *ctx) {
    if (ctx) ctx->perf = tern_perf{};
}

// ---- sampler -------------------------------------------------------------------------------
tern_sampler_params tern_sampler_default_params(void) {
    tern_sampler_params p;
    p.seed = 0;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.penalty_last_n = 64;
    return p;
}

tern_status tern_sampler_init(const tern_sampler_params *params, tern_sampler **out) {
    if (!out) return fail(code::invalid_argument, "tern_sampler_init: out is NULL");
    *out = nullptr;
    return guarded([&] {
        auto s = std::make_unique<tern_sampler>();
        s->params = params ? *params : tern_sampler_default_params();
        s->rng_state = s->params.seed;
        *out = s.release();
        return TERN_OK;
    });
}

void tern_sampler_free(tern_sampler *s) { delete s; }

tern_token tern_sampler_sample(tern_sampler *s, const float *logits, int32_t n_vocab) {
    if (!s || !logits || n_vocab <= 0) return TERN_TOKEN_NULL;
    try {
        return sampler_sample(s, logits, n_vocab);
    } catch (const std::exception &e) {
        fail(code::internal, e.what());
        return TERN_TOKEN_NULL;
    }
}

void tern_sampler_accept(tern_sampler *s, tern_token t) {
    if (!s) return;
    s->history.push_back(t);
    while (s->history.size() > 4096) s->history.pop_front();
}

void tern_sampler_reset(tern_sampler *s) {
    if (!s) return;
    s->history.clear();
    s->rng_state = s->params.seed;
}

} // extern "C"

extern "C" tern_status tern_flash_prepare_gate(const char *in_path, const char *out_path, const char *gate_type,
                                               int32_t n_threads, tern_layer_progress progress, void *user_data) {
    if (!in_path || !out_path) return fail(code::invalid_argument, "tern_flash_prepare: null argument");
    type gt = type::count_;
    if (gate_type && (!type_from_name(gate_type, &gt) || type_is_runtime_only(gt)))
        return fail(code::invalid_argument, ("tern_flash_prepare: unknown gate type '" + std::string(gate_type) + "'").c_str());
    return guarded([&] {
        std::function<void(int, int)> cb;
        if (progress) cb = [&](int l, int n) { progress(l, n, user_data); };
        status st = flash_prepare(in_path, out_path, n_threads, cb, nullptr, gt);
        return st.is_ok() ? TERN_OK : set_error(st);
    });
}

extern "C" tern_status tern_flash_prepare(const char *in_path, const char *out_path, int32_t n_threads,
                                          tern_layer_progress progress, void *user_data) {
    return tern_flash_prepare_gate(in_path, out_path, nullptr, n_threads, progress, user_data);
}

extern "C" tern_status tern_model_quantize(const char *in_path, const char *out_path, const char *type, int32_t n_threads,
                                           tern_quantize_progress progress, void *user_data) {
    if (!in_path || !out_path || !type) return fail(code::invalid_argument, "tern_model_quantize: null argument");
    return guarded([&] {
        quant_recipe r;
        status st = quant_recipe_parse(type, &r);
        if (!st.is_ok()) return set_error(st);
        quantize_progress pr;
        if (progress)
            pr.on_tensor = [&](size_t done, size_t total, const std::string &name, tern::type from, tern::type to) {
                progress((int32_t)done, (int32_t)total, name.c_str(), type_name(from), type_name(to), user_data);
            };
        st = quantize_model(in_path, out_path, r, n_threads, pr);
        return st.is_ok() ? TERN_OK : set_error(st);
    });
}
