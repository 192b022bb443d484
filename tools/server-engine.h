// server-engine.h — the scheduler behind `tern serve`: one context with --parallel sequences
// ("slots"), a bounded queue of requests, and one thread that decodes all active slots together
// (continuous batching: each step is one forward pass carrying one new token of every generating
// slot plus a chunk of any prompt being read; requests join and leave between steps). A slot keeps
// its tokens after a request, so a request that continues the same conversation reuses the
// cached prefix. HTTP handlers talk to it through `request` objects only.
#pragma once

#include "tern.h"
#include "text-stream.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tern_cli {

struct gen_params {
    int32_t max_tokens = 256;
    float temperature = 0.8f, top_p = 0.95f, min_p = 0.05f;
    int32_t top_k = 40;
    float repeat_penalty = 1.0f, frequency_penalty = 0.0f, presence_penalty = 0.0f;
    uint64_t seed = 0;
    std::vector<std::string> stop;
    int32_t n_probs = 0; // top alternatives reported per token (logprobs)
    bool want_logprobs = false;
    bool ignore_eos = false;
};

struct token_prob {
    std::string text;
    int32_t token;
    float logprob;
};

// One generated token as the client sees it.
struct gen_event {
    std::string text; // may be empty (held back: partial character or a possible stop string)
    token_prob tok{};
    std::vector<token_prob> top; // with n_probs
};

struct request {
    std::vector<tern_token> prompt;
    gen_params params;
    // Filled by the engine, read under mu by the HTTP thread.
    std::mutex mu;
    std::condition_variable cv;
    std::deque<gen_event> events;
    bool done = false;
    std::string finish_reason; // "stop", "length", "cancelled", "error"
    std::string error;
    int32_t n_prompt = 0, n_cached = 0, n_gen = 0;
    std::atomic<bool> cancelled{false};
};

struct engine_params {
    int32_t n_parallel = 1;
    int32_t n_ctx = 0;     // per slot (0: the model's, at most 4096)
    int32_t n_batch = 512; // tokens per forward pass
    int32_t n_threads = 0;
    int32_t queue_max = 64; // waiting requests beyond the slots
    tern_kv_type kv_type = TERN_KV_F16;
    bool batch_invariant = true; // a request's answer does not depend on what it is batched with
};

struct engine_stats {
    uint64_t requests_done = 0, prompt_tokens = 0, cached_tokens = 0, gen_tokens = 0, passes = 0;
    double decode_seconds = 0, busy_seconds = 0;
    int32_t queue_depth = 0, active = 0, kv_tokens = 0, kv_capacity = 0;
};

class engine {
  public:
    ~engine();
    // Creates the context; on error returns false with the message in *err.
    bool start(tern_model *model, const engine_params &p, std::string *err);
    void stop();
    // Queues a request; false when the queue is full.
    bool submit(const std::shared_ptr<request> &r);
    int32_t n_ctx() const { return n_ctx_; }
    engine_stats stats();

  private:
    struct slot {
        std::shared_ptr<request> req;
        std::vector<tern_token> cached; // tokens in the sequence's KV cache
        size_t n_fed = 0;               // prompt tokens in the cache so far
        tern_sampler *smpl = nullptr;
        tern_token next = TERN_TOKEN_NULL; // sampled, not yet decoded
        std::unique_ptr<text_stream> ts;
        bool generating = false;
    };
    void loop();
    void admit();
    void finish(slot &s, const char *reason, const std::string &error = "");
    void emit(slot &s, tern_token t, const float *logits);

    tern_model *model_ = nullptr;
    tern_context *ctx_ = nullptr;
    engine_params p_;
    int32_t n_ctx_ = 0, n_vocab_ = 0;
    std::vector<slot> slots_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<request>> queue_;
    bool quit_ = false;
    std::thread thread_;
    engine_stats st_;
};

} // namespace tern_cli
