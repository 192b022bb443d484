// fuzz-tokenize.cpp — libFuzzer target: arbitrary text through the SentencePiece and BPE
// tokenizers (vocabularies from ../shared and the default model when present), with and without
// special-token parsing, then back through the detokenizer.
#include "ggml/gguf.h"
#include "src/vocab.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace {
std::vector<std::unique_ptr<tern::gguf_file>> g_files;
std::vector<std::unique_ptr<tern::vocab>> g_vocabs;

void load(const std::string &path) {
    std::unique_ptr<tern::gguf_file> f;
    if (!tern::gguf_file::open(path, &f).is_ok()) return;
    auto v = std::make_unique<tern::vocab>();
    if (!v->load(*f).is_ok()) return;
    g_files.push_back(std::move(f));
    g_vocabs.push_back(std::move(v));
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    const char *shared = std::getenv("TERN_SHARED");
    const std::string dir = shared ? shared : "../shared";
    load(dir + "/models/stories260K.gguf");
    load(dir + "/models/llama-bpe-tiny-f32.gguf");
    if (const char *home = std::getenv("HOME")) load(std::string(home) + "/.cache/tern/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text((const char *)data, size);
    for (auto &v : g_vocabs) {
        for (bool special : {false, true}) {
            const auto ids = v->tokenize(text, true, special);
            for (auto id : ids)
                if (!v->valid(id)) __builtin_trap();
            (void)v->detokenize(ids.data(), ids.size(), true, special);
        }
    }
    return 0;
}
