// cmd-quantize.cpp — `tern quantize IN OUT TYPE`: rewrite a model's weights in another format
// through the C API (tern_model_quantize), with a progress bar and a size summary.
#include "commands.h"
#include "progress.h"

#include "tern.h"

#include <chrono>
#include <cstdio>
#include <sys/stat.h>

namespace tern_cli {

namespace {
struct quantize_opts {
    std::string in, out, type;
    int threads = 0;
};

double file_mib(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 ? (double)st.st_size / (1024.0 * 1024.0) : 0.0;
}
} // namespace

runner add_quantize(CLI::App &app) {
    auto o = std::make_shared<quantize_opts>();
    CLI::App *c = app.add_subcommand("quantize", "Convert a GGUF model's weights to another format or K-quant mix");
    c->add_option("input", o->in, "input GGUF (F32/F16/BF16/Q8_0, or any format tern reads)")->required();
    c->add_option("output", o->out, "output GGUF")->required();
    c->add_option("type", o->type,
                  "F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K TQ1_0 TQ2_0")
        ->required();
    c->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    return [o] {
        if (o->in == o->out) {
            std::fprintf(stderr, "tern: error: input and output are the same file\n");
            return 1;
        }
        progress_bar bar;
        auto cb = [](int32_t done, int32_t total, const char *name, const char *from, const char *to, void *ud) {
            ((progress_bar *)ud)->update((size_t)done + 1, (size_t)total, std::string(name) + " " + from + " -> " + to);
        };
        const auto t0 = std::chrono::steady_clock::now();
        const tern_status st = tern_model_quantize(o->in.c_str(), o->out.c_str(), o->type.c_str(), o->threads, cb, &bar);
        bar.finish();
        if (st != TERN_OK) {
            std::fprintf(stderr, "tern: error: %s\n", tern_last_error());
            return 1;
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("quantized %s -> %s (%s): %.1f MiB -> %.1f MiB in %.1f s\n", o->in.c_str(), o->out.c_str(),
                    o->type.c_str(), file_mib(o->in), file_mib(o->out), s);
        return 0;
    };
}

} // namespace tern_cli
