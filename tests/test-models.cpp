// test-models.cpp — every architecture through the CPU weight types, the LUT types and the KV cache
// formats (parameterized over the shared tiny models: each is quantized by tern itself and its
// logits compared with its own F32 run), and the real Gemma 3 270M when it has been fetched
// (scripts/fetch-gemma3.sh).
#include "test-util.h"

#include "tern.h"

#include "ggml/gguf.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <memory>
#include <random>
#include <vector>

namespace {

struct arch_case {
    const char *file;
    bool kv_quant; // head size a multiple of 32: the quantized KV formats apply
};
const arch_case k_archs[] = {{"llama-bpe-tiny-f32.gguf", false}, {"qwen2-tiny-f32.gguf", false}, {"phi3-tiny-f32.gguf", false},
                             {"gemma2-tiny-f32.gguf", true},     {"bitnet-tiny-f32.gguf", true}};

// Logits of the last token after a prompt and 6 greedy steps (the greedy tokens come from `force`
// when given, so runs compare position by position), concatenated.
std::vector<float> run(const std::string &path, tern_kv_type kv, const std::vector<int32_t> &force, std::vector<int32_t> *taken) {
    tern_model *m = nullptr;
    REQUIRE_MESSAGE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK, tern_last_error());
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 128;
    cp.n_threads = 2;
    cp.kv_type = kv;
    tern_context *c = nullptr;
    REQUIRE_MESSAGE(tern_context_init(m, &cp, &c) == TERN_OK, tern_last_error());
    // About 70 tokens: enough for the KIVI formats to quantize past their 32-token f16 residual.
    const std::string text = "Once upon a time, there was a little dog who liked to run in the park. Every morning "
                             "he met a cat, a bird and a girl named Lily, and they played together until the sun went "
                             "down behind the hills near the old farm where they lived.";
    std::vector<int32_t> t(256);
    const int32_t n = tern_tokenize(m, text.data(), (int32_t)text.size(), t.data(), 256, true, false);
    REQUIRE(n > 4);
    t.resize((size_t)n);
    REQUIRE(tern_decode(c, t.data(), n, false) == TERN_OK);
    const int V = tern_model_n_vocab(m);
    std::vector<float> out;
    for (int s = 0; s < 6; s++) {
        const float *l = tern_get_logits(c, -1);
        out.insert(out.end(), l, l + V);
        int32_t best = 0;
        for (int i = 1; i < V; i++)
            if (l[i] > l[best]) best = i;
        if (!force.empty()) best = force[(size_t)s];
        if (taken) taken->push_back(best);
        REQUIRE(tern_decode(c, &best, 1, false) == TERN_OK);
    }
    tern_context_free(c);
    tern_model_free(m);
    return out;
}

double rel_rms(const std::vector<float> &a, const std::vector<float> &ref) {
    double d = 0, r = 0;
    for (size_t i = 0; i < a.size(); i++) d += (double)(a[i] - ref[i]) * (a[i] - ref[i]), r += (double)ref[i] * ref[i];
    return std::sqrt(d / r);
}

// One model (label: its file name) through every CPU weight format and KV format against its own
// F32 run.
void check_formats(const std::string &src, const char *label, bool kv_quant) {
    // Bounds: about twice the largest relative RMS error this test measured over the five models
    // for each format (random tiny models; gemma2's soft-capped logits suffer most; K-quants fall
    // back to 32-element formats on the 64-wide rows, as tern quantize does). A broken kernel gives
    // errors of 1 and more.
    struct fmt {
        const char *name;
        double bound;
    };
    const fmt weights[] = {{"F16", 0.003}, {"BF16", 0.015}, {"Q8_0", 0.06}, {"Q6_K", 0.10}, {"Q5_0", 0.4}, {"Q5_1", 0.4},
                           {"Q4_0", 0.9},  {"Q4_1", 0.7},   {"Q4_K_M", 0.3}, {"Q3_K_M", 0.7}, {"TL4", 0.8}, {"TL3", 1.5},
                           {"TLT", 0.11}}; // TLT: ternary (int8 activations), only for bitnet's ternary weights
    CAPTURE(label);
    std::vector<int32_t> greedy;
    const auto ref = run(src, TERN_KV_F32, {}, &greedy);
    for (const fmt &f : weights) {
        if (std::string(f.name) == "TLT" && std::string(label).find("bitnet") != 0) continue;
        CAPTURE(f.name);
        const std::string q = test_util::temp_path(std::string(f.name) + "-" + label);
        REQUIRE_MESSAGE(tern_model_quantize(src.c_str(), q.c_str(), f.name, 2, nullptr, nullptr) == TERN_OK, tern_last_error());
        const double e = rel_rms(run(q, TERN_KV_F32, greedy, nullptr), ref);
        MESSAGE(std::string(label) << " " << std::string(f.name) << ": relative RMS error of the logits " << e);
        CHECK(e < f.bound);
        CHECK(e > 0.0); // the format really changed the weights
        std::remove(q.c_str());
    }
    struct kvf {
        tern_kv_type t;
        const char *name;
        double bound;
    };
    const kvf kvs[] = {{TERN_KV_F16, "f16", 0.003}, {TERN_KV_Q8_0, "q8_0", 0.03}, {TERN_KV_Q4_0, "q4_0", 0.35},
                       {TERN_KV_KIVI4, "kivi4", 0.25}, {TERN_KV_KIVI2, "kivi2", 1.1}};
    for (const kvf &k : kvs) {
        if (k.t != TERN_KV_F16 && !kv_quant) continue;
        CAPTURE(k.name);
        const double e = rel_rms(run(src, k.t, greedy, nullptr), ref);
        MESSAGE(std::string(label) << " KV " << std::string(k.name) << ": relative RMS error " << e);
        CHECK(e < k.bound);
    }
}

} // namespace

