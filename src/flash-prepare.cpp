// flash-prepare.cpp — writes the row-column bundled FFN layout (see flash-prepare.h).
#include "flash-prepare.h"

#include "ggml/gguf.h"
#include "ggml/tensor.h"
#include "ggml/type-table.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

namespace tern {

namespace {
constexpr uint64_t k_bundle_align = 512; // O_DIRECT's logical block size
}

status flash_prepare(const std::string &in, const std::string &out, int n_threads,
                     const std::function<void(int, int)> &on_layer, flash_prepare_stats *stats, type gate_type) {
    std::unique_ptr<gguf_file> src;
    TERN_RETURN_IF_ERROR(gguf_file::open(in, &src));
    std::string arch;
    src->get_str("general.architecture", &arch);
    TERN_CHECK_OR_RETURN(arch == "llama", code::unsupported,
                         "%s: architecture '%s': flash-prepare bundles SwiGLU FFNs of llama-architecture models", in.c_str(),
                         arch.c_str());
    TERN_CHECK_OR_RETURN(!src->find("tern.ffn_bundle.type"), code::invalid_argument, "%s is already bundled", in.c_str());
    int64_t n_layer = 0, E = 0, F = 0;
    TERN_CHECK_OR_RETURN(src->get_i64("llama.block_count", &n_layer) && src->get_i64("llama.embedding_length", &E) &&
                             src->get_i64("llama.feed_forward_length", &F) && n_layer > 0 && E > 0 && F > 0,
                         code::bad_format, "%s: block_count, embedding_length or feed_forward_length missing", in.c_str());
    // The bundles' element type: the up projection's (all layers must agree), if a row of it can
    // be read alone; else q8_0.
    type bt = type::count_;
    for (int64_t l = 0; l < n_layer; l++) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const gguf_tensor_info *up = src->find_tensor(p + "ffn_up.weight"), *down = src->find_tensor(p + "ffn_down.weight");
        TERN_CHECK_OR_RETURN(up && down, code::bad_format, "%s: layer %lld lacks ffn_up or ffn_down", in.c_str(), (long long)l);
        TERN_CHECK_OR_RETURN(up->ne[0] == E && up->ne[1] == F && down->ne[0] == F && down->ne[1] == E, code::bad_format,
                             "%s: layer %lld's FFN shapes do not match the metadata", in.c_str(), (long long)l);
        const type_traits *ut = type_get(up->ttype), *dt = type_get(down->ttype);
        TERN_CHECK_OR_RETURN(ut && ut->to_float && dt && dt->to_float && dt->tile_rows == 0, code::unsupported,
                             "%s: layer %lld's FFN types cannot be read", in.c_str(), (long long)l);
        type t = up->ttype;
        if (ut->tile_rows > 0 || E % ut->block_size != 0 || 256 % ut->block_size != 0) t = type::q8_0;
        if (bt == type::count_) bt = t;
        TERN_CHECK_OR_RETURN(bt == t, code::unsupported, "%s: the up projections have different types (%s, %s)", in.c_str(),
                             type_name(bt), type_name(t));
    }
    TERN_CHECK_OR_RETURN(E % type_get(bt)->block_size == 0, code::unsupported, "%s: width %lld does not fit %s blocks",
                         in.c_str(), (long long)E, type_name(bt));
    // Down columns are requantized (along the other axis): into q8_0 unless the up rows are
    // 8-bit or wider already, so the bundled model stays close to the original (SmolLM2 Q4_1
    // with every neuron kept: perplexity +4.3% with q4_1 down columns).
    const bool wide = bt == type::f32 || bt == type::f16 || bt == type::bf16 || bt == type::q8_0;
    const type dt = wide || E % 32 != 0 ? bt : type::q8_0;
    if (gate_type != type::count_) {
        const type_traits *gt = type_get(gate_type);
        TERN_CHECK_OR_RETURN(gt && gt->from_float && gt->tile_rows == 0 && !type_is_runtime_only(gate_type) &&
                                 E % gt->block_size == 0,
                             code::unsupported, "%s: the gate projections cannot be stored as %s (width %lld)", in.c_str(),
                             gt ? type_name(gate_type) : "an unknown type", (long long)E);
    }
    const size_t rb = row_size(bt, E);
    // Padded to O_DIRECT's 512 bytes where that costs at most an eighth more (wider models); small
    // bundles are packed (32-byte aligned) and read through the page cache instead.
    const uint64_t raw = ffn_bundle_bytes(bt, dt, E), padded = (raw + k_bundle_align - 1) / k_bundle_align * k_bundle_align;
    const uint64_t stride = padded - raw <= raw / 8 ? padded : (raw + 31) / 32 * 32;

