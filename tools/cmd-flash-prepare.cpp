// cmd-flash-prepare.cpp — `tern flash-prepare IN OUT`: write a model's FFN in the row-column
// bundled layout of flash sparse mode (docs/weights-memory.md), through the C API.
#include "commands.h"

#include "tern.h"

#include <chrono>
#include <cstdio>
#include <sys/stat.h>

namespace tern_cli {

namespace {
struct prepare_opts {
    std::string in, out, gate_type;
    int threads = 0;
};

void on_layer(int32_t layer, int32_t n_layer, void *) {
    std::fprintf(stderr, "\rflash-prepare: bundling layer %d/%d", layer + 1, n_layer);
    std::fflush(stderr);
}

int prepare(const prepare_opts &o) {
    const auto t0 = std::chrono::steady_clock::now();
    if (tern_flash_prepare_gate(o.in.c_str(), o.out.c_str(), o.gate_type.empty() ? nullptr : o.gate_type.c_str(), o.threads,
                                on_layer, nullptr) != TERN_OK) {
        std::fprintf(stderr, "\ntern: error: %s\n", tern_last_error());
        return 1;
    }
    struct stat a {}, b {};
    stat(o.in.c_str(), &a);
    stat(o.out.c_str(), &b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\nwrote %s: %.1f MiB (from %.1f MiB) in %.1f s; run it with --flash-sparse KEEP and --mem-budget\n",
                 o.out.c_str(), b.st_size / 1048576.0, a.st_size / 1048576.0, s);
    return 0;
}
} // namespace

runner add_flash_prepare(CLI::App &app) {
    auto o = std::make_shared<prepare_opts>();
    CLI::App *c = app.add_subcommand("flash-prepare", "bundle each FFN neuron's up row and down column for flash sparse mode");
    c->add_option("input", o->in, "GGUF model (llama architecture)")->required();
    c->add_option("output", o->out, "bundled GGUF to write")->required();
    c->add_option("--gate-type", o->gate_type,
                  "requantize the gate projections (the resident predictor) to TYPE, e.g. q4_0: less RAM for it, more for neurons");
    c->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    return [o] { return prepare(*o); };
}

} // namespace tern_cli
