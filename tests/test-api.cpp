// test-api.cpp — the C API as an embedder uses it: error codes and messages for bad input,
// batch splitting equivalence, truncation/re-decode, threads, and a real chat answer.
#include "test-util.h"

#include "tern.h"

#include "ggml/gguf.h"
#include "ggml/type-table.h"

#include <cmath>
#include <cstring>
#include <string>
#include <chrono>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace {
const std::string k_stories = test_util::model_path("stories260K.gguf");

std::vector<float> run_logits(tern_model *m, const std::vector<int32_t> &toks, uint32_t n_batch, int threads, bool all) {
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 256;
    p.n_batch = n_batch;
    p.n_threads = threads;
    p.kv_type = TERN_KV_F32;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
    REQUIRE(tern_decode(c, toks.data(), (int32_t)toks.size(), all) == TERN_OK);
    const int V = tern_model_n_vocab(m);
    std::vector<float> out;
    for (int i = all ? 0 : (int)toks.size() - 1; i < (int)toks.size(); i++) {
        const float *l = tern_get_logits(c, i);
        REQUIRE(l);
        out.insert(out.end(), l, l + V);
    }
    tern_context_free(c);
    return out;
}
double max_diff(const std::vector<float> &a, const std::vector<float> &b) {
    double d = 0;
    for (size_t i = 0; i < a.size(); i++) d = std::max(d, (double)std::fabs(a[i] - b[i]));
    return d;
}
} // namespace

