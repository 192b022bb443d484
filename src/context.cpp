// context.cpp — decoding: split the tokens into passes, build the architecture's graph for each,
// plan its memory, run it on the backend, and keep the logits the caller asked for. A pass covers
// one sequence (tern_decode) or several (tern_decode_batch: each sequence's tokens are a run of
// columns, its KV cache a span of the layer's kv_batch).
#include "runtime.h"

#include <chrono>
#include <cmath>
#include <cstring>

namespace tern {

namespace {

// One sequence's part of a pass: columns [first, first + n) go to sequence seq.
struct seq_run {
    int32_t seq;
    int64_t first, n;
};

enum class pass_out { last, all, per_seq, hidden };

// Runs one pass whose sequences have had begin_pass called; copies the result to *out (rows of
// n_vocab logits, or of n_embd hidden states for `hidden`). Does not commit or abort the passes.
status run_pass(tern_context *ctx, const int32_t *tokens, int64_t n, const std::vector<seq_run> &runs,
                const std::vector<int32_t> &pos, pass_out mode, std::vector<float> *out) {
    tern_model *m = ctx->model;
    graph g;
    graph_inputs in;
    in.n_tokens = n;
    in.all_logits = mode == pass_out::all;
    in.embeddings = mode == pass_out::hidden;
    in.tokens = g.new_tensor_1d(type::i32, n, "tokens");
    in.tokens->data = const_cast<int32_t *>(tokens);
    in.positions = g.new_tensor_1d(type::i32, n, "positions");
    in.positions->data = const_cast<int32_t *>(pos.data());
    std::vector<kv_batch> batches((size_t)m->hp.n_layer);
    in.kv.resize((size_t)m->hp.n_layer);
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        for (const seq_run &r : runs) batches[(size_t)il].spans.push_back({ctx->seqs[(size_t)r.seq]->layer(il), r.first, r.n});
        in.kv[(size_t)il] = g.kv_cache_leaf(&batches[(size_t)il]);
    }
    std::vector<int32_t> out_ids;
    if (mode == pass_out::per_seq) {
        for (const seq_run &r : runs) out_ids.push_back((int32_t)(r.first + r.n - 1));
        in.out_ids = g.new_tensor_1d(type::i32, (int64_t)out_ids.size(), "out_ids");
        in.out_ids->data = out_ids.data();
    }
    tensor *res = m->arch->build(g, m->hp, m->w, in);
    compute_options opt;
    opt.n_threads = ctx->params.n_threads;
    opt.abort_cb = ctx->params.abort_callback;
    opt.abort_data = ctx->params.abort_user_data;
    opt.batch_invariant = ctx->params.batch_invariant;
    status st = m->store ? m->store->begin_pass(g, &opt) : status::ok();
    if (st) {
        st = plan_memory(g, ctx->act);
        if (st) st = ctx->backend->compute(g.nodes(), opt);
        if (m->store) {
            if (!st && opt.before_node && !m->store->hook_error().is_ok()) st = m->store->hook_error();
            m->store->end_pass(st.is_ok());
        }
    }
    if (!st) return st;
    const size_t count = (size_t)tensor_nelements(res);
    out->resize(count);
    std::memcpy(out->data(), res->data, sizeof(float) * count);
    return status::ok();
}

void record_perf(tern_context *ctx, int64_t n, std::chrono::steady_clock::time_point t0) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (n == 1) {
        ctx->perf.t_gen_ms += ms;
        ctx->perf.n_gen_tokens += 1;
    } else {
        ctx->perf.t_prompt_ms += ms;
        ctx->perf.n_prompt_tokens += (int32_t)n;
    }
}

status check_tokens(const tern_model *m, const int32_t *tokens, int32_t n) {
    TERN_CHECK_OR_RETURN(n > 0 && tokens, code::invalid_argument, "decode needs at least one token");
    for (int32_t i = 0; i < n; i++)
        TERN_CHECK_OR_RETURN(tokens[i] >= 0 && tokens[i] < m->hp.n_vocab, code::invalid_argument,
                             "token id %d at index %d is outside the vocabulary (0..%lld)", tokens[i], i,
                             (long long)m->hp.n_vocab - 1);
    return status::ok();
}

} // namespace