    gguf_writer w(4096);
    for (const auto &kv : src->kvs)
        if (kv.key != "general.alignment") w.copy_kv(kv);
    w.set_u32("tern.ffn_bundle.type", (uint32_t)bt);
    w.set_u32("tern.ffn_bundle.down_type", (uint32_t)dt);
    struct job {
        const gguf_tensor_info *copy = nullptr; // copied as is (requantized to gate_type if requant), or:
        int64_t layer = -1;                     // a layer's bundle table
        bool requant = false;
    };
    std::vector<job> jobs;
    for (const auto &t : src->tensors) {
        const bool up = t.name.size() > 14 && t.name.compare(t.name.size() - 14, 14, ".ffn_up.weight") == 0;
        const bool down = t.name.size() > 16 && t.name.compare(t.name.size() - 16, 16, ".ffn_down.weight") == 0;
        if (down) continue;
        if (up) {
            const int64_t l = std::atoll(t.name.c_str() + 4);
            const int64_t ne[2] = {(int64_t)stride, F};
            w.add_tensor("blk." + std::to_string(l) + ".ffn_bundle.weight", type::i8, ne, 2, nullptr);
            jobs.push_back({nullptr, l});
            continue;
        }
        const bool gate = t.name.size() > 16 && t.name.compare(t.name.size() - 16, 16, ".ffn_gate.weight") == 0;
        if (gate && gate_type != type::count_ && gate_type != t.ttype) {
            TERN_CHECK_OR_RETURN(t.n_dims == 2 && t.ne[0] == E && type_get(t.ttype) && type_get(t.ttype)->to_float,
                                 code::bad_format, "%s: %s cannot be requantized", in.c_str(), t.name.c_str());
            w.add_tensor(t.name, gate_type, t.ne, t.n_dims, nullptr);
            jobs.push_back({&t, -1, true});
            continue;
        }
        w.add_tensor(t.name, t.ttype, t.ne, t.n_dims, nullptr);
        jobs.push_back({&t, -1});
    }
    if (n_threads <= 0) n_threads = omp_get_num_procs();
    status st = w.write(out, [&](size_t i, uint8_t *dst, size_t n_bytes) -> status {
        const job &jb = jobs[i];
        if (jb.copy && jb.requant) {
            const int64_t K = jb.copy->ne[0], N = jb.copy->ne[1];
#pragma omp parallel num_threads(n_threads)
            {
                std::vector<float> row((size_t)K);
#pragma omp for schedule(static)
                for (int64_t r = 0; r < N; r++) {
                    rows_to_float(jb.copy->ttype, src->tensor_data(*jb.copy), K, r, 1, row.data());
                    rows_from_float(gate_type, row.data(), dst, K, r, 1);
                }
            }
            return status::ok();
        }
        if (jb.copy) {
            std::memcpy(dst, src->tensor_data(*jb.copy), std::min(n_bytes, jb.copy->n_bytes));
            return status::ok();
        }
        if (on_layer) on_layer((int)jb.layer, (int)n_layer);
        const std::string p = "blk." + std::to_string(jb.layer) + ".";
        const gguf_tensor_info *up = src->find_tensor(p + "ffn_up.weight"), *down = src->find_tensor(p + "ffn_down.weight");
        std::memset(dst, 0, n_bytes);
        // down [F, E] as floats: E rows of F. Transposed per neuron j: column j of it.
        std::vector<float> dn((size_t)E * (size_t)F);
        rows_to_float(down->ttype, src->tensor_data(*down), F, 0, E, dn.data());
        const bool up_as_is = up->ttype == bt;
        std::vector<float> upf(up_as_is ? 0 : (size_t)E * (size_t)F);
        if (!up_as_is) rows_to_float(up->ttype, src->tensor_data(*up), E, 0, F, upf.data());
        const uint8_t *ud = src->tensor_data(*up);
#pragma omp parallel num_threads(n_threads)
        {
            std::vector<float> col((size_t)E);
#pragma omp for schedule(static)
            for (int64_t j = 0; j < F; j++) {
                uint8_t *b = dst + (size_t)j * stride;
                if (up_as_is) std::memcpy(b, ud + (size_t)j * rb, rb);
                else rows_from_float(bt, upf.data() + (size_t)j * E, b, E, 0, 1);
                for (int64_t e = 0; e < E; e++) col[(size_t)e] = dn[(size_t)e * F + j];
                rows_from_float(dt, col.data(), b + rb, E, 0, 1);
            }
        }
        return status::ok();
    });
    TERN_RETURN_IF_ERROR(st);
    if (stats) {
        stats->n_layers = (int)n_layer;
        stats->bundle_stride = stride;
        stats->bundle_type = type_name(bt);
        stats->bytes_in = src->file_size();
    }
    return status::ok();
}

} // namespace tern