TEST_SUITE("api") {

TEST_CASE("bad arguments and files give error codes and messages") {
    tern_model *m = nullptr;
    CHECK(tern_model_load("/nonexistent.gguf", nullptr, &m) == TERN_ERR_IO);
    CHECK(m == nullptr);
    CHECK(std::string(tern_last_error()).find("/nonexistent.gguf") != std::string::npos);
    CHECK(tern_model_load(nullptr, nullptr, &m) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(tern_model_load("/etc/hostname", nullptr, &m) == TERN_ERR_BAD_FORMAT);
    CHECK(tern_model_load(k_stories.c_str(), nullptr, nullptr) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(tern_context_init(nullptr, nullptr, nullptr) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(tern_decode(nullptr, nullptr, 0, false) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(std::string(tern_status_str(TERN_ERR_CONTEXT_FULL)) == "context full");
    tern_model_free(nullptr);
    tern_context_free(nullptr);
    tern_sampler_free(nullptr);
}

TEST_CASE("unknown architecture and unsupported tensor types are clear errors") {
    // A copy of stories260K claiming an architecture tern does not know.
    SKIP_IF_MISSING(k_stories);
    tern_model *m = nullptr;
    {
        std::unique_ptr<tern::gguf_file> src;
        REQUIRE(tern::gguf_file::open(k_stories, &src).is_ok());
        tern::gguf_writer w;
        for (const auto &kv : src->kvs) {
            if (kv.key == "general.architecture") w.set_str("general.architecture", "mamba9");
            else w.copy_kv(kv);
        }
        for (const auto &t : src->tensors) w.add_tensor(t.name, t.ttype, t.ne, t.n_dims, src->tensor_data(t));
        const std::string path = test_util::temp_path("mamba9.gguf");
        REQUIRE(w.write(path).is_ok());
        CHECK(tern_model_load(path.c_str(), nullptr, &m) == TERN_ERR_UNSUPPORTED);
        CHECK(std::string(tern_last_error()).find("architecture 'mamba9'") != std::string::npos);
        CHECK(std::string(tern_last_error()).find("known: llama, bitnet, qwen2, phi3, gemma2") != std::string::npos);
        std::remove(path.c_str());
    }
    // A copy of stories260K with one weight retyped to a format tern does not compute (iq4_nl).
    SKIP_IF_MISSING(k_stories);
    std::unique_ptr<tern::gguf_file> src;
    REQUIRE(tern::gguf_file::open(k_stories, &src).is_ok());
    tern::gguf_writer w;
    for (const auto &kv : src->kvs) w.copy_kv(kv);
    std::vector<uint8_t> junk(1 << 20, 0);
    for (const auto &t : src->tensors) {
        const bool retype = t.name == "blk.0.attn_q.weight";
        REQUIRE(t.n_bytes <= junk.size());
        w.add_tensor(t.name, retype ? tern::type::iq4_nl : t.ttype, t.ne, t.n_dims, retype ? junk.data() : src->tensor_data(t));
    }
    const std::string path = test_util::temp_path("iq4nl.gguf");
    REQUIRE(w.write(path).is_ok());
    CHECK(tern_model_load(path.c_str(), nullptr, &m) == TERN_ERR_UNSUPPORTED);
    CHECK(std::string(tern_last_error()).find("iq4_nl") != std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("decode rejects bad tokens and a full context without changing state") {
    SKIP_IF_MISSING(k_stories);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(k_stories.c_str(), nullptr, &m) == TERN_OK);
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 8;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
    int32_t bad[2] = {1, 100000};
    CHECK(tern_decode(c, bad, 2, false) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(tern_context_pos(c) == 0);
    std::vector<int32_t> nine(9, 5);
    CHECK(tern_decode(c, nine.data(), 9, false) == TERN_ERR_CONTEXT_FULL);
    CHECK(std::string(tern_last_error()).find("do not fit") != std::string::npos);
    CHECK(tern_context_pos(c) == 0);
    CHECK(tern_decode(c, nine.data(), 8, false) == TERN_OK);
    CHECK(tern_context_pos(c) == 8);
    CHECK(tern_decode(c, nine.data(), 1, false) == TERN_ERR_CONTEXT_FULL);
    CHECK(tern_get_logits(c, -1) != nullptr);
    CHECK(tern_get_logits(c, 0) == nullptr); // only the last token's logits were kept
    tern_context_free(c);
    tern_model_free(m);
}

TEST_CASE("batch size and thread count do not change the logits") {
    SKIP_IF_MISSING(k_stories);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(k_stories.c_str(), nullptr, &m) == TERN_OK);
    std::vector<int32_t> toks = {1, 403, 407, 261, 378, 450, 322, 262, 300, 290, 311, 410, 260};
    const auto ref = run_logits(m, toks, 512, 1, true);
    CHECK(max_diff(ref, run_logits(m, toks, 1, 1, true)) < 1e-5);
    CHECK(max_diff(ref, run_logits(m, toks, 5, 2, true)) < 1e-5);
    CHECK(max_diff(ref, run_logits(m, toks, 512, 3, true)) < 1e-5);
    const auto last = run_logits(m, toks, 4, 2, false);
    const int V = tern_model_n_vocab(m);
    CHECK(max_diff(last, std::vector<float>(ref.end() - V, ref.end())) < 1e-5);
    tern_model_free(m);
}

TEST_CASE("truncate and re-decode reproduces the logits; two contexts run concurrently") {
    SKIP_IF_MISSING(k_stories);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(k_stories.c_str(), nullptr, &m) == TERN_OK);
    std::vector<int32_t> toks = {1, 403, 407, 261, 378, 450};
    const auto ref = run_logits(m, toks, 512, 1, false);
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 1;
    p.kv_type = TERN_KV_F32;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
    int32_t junk[3] = {5, 6, 7};
    REQUIRE(tern_decode(c, toks.data(), 3, false) == TERN_OK);
    REQUIRE(tern_decode(c, junk, 3, false) == TERN_OK);
    REQUIRE(tern_context_truncate(c, 3) == TERN_OK);
    REQUIRE(tern_decode(c, toks.data() + 3, 3, false) == TERN_OK);
    const float *l = tern_get_logits(c, -1);
    CHECK(max_diff(ref, std::vector<float>(l, l + ref.size())) < 1e-5);
    tern_context_free(c);

    std::vector<float> a, b;
    std::thread t1([&] { a = run_logits(m, toks, 2, 1, false); });
    std::thread t2([&] { b = run_logits(m, toks, 3, 1, false); });
    t1.join();
    t2.join();
    CHECK(max_diff(a, ref) < 1e-5);
    CHECK(max_diff(b, ref) < 1e-5);
    tern_model_free(m);
}

TEST_CASE("SmolLM2-135M-Instruct answers a chat question fluently (greedy)") {
    const std::string path = test_util::default_model();
    SKIP_IF_MISSING(path);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    char desc[128];
    tern_model_desc(m, desc, sizeof desc);
    CHECK(std::string(desc).find("llama") == 0);
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, nullptr, &c) == TERN_OK);
    // The model's own template (run by the Jinja interpreter) adds its default system prompt when
    // there is none; with that one this 4-bit 135M model rambles, so the test gives a system turn.
    // "What is the capital of France?" is a near tie between "The" and "La" as first word (0.004 to
    // 0.19 logits apart depending on the kernels' summation order, and "La" goes on in French), so
    // the question is worded as one this model answers the same way on every kernel path.
    const tern_chat_message msgs[] = {{"system", "You are a helpful assistant."}, {"user", "Name the capital of France."}};
    char prompt[512];
    const int32_t n = tern_chat_apply_template(m, nullptr, msgs, 2, true, prompt, sizeof prompt);
    REQUIRE(n > 0);
    CHECK(std::string(prompt) == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nName the "
                                 "capital of France.<|im_end|>\n<|im_start|>assistant\n");
    std::vector<int32_t> toks(256);
    const int32_t nt = tern_tokenize(m, prompt, n, toks.data(), 256, true, true);
    REQUIRE(nt > 0);
    REQUIRE(tern_decode(c, toks.data(), nt, false) == TERN_OK);
    tern_sampler_params sp = tern_sampler_default_params();
    sp.temperature = 0;
    tern_sampler *s = nullptr;
    REQUIRE(tern_sampler_init(&sp, &s) == TERN_OK);
    std::string answer;
    for (int i = 0; i < 40; i++) {
        const int32_t t = tern_sampler_sample(s, tern_get_logits(c, -1), tern_model_n_vocab(m));
        if (tern_token_is_eog(m, t)) break;
        char piece[64];
        const int32_t k = tern_token_to_piece(m, t, piece, sizeof piece, false);
        answer.append(piece, std::max(0, k));
        REQUIRE(tern_decode(c, &t, 1, false) == TERN_OK);
    }
    MESSAGE("SmolLM2 answer: " << answer);
    CHECK(answer.find("Paris") != std::string::npos);
    tern_sampler_free(s);
    tern_context_free(c);
    tern_model_free(m);
}

TEST_CASE("worker threads do not spin while the context is idle") {
    SKIP_IF_MISSING(k_stories);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(k_stories.c_str(), nullptr, &m) == TERN_OK);
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 2;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
    const int32_t toks[4] = {1, 400, 300, 200};
    REQUIRE(tern_decode(c, toks, 4, false) == TERN_OK);
    auto cpu_s = [] {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // let any spin-wait run out
    const double before = cpu_s();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const double used = cpu_s() - before;
    CHECK_MESSAGE(used < 0.05, "CPU seconds burnt while idle: ", used);
    tern_context_free(c);
    tern_model_free(m);
}
}

TEST_SUITE("api") {

TEST_CASE("model load progress: monotone calls ending at 1, and cancellation") {
    SKIP_IF_MISSING(k_stories);
    struct rec {
        std::vector<float> seen;
        int stop_after = -1;
    };
    auto cb = [](float p, void *u) {
        rec *r = (rec *)u;
        r->seen.push_back(p);
        return r->stop_after < 0 || (int)r->seen.size() <= r->stop_after;
    };
    for (uint64_t budget : {(uint64_t)0, (uint64_t)(64u << 20)}) {
        CAPTURE(budget);
        rec r;
        tern_model_params mp = tern_model_default_params();
        mp.mem_budget = budget;
        mp.progress_callback = cb;
        mp.progress_user_data = &r;
        tern_model *m = nullptr;
        REQUIRE(tern_model_load(k_stories.c_str(), &mp, &m) == TERN_OK);
        REQUIRE(!r.seen.empty());
        for (size_t i = 1; i < r.seen.size(); i++) CHECK(r.seen[i] >= r.seen[i - 1]);
        CHECK(r.seen.back() == 1.0f);
        tern_model_free(m);
        rec stop;
        stop.stop_after = 0;
        mp.progress_user_data = &stop;
        CHECK(tern_model_load(k_stories.c_str(), &mp, &m) == TERN_ERR_ABORTED);
        CHECK(m == nullptr);
        CHECK(std::string(tern_last_error()).find("cancelled") != std::string::npos);
    }
}

} // TEST_SUITE
