// server-engine.cpp — continuous batching over the slots of one context (see server-engine.h).
#include "server-engine.h"
#include "text-stream.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace tern_cli {

engine::~engine() { stop(); }

bool engine::start(tern_model *model, const engine_params &p, std::string *err) {
    model_ = model;
    p_ = p;
    p_.n_parallel = std::max(1, p.n_parallel);
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = (uint32_t)std::max(0, p.n_ctx);
    cp.n_batch = (uint32_t)std::max(1, p.n_batch);
    cp.n_threads = p.n_threads;
    cp.n_seq_max = (uint32_t)p_.n_parallel;
    cp.kv_type = p.kv_type;
    cp.batch_invariant = p.batch_invariant;
    if (tern_context_init(model, &cp, &ctx_) != TERN_OK) {
        *err = tern_last_error();
        return false;
    }
    n_ctx_ = (int32_t)tern_n_ctx(ctx_);
    n_vocab_ = tern_model_n_vocab(model);
    slots_.resize((size_t)p_.n_parallel);
    st_.kv_capacity = n_ctx_ * p_.n_parallel;
    thread_ = std::thread([this] { loop(); });
    return true;
}

void engine::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        quit_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (slot &s : slots_) {
        if (s.req) finish(s, "cancelled", "server shutting down");
    }
    for (auto &r : queue_) {
        std::lock_guard<std::mutex> lk(r->mu);
        r->done = true;
        r->finish_reason = "cancelled";
        r->error = "server shutting down";
        r->cv.notify_all();
    }
    queue_.clear();
    if (ctx_) tern_context_free(ctx_);
    ctx_ = nullptr;
}

bool engine::submit(const std::shared_ptr<request> &r) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (quit_ || (int32_t)queue_.size() >= p_.queue_max) return false;
        queue_.push_back(r);
    }
    cv_.notify_all();
    return true;
}

engine_stats engine::stats() {
    std::lock_guard<std::mutex> lk(mu_);
    engine_stats s = st_;
    s.queue_depth = (int32_t)queue_.size();
    return s;
}

void engine::finish(slot &s, const char *reason, const std::string &error) {
    if (!s.req) return;
    request &r = *s.req;
    {
        std::lock_guard<std::mutex> lk(r.mu);
        if (s.ts) {
            std::string rest = s.ts->flush();
            if (!rest.empty()) r.events.push_back(gen_event{rest, {}, {}});
        }
        r.done = true;
        r.finish_reason = reason;
        r.error = error;
        r.cv.notify_all();
    }
    tern_sampler_free(s.smpl);
    s.smpl = nullptr;
    s.ts.reset();
    s.req.reset();
    s.generating = false;
    s.next = TERN_TOKEN_NULL;
    std::lock_guard<std::mutex> lk(mu_);
    st_.requests_done++;
    st_.active--;
}

// Moves queued requests into free slots, each into the free slot whose cached tokens share the
// longest prefix with its prompt (a conversation continued by the client lands where it was).
void engine::admit() {
    std::lock_guard<std::mutex> lk(mu_);
    while (!queue_.empty()) {
        int best = -1;
        size_t best_len = 0;
        const auto &prompt = queue_.front()->prompt;
        for (size_t i = 0; i < slots_.size(); i++) {
            if (slots_[i].req) continue;
            const auto &c = slots_[i].cached;
            size_t k = 0;
            while (k < c.size() && k < prompt.size() && c[k] == prompt[k]) k++;
            if (best < 0 || k > best_len) best = (int)i, best_len = k;
        }
        if (best < 0) return;
        std::shared_ptr<request> r = queue_.front();
        queue_.pop_front();
        if (r->cancelled) {
            std::lock_guard<std::mutex> rl(r->mu);
            r->done = true;
            r->finish_reason = "cancelled";
            r->cv.notify_all();
            continue;
        }
        slot &s = slots_[(size_t)best];
        // The last prompt token is always decoded again: its logits start the answer.
        const size_t keep = std::min(best_len, r->prompt.size() - 1);
        tern_seq_truncate(ctx_, best, (int32_t)keep);
        s.cached.resize(keep);
        s.n_fed = keep;
        s.req = r;
        s.generating = false;
        s.ts = std::make_unique<text_stream>(r->params.stop);
        tern_sampler_params sp = tern_sampler_default_params();
        sp.seed = r->params.seed;
        sp.temperature = r->params.temperature;
        sp.top_k = r->params.top_k;
        sp.top_p = r->params.top_p;
        sp.min_p = r->params.min_p;
        sp.repeat_penalty = r->params.repeat_penalty;
        sp.frequency_penalty = r->params.frequency_penalty;
        sp.presence_penalty = r->params.presence_penalty;
        tern_sampler_init(&sp, &s.smpl);
        r->n_prompt = (int32_t)r->prompt.size();
        r->n_cached = (int32_t)keep;
        st_.active++;
        st_.cached_tokens += keep;
    }
}

