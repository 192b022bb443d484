// quantize.h — rewriting a GGUF model's weights in another format (`tern quantize`,
// tern_model_quantize). Recipes name a base type plus rules for the tensors users expect at
// higher precision (output, embeddings, attn_v / ffn_down in "_M" mixes).
#pragma once

#include "ggml/status.h"
#include "ggml/type-table.h"

#include <cstdint>
#include <functional>
#include <string>

namespace tern {

struct quant_recipe {
    std::string name;     // as the user wrote it, upper case: "Q4_K_M", "Q8_0", ...
    type base = type::q8_0;
    char mix = 0;         // 'S', 'M' or 0 (plain type: every weight matrix gets `base`)
    uint32_t file_type;   // general.file_type value (llama.cpp's ftype numbering)
};

// Parses "q4_k_m", "Q8_0", "f16", "tq2_0", ... (case-insensitive). Lists the accepted names in the
// error message when unknown.
status quant_recipe_parse(const std::string &name, quant_recipe *out);
std::string quant_recipe_names();

// Which type the recipe gives one tensor. `layer` is the blk.N index (-1 for none), `tied` says
// token_embd doubles as the output matrix. Tensors that must stay float (norms, biases, 1-D) keep
// f32; rows whose length is not a multiple of the block size fall back to a 32-block type.
type quant_choose_type(const quant_recipe &r, const std::string &name, const int64_t *ne, uint32_t n_dims, int layer,
                       int n_layer, bool tied);

struct quantize_progress {
    std::function<void(size_t done, size_t total, const std::string &tensor, type from, type to)> on_tensor;
};

// Reads `in` (any computable input types), writes `out` with the recipe applied; n_threads <= 0
// uses all cores. The output is written to out + ".part" and renamed at the end.
status quantize_model(const std::string &in, const std::string &out, const quant_recipe &r, int n_threads,
                      const quantize_progress &progress);

} // namespace tern
