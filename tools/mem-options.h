// mem-options.h — where the weights live, options shared by run, chat, serve, bench and perplexity:
// --mem-budget SIZE, --no-direct-io, the flash options, -ngl N and --device I; and the I/O
// statistics they print.
#pragma once

#include "tern.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace tern_cli {

struct mem_opts {
    std::string budget; // "" = map the whole file
    bool no_direct_io = false;
    float flash_keep = 0;  // --flash-sparse: fraction of FFN neurons per token (bundled models)
    int flash_window = 0;  // --flash-window: neurons per layer kept cached
    int n_gpu_layers = 0;  // -ngl: layers on the GPU (999: all)
    int device = -1;       // --device: GPU index (tern info --devices)
};

void add_mem_options(CLI::App *c, mem_opts *o);
// Fills the model parameters; false (with a message printed) for a malformed size.
bool apply_mem_options(const mem_opts &o, tern_model_params *p);
// "512M", "1.5G", "4096" (bytes); K, M, G, T are powers of 1024. False if malformed or zero.
bool parse_size(const std::string &s, uint64_t *out);
// Loads -m FILE (or the default model, with a hint to fetch it when absent) with the memory options;
// nullptr after printing the error.
tern_model *load_model_or_report(const std::string &given, const mem_opts &o);
// Two lines about the residency plan and I/O so far (nothing without a budget).
void print_io_plan(FILE *out, const tern_model *m);
void print_io_stats(FILE *out, const tern_model *m, int64_t n_tokens);

} // namespace tern_cli
