// quantize.cpp — recipes and the streaming model rewriter behind `tern quantize`.
//
// Tensors are converted one at a time (to f32 rows, then to the target type, rows split over
// OpenMP threads) and streamed to the output file, so memory stays at about one tensor.
#include "quantize.h"

#include "ggml/gguf.h"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <vector>

namespace tern {

namespace {

struct recipe_row {
    const char *name;
    type base;
    char mix;
    uint32_t ftype;
};

// general.file_type values follow llama.cpp's numbering so other tools describe files correctly.
const recipe_row k_recipes[] = {
    {"F32", type::f32, 0, 0},       {"F16", type::f16, 0, 1},       {"BF16", type::bf16, 0, 32},
    {"Q8_0", type::q8_0, 0, 7},     {"Q4_0", type::q4_0, 0, 2},     {"Q4_1", type::q4_1, 0, 3},
    {"Q5_0", type::q5_0, 0, 8},     {"Q5_1", type::q5_1, 0, 9},     {"Q2_K", type::q2_k, 'S', 10},
    {"Q3_K_S", type::q3_k, 'S', 11}, {"Q3_K_M", type::q3_k, 'M', 12}, {"Q4_K_S", type::q4_k, 'S', 14},
    {"Q4_K_M", type::q4_k, 'M', 15}, {"Q5_K_S", type::q5_k, 'S', 16}, {"Q5_K_M", type::q5_k, 'M', 17},
    {"Q6_K", type::q6_k, 0, 18},    {"TQ1_0", type::tq1_0, 'S', 36}, {"TQ2_0", type::tq2_0, 'S', 37},
    // tern's LUT types (not llama.cpp file types: numbered like their type ids)
    {"TL1", type::tl1, 'S', 128},   {"TL2", type::tl2, 'S', 129},   {"TL3", type::tl3, 'S', 130},
    {"TL4", type::tl4, 'S', 133},   {"TLT", type::tlt, 'S', 132},
};


bool ends_with(const std::string &s, const char *suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// A 32-element type close in quality for rows the 256-blocks cannot tile.
type fallback_for(type t) {
    switch (t) {
    case type::q2_k:
    case type::q3_k:
    case type::tq1_0:
    case type::tq2_0: return type::q4_0;
    case type::q4_k: return type::q5_0;
    case type::q5_k: return type::q5_1;
    case type::q6_k: return type::q8_0;
    case type::tl1:
    case type::tl2:
    case type::tl3:
    case type::tl4:
    case type::tlt: return type::q4_0;
    default: return type::f16;
    }
}

int layer_of(const std::string &name) {
    if (name.compare(0, 4, "blk.") != 0) return -1;
    return std::atoi(name.c_str() + 4);
}

} // namespace

std::string quant_recipe_names() {
    std::string s;
    for (const auto &r : k_recipes) s += std::string(s.empty() ? "" : ", ") + r.name;
    return s;
}

status quant_recipe_parse(const std::string &name, quant_recipe *out) {
    std::string up = name;
    for (auto &c : up) c = (char)std::toupper((unsigned char)c);
    if (up == "Q4_K" || up == "Q5_K" || up == "Q3_K") up += "_M"; // llama.cpp's default mixes
    for (const auto &r : k_recipes)
        if (up == r.name) {
            *out = {r.name, r.base, r.mix, r.ftype};
            return status::ok();
        }
    return make_status(code::invalid_argument, "unknown type or recipe '%s' (known: %s)", name.c_str(),
                       quant_recipe_names().c_str());
}

type quant_choose_type(const quant_recipe &r, const std::string &name, const int64_t *ne, uint32_t n_dims, int layer,
                       int n_layer, bool tied) {
    // Only weight matrices are quantized; norms, biases, rope factors stay f32.
    if (n_dims < 2 || !ends_with(name, ".weight") || name.find("norm") != std::string::npos) return type::f32;
    type t = r.base;
    const bool is_output = name == "output.weight" || (tied && name == "token_embd.weight");
    const bool is_embd = name == "token_embd.weight";
    const bool low_bit = t == type::q2_k || t == type::q3_k || t == type::q4_k || t == type::q5_k ||
                         t == type::tq1_0 || t == type::tq2_0 || t == type::q4_0 || t == type::q4_1 ||
                         t == type::q5_0 || t == type::q5_1 || type_is_lut(t);
    if (low_bit && is_output) t = type::q6_k;                    // the logits are sensitive: keep 6 bits
    else if (type_is_lut(t) && is_embd) t = fallback_for(t);         // rows are looked up one at a time: no tiles
    else if (low_bit && is_embd && r.mix == 'M') t = type::q6_k; // _M keeps the embedding table too
    else if (r.mix == 'M' && layer >= 0) {
        // _M: value projections, and the FFN down projections of the first and last eighth and
        // every third layer between, get two more bits.
        const bool edge = layer < n_layer / 8 || layer >= n_layer - n_layer / 8 || layer % 3 == 2;
        if (ends_with(name, "attn_v.weight") || (ends_with(name, "ffn_down.weight") && edge))
            t = t == type::q3_k ? type::q5_k : type::q6_k;
    }
    const int tile = type_get(t)->tile_rows;
    if (ne[0] % type_get(t)->block_size != 0 || (tile > 0 && ne[1] % tile != 0)) t = fallback_for(t);
    if (ne[0] % type_get(t)->block_size != 0) t = type::f16;
    return t;
}

status quantize_model(const std::string &in, const std::string &out, const quant_recipe &r, int n_threads,
                      const quantize_progress &progress) {
    std::unique_ptr<gguf_file> src;
    TERN_RETURN_IF_ERROR(gguf_file::open(in, &src));
    std::string arch;
    src->get_str("general.architecture", &arch);
    int64_t n_layer = 0;
    src->get_i64(arch + ".block_count", &n_layer);
    const bool tied = src->find_tensor("output.weight") == nullptr;

    gguf_writer w(src->alignment);
    for (const auto &kv : src->kvs)
        if (kv.key != "general.file_type" && kv.key != "general.alignment" && kv.key != "general.quantization_version")
            w.copy_kv(kv); // these three are written below (a duplicate key makes the file invalid)
    w.set_u32("general.file_type", r.file_type);
    w.set_u32("general.quantization_version", 2);

    std::vector<type> targets;
    for (const auto &t : src->tensors) {
        TERN_CHECK_OR_RETURN(type_can_dequantize(t.ttype), code::unsupported, "tensor '%s' has type %s, which tern cannot read",
                             t.name.c_str(), type_name(t.ttype));
        type to = quant_choose_type(r, t.name, t.ne, t.n_dims, layer_of(t.name), (int)n_layer, tied);
        if (to == type::f32 && t.ttype != type::f32 && t.n_dims >= 2) to = t.ttype; // keep what we would not touch
        targets.push_back(to);
        w.add_tensor(t.name, to, t.ne, t.n_dims, nullptr);
    }
    if (n_threads <= 0) n_threads = omp_get_num_procs();
    return w.write(out, [&](size_t i, uint8_t *dst, size_t n_bytes) -> status {
        const gguf_tensor_info &t = src->tensors[i];
        const type from = t.ttype, to = targets[i];
        if (progress.on_tensor) progress.on_tensor(i, src->tensors.size(), t.name, from, to);
        if (from == to) {
            std::memcpy(dst, src->tensor_data(t), std::min(n_bytes, t.n_bytes));
            return status::ok();
        }
        const int64_t K = t.ne[0], rows = t.n_bytes / row_size(from, K);
        const uint8_t *s = src->tensor_data(t);
        // Chunks of 32 rows: whole tiles of the row-tiled (LUT) types, in or out.
        constexpr int64_t chunk = LUT_TILE_ROWS;
        const int64_t n_chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel num_threads(n_threads)
        {
            std::vector<float> buf(chunk * K);
#pragma omp for schedule(dynamic, 1)
            for (int64_t ch = 0; ch < n_chunks; ch++) {
                const int64_t r0 = ch * chunk, n = std::min(chunk, rows - r0);
                rows_to_float(from, s, K, r0, n, buf.data());
                rows_from_float(to, buf.data(), dst, K, r0, n);
            }
        }
        return status::ok();
    });
}

} // namespace tern
