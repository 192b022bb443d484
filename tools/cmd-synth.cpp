// cmd-synth.cpp — `tern synth OUT [--preset P] [--type T]`: a random-weight GGUF in a real
// model's shape (see src/synth.h), for speed work without downloads.
#include "commands.h"
#include "progress.h"

#include "src/synth.h"

#include <chrono>
#include <cstdio>

namespace tern_cli {

namespace {
struct synth_opts {
    std::string out, preset = "tiny", type = "f16", vocab_from, arch;
    int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0;
    uint64_t seed = 1;
    int threads = 0;
};
} // namespace

runner add_synth(CLI::App &app) {
    auto o = std::make_shared<synth_opts>();
    CLI::App *c = app.add_subcommand("synth", "Write a GGUF with random weights in a real model's shape");
    c->add_option("output", o->out, "output GGUF")->required();
    c->add_option("-p,--preset", o->preset, "shape: " + tern::synth_preset_names())->capture_default_str();
    c->add_option("--type", o->type, "weight format or recipe, as for tern quantize")->capture_default_str();
    c->add_option("--vocab-from", o->vocab_from, "copy the tokenizer (and vocabulary size) from this GGUF");
    c->add_option("--arch", o->arch, "override the preset's architecture (llama, bitnet)");
    c->add_option("--n-embd", o->n_embd, "override the preset's width");
    c->add_option("--n-layer", o->n_layer, "override the preset's layer count");
    c->add_option("--n-head", o->n_head, "override the preset's head count");
    c->add_option("--n-head-kv", o->n_head_kv, "override the preset's KV head count");
    c->add_option("--n-ff", o->n_ff, "override the preset's FFN width");
    c->add_option("--n-vocab", o->n_vocab, "override the preset's vocabulary size (synthetic vocabulary)");
    c->add_option("--seed", o->seed, "random seed")->capture_default_str();
    c->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    return [o] {
        tern::synth_params p;
        tern::status st = tern::synth_preset(o->preset, &p.shape);
        if (st.is_ok()) st = tern::quant_recipe_parse(o->type, &p.recipe);
        if (!st.is_ok()) {
            std::fprintf(stderr, "tern: error: %s\n", st.message().c_str());
            return 1;
        }
        for (auto [v, dst] : {std::pair{o->n_embd, &p.shape.n_embd}, {o->n_layer, &p.shape.n_layer}, {o->n_head, &p.shape.n_head},
                              {o->n_head_kv, &p.shape.n_head_kv}, {o->n_ff, &p.shape.n_ff}, {o->n_vocab, &p.shape.n_vocab}})
            if (v > 0) *dst = v;
        if (!o->arch.empty()) p.shape.arch = o->arch;
        p.vocab_from = o->vocab_from;
        p.seed = o->seed;
        p.n_threads = o->threads;
        progress_bar bar;
        p.progress.on_tensor = [&](size_t i, size_t n, const std::string &name, tern::type, tern::type to) {
            bar.update(i + 1, n, name + " " + tern::type_name(to));
        };
        const auto t0 = std::chrono::steady_clock::now();
        st = tern::synth_model(o->out, p);
        bar.finish();
        if (!st.is_ok()) {
            std::fprintf(stderr, "tern: error: %s\n", st.message().c_str());
            return 1;
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("wrote %s: preset %s (%lld wide, %lld layers, %lld/%lld heads, FFN %lld), %s, in %.1f s\n", o->out.c_str(),
                    o->preset.c_str(), (long long)p.shape.n_embd, (long long)p.shape.n_layer, (long long)p.shape.n_head,
                    (long long)p.shape.n_head_kv, (long long)p.shape.n_ff, p.recipe.name.c_str(), s);
        return 0;
    };
}

} // namespace tern_cli