TEST_SUITE("models") {

TEST_CASE("every architecture through every CPU weight type, the LUT types and the KV formats") {
    for (const arch_case &a : k_archs) {
        const std::string src = test_util::model_path(a.file);
        SKIP_IF_MISSING(src);
        check_formats(src, a.file, a.kv_quant);
    }
}

TEST_CASE("Gemma 3 270M (Q4_K_M, pretrained): greedy answer to a factual prompt") {
    const std::string path = std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.cache/tern/models/gemma-3-270m-q4_k_m.gguf";
    SKIP_IF_MISSING(path);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    char desc[128];
    tern_model_desc(m, desc, sizeof desc);
    CHECK(std::string(desc).find("gemma3") == 0);
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 512;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
    const std::string q = "Question: What is the capital of France?\nAnswer:";
    std::vector<int32_t> t(64);
    const int32_t n = tern_tokenize(m, q.data(), (int32_t)q.size(), t.data(), 64, true, false);
    REQUIRE(n > 0);
    REQUIRE(tern_decode(c, t.data(), n, false) == TERN_OK);
    std::string answer;
    for (int i = 0; i < 8; i++) {
        const float *l = tern_get_logits(c, -1);
        int32_t best = 0;
        for (int v = 1; v < tern_model_n_vocab(m); v++)
            if (l[v] > l[best]) best = v;
        char piece[64];
        const int32_t k = tern_token_to_piece(m, best, piece, sizeof piece, false);
        answer.append(piece, (size_t)std::max(0, k));
        REQUIRE(tern_decode(c, &best, 1, false) == TERN_OK);
    }
    MESSAGE("Gemma 3 270M: " << answer);
    CHECK(answer.find("Paris") != std::string::npos);
    tern_context_free(c);
    tern_model_free(m);
}

} // TEST_SUITE

namespace {

using test_util::randv;

// A copy of a shared model with its architecture renamed (keys `from.*` become `to.*`), tensors
// dropped or added, and extra u32 keys: test variants of the architectures tern reads.
std::string variant(const std::string &src_name, const std::string &from, const std::string &to,
                    const std::vector<std::string> &drop_suffixes, const std::vector<std::pair<std::string, std::vector<float>>> &add,
                    const std::vector<std::pair<std::string, uint32_t>> &u32s, const std::string &out_name) {
    std::unique_ptr<tern::gguf_file> src;
    REQUIRE(tern::gguf_file::open(test_util::model_path(src_name), &src).is_ok());
    tern::gguf_writer w;
    for (const auto &kv : src->kvs) {
        if (kv.key == "general.architecture") {
            w.set_str(kv.key, to);
        } else if (kv.key.rfind(from + ".", 0) == 0) {
            tern::gguf_kv k = kv;
            k.key = to + kv.key.substr(from.size());
            w.copy_kv(k);
        } else w.copy_kv(kv);
    }
    for (const auto &kv : u32s) w.set_u32(kv.first, kv.second);
    for (const auto &t : src->tensors) {
        bool skip = false;
        for (const auto &s : drop_suffixes) skip = skip || (t.name.size() > s.size() && t.name.compare(t.name.size() - s.size(), s.size(), s) == 0);
        if (!skip) w.add_tensor(t.name, t.ttype, t.ne, t.n_dims, src->tensor_data(t));
    }
    for (const auto &a : add) {
        const int64_t ne[1] = {(int64_t)a.second.size()};
        w.add_tensor(a.first, tern::type::f32, ne, 1, a.second.data());
    }
    const std::string path = test_util::temp_path(out_name);
    REQUIRE(w.write(path).is_ok());
    return path;
}

} // namespace

