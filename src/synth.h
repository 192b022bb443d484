// synth.h — GGUF files with random weights in the shape of real models (`tern synth`), so speed
// and memory work needs no download. Architecture llama; weights N(0, 0.02) per row from a
// seeded generator, then quantized with the recipe's per-tensor rules.
#pragma once

#include "ggml/status.h"
#include "quantize.h"

#include <cstdint>
#include <string>

namespace tern {

struct synth_shape {
    std::string name;
    int64_t n_embd = 256, n_layer = 4, n_head = 4, n_head_kv = 2, n_ff = 768, n_vocab = 512, n_ctx = 2048;
};

// Presets: tiny, llama-1b, bitnet-3b (llama arch in bitnet-3b's shape), smollm-135m.
status synth_preset(const std::string &name, synth_shape *out);
std::string synth_preset_names();

struct synth_params {
    synth_shape shape;
    quant_recipe recipe;
    std::string vocab_from; // copy tokenizer.* keys (and n_vocab) from this GGUF; empty: synthetic SPM vocab
    uint64_t seed = 1;
    int n_threads = 0;
    quantize_progress progress;
};

status synth_model(const std::string &out, const synth_params &p);

} // namespace tern
