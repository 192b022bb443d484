// fuzz-gguf.cpp — libFuzzer target: arbitrary bytes through the GGUF parser, then the
// vocabulary loader and every architecture's hyperparameter reader on whatever parsed. Any crash, ASan
// report or hang is a bug. Build and run: bash scripts/fuzz.sh
#include "ggml/gguf.h"
#include "models/model.h"
#include "src/vocab.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::unique_ptr<tern::gguf_file> f;
    if (!tern::gguf_file::parse(data, size, &f).is_ok()) return 0;
    volatile uint8_t sink = 0;
    for (const auto &t : f->tensors) // every tensor's bytes must be readable
        if (t.n_bytes) sink = sink ^ f->tensor_data(t)[0] ^ f->tensor_data(t)[t.n_bytes - 1];
    tern::vocab v;
    if (v.load(*f).is_ok()) {
        const auto ids = v.tokenize("Hello world <s> 123 \xe2\x96\x81 \xff", true, true);
        (void)v.detokenize(ids.data(), ids.size(), false, true);
    }
    for (const std::string &name : tern::arch_names()) {
        tern::hparams hp;
        (void)tern::arch_find(name)->load_hparams(*f, &hp);
    }
    return 0;
}
