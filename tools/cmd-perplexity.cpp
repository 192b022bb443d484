// cmd-perplexity.cpp — `tern perplexity -m M -f TEXT [-c N]`: the usual chunked perplexity.
//
// The BOS-prefixed token list is cut into chunks of n_ctx tokens (a trailing partial chunk is
// dropped); each chunk starts from an empty cache with its first token replaced by BOS, is decoded
// in one call with all logits, and only its second half is scored: the logits at position j
// predict token j+1 for j = n_ctx/2 … n_ctx-2. Prints the running PPL after every chunk, then
// PPL ± its standard error (from the variance of the per-token negative log-likelihoods).
// With a KV policy or a KIVI format the chunk is fed in passes of -b tokens (default 32): the cache
// evicts down to its budget and quantizes its residual after each pass, so later tokens are
// predicted from the compressed cache as in generation.
#include "commands.h"
#include "kv-options.h"
#include "mem-options.h"

#include "tern.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace tern_cli {

namespace {
struct ppl_opts {
    std::string model, file;
    kv_opts kv;
    mem_opts mem;
    int n_ctx = 512, threads = 0, max_chunks = 0, n_batch = 0;
};
} // namespace

runner add_perplexity(CLI::App &app) {
    auto o = std::make_shared<ppl_opts>();
    CLI::App *c = app.add_subcommand("perplexity", "Perplexity of a model on a text file (second half of each chunk scored)");
    c->add_option("-m,--model", o->model, "GGUF model (default: the cached demo model)");
    c->add_option("-f,--file", o->file, "text file")->required();
    c->add_option("-c,--ctx-size", o->n_ctx, "tokens per chunk")->capture_default_str();
    c->add_option("-t,--threads", o->threads, "threads (0 = physical cores)");
    c->add_option("--chunks", o->max_chunks, "score at most this many chunks (0 = all)");
    c->add_option("-b,--batch-size", o->n_batch,
                  "tokens per forward pass (0: the chunk; 32 with a KV policy or a KIVI format, see docs/kv-cache.md)");
    add_kv_options(c, &o->kv);
    add_mem_options(c, &o->mem);
    return [o] {
        if (o->model.empty()) o->model = default_model_path();
        std::ifstream in(o->file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "tern: error: cannot read '%s'\n", o->file.c_str());
            return 1;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        if (o->n_ctx < 8) {
            std::fprintf(stderr, "tern: error: --ctx-size must be at least 8\n");
            return 1;
        }
        tern_model *m = nullptr;
        tern_model_params mp = tern_model_default_params();
        if (!apply_mem_options(o->mem, &mp)) return 1;
        if (tern_model_load(o->model.c_str(), &mp, &m) != TERN_OK) {
            std::fprintf(stderr, "tern: error: %s\n", tern_last_error());
            return 1;
        }
        std::unique_ptr<tern_model, void (*)(tern_model *)> model(m, tern_model_free);
        const int32_t need = tern_tokenize(m, text.data(), (int32_t)text.size(), nullptr, 0, true, false);
        std::vector<tern_token> toks((size_t)std::max(0, -need));
        if (need < 0) tern_tokenize(m, text.data(), (int32_t)text.size(), toks.data(), (int32_t)toks.size(), true, false);
        else toks.resize((size_t)need), tern_tokenize(m, text.data(), (int32_t)text.size(), toks.data(), need, true, false);
        const int n_ctx = o->n_ctx;
        int n_chunks = (int)(toks.size() / (size_t)n_ctx);
        if (o->max_chunks > 0) n_chunks = std::min(n_chunks, o->max_chunks);
        if (n_chunks == 0) {
            std::fprintf(stderr, "tern: error: %zu tokens is fewer than one chunk of %d (use a smaller -c)\n", toks.size(), n_ctx);
            return 1;
        }
        tern_context_params p = tern_context_default_params();
        p.n_ctx = (uint32_t)n_ctx;
        p.n_threads = o->threads;
        if (!apply_kv_options(o->kv, &p)) return 1;
        // A policy evicts between passes, and KIVI keeps a pass's own tokens in f16 until it ends:
        // both are measured as in generation, 32 tokens per pass, unless -b says otherwise.
        const bool small_passes = p.kv_policy != TERN_KV_ALL || p.kv_type == TERN_KV_KIVI4 || p.kv_type == TERN_KV_KIVI2;
        p.n_batch = (uint32_t)(o->n_batch > 0 ? o->n_batch : small_passes ? 32 : n_ctx);
        tern_context *c = nullptr;
        if (tern_context_init(m, &p, &c) != TERN_OK) {
            std::fprintf(stderr, "tern: error: %s\n", tern_last_error());
            return 1;
        }
        std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);
        const int V = tern_model_n_vocab(m);
        const tern_token bos = tern_token_bos(m);
        const tern_kv_stats ks = tern_context_kv_stats(c, n_ctx);
        std::fprintf(stderr, "perplexity: %zu tokens, %d chunks of %d in passes of %u, scoring %d tokens each; KV %s, %.0f bytes/token (%.3fx f16)\n",
                     toks.size(), n_chunks, n_ctx, p.n_batch, n_ctx - 1 - n_ctx / 2, kv_label(o->kv).c_str(), ks.bytes_per_token,
                     ks.bytes_per_token / ks.f16_bytes_per_token);
        print_io_plan(stderr, m);
        double nll = 0, nll2 = 0;
        long count = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int ch = 0; ch < n_chunks; ch++) {
            std::vector<tern_token> chunk(toks.begin() + (long)ch * n_ctx, toks.begin() + (long)(ch + 1) * n_ctx);
            if (tern_add_bos(m) && bos != TERN_TOKEN_NULL) chunk[0] = bos;
            tern_context_truncate(c, 0);
            if (tern_decode(c, chunk.data(), n_ctx, true) != TERN_OK) {
                std::fprintf(stderr, "\ntern: error: %s\n", tern_last_error());
                return 1;
            }
            for (int j = n_ctx / 2; j < n_ctx - 1; j++) {
                const float *l = tern_get_logits(c, j);
                double mx = l[0];
                for (int v = 1; v < V; v++) mx = std::max(mx, (double)l[v]);
                double se = 0;
                for (int v = 0; v < V; v++) se += std::exp((double)l[v] - mx);
                const double x = std::log(se) + mx - (double)l[chunk[j + 1]];
                nll += x, nll2 += x * x, count++;
            }
            std::printf("[%d]%.4f,", ch + 1, std::exp(nll / (double)count));
            std::fflush(stdout);
        }
        const double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
        const double ppl = std::exp(mean), err = count > 1 && var > 0 ? ppl * std::sqrt(var / (double)(count - 1)) : 0.0;
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl, err);
        std::fprintf(stderr, "perplexity: %ld tokens scored in %.1f s (%.1f tokens/s evaluated)\n", count, secs,
                     (double)n_chunks * n_ctx / secs);
        print_io_stats(stderr, m, (int64_t)n_chunks * n_ctx);
        return 0;
    };
}

} // namespace tern_cli
