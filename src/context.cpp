// context.cpp — decoding: split the tokens into batches, build the architecture's graph for
// each, plan its memory, run it on the backend, and keep the logits the caller asked for.
#include "runtime.h"

#include <chrono>
#include <cstring>

namespace tern {

status context_decode(tern_context *ctx, const int32_t *tokens, int32_t n, bool all_logits) {
    tern_model *m = ctx->model;
    TERN_CHECK_OR_RETURN(n > 0 && tokens, code::invalid_argument, "decode needs at least one token");
    for (int32_t i = 0; i < n; i++)
        TERN_CHECK_OR_RETURN(tokens[i] >= 0 && tokens[i] < m->hp.n_vocab, code::invalid_argument,
                             "token id %d at index %d is outside the vocabulary (0..%lld)", tokens[i], i,
                             (long long)m->hp.n_vocab - 1);
    const bool policy = ctx->kv.config().policy != kv_policy::all;
    TERN_CHECK_OR_RETURN(policy || ctx->kv.n_past() + n <= ctx->kv.config().n_ctx, code::context_full,
                         "%d tokens do not fit: %lld of %lld context positions are used", n,
                         (long long)ctx->kv.n_past(), (long long)ctx->kv.config().n_ctx);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t V = m->hp.n_vocab;
    ctx->logits.resize((size_t)(all_logits ? n : 1) * V);
    ctx->n_logit_rows = 0;
    ctx->last_batch = 0;
    // Passes of at most n_batch tokens (the KV cache may ask for smaller ones: with a policy, a
    // pass must fit in the slack between its budget and the context).
    const int32_t n_batch = (int32_t)std::max<int64_t>(1, std::min<int64_t>(ctx->params.n_batch, ctx->kv.config().n_batch));
    std::vector<int32_t> pos;
    const int64_t start = ctx->kv.n_past();
    for (int32_t b0 = 0; b0 < n; b0 += n_batch) {
        const int32_t nb = std::min(n_batch, n - b0);
        TERN_RETURN_IF_ERROR(ctx->kv.begin_pass(nb, &pos));
        graph g;
        graph_inputs in;
        in.n_tokens = nb;
        in.all_logits = all_logits;
        in.tokens = g.new_tensor_1d(type::i32, nb, "tokens");
        in.tokens->data = const_cast<int32_t *>(tokens + b0);
        in.positions = g.new_tensor_1d(type::i32, nb, "positions");
        in.positions->data = pos.data();
        ctx->kv.bind(g, &in.kv);
        tensor *logits = m->arch->build(g, m->hp, m->w, in);
        compute_options opt;
        opt.n_threads = ctx->params.n_threads;
        opt.abort_cb = ctx->params.abort_callback;
        opt.abort_data = ctx->params.abort_user_data;
        status st = m->store ? m->store->begin_pass(g, &opt) : status::ok();
        if (st) {
            st = plan_memory(g, ctx->act);
            if (st) st = ctx->backend->compute(g.nodes(), opt);
            if (m->store) {
                if (!st && opt.before_node && !m->store->hook_error().is_ok()) st = m->store->hook_error();
                m->store->end_pass(st.is_ok());
            }
        }
        if (!st) {
            ctx->kv.abort_pass();
            // Without a policy nothing of the call stays cached; with one, evictions cannot be undone
            // and the passes that completed stay.
            if (!policy) ctx->kv.truncate(start);
            return st;
        }
        ctx->kv.commit_pass();
        const int64_t rows = tensor_nrows(logits);
        if (all_logits) {
            std::memcpy(ctx->logits.data() + (size_t)b0 * V, logits->data, sizeof(float) * V * rows);
            ctx->n_logit_rows += (int32_t)rows;
        } else if (b0 + nb == n) {
            std::memcpy(ctx->logits.data(), (float *)logits->data + (rows - 1) * V, sizeof(float) * V);
            ctx->n_logit_rows = 1;
        }
    }
    ctx->last_batch = n;
    ctx->last_all = all_logits;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (n == 1) {
        ctx->perf.t_gen_ms += ms;
        ctx->perf.n_gen_tokens += 1;
    } else {
        ctx->perf.t_prompt_ms += ms;
        ctx->perf.n_prompt_tokens += n;
    }
    return status::ok();
}

} // namespace tern
