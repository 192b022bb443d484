// cmd-bench.cpp — `tern bench`: llama-bench-style throughput. For each thread count: prompt
// processing of -p tokens (one batched decode from an empty cache) and generation of -n tokens
// (one token per decode) after -d tokens of context, repeated -r times; mean ± sd in tokens/s,
// as a table or JSON lines. Token ids are fixed pseudo-random values, so runs are comparable.
#include "commands.h"
#include "kv-options.h"
#include "mem-options.h"

#include "tern.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace tern_cli {

namespace {

struct bench_opts {
    std::string model, threads = "0";
    kv_opts kv;
    mem_opts mem;
    int n_prompt = 128, n_gen = 64, depth = 0, reps = 3;
    bool json = false, synthetic_depth = false;
};

struct stats {
    double mean = 0, sd = 0, median = 0;
};
stats summarize(const std::vector<double> &v) {
    stats s;
    for (double x : v) s.mean += x;
    s.mean /= (double)v.size();
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = v.size() > 1 ? std::sqrt(s.sd / (double)(v.size() - 1)) : 0.0;
    std::vector<double> w = v;
    std::sort(w.begin(), w.end());
    s.median = w.size() % 2 ? w[w.size() / 2] : 0.5 * (w[w.size() / 2 - 1] + w[w.size() / 2]);
    return s;
}

// Weight I/O of the timed part of one test (a model loaded with --mem-budget).
struct io_delta {
    double bytes_read = 0, bytes_used = 0, bytes_used_in_ram = 0, io_wait_ms = 0, read_ms = 0;
    int tokens = 0;
    void add(const tern_io_stats &a, const tern_io_stats &b, int n) {
        bytes_read += (double)(b.bytes_read - a.bytes_read);
        bytes_used += (double)(b.bytes_used - a.bytes_used);
        bytes_used_in_ram += (double)(b.bytes_used_in_ram - a.bytes_used_in_ram);
        io_wait_ms += b.io_wait_ms - a.io_wait_ms;
        read_ms += b.read_ms - a.read_ms;
        tokens += n;
    }
};

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Tokens/s of one test; returns < 0 on error (message printed).
double run_once(tern_model *m, int threads, const tern_context_params &base, int n_prompt, int n_gen, int depth,
                bool synthetic_depth, tern_kv_stats *kv_stats, io_delta *io) {
    tern_context_params p = base;
    p.n_ctx = (uint32_t)(depth + n_prompt + n_gen + 8);
    p.n_threads = threads;
    tern_context *c = nullptr;
    if (tern_context_init(m, &p, &c) != TERN_OK) {
        std::fprintf(stderr, "tern: error: %s\n", tern_last_error());
        return -1;
    }
    std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);
    const int V = tern_model_n_vocab(m);
    uint64_t state = 12345;
    auto next_tok = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return (tern_token)((state >> 33) % (uint64_t)V);
    };
    std::vector<tern_token> toks(std::max(1, std::max(depth, n_prompt)));
    for (auto &t : toks) t = next_tok();
    if (depth > 0 && (synthetic_depth ? tern_context_kv_fill_synthetic(c, depth, 1) : tern_decode(c, toks.data(), depth, false)) != TERN_OK)
        return -1;
    if (kv_stats) *kv_stats = tern_context_kv_stats(c, depth + n_prompt + n_gen);
    const tern_io_stats io0 = tern_model_io_stats(m);
    const double t0 = now_s();
    if (n_prompt > 0) {
        if (tern_decode(c, toks.data(), n_prompt, false) != TERN_OK) return -1;
        const double dt = now_s() - t0;
        if (io) io->add(io0, tern_model_io_stats(m), n_prompt);
        return n_prompt / dt;
    }
    for (int i = 0; i < n_gen; i++) {
        const tern_token t = next_tok();
        if (tern_decode(c, &t, 1, false) != TERN_OK) return -1;
    }
    const double dt = now_s() - t0;
    if (io) io->add(io0, tern_model_io_stats(m), n_gen);
    return n_gen / dt;
}

