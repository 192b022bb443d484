// cmd-info.cpp — `tern info FILE`: GGUF metadata (long arrays abbreviated) and the tensor table.
// Reads the file with ggml/'s GGUF reader directly: describing a file is a format tool, not an
// inference step, so it does not go through the C API.
#include "commands.h"
#include "kv-options.h"
#include "tern.h"

#include "ggml/gguf.h"

#include <cstdio>
#include <memory>
#include <cstring>
#include <string>

namespace tern_cli {

namespace {

std::string scalar_str(const tern::gguf_kv &kv) {
    using tern::gguf_vtype;
    char buf[64];
    switch (kv.type) {
    case gguf_vtype::f32:
    case gguf_vtype::f64: std::snprintf(buf, sizeof buf, "%.9g", kv.f); return buf;
    case gguf_vtype::boolean: return kv.u ? "true" : "false";
    case gguf_vtype::u8: case gguf_vtype::u16: case gguf_vtype::u32: case gguf_vtype::u64: return std::to_string(kv.u);
    default: return std::to_string(kv.i);
    }
}

std::string quoted(const std::string &s, size_t max = 120) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size() && i < max; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c == '\n') out += "\\n";
        else if (c == '"') out += "\\\"";
        else if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else out += (char)c;
    }
    if (s.size() > max) out += "...";
    return out + "\"";
}

std::string value_str(const tern::gguf_kv &kv) {
    using tern::gguf_vtype;
    if (kv.type == gguf_vtype::string) return quoted(kv.str);
    if (kv.type != gguf_vtype::array) return scalar_str(kv);
    std::string s = "[" + std::to_string(kv.arr_n) + " x " + tern::gguf_vtype_name(kv.arr_type) + "] [";
    const uint64_t show = std::min<uint64_t>(kv.arr_n, 6);
    for (uint64_t i = 0; i < show; i++) {
        if (i) s += ", ";
        if (kv.arr_type == gguf_vtype::string) s += quoted(kv.arr_str[i], 24);
        else if (kv.arr_type == gguf_vtype::array) s += "[...]";
        else {
            tern::gguf_kv e;
            e.type = kv.arr_type;
            const size_t sz = tern::gguf_vtype_size(kv.arr_type);
            uint64_t u = 0;
            std::memcpy(&u, kv.arr_raw.data() + i * sz, sz);
            if (kv.arr_type == gguf_vtype::f32) e.f = kv.arr_at<float>(i);
            else if (kv.arr_type == gguf_vtype::f64) e.f = kv.arr_at<double>(i);
            else if (kv.arr_type == gguf_vtype::i8) e.i = kv.arr_at<int8_t>(i);
            else if (kv.arr_type == gguf_vtype::i16) e.i = kv.arr_at<int16_t>(i);
            else if (kv.arr_type == gguf_vtype::i32) e.i = kv.arr_at<int32_t>(i);
            else if (kv.arr_type == gguf_vtype::i64) e.i = kv.arr_at<int64_t>(i);
            e.u = u;
            s += scalar_str(e);
        }
    }
    if (kv.arr_n > show) s += ", ...";
    return s + "]";
}

int info(const std::string &path, const kv_opts &kv, int n_ctx) {
    std::unique_ptr<tern::gguf_file> f;
    tern::status st = tern::gguf_file::open(path, &f);
    if (!st) {
        std::fprintf(stderr, "tern: error: %s\n", st.message().c_str());
        return 1;
    }
    std::printf("file: %s\nGGUF version %u, %zu bytes, %zu metadata keys, %zu tensors, alignment %zu\n\n",
                path.c_str(), f->version, f->file_size(), f->kvs.size(), f->tensors.size(), f->alignment);
    std::printf("metadata:\n");
    for (const auto &kv : f->kvs)
        std::printf("  %-44s %-6s %s\n", kv.key.c_str(), tern::gguf_vtype_name(kv.type), value_str(kv).c_str());
    std::printf("\ntensors:\n  %-4s %-36s %-8s %-24s %12s\n", "#", "name", "type", "shape", "bytes");
    size_t total = 0;
    for (size_t i = 0; i < f->tensors.size(); i++) {
        const auto &t = f->tensors[i];
        std::string shape = "[";
        for (uint32_t d = 0; d < t.n_dims; d++) shape += (d ? ", " : "") + std::to_string(t.ne[d]);
        shape += "]";
        std::printf("  %-4zu %-36s %-8s %-24s %12zu\n", i, t.name.c_str(), tern::type_name(t.ttype), shape.c_str(), t.n_bytes);
        total += t.n_bytes;
    }
    std::printf("\ntotal tensor bytes: %zu (%.2f MiB)\n", total, total / 1048576.0);
    // KV cache sizes, when tern can run the model.
    tern_model *m = nullptr;
    if (tern_model_load(path.c_str(), nullptr, &m) != TERN_OK) {
        std::printf("\nKV cache: not computed (%s)\n", tern_last_error());
        return 0;
    }
    tern_kv_type chosen = TERN_KV_F16;
    tern_kv_type_parse(kv.type.c_str(), &chosen);
    std::printf("\nKV cache bytes per token at %d tokens of context (all layers; KIVI residual %d tokens):\n", n_ctx, kv.residual);
    const double f16 = tern_model_kv_bytes_per_token(m, TERN_KV_F16, n_ctx, kv.residual);
    for (const char *name : {"f32", "f16", "q8_0", "q4_0", "kivi4", "kivi2"}) {
        tern_kv_type t;
        tern_kv_type_parse(name, &t);
        const double b = tern_model_kv_bytes_per_token(m, t, n_ctx, kv.residual);
        if (b < 0) std::printf("  %-6s not available (head size is not a multiple of 32)\n", name);
        else
            std::printf("  %-6s %9.1f bytes/token %7.3fx f16 %10.1f MiB at %d tokens%s\n", name, b, b / f16,
                        b * n_ctx / 1048576.0, n_ctx, t == chosen ? "   <- --kv-type" : "");
    }
    tern_model_free(m);
    return 0;
}

int list_devices() {
    const int32_t n = tern_devices(nullptr, 0);
    if (n <= 0) {
        std::printf("no GPU devices (this build has no GPU backend, or no driver reports a device)\n");
        return 0;
    }
    std::string buf((size_t)n + 1, '\0');
    tern_devices(buf.data(), buf.size());
    std::fputs(buf.c_str(), stdout);
    return 0;
}

} // namespace

runner add_info(CLI::App &app) {
    auto path = std::make_shared<std::string>();
    auto kv = std::make_shared<kv_opts>();
    auto n_ctx = std::make_shared<int>(4096);
    CLI::App *c = app.add_subcommand("info", "print a GGUF file's metadata, tensor table and KV cache sizes");
    auto devices = std::make_shared<bool>(false);
    c->add_option("file", *path, "GGUF file");
    c->add_flag("--devices", *devices, "list the GPU devices tern can use (and nothing else)");
    c->add_option("-c,--ctx-size", *n_ctx, "context for the KV cache sizes")->check(CLI::Range(1, 1 << 24))->capture_default_str();
    add_kv_options(c, kv.get());
    return [path, kv, n_ctx, devices] {
        if (*devices) return list_devices();
        if (path->empty()) {
            std::fprintf(stderr, "tern: error: info needs a GGUF file (or --devices)\n");
            return 2;
        }
        return info(*path, *kv, *n_ctx);
    };
}

} // namespace tern_cli
