// synth.h — GGUF files with random weights in the shape of real models (`tern synth`), so speed
// and memory work needs no download. Weights N(0, 0.02) per row from a seeded generator (bitnet:
// ternarized with a per-tensor scale, as BitNet's converter does), then quantized with the recipe's
// per-tensor rules.
#pragma once

#include "ggml/status.h"
#include "quantize.h"

#include <cstdint>
#include <string>

namespace tern {

struct synth_shape {
    std::string name;
    int64_t n_embd = 256, n_layer = 4, n_head = 4, n_head_kv = 2, n_ff = 768, n_vocab = 512, n_ctx = 2048;
    std::string arch = "llama"; // or "bitnet": sub-norms, tied output, ternary-valued matrices
};

// Presets: tiny, smollm-135m, llama-1b (llama arch); bitnet-3b (BitNet b1.58 3B: 3200 wide, FFN 8640)
// and bitnet-3b-256 (the same rounded to multiples of 256, which TQ1_0/TQ2_0 need), bitnet arch.
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