int bench(const bench_opts &o) {
    const std::string path = o.model.empty() ? default_model_path() : o.model;
    tern_model *mp = nullptr;
    tern_model_params mparams = tern_model_default_params();
    if (!apply_mem_options(o.mem, &mparams)) return 1;
    if (tern_model_load(path.c_str(), &mparams, &mp) != TERN_OK) {
        std::fprintf(stderr, "tern: error: cannot load model: %s\n", tern_last_error());
        return 1;
    }
    std::unique_ptr<tern_model, void (*)(tern_model *)> model(mp, tern_model_free);
    tern_context_params base = tern_context_default_params();
    if (!apply_kv_options(o.kv, &base)) return 1;
    const std::string kv = kv_label(o.kv);
    std::vector<int> threads;
    std::stringstream ss(o.threads);
    for (std::string tok; std::getline(ss, tok, ',');) {
        try {
            threads.push_back(std::stoi(tok));
        } catch (...) {
            std::fprintf(stderr, "tern: error: bad thread list '%s'\n", o.threads.c_str());
            return 1;
        }
    }
    char desc_buf[128];
    tern_model_desc(model.get(), desc_buf, sizeof desc_buf);
    // GPU offload shows in the model column and in the JSON (n_gpu_layers)
    const std::string desc_s = std::string(desc_buf) + (o.mem.n_gpu_layers > 0 ? " ngl " + std::to_string(o.mem.n_gpu_layers) : "");
    const char *desc = desc_s.c_str();
    const double size_mib = tern_model_size_bytes(model.get()) / 1048576.0;
    const tern_io_stats plan = tern_model_io_stats(model.get());
    if (!o.json) print_io_plan(stdout, model.get());
    if (!o.json) {
        std::printf("| %-28s | %9s | %7s | %8s | %9s | %-12s | %20s |\n", "model", "size", "threads", "kv", "kv B/tok", "test", "t/s");
        std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(11, '-').c_str(),
                    std::string(9, '-').c_str(), std::string(10, '-').c_str(), (std::string(11, '-') + "|" + std::string(14, '-')).c_str(),
                    std::string(22, '-').c_str());
    }
    struct test {
        int p, n;
    };
    std::vector<test> tests;
    if (o.n_prompt > 0) tests.push_back({o.n_prompt, 0});
    if (o.n_gen > 0) tests.push_back({0, o.n_gen});
    for (int th : threads) {
        for (const test &t : tests) {
            // warm-up at the test's own batch size, so the first timed repetition finds the buffers
            // grown and (GPU) the batch shaders' pipelines made, like the rest
            run_once(model.get(), th, base, t.p, t.p ? 0 : 2, 0, false, nullptr, nullptr);
            std::vector<double> v;
            tern_kv_stats ks{};
            io_delta io;
            for (int r = 0; r < o.reps; r++) {
                const double tps = run_once(model.get(), th, base, t.p, t.n, o.depth, o.synthetic_depth, &ks, &io);
                if (tps < 0) {
                    std::fprintf(stderr, "tern: error: %s\n", tern_last_error());
                    return 1;
                }
                v.push_back(tps);
            }
            const stats s = summarize(v);
            std::string name = t.p ? "pp" + std::to_string(t.p) : "tg" + std::to_string(t.n);
            if (o.depth) name += " @ d" + std::to_string(o.depth) + (o.synthetic_depth ? "s" : "");
            if (o.json) {
                std::printf("{\"model\": \"%s\", \"n_gpu_layers\": %d, \"model_size_bytes\": %llu, \"threads\": %d, \"kv_type\": \"%s\", "
                            "\"kv_policy\": \"%s\", \"kv_budget\": %d, \"kv_bytes_per_token\": %.1f, \"kv_vs_f16\": %.4f, "
                            "\"test\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"depth\": %d, \"synthetic_depth\": %s, "
                            "\"reps\": %d, \"tokens_per_s_mean\": %.3f, \"tokens_per_s_median\": %.3f, \"tokens_per_s_sd\": %.3f, \"samples\": [",
                            desc_buf, o.mem.n_gpu_layers, (unsigned long long)tern_model_size_bytes(model.get()), th, o.kv.type.c_str(),
                            o.kv.policy.c_str(), o.kv.budget, ks.bytes_per_token, ks.bytes_per_token / ks.f16_bytes_per_token,
                            name.c_str(), t.p, t.n, o.depth, o.synthetic_depth ? "true" : "false", o.reps, s.mean, s.median, s.sd);
                for (size_t i = 0; i < v.size(); i++) std::printf("%s%.3f", i ? ", " : "", v[i]);
                std::printf("]");
                if (plan.mem_budget)
                    std::printf(", \"mem_budget\": %llu, \"weight_bytes_resident\": %llu, \"weight_bytes_streamed_per_pass\": %llu, "
                                "\"direct_io\": %s, \"weight_bytes_read_per_token\": %.0f, \"weight_ram_hit_rate\": %.4f, "
                                "\"io_wait_ms_per_token\": %.3f, \"read_gb_per_s\": %.3f",
                                (unsigned long long)plan.mem_budget, (unsigned long long)plan.bytes_resident,
                                (unsigned long long)plan.bytes_streamed_per_pass, plan.direct_io ? "true" : "false",
                                io.bytes_read / std::max(1, io.tokens), io.bytes_used > 0 ? io.bytes_used_in_ram / io.bytes_used : 1.0,
                                io.io_wait_ms / std::max(1, io.tokens), io.read_ms > 0 ? io.bytes_read / (io.read_ms * 1e6) : 0.0);
                std::printf("}\n");
            } else {
                std::printf("| %-28s | %5.1f MiB | %7d | %8s | %9.0f | %-12s | %11.2f ± %6.2f |\n", desc, size_mib, th,
                            kv.c_str(), ks.bytes_per_token, name.c_str(), s.mean, s.sd);
                if (plan.mem_budget)
                    std::printf("|   weight I/O: %.1f MiB read/token, %.1f%% of weight bytes in RAM, compute waited %.1f ms/token, reads at %.2f GB/s\n",
                                io.bytes_read / 1048576.0 / std::max(1, io.tokens),
                                io.bytes_used > 0 ? 100.0 * io.bytes_used_in_ram / io.bytes_used : 100.0,
                                io.io_wait_ms / std::max(1, io.tokens), io.read_ms > 0 ? io.bytes_read / (io.read_ms * 1e6) : 0.0);
            }
            std::fflush(stdout);
        }
    }
    return 0;
}

} // namespace

runner add_bench(CLI::App &app) {
    auto o = std::make_shared<bench_opts>();
    CLI::App *c = app.add_subcommand("bench", "measure prompt-processing and generation speed");
    c->add_option("-m,--model", o->model, "GGUF model file (default: SmolLM2-135M-Instruct)");
    c->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens (0: skip)")->check(CLI::Range(0, 1 << 20));
    c->add_option("-n,--n-gen", o->n_gen, "generated tokens (0: skip)")->check(CLI::Range(0, 1 << 20));
    c->add_option("-d,--depth", o->depth, "tokens already in the context")->check(CLI::Range(0, 1 << 20));
    c->add_option("-t,--threads", o->threads, "comma-separated thread counts (0: physical cores)");
    c->add_option("-r,--repetitions", o->reps, "repetitions per test")->check(CLI::Range(1, 1000));
    c->add_flag("--synthetic-depth", o->synthetic_depth,
                "fill the -d context with random keys and values (stored in the KV format) instead of running the model over it");
    add_kv_options(c, &o->kv);
    add_mem_options(c, &o->mem);
    c->add_flag("--json", o->json, "one JSON object per test and thread count");
    return [o] { return bench(*o); };
}

} // namespace tern_cli
