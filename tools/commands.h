// commands.h — the tern subcommands. Each registers its CLI11 options and returns a runner.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace tern_cli {

using runner = std::function<int()>;

runner add_run(CLI::App &app);
runner add_info(CLI::App &app);
runner add_bench(CLI::App &app);
runner add_quantize(CLI::App &app);
runner add_synth(CLI::App &app);
runner add_perplexity(CLI::App &app);
runner add_bench_gemv(CLI::App &app);
runner add_flash_prepare(CLI::App &app);
runner add_serve(CLI::App &app);
runner add_chat(CLI::App &app);

// ~/.cache/tern/models/SmolLM2-135M-Instruct.Q4_1.gguf (TERN_CACHE overrides ~/.cache/tern).
std::string default_model_path();

} // namespace tern_cli