status context_decode(tern_context *ctx, const int32_t *tokens, int32_t n, bool all_logits) {
    tern_model *m = ctx->model;
    TERN_RETURN_IF_ERROR(check_tokens(m, tokens, n));
    kv_cache &kv = ctx->kv();
    const bool policy = kv.config().policy != kv_policy::all;
    TERN_CHECK_OR_RETURN(policy || kv.n_past() + n <= kv.config().n_ctx, code::context_full,
                         "%d tokens do not fit: %lld of %lld context positions are used", n, (long long)kv.n_past(),
                         (long long)kv.config().n_ctx);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t V = m->hp.n_vocab;
    ctx->logits.resize((size_t)(all_logits ? n : 1) * V);
    ctx->n_logit_rows = 0;
    ctx->last_batch = 0;
    // Passes of at most n_batch tokens (the KV cache may ask for smaller ones: with a policy, a
    // pass must fit in the slack between its budget and the context).
    const int32_t n_batch = (int32_t)std::max<int64_t>(1, std::min<int64_t>(ctx->params.n_batch, kv.config().n_batch));
    std::vector<int32_t> pos;
    std::vector<float> res;
    const int64_t start = kv.n_past();
    for (int32_t b0 = 0; b0 < n; b0 += n_batch) {
        const int32_t nb = std::min(n_batch, n - b0);
        TERN_RETURN_IF_ERROR(kv.begin_pass(nb, &pos));
        const status st = run_pass(ctx, tokens + b0, nb, {seq_run{0, 0, nb}}, pos, all_logits ? pass_out::all : pass_out::last, &res);
        if (!st) {
            kv.abort_pass();
            // Without a policy nothing of the call stays cached; with one, evictions cannot be undone
            // and the passes that completed stay.
            if (!policy) kv.truncate(start);
            return st;
        }
        kv.commit_pass();
        if (all_logits) {
            std::memcpy(ctx->logits.data() + (size_t)b0 * V, res.data(), sizeof(float) * res.size());
            ctx->n_logit_rows += (int32_t)(res.size() / (size_t)V);
        } else if (b0 + nb == n) {
            std::memcpy(ctx->logits.data(), res.data() + res.size() - (size_t)V, sizeof(float) * V);
            ctx->n_logit_rows = 1;
        }
    }
    ctx->seq_has_logits[0] = 0;
    ctx->last_batch = n;
    ctx->last_all = all_logits;
    record_perf(ctx, n, t0);
    return status::ok();
}

