// main.cpp — the `tern` binary: dispatches to subcommands.
#include "commands.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
    CLI::App app{"tern — CPU/edge-first LLM inference on GGUF models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "tern 0.1.0");
    std::vector<std::pair<CLI::App *, tern_cli::runner>> cmds;
    auto reg = [&](const char *name, tern_cli::runner r) { cmds.push_back({app.get_subcommand(name), r}); };
    reg("run", tern_cli::add_run(app));
    reg("info", tern_cli::add_info(app));
    reg("bench", tern_cli::add_bench(app));
    reg("quantize", tern_cli::add_quantize(app));
    reg("synth", tern_cli::add_synth(app));
    reg("perplexity", tern_cli::add_perplexity(app));
    reg("bench-gemv", tern_cli::add_bench_gemv(app));
    reg("flash-prepare", tern_cli::add_flash_prepare(app));
    reg("serve", tern_cli::add_serve(app));
    reg("chat", tern_cli::add_chat(app));
    // llama.cpp's spelling -ngl N (CLI11 short options are one letter): read as --ngl N.
    std::vector<char *> args(argv, argv + argc);
    static char ngl[] = "--ngl";
    for (char *&a : args)
        if (std::strcmp(a, "-ngl") == 0) a = ngl;
    try {
        app.parse((int)args.size(), args.data());
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    }
    for (auto &c : cmds)
        if (c.first->parsed()) return c.second();
    return 1;
}
