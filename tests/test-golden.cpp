// test-golden.cpp — end-to-end agreement with llama.cpp on the shared models: greedy tokens
// exact and logits within the golden README's tolerances (F32 KV: 1e-4, F16 KV: 2e-2 for
// stories260K; tiny random models by top-5 logits).
#include "test-util.h"

#include "tern.h"

#include <cmath>

namespace {

struct session {
    tern_model *m = nullptr;
    tern_context *c = nullptr;
    session(const std::string &path, tern_kv_type kv, int threads) {
        REQUIRE_MESSAGE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK, tern_last_error());
        tern_context_params p = tern_context_default_params();
        p.n_ctx = 512;
        p.kv_type = kv;
        p.n_threads = threads;
        REQUIRE_MESSAGE(tern_context_init(m, &p, &c) == TERN_OK, tern_last_error());
    }
    ~session() {
        tern_context_free(c);
        tern_model_free(m);
    }
};

int argmax(const float *l, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[best]) best = i;
    return best;
}

// Runs prompt + greedy decode; compares tokens and logits at the recorded positions.
void check_golden(const std::string &model, const std::string &golden, tern_kv_type kv, double full_tol, double top_tol,
                  bool exact_tokens, int threads) {
    const std::string mpath = model.find('/') != std::string::npos ? model : test_util::model_path(model);
    const std::string gpath = test_util::golden_path(golden);
    SKIP_IF_MISSING(mpath);
    SKIP_IF_MISSING(gpath);
    const auto j = test_util::load_json(gpath);
    CAPTURE(golden);
    session s(mpath, kv, threads);
    const int V = tern_model_n_vocab(s.m);
    std::vector<int32_t> in = j["decoded_input"];
    REQUIRE(tern_decode(s.c, in.data(), (int32_t)in.size(), false) == TERN_OK);
    const std::vector<int32_t> want = j["greedy_tokens"];
    const auto &positions = j["positions"];
    double max_full = 0, max_top = 0;
    std::vector<int32_t> got;
    for (size_t i = 0; i < want.size(); i++) {
        const float *l = tern_get_logits(s.c, -1);
        REQUIRE(l);
        if (i < positions.size() && (!exact_tokens || got == std::vector<int32_t>(want.begin(), want.begin() + i))) {
            const auto &p = positions[i];
            if (p.contains("logits"))
                for (int k = 0; k < V; k++) max_full = std::max(max_full, std::fabs((double)l[k] - p["logits"][k].get<double>()));
            for (const auto &t : p["top"]) max_top = std::max(max_top, std::fabs((double)l[t["id"].get<int>()] - t["logit"].get<double>()));
        }
        const int32_t next = exact_tokens ? argmax(l, V) : want[i]; // teacher-force when not exact
        got.push_back(argmax(l, V));
        REQUIRE(tern_decode(s.c, &next, 1, false) == TERN_OK);
    }
    if (exact_tokens) CHECK(got == want);
    CHECK_MESSAGE(max_full <= full_tol, "max |logit diff| over full vectors ", max_full);
    CHECK_MESSAGE(max_top <= top_tol, "max |logit diff| over top-5 ", max_top);
    MESSAGE(golden << ": max full diff " << max_full << ", top-5 diff " << max_top);
}

const char *k_prompts[] = {"p01_once", "p02_dog", "p03_park", "p04_empty", "p06_long", "p07_ball"};

} // namespace

TEST_SUITE("golden") {

TEST_CASE("stories260K, F32 KV: greedy tokens exact, logits within 1e-4") {
    for (const char *p : k_prompts)
        check_golden("stories260K.gguf", std::string("stories260K-kvf32__") + p + ".json", TERN_KV_F32, 1e-4, 1e-4, true, 1);
}

TEST_CASE("stories260K, F16 KV (llama.cpp default), 2 threads: tokens exact, logits within 2e-2") {
    for (const char *p : k_prompts)
        check_golden("stories260K.gguf", std::string("stories260K__") + p + ".json", TERN_KV_F16, 2e-2, 2e-2, true, 2);
}

TEST_CASE("llama-bpe-tiny (llama + GPT-2 BPE, tied output), F32 KV: logits within 1e-4") {
    for (const char *p : {"p01_once", "p02_dog", "p06_long", "p07_ball"})
        check_golden("llama-bpe-tiny-f32.gguf", std::string("llama-bpe-tiny-f32-kvf32__") + p + ".json", TERN_KV_F32,
                     1e-4, 1e-4, false, 2);
}

TEST_CASE("llama-tiny Q8_0 (activations quantized like llama.cpp): top-5 logits within 2e-2") {
    for (const char *p : {"p01_once", "p03_park", "p06_long"})
        check_golden("llama-tiny-q8_0.gguf", std::string("llama-tiny-q8_0__") + p + ".json", TERN_KV_F16, 1e9, 2e-2, false, 2);
}

// 3e-2, like the golden README's allowance for quantized activations: over a teacher-forced
// generation a 1-ulp difference in a float sum flips Q8_0 activation roundings, and kernels that
// differ only in summation order land on either side of 2e-2 on p01 (scalar reference 0.0197,
// AVX2 0.0175, AVX-512 0.0204; llama.cpp itself runs repacked 8x8 Q4_0 kernels here).
TEST_CASE("llama-tiny Q4_0 with a Q6_K output matrix (K-quant byte layout): top-5 logits within 3e-2") {
    for (const char *p : {"p01_once", "p03_park", "p06_long"})
        check_golden("llama-tiny-q4_0.gguf", std::string("llama-tiny-q4_0__") + p + ".json", TERN_KV_F16, 1e9, 3e-2, false, 2);
}
}