status context_decode_batch(tern_context *ctx, const int32_t *tokens, const int32_t *seq_ids, int32_t n) {
    tern_model *m = ctx->model;
    TERN_RETURN_IF_ERROR(check_tokens(m, tokens, n));
    TERN_CHECK_OR_RETURN(seq_ids, code::invalid_argument, "seq_ids is NULL");
    TERN_CHECK_OR_RETURN(n <= (int32_t)ctx->params.n_batch, code::invalid_argument,
                         "a batch of %d tokens exceeds n_batch (%u)", n, ctx->params.n_batch);
    const int32_t S = (int32_t)ctx->seqs.size();
    std::vector<seq_run> runs;
    std::vector<uint8_t> seen((size_t)S, 0);
    for (int32_t i = 0; i < n; i++) {
        const int32_t s = seq_ids[i];
        TERN_CHECK_OR_RETURN(s >= 0 && s < S, code::invalid_argument, "seq_ids[%d] = %d is outside 0..%d", i, s, S - 1);
        if (!runs.empty() && runs.back().seq == s) {
            runs.back().n++;
            continue;
        }
        TERN_CHECK_OR_RETURN(!seen[(size_t)s], code::invalid_argument,
                             "sequence %d's tokens are not consecutive in the batch", s);
        seen[(size_t)s] = 1;
        runs.push_back({s, i, 1});
    }
    for (const seq_run &r : runs) {
        const kv_cache &kv = *ctx->seqs[(size_t)r.seq];
        TERN_CHECK_OR_RETURN(kv.config().policy != kv_policy::all || kv.n_past() + r.n <= kv.config().n_ctx,
                             code::context_full, "sequence %d: %lld tokens do not fit: %lld of %lld positions are used",
                             r.seq, (long long)r.n, (long long)kv.n_past(), (long long)kv.config().n_ctx);
        TERN_CHECK_OR_RETURN(r.n <= kv.config().n_batch, code::invalid_argument,
                             "sequence %d: %lld tokens exceed the cache's pass size %lld", r.seq, (long long)r.n,
                             (long long)kv.config().n_batch);
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int32_t> pos, p;
    size_t begun = 0;
    status st;
    for (; begun < runs.size(); begun++) {
        st = ctx->seqs[(size_t)runs[begun].seq]->begin_pass(runs[begun].n, &p);
        if (!st) break;
        pos.insert(pos.end(), p.begin(), p.end());
    }
    std::vector<float> res;
    if (st) st = run_pass(ctx, tokens, n, runs, pos, pass_out::per_seq, &res);
    if (!st) {
        for (size_t i = 0; i < begun; i++) ctx->seqs[(size_t)runs[i].seq]->abort_pass();
        return st;
    }
    const size_t V = (size_t)m->hp.n_vocab;
    std::fill(ctx->seq_has_logits.begin(), ctx->seq_has_logits.end(), 0);
    for (size_t i = 0; i < runs.size(); i++) {
        ctx->seqs[(size_t)runs[i].seq]->commit_pass();
        std::memcpy(ctx->seq_logits.data() + (size_t)runs[i].seq * V, res.data() + i * V, sizeof(float) * V);
        ctx->seq_has_logits[(size_t)runs[i].seq] = 1;
    }
    ctx->n_logit_rows = 0; // tern_get_logits refers to tern_decode calls
    record_perf(ctx, n, t0);
    return status::ok();
}

status context_embed(tern_context *ctx, int32_t seq, const int32_t *tokens, int32_t n, float *out) {
    tern_model *m = ctx->model;
    TERN_RETURN_IF_ERROR(check_tokens(m, tokens, n));
    kv_cache &kv = *ctx->seqs[(size_t)seq];
    kv.truncate(0);
    TERN_CHECK_OR_RETURN(n <= kv.config().n_ctx, code::context_full, "%d tokens do not fit in the context of %lld", n,
                         (long long)kv.config().n_ctx);
    const int64_t E = m->hp.n_embd;
    std::vector<double> sum((size_t)E, 0.0);
    const int32_t n_batch = (int32_t)std::max<int64_t>(1, std::min<int64_t>(ctx->params.n_batch, kv.config().n_batch));
    std::vector<int32_t> pos;
    std::vector<float> res;
    for (int32_t b0 = 0; b0 < n; b0 += n_batch) {
        const int32_t nb = std::min(n_batch, n - b0);
        status st = kv.begin_pass(nb, &pos);
        if (st) st = run_pass(ctx, tokens + b0, nb, {seq_run{seq, 0, nb}}, pos, pass_out::hidden, &res);
        if (!st) {
            kv.abort_pass();
            kv.truncate(0);
            return st;
        }
        kv.commit_pass();
        for (int32_t i = 0; i < nb; i++)
            for (int64_t e = 0; e < E; e++) sum[(size_t)e] += res[(size_t)i * (size_t)E + (size_t)e];
    }
    kv.truncate(0);
    double norm = 0;
    for (double &v : sum) v /= n, norm += v * v;
    norm = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (int64_t e = 0; e < E; e++) out[e] = (float)(sum[(size_t)e] * norm);
    return status::ok();
}

} // namespace tern
