// synth.cpp — writes random-weight llama- and bitnet-architecture GGUFs (see synth.h). Each row's values come
// from a generator seeded by (seed, tensor, row), so files are reproducible and rows can be made
// in parallel while the writer streams tensors to disk.
#include "synth.h"

#include "ggml/fp16.h"
#include "ggml/gguf.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

namespace tern {

namespace {

const synth_shape k_presets[] = {
    {"tiny", 256, 4, 4, 2, 768, 512, 2048},
    {"smollm-135m", 576, 30, 9, 3, 1536, 49152, 2048},
    {"llama-1b", 2048, 16, 32, 8, 8192, 32000, 4096},
    {"bitnet-3b", 3200, 26, 32, 32, 8640, 32000, 4096, "bitnet"},
    {"bitnet-3b-256", 3072, 26, 32, 32, 8448, 32000, 4096, "bitnet"},
};

uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Approximately normal(0, sigma): sum of four uniforms, rescaled (enough for random weights).
void random_row(uint64_t seed, float *x, int64_t n, float sigma) {
    uint64_t s = seed;
    const float k = sigma * std::sqrt(3.0f) / 2.0f / 2147483648.0f;
    for (int64_t i = 0; i < n; i++) {
        const uint64_t a = splitmix(&s), b = splitmix(&s);
        const int64_t u = (int64_t)(int32_t)(a & 0xffffffff) + (int32_t)(a >> 32) + (int32_t)(b & 0xffffffff) +
                          (int32_t)(b >> 32);
        x[i] = (float)u * k;
    }
}

void synthetic_vocab(gguf_writer &w, int64_t n_vocab) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; b++) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        tokens.push_back(buf);
        types.push_back(6);
    }
    // Pieces "a".."zzz", each also with the SentencePiece space marker.
    const std::string space = "\xE2\x96\x81";
    for (int len = 1; len <= 3 && (int64_t)tokens.size() < n_vocab; len++) {
        int total = 1;
        for (int i = 0; i < len; i++) total *= 26;
        for (int v = 0; v < total && (int64_t)tokens.size() < n_vocab; v++) {
            std::string s;
            for (int i = 0, x = v; i < len; i++, x /= 26) s.insert(s.begin(), (char)('a' + x % 26));
            for (const std::string &p : {space + s, s}) {
                if ((int64_t)tokens.size() >= n_vocab) break;
                tokens.push_back(p);
                types.push_back(1);
            }
        }
    }
    for (int64_t i = (int64_t)tokens.size(); i < n_vocab; i++) { // very large vocabularies: numbered fillers
        tokens.push_back("<t" + std::to_string(i) + ">");
        types.push_back(1);
    }
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); i++) scores[i] = types[i] == 1 ? -(float)i : 0.0f;
    w.set_str("tokenizer.ggml.model", "llama");
    w.set_arr_str("tokenizer.ggml.tokens", tokens);
    w.set_arr_f32("tokenizer.ggml.scores", scores);
    w.set_arr_i32("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
}

} // namespace

std::string synth_preset_names() {
    std::string s;
    for (const auto &p : k_presets) s += (s.empty() ? "" : ", ") + p.name;
    return s;
}

status synth_preset(const std::string &name, synth_shape *out) {
    for (const auto &p : k_presets)
        if (p.name == name) {
            *out = p;
            return status::ok();
        }
    return make_status(code::invalid_argument, "unknown preset '%s' (known: %s)", name.c_str(), synth_preset_names().c_str());
}