TEST_SUITE("golden") {

TEST_CASE("qwen2-tiny F32 (q/k/v biases, NEOX RoPE), F32 KV: tokens exact, logits within 1e-4") {
    for (const char *p : {"p01_once", "p02_dog", "p04_empty", "p06_long", "p07_ball"})
        check_golden("qwen2-tiny-f32.gguf", std::string("qwen2-tiny-f32-kvf32__") + p + ".json", TERN_KV_F32, 1e-4, 1e-4,
                     true, 2);
}

TEST_CASE("phi3-tiny F32 (fused qkv and gate-up, sliding window 16 on every layer), F32 KV: tokens exact, logits within 1e-4") {
    // p06_long (114 tokens) runs far past the 16-token window.
    for (const char *p : {"p01_once", "p02_dog", "p04_empty", "p06_long", "p07_ball"})
        check_golden("phi3-tiny-f32.gguf", std::string("phi3-tiny-f32-kvf32__") + p + ".json", TERN_KV_F32, 1e-4, 1e-4,
                     true, 2);
}

TEST_CASE("gemma2-tiny F32 (scaled embeddings, post-norms, GeGLU, soft-capping, sliding window 8 on even layers), F32 KV") {
    // The golden README: gemma2 cannot get below ~1e-4 (F16-rounded GELU inputs cross rounding
    // boundaries); its numpy reference reaches 1.7e-4. Dropping the soft-cap moves logits by 3e-3,
    // the window by 0.77, so 5e-4 still tells a missing feature.
    for (const char *p : {"p01_once", "p02_dog", "p04_empty", "p06_long", "p07_ball"})
        check_golden("gemma2-tiny-f32.gguf", std::string("gemma2-tiny-f32-kvf32__") + p + ".json", TERN_KV_F32, 5e-4, 5e-4,
                     true, 2);
}

TEST_CASE("bitnet-tiny F32 (sub-norms, NEOX RoPE, tied output), F32 KV: tokens exact, logits within 1e-4") {
    for (const char *p : {"p01_once", "p02_dog", "p04_empty", "p06_long", "p07_ball"})
        check_golden("bitnet-tiny-f32.gguf", std::string("bitnet-tiny-f32-kvf32__") + p + ".json", TERN_KV_F32, 1e-4,
                     1e-4, true, 2);
}

// The golden README: with llama.cpp's Q8_K activation rounding reproduced the short prompts agree to
// float rounding; elsewhere a 1e-7 change flips int8 roundings and moves logits by up to ~5e-2.
TEST_CASE("bitnet-tiny TQ2_0 + Q6_K embedding (Q8_K activations), F32 KV: 1e-5 on short prompts, 5e-2 on all") {
    for (const char *p : {"p01_once", "p04_empty", "p07_ball"})
        check_golden("bitnet-tiny-tq2_0.gguf", std::string("bitnet-tiny-tq2_0-kvf32__") + p + ".json", TERN_KV_F32, 1e-5,
                     1e-5, false, 1);
    for (const char *p : {"p02_dog", "p06_long"})
        check_golden("bitnet-tiny-tq2_0.gguf", std::string("bitnet-tiny-tq2_0-kvf32__") + p + ".json", TERN_KV_F32, 5e-2,
                     5e-2, false, 2);
}
}

TEST_SUITE("golden") {

// tern's ternary LUT type holds the TQ2_0 file's weights exactly (BitNet scales are uniform); its
// activations go through int8 tables of 4-sums instead of Q8_K, so the logits differ from
// llama.cpp's TQ2_0 run by about as much as TQ2_0's differ from the F32 file's (0.04-0.055;
// measured here 0.056-0.060).
TEST_CASE("bitnet-tiny converted to tern's ternary LUT type: logits within 8e-2 of llama.cpp's TQ2_0 run") {
    const std::string src = test_util::model_path("bitnet-tiny-tq2_0.gguf");
    SKIP_IF_MISSING(src);
    const std::string tlt = test_util::temp_path("bitnet-tlt.gguf");
    REQUIRE_MESSAGE(tern_model_quantize(src.c_str(), tlt.c_str(), "TLT", 2, nullptr, nullptr) == TERN_OK, tern_last_error());
    for (const char *p : {"p01_once", "p06_long"})
        check_golden(tlt, std::string("bitnet-tiny-tq2_0-kvf32__") + p + ".json", TERN_KV_F32, 8e-2, 8e-2, false, 2);
    std::remove(tlt.c_str());
}
}
