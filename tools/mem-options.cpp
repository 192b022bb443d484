// mem-options.cpp — --mem-budget / --no-direct-io, and printing the weight store's figures.
#include "mem-options.h"
#include "commands.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tern_cli {

bool parse_size(const std::string &s, uint64_t *out) {
    if (s.empty()) return false;
    char *end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || !(v > 0) || !std::isfinite(v)) return false;
    double mult = 1;
    std::string suffix(end);
    if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b') && suffix.size() > 1) suffix.pop_back();
    if (suffix.size() == 2 && (suffix[1] == 'i' || suffix[1] == 'I')) suffix.pop_back(); // "MiB"
    if (suffix.empty() || suffix == "B" || suffix == "b") mult = 1;
    else if (suffix.size() != 1) return false;
    else {
        switch (suffix[0]) {
        case 'k': case 'K': mult = 1024.0; break;
        case 'm': case 'M': mult = 1048576.0; break;
        case 'g': case 'G': mult = 1073741824.0; break;
        case 't': case 'T': mult = 1099511627776.0; break;
        default: return false;
        }
    }
    const double bytes = v * mult;
    if (bytes < 1 || bytes > 1.8e19) return false;
    *out = (uint64_t)bytes;
    return true;
}

void add_mem_options(CLI::App *c, mem_opts *o) {
    c->add_option("--mem-budget", o->budget,
                  "RAM for weights, e.g. 480M or 2G: what does not fit is streamed from the file on every token "
                  "(default: map the whole file)");
    c->add_flag("--no-direct-io", o->no_direct_io, "with --mem-budget: read through the page cache instead of O_DIRECT");
    c->add_option("--flash-sparse", o->flash_keep,
                  "bundled models (tern flash-prepare): the fraction of FFN neurons each token uses, e.g. 0.3 (default: all)")
        ->check(CLI::Range(0.0, 1.0));
    c->add_option("--flash-window", o->flash_window,
                  "with --flash-sparse and --mem-budget: FFN neurons per layer kept cached (default: two tokens' worth, more if the budget has room)")
        ->check(CLI::Range(0, 1 << 24));
    c->add_option("--ngl,--n-gpu-layers", o->n_gpu_layers,
                  "layers to run on the GPU (-ngl works too; 999: all, with the output matrix; default 0: CPU only)")
        ->check(CLI::Range(0, 1 << 20));
    c->add_option("--device", o->device, "GPU to use, by index (tern info --devices; default: the first discrete GPU)")
        ->check(CLI::Range(-1, 64));
}

bool apply_mem_options(const mem_opts &o, tern_model_params *p) {
    p->direct_io = !o.no_direct_io;
    p->flash_keep = o.flash_keep;
    p->flash_window = o.flash_window;
    p->n_gpu_layers = o.n_gpu_layers;
    p->gpu_device = o.device;
    if (o.budget.empty()) return true;
    if (!parse_size(o.budget, &p->mem_budget)) {
        std::fprintf(stderr, "tern: error: bad --mem-budget '%s' (a size such as 480M or 2G)\n", o.budget.c_str());
        return false;
    }
    return true;
}

namespace {
std::string window_note(double window_mib) {
    char buf[96];
    std::snprintf(buf, sizeof buf, ", FFN neurons read on demand into %.1f MiB of windows", window_mib);
    return buf;
}
} // namespace

void print_io_plan(FILE *out, const tern_model *m) {
    const tern_io_stats s = tern_model_io_stats(m);
    if (!s.mem_budget) return;
    const double mb = 1048576.0;
    std::fprintf(out, "tern: weights: budget %.1f MiB: %d tensors (%.1f MiB) in RAM, %d (%.1f MiB) streamed per token "
                      "through a %.1f MiB buffer (%s)%s\n",
                 s.mem_budget / mb, s.n_resident, s.bytes_resident / mb, s.n_streamed, s.bytes_streamed_per_pass / mb,
                 s.bytes_buffer / mb, s.streaming ? (s.direct_io ? "O_DIRECT" : "page cache") : "nothing streamed",
                 s.bytes_window ? window_note(s.bytes_window / mb).c_str() : "");
}

void print_io_stats(FILE *out, const tern_model *m, int64_t n_tokens) {
    const tern_io_stats s = tern_model_io_stats(m);
    if (!s.mem_budget) return;
    const double mb = 1048576.0;
    const double hit = s.bytes_used ? (double)s.bytes_used_in_ram / (double)s.bytes_used : 1.0;
    std::fprintf(out, "tern: weight I/O: %.1f MiB read in %llu reads over %llu forward passes of %lld tokens (%.1f MiB per pass), "
                      "%.1f%% of weight bytes found in RAM, reading %.0f ms (%.2f GB/s), compute waited %.0f ms\n",
                 s.bytes_read / mb, (unsigned long long)s.n_reads, (unsigned long long)s.n_passes, (long long)n_tokens,
                 s.n_passes ? s.bytes_read / mb / (double)s.n_passes : 0.0, 100.0 * hit, s.read_ms,
                 s.read_ms > 0 ? s.bytes_read / (s.read_ms * 1e6) : 0.0, s.io_wait_ms);
    if (s.neurons_used)
        std::fprintf(out, "tern: FFN neurons: %llu used, %.1f%% found in the window, %.1f MiB read for the rest\n",
                     (unsigned long long)s.neurons_used, 100.0 * (double)s.neurons_cached / (double)s.neurons_used,
                     s.bytes_read_neurons / mb);
}

tern_model *load_model_or_report(const std::string &given, const mem_opts &o) {
    const std::string path = given.empty() ? default_model_path() : given;
    if (given.empty() && access(path.c_str(), R_OK) != 0) {
        std::fprintf(stderr, "tern: error: no model given and the default model is not downloaded: run scripts/fetch-model.sh or pass -m FILE (looked for %s)\n",
                     path.c_str());
        return nullptr;
    }
    tern_model_params mp = tern_model_default_params();
    if (!apply_mem_options(o, &mp)) return nullptr;
    tern_model *m = nullptr;
    if (tern_model_load(path.c_str(), &mp, &m) != TERN_OK) {
        std::fprintf(stderr, "tern: error: cannot load model: %s\n", tern_last_error());
        return nullptr;
    }
    return m;
}

} // namespace tern_cli