status synth_model(const std::string &out, const synth_params &p) {
    synth_shape sh = p.shape;
    TERN_CHECK_OR_RETURN(sh.n_embd > 0 && sh.n_layer > 0 && sh.n_head > 0 && sh.n_head_kv > 0 && sh.n_ff > 0 &&
                             sh.n_embd % sh.n_head == 0 && sh.n_head % sh.n_head_kv == 0,
                         code::invalid_argument, "inconsistent shape (n_embd %% n_head and n_head %% n_head_kv must be 0)");
    TERN_CHECK_OR_RETURN(sh.arch == "llama" || sh.arch == "bitnet", code::invalid_argument,
                         "synth writes llama or bitnet models, not '%s'", sh.arch.c_str());
    const bool bitnet = sh.arch == "bitnet";
    gguf_writer w;
    w.set_str("general.architecture", sh.arch);
    w.set_str("general.name", "tern-synth-" + sh.name);
    w.set_u32("general.file_type", p.recipe.file_type);
    std::unique_ptr<gguf_file> vf;
    if (!p.vocab_from.empty()) {
        TERN_RETURN_IF_ERROR(gguf_file::open(p.vocab_from, &vf));
        const gguf_kv *toks = vf->find("tokenizer.ggml.tokens");
        TERN_CHECK_OR_RETURN(toks && toks->arr_n > 0, code::bad_format, "'%s' has no tokenizer.ggml.tokens", p.vocab_from.c_str());
        for (const auto &kv : vf->kvs)
            if (kv.key.compare(0, 10, "tokenizer.") == 0) w.copy_kv(kv);
        sh.n_vocab = (int64_t)toks->arr_n;
    } else {
        synthetic_vocab(w, sh.n_vocab);
    }
    const int64_t hd = sh.n_embd / sh.n_head;
    w.set_u32(sh.arch + ".context_length", (uint32_t)sh.n_ctx);
    w.set_u32(sh.arch + ".embedding_length", (uint32_t)sh.n_embd);
    w.set_u32(sh.arch + ".block_count", (uint32_t)sh.n_layer);
    w.set_u32(sh.arch + ".feed_forward_length", (uint32_t)sh.n_ff);
    w.set_u32(sh.arch + ".attention.head_count", (uint32_t)sh.n_head);
    w.set_u32(sh.arch + ".attention.head_count_kv", (uint32_t)sh.n_head_kv);
    w.set_u32(sh.arch + ".rope.dimension_count", (uint32_t)hd);
    w.set_f32(sh.arch + ".rope.freq_base", 10000.0f);
    w.set_f32(sh.arch + ".attention.layer_norm_rms_epsilon", 1e-5f);

    struct item {
        std::string name;
        int64_t ne[2];
        uint32_t n_dims;
        type t;
    };
    std::vector<item> items;
    auto add = [&](const std::string &name, int64_t ne0, int64_t ne1) {
        const int64_t ne[2] = {ne0, ne1};
        const uint32_t nd = ne1 > 0 ? 2 : 1;
        const int layer = name.compare(0, 4, "blk.") == 0 ? std::atoi(name.c_str() + 4) : -1;
        const type t = quant_choose_type(p.recipe, name, ne, nd, layer, (int)sh.n_layer, bitnet);
        items.push_back({name, {ne0, ne1 > 0 ? ne1 : 1}, nd, t});
        w.add_tensor(name, t, items.back().ne, nd, nullptr);
    };
    add("token_embd.weight", sh.n_embd, sh.n_vocab);
    for (int64_t l = 0; l < sh.n_layer; l++) {
        const std::string b = "blk." + std::to_string(l) + ".";
        add(b + "attn_norm.weight", sh.n_embd, 0);
        add(b + "attn_q.weight", sh.n_embd, sh.n_embd);
        add(b + "attn_k.weight", sh.n_embd, hd * sh.n_head_kv);
        add(b + "attn_v.weight", sh.n_embd, hd * sh.n_head_kv);
        if (bitnet) add(b + "attn_sub_norm.weight", sh.n_embd, 0);
        add(b + "attn_output.weight", sh.n_embd, sh.n_embd);
        add(b + "ffn_norm.weight", sh.n_embd, 0);
        add(b + "ffn_gate.weight", sh.n_embd, sh.n_ff);
        add(b + "ffn_up.weight", sh.n_embd, sh.n_ff);
        if (bitnet) add(b + "ffn_sub_norm.weight", sh.n_ff, 0);
        add(b + "ffn_down.weight", sh.n_ff, sh.n_embd);
    }
    add("output_norm.weight", sh.n_embd, 0);
    if (!bitnet) add("output.weight", sh.n_embd, sh.n_vocab); // bitnet: tied to token_embd

    const int nth = p.n_threads > 0 ? p.n_threads : omp_get_num_procs();
    return w.write(out, [&](size_t i, uint8_t *dst, size_t) -> status {
        const item &it = items[i];
        if (p.progress.on_tensor) p.progress.on_tensor(i, items.size(), it.name, type::f32, it.t);
        const int64_t K = it.ne[0], rows = it.ne[1];
        const bool is_norm = it.n_dims == 1;
        // BitNet matrices hold {-s, 0, s}: s = mean |w| of N(0, 0.02) weights, rounded to f16 so
        // that TQ1_0/TQ2_0 (f16 block scales) store it exactly.
        const bool ternary = bitnet && !is_norm && it.name != "token_embd.weight";
        const float s = fp16_to_fp32(fp32_to_fp16(0.02f * std::sqrt(2.0f / 3.14159265f)));
        constexpr int64_t chunk = LUT_TILE_ROWS; // whole tiles of the row-tiled (LUT) types
        const int64_t n_chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel num_threads(nth)
        {
            std::vector<float> buf(chunk * K);
#pragma omp for schedule(dynamic, 1)
            for (int64_t ch = 0; ch < n_chunks; ch++) {
                const int64_t r0 = ch * chunk, n = std::min(chunk, rows - r0);
                for (int64_t r = r0; r < r0 + n; r++) {
                    float *row = buf.data() + (r - r0) * K;
                    if (is_norm) std::fill(row, row + K, 1.0f);
                    else random_row(p.seed * 0x100000001B3ull ^ ((uint64_t)i << 32) ^ (uint64_t)r, row, K, 0.02f);
                    if (ternary)
                        for (int64_t k = 0; k < K; k++) row[k] = s * std::max(-1.0f, std::min(1.0f, std::nearbyint(row[k] / s)));
                }
                rows_from_float(it.t, buf.data(), dst, K, r0, n);
            }
        }
        return status::ok();
    });
}

} // namespace tern
