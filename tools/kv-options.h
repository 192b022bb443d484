// kv-options.h — the KV cache options shared by run, bench, perplexity and info:
// --kv-type, --kv-policy, --kv-budget, --kv-sinks, --kv-residual.
#pragma once

#include "tern.h"

#include <CLI/CLI.hpp>

#include <string>

namespace tern_cli {

struct kv_opts {
    std::string type = "f16", policy = "all";
    int budget = 0, sinks = 4, residual = 32;
};

void add_kv_options(CLI::App *c, kv_opts *o);
// Fills the context parameters; false (with a message printed) for an unknown name.
bool apply_kv_options(const kv_opts &o, tern_context_params *p);
// "kivi2" or "kivi2+h2o/1024" (policy and budget when a policy is set).
std::string kv_label(const kv_opts &o);

} // namespace tern_cli