// A token the slot produced: report it (with log-probabilities if asked), stop when due.
void engine::emit(slot &s, tern_token t, const float *logits) {
    request &r = *s.req;
    const gen_params &gp = r.params;
    if (tern_token_is_eog(model_, t) && !gp.ignore_eos) return finish(s, "stop");
    tern_sampler_accept(s.smpl, t);
    gen_event ev;
    char buf[256];
    const int32_t n = tern_token_to_piece(model_, t, buf, sizeof buf, false);
    const std::string piece(buf, (size_t)std::max(0, n));
    bool stopped = false;
    ev.text = s.ts->put(piece, &stopped);
    if (gp.want_logprobs) {
        float mx = logits[0];
        for (int32_t i = 1; i < n_vocab_; i++) mx = std::max(mx, logits[i]);
        double sum = 0;
        for (int32_t i = 0; i < n_vocab_; i++) sum += std::exp((double)(logits[i] - mx));
        const float lse = mx + (float)std::log(sum);
        ev.tok = {piece, t, logits[t] - lse};
        if (gp.n_probs > 0) {
            std::vector<int32_t> idx((size_t)n_vocab_);
            for (int32_t i = 0; i < n_vocab_; i++) idx[(size_t)i] = i;
            const size_t k = (size_t)std::min(gp.n_probs, n_vocab_);
            std::partial_sort(idx.begin(), idx.begin() + (long)k, idx.end(),
                              [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
            for (size_t i = 0; i < k; i++) {
                const int32_t m = tern_token_to_piece(model_, idx[i], buf, sizeof buf, false);
                ev.top.push_back({std::string(buf, (size_t)std::max(0, m)), idx[i], logits[idx[i]] - lse});
            }
        }
    } else ev.tok = {piece, t, 0.0f};
    {
        std::lock_guard<std::mutex> lk(r.mu);
        r.n_gen++;
        r.events.push_back(std::move(ev));
        r.cv.notify_all();
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        st_.gen_tokens++;
    }
    if (stopped) return finish(s, "stop");
    if (r.n_gen >= gp.max_tokens) return finish(s, "length");
    if ((int32_t)s.cached.size() + 1 >= n_ctx_) return finish(s, "length");
    s.next = t;
    s.generating = true;
}

void engine::loop() {
    std::vector<tern_token> toks;
    std::vector<int32_t> ids;
    struct part {
        size_t slot, n;
        bool prompt;
    };
    std::vector<part> parts;
    for (;;) {
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return quit_ || !queue_.empty() || st_.active > 0; });
            if (quit_) return;
        }
        for (slot &s : slots_)
            if (s.req && s.req->cancelled) finish(s, "cancelled");
        admit();
        // One pass: every generating slot's next token, then prompt chunks while room is left.
        toks.clear(), ids.clear(), parts.clear();
        int32_t budget = p_.n_batch;
        for (size_t i = 0; i < slots_.size() && budget > 0; i++) {
            slot &s = slots_[i];
            if (!s.req || !s.generating) continue;
            toks.push_back(s.next), ids.push_back((int32_t)i), parts.push_back({i, 1, false});
            budget--;
        }
        for (size_t i = 0; i < slots_.size() && budget > 0; i++) {
            slot &s = slots_[i];
            if (!s.req || s.generating) continue;
            const size_t n = std::min((size_t)budget, s.req->prompt.size() - s.n_fed);
            for (size_t k = 0; k < n; k++) toks.push_back(s.req->prompt[s.n_fed + k]), ids.push_back((int32_t)i);
            parts.push_back({i, n, true});
            budget -= (int32_t)n;
        }
        if (toks.empty()) continue;
        const auto t0 = std::chrono::steady_clock::now();
        const tern_status rc = tern_decode_batch(ctx_, toks.data(), ids.data(), (int32_t)toks.size());
        const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        {
            std::lock_guard<std::mutex> lk(mu_);
            st_.passes++;
            st_.decode_seconds += sec;
            if (rc == TERN_OK)
                for (const part &p : parts)
                    if (p.prompt) st_.prompt_tokens += p.n;
        }
        if (rc != TERN_OK) {
            const std::string msg = tern_last_error();
            for (const part &p : parts) finish(slots_[p.slot], "error", msg);
            continue;
        }
        size_t off = 0;
        for (const part &p : parts) {
            slot &s = slots_[p.slot];
            s.cached.insert(s.cached.end(), toks.begin() + (long)off, toks.begin() + (long)(off + p.n));
            off += p.n;
            if (p.prompt) {
                s.n_fed += p.n;
                if (s.n_fed < s.req->prompt.size()) continue;
            }
            const float *logits = tern_get_logits_seq(ctx_, (int32_t)p.slot);
            emit(s, tern_sampler_sample(s.smpl, logits, n_vocab_), logits);
        }
        int32_t kv = 0;
        for (size_t i = 0; i < slots_.size(); i++) kv += tern_seq_pos(ctx_, (int32_t)i);
        std::lock_guard<std::mutex> lk(mu_);
        st_.kv_tokens = kv;
    }
}

} // namespace tern_cli
