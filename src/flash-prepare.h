// flash-prepare.h — `tern flash-prepare IN OUT`: rewrite a llama-architecture GGUF with its FFN
// in the row-column bundled layout of flash sparse mode (docs/weights-memory.md).
//
// For each layer, ffn_up [E, F] and ffn_down [F, E] are replaced by one i8 table
// `blk.N.ffn_bundle.weight` [stride, F]: row j holds neuron j's up row and its down column
// (transposed into a row; in q8_0 unless the up rows are 8-bit or wider, then in their type),
// then zeros up to `stride`: a multiple of 512, so O_DIRECT can read any neuron alone, where
// that pads by at most an eighth, else of 32. `tern.ffn_bundle.type` and `.down_type` name the
// two types. The gate projection stays whole and resident: it is sparse mode's predictor. With
// gate_type it is requantized to that type (e.g. q4_0 under a q8_0 model), so a memory budget
// keeps the predictor in RAM with less and has more left for neurons; the gate's values then
// carry that type's error too. Everything else is copied unchanged; the file is aligned to 4096
// bytes. Down columns are requantized along the other axis, so a bundled model with every
// neuron kept matches the original closely, not bit for bit.
#pragma once

#include "ggml/status.h"
#include "ggml/type-table.h"

#include <functional>
#include <string>

namespace tern {

struct flash_prepare_stats {
    int n_layers = 0;
    uint64_t bundle_stride = 0, bytes_in = 0, bytes_out = 0;
    std::string bundle_type;
};

// gate_type: type::count_ keeps the gate projections' own type.
status flash_prepare(const std::string &in, const std::string &out, int n_threads,
                     const std::function<void(int layer, int n_layer)> &on_layer, flash_prepare_stats *stats,
                     type gate_type = type::count_);

} // namespace tern