TEST_SUITE("models") {

TEST_CASE("llama with Mistral's sliding window: a window past the prompt changes nothing, a short one does") {
    SKIP_IF_MISSING(test_util::model_path("llama-bpe-tiny-f32.gguf"));
    std::vector<int32_t> greedy;
    const auto ref = run(test_util::model_path("llama-bpe-tiny-f32.gguf"), TERN_KV_F32, {}, &greedy);
    const std::string wide = variant("llama-bpe-tiny-f32.gguf", "llama", "llama", {}, {}, {{"llama.attention.sliding_window", 4096}}, "swa-wide.gguf");
    const std::string narrow = variant("llama-bpe-tiny-f32.gguf", "llama", "llama", {}, {}, {{"llama.attention.sliding_window", 8}}, "swa-8.gguf");
    CHECK(rel_rms(run(wide, TERN_KV_F32, greedy, nullptr), ref) == 0.0);
    CHECK(rel_rms(run(narrow, TERN_KV_F32, greedy, nullptr), ref) > 1e-3); // the mask itself: phi3's golden test
    std::remove(wide.c_str());
    std::remove(narrow.c_str());
}

TEST_CASE("qwen3: per-head q/k norms instead of biases; a missing norm is an error naming it") {
    SKIP_IF_MISSING(test_util::model_path("qwen2-tiny-f32.gguf"));
    std::vector<std::pair<std::string, std::vector<float>>> norms;
    for (int il = 0; il < 4; il++)
        for (const char *n : {"attn_q_norm", "attn_k_norm"})
            norms.push_back({"blk." + std::to_string(il) + "." + n + ".weight", std::vector<float>(16, il % 2 ? 1.0f : 0.5f)});
    const std::string q3 = variant("qwen2-tiny-f32.gguf", "qwen2", "qwen3", {".bias"}, norms, {}, "qwen3.gguf");
    const std::string q2nb = variant("qwen2-tiny-f32.gguf", "qwen2", "qwen2", {".bias"}, {}, {}, "qwen2-nobias.gguf");
    std::vector<int32_t> greedy;
    const auto a = run(q2nb, TERN_KV_F32, {}, &greedy);
    const auto b = run(q3, TERN_KV_F32, greedy, nullptr);
    CHECK(rel_rms(b, a) > 1e-3); // the norms act
    CHECK(run(q3, TERN_KV_F32, greedy, nullptr) == b);
    norms.pop_back(); // layer 3 loses its k norm
    const std::string broken = variant("qwen2-tiny-f32.gguf", "qwen2", "qwen3", {".bias"}, norms, {}, "qwen3-broken.gguf");
    tern_model *m = nullptr;
    CHECK(tern_model_load(broken.c_str(), nullptr, &m) == TERN_ERR_BAD_FORMAT);
    CHECK(std::string(tern_last_error()).find("blk.3.attn_k_norm.weight") != std::string::npos);
    for (const auto &p : {q3, q2nb, broken}) std::remove(p.c_str());
}

TEST_CASE("qwen3 and gemma3 (variants of the tiny qwen2 and gemma2) through every CPU weight type and KV format") {
    SKIP_IF_MISSING(test_util::model_path("qwen2-tiny-f32.gguf"));
    SKIP_IF_MISSING(test_util::model_path("gemma2-tiny-f32.gguf"));
    std::vector<std::pair<std::string, std::vector<float>>> qn, gn;
    for (int il = 0; il < 4; il++) // qwen2-tiny: 4 layers, heads of 16
        for (const char *n : {"attn_q_norm", "attn_k_norm"})
            qn.push_back({"blk." + std::to_string(il) + "." + n + ".weight", randv(16, 40 + il, 0.2f, 1.0f)});
    for (int il = 0; il < 26; il++) // gemma2-tiny: 26 layers, heads of 32 (one global layer per six)
        for (const char *n : {"attn_q_norm", "attn_k_norm"})
            gn.push_back({"blk." + std::to_string(il) + "." + n + ".weight", randv(32, 80 + il, 0.2f, 1.0f)});
    const std::string q3 = variant("qwen2-tiny-f32.gguf", "qwen2", "qwen3", {".bias"}, qn, {}, "qwen3-tiny-f32.gguf");
    const std::string g3 = variant("gemma2-tiny-f32.gguf", "gemma2", "gemma3", {}, gn, {}, "gemma3-tiny-f32.gguf");
    check_formats(q3, "qwen3-tiny-f32.gguf", false);
    check_formats(g3, "gemma3-tiny-f32.gguf", true);
    std::remove(q3.c_str());
    std::remove(g3.c_str());
}

} // TEST_SUITE
