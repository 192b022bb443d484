// test-tokenizer.cpp — tokenization and detokenization against llama.cpp's fixtures
// (../shared/golden/tokenizer_*.json) for SentencePiece and byte-level BPE vocabularies.
#include "test-util.h"

#include "tern.h"

#include <string>
#include <vector>

namespace {

struct model_handle {
    tern_model *m = nullptr;
    explicit model_handle(const std::string &path) {
        tern_model_params p = tern_model_default_params();
        p.vocab_only = true;
        if (tern_model_load(path.c_str(), &p, &m) != TERN_OK) FAIL("cannot load ", path, ": ", tern_last_error());
    }
    ~model_handle() { tern_model_free(m); }
};

std::vector<int32_t> tokenize(tern_model *m, const std::string &text, bool add_special, bool parse_special) {
    int32_t n = tern_tokenize(m, text.data(), (int32_t)text.size(), nullptr, 0, add_special, parse_special);
    std::vector<int32_t> v(n < 0 ? -n : n);
    tern_tokenize(m, text.data(), (int32_t)text.size(), v.data(), (int32_t)v.size(), add_special, parse_special);
    return v;
}

std::string detok(tern_model *m, const std::vector<int32_t> &ids, bool remove_special, bool unparse) {
    int32_t n = tern_detokenize(m, ids.data(), (int32_t)ids.size(), nullptr, 0, remove_special, unparse);
    std::string s(n < 0 ? -n : n, '\0');
    tern_detokenize(m, ids.data(), (int32_t)ids.size(), s.data(), (int32_t)s.size(), remove_special, unparse);
    return s;
}

void check_fixture(const std::string &fixture, const std::string &model) {
    const std::string fpath = test_util::golden_path(fixture), mpath = test_util::model_path(model);
    SKIP_IF_MISSING(fpath);
    SKIP_IF_MISSING(mpath);
    const auto j = test_util::load_json(fpath);
    model_handle h(mpath);
    CHECK(tern_token_bos(h.m) == j["vocab"]["bos"].get<int>());
    CHECK(tern_token_eos(h.m) == j["vocab"]["eos"].get<int>());
    CHECK(tern_add_bos(h.m) == j["vocab"]["add_bos"].get<bool>());
    int n_ok = 0, n_cases = 0;
    for (const auto &c : j["cases"]) {
        const std::string text = c["text"];
        CAPTURE(text);
        n_cases++;
        const auto a = tokenize(h.m, text, true, false), b = tokenize(h.m, text, false, false);
        const auto cs = tokenize(h.m, text, true, true), d = tokenize(h.m, text, false, true);
        CHECK(a == c["ids_bos"].get<std::vector<int32_t>>());
        CHECK(b == c["ids_no_bos"].get<std::vector<int32_t>>());
        CHECK(cs == c["ids_bos_parse_special"].get<std::vector<int32_t>>());
        CHECK(d == c["ids_no_bos_parse_special"].get<std::vector<int32_t>>());
        const std::string dt = detok(h.m, c["ids_no_bos"].get<std::vector<int32_t>>(), false, false);
        CHECK(dt == c["detok_no_bos"].get<std::string>());
        const std::string dr = detok(h.m, c["ids_bos"].get<std::vector<int32_t>>(), true, false);
        CHECK(dr == c["detok_bos_remove_special"].get<std::string>());
        const std::string du = detok(h.m, c["ids_no_bos_parse_special"].get<std::vector<int32_t>>(), false, true);
        CHECK(du == c["detok_no_bos_parse_special_unparse"].get<std::string>());
        if (a == c["ids_bos"].get<std::vector<int32_t>>() && dt == c["detok_no_bos"].get<std::string>()) n_ok++;
    }
    MESSAGE(fixture << ": " << n_ok << "/" << n_cases << " strings fully match");
}

} // namespace

TEST_SUITE("tokenizer") {

TEST_CASE("LLaMA SentencePiece vocabulary matches llama.cpp") { check_fixture("tokenizer_llama-spm.json", "llama-tiny-q8_0.gguf"); }
TEST_CASE("Phi-3 SentencePiece vocabulary matches llama.cpp") { check_fixture("tokenizer_phi3-tiny.json", "phi3-tiny-f32.gguf"); }
TEST_CASE("GPT-2 BPE vocabulary with the llama3 pre-tokenizer matches llama.cpp") {
    check_fixture("tokenizer_llama-bpe-tiny.json", "llama-bpe-tiny-f32.gguf");
}
TEST_CASE("GPT-2 BPE vocabulary with the qwen2 pre-tokenizer matches llama.cpp") {
    check_fixture("tokenizer_qwen2-tiny.json", "qwen2-tiny-f32.gguf");
}
TEST_CASE("stories260K vocabulary matches llama.cpp") { check_fixture("tokenizer_stories260K.json", "stories260K.gguf"); }

TEST_CASE("golden prompts of stories260K tokenize to the reference ids") {
    const std::string mpath = test_util::model_path("stories260K.gguf");
    SKIP_IF_MISSING(mpath);
    model_handle h(mpath);
    for (const char *p : {"p01_once", "p02_dog", "p03_park", "p04_empty", "p06_long", "p07_ball"}) {
        const std::string gpath = test_util::golden_path(std::string("stories260K__") + p + ".json");
        SKIP_IF_MISSING(gpath);
        const auto j = test_util::load_json(gpath);
        CAPTURE(p);
        CHECK(tokenize(h.m, j["prompt"], true, false) == j["prompt_tokens_with_bos"].get<std::vector<int32_t>>());
        CHECK(tokenize(h.m, j["prompt"], false, false) == j["prompt_tokens_no_bos"].get<std::vector<int32_t>>());
    }
}

TEST_CASE("SmolLM2 (smollm pre-tokenizer): chat markers, digits and round trip") {
    const std::string mpath = test_util::default_model();
    SKIP_IF_MISSING(mpath);
    model_handle h(mpath);
    const auto ids = tokenize(h.m, "<|im_start|>user\nHi 2024!<|im_end|>", false, true);
    REQUIRE(ids.size() >= 4);
    CHECK(ids.front() == 1); // <|im_start|>
    CHECK(ids.back() == 2);  // <|im_end|>
    CHECK(tern_token_is_eog(h.m, 2));
    // smollm splits digits one by one
    const auto digits = tokenize(h.m, "2024", false, false);
    CHECK(digits.size() == 4);
    const std::string text = "Hello world, héllo 世界 🙂 it's 42.";
    CHECK(detok(h.m, tokenize(h.m, text, false, false), false, false) == text);
}

TEST_CASE("streaming pieces of multi-byte characters reassemble to valid UTF-8") {
    const std::string mpath = test_util::model_path("stories260K.gguf");
    SKIP_IF_MISSING(mpath);
    model_handle h(mpath);
    // stories260K has almost no non-ASCII tokens: CJK falls back to <0xXX> byte tokens.
    const std::string text = "日本";
    const auto ids = tokenize(h.m, text, false, false);
    CHECK(ids.size() >= 6);
    std::string joined;
    for (int32_t id : ids) {
        char buf[16];
        const int32_t n = tern_token_to_piece(h.m, id, buf, sizeof buf, false);
        REQUIRE(n >= 0);
        joined.append(buf, n);
    }
    CHECK(joined == " " + text);
}
}
