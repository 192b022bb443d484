// cmd-bench-gemv.cpp — `tern bench-gemv`: kernel-level matrix-vector timing, one weight matrix
// [K, N] per type times one activation column, through the CPU backend's mul_mat (activation
// conversion included, as in decode). Median over -r runs per thread count; prints µs, weight
// bits per element and the weight bytes streamed per second, as a table or JSON lines. By default
// runs rotate over copies of the matrix (1 GiB in all), so the weights come from DRAM as in decode. A developer
// tool: it drives ggml/ and kernels-cpu/ directly rather than the C API.
#include "commands.h"

#include "ggml/plan.h"
#include "kernels-cpu/cpu-backend.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>

namespace tern_cli {

namespace {

struct gemv_opts {
    int64_t K = 4096, N = 4096;
    std::string types = "f16,q8_0,q4_0,q4_k,q3_k,q2_k,tq2_0,tq1_0,tl4,tl3,tl2,tl1,tlt", threads = "1,2";
    int reps = 30;
    double cold_mib = 1024; // rotate over copies of the matrix totalling this much (0: one copy, cache-hot)
    bool json = false;
};

std::vector<std::string> split_list(const std::string &s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) v.push_back(item);
    return v;
}

} // namespace

runner add_bench_gemv(CLI::App &app) {
    auto o = std::make_shared<gemv_opts>();
    CLI::App *c = app.add_subcommand("bench-gemv", "Time one matrix-vector product per weight type (kernel benchmark)");
    c->add_option("-k", o->K, "row length (input width)")->capture_default_str();
    c->add_option("-n", o->N, "rows (output width)")->capture_default_str();
    c->add_option("--types", o->types, "comma-separated weight types")->capture_default_str();
    c->add_option("-t,--threads", o->threads, "comma-separated thread counts")->capture_default_str();
    c->add_option("-r,--reps", o->reps, "timed runs per case (median reported)")->capture_default_str();
    c->add_option("--cold-mib", o->cold_mib,
                  "rotate over copies of the weights totalling this many MiB, so each run streams from DRAM "
                  "(0: one copy, which may stay in the last-level cache)")
        ->capture_default_str();
    c->add_flag("--json", o->json, "one JSON object per line");
    return [o] {
        using namespace tern;
        const isa_kernels *k = kernels_select();
        std::vector<float> wf(o->K * o->N), xf(o->K);
        std::mt19937 rng(1);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (auto &v : wf) v = nd(rng);
        for (auto &v : xf) v = nd(rng);
        if (!o->json)
            std::printf("| type | K x N | bits/w | threads | µs (median) | GB/s | isa |\n|---|---|---:|---:|---:|---:|---|\n");
        for (const std::string &tn : split_list(o->types)) {
            type t;
            if (!type_from_name(tn.c_str(), &t) || !type_can_dequantize(t)) {
                std::fprintf(stderr, "tern: error: unknown or unsupported type '%s'\n", tn.c_str());
                return 1;
            }
            const type_traits *tr = type_get(t);
            if (o->K % tr->block_size || (tr->tile_rows && o->N % tr->tile_rows)) {
                std::fprintf(stderr, "tern: skipping %s: %lld x %lld does not fit its blocks\n", tn.c_str(),
                             (long long)o->K, (long long)o->N);
                continue;
            }
            const size_t rs = row_size(t, o->K);
            std::vector<uint8_t> wq(rs * o->N);
            const int64_t chunk = 32, n_chunks = (o->N + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1)
            for (int64_t ch = 0; ch < n_chunks; ch++)
                rows_from_float(t, wf.data() + ch * chunk * o->K, wq.data(), o->K, ch * chunk,
                                std::min(chunk, o->N - ch * chunk));
            // Copies, each a separate allocation, so consecutive runs never find the weights in cache.
            const size_t n_copies = o->cold_mib > 0 ? std::max<size_t>(1, (size_t)(o->cold_mib * 1048576.0 / (double)wq.size())) : 1;
            std::vector<std::vector<uint8_t>> copies(n_copies - 1, wq);
            std::vector<uint8_t *> ptrs{wq.data()};
            for (auto &cp : copies) ptrs.push_back(cp.data());
            graph g;
            tensor *w = g.new_tensor_2d(t, o->K, o->N, "w");
            tensor *x = g.new_tensor_2d(type::f32, o->K, 1, "x");
            w->data = wq.data();
            x->data = xf.data();
            tensor *y = g.mul_mat(w, x);
            g.mark_output(y);
            arena mem;
            if (!plan_memory(g, mem).is_ok()) return 1;
            const double bits = 8.0 * (double)wq.size() / (double)(o->K * o->N);
            for (const std::string &ts : split_list(o->threads)) {
                compute_options opt;
                opt.n_threads = std::max(1, std::atoi(ts.c_str()));
                for (int i = 0; i < 3; i++) cpu_compute(g.nodes(), opt, k); // warm up
                std::vector<double> us;
                for (int i = 0; i < o->reps; i++) {
                    w->data = ptrs[(size_t)i % ptrs.size()];
                    const auto t0 = std::chrono::steady_clock::now();
                    cpu_compute(g.nodes(), opt, k);
                    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
                }
                std::sort(us.begin(), us.end());
                const double med = us[us.size() / 2], gbs = (double)wq.size() / (med * 1e-6) / 1e9;
                if (o->json)
                    std::printf("{\"type\": \"%s\", \"k\": %lld, \"n\": %lld, \"bits_per_weight\": %.4f, \"threads\": %d, "
                                "\"us_median\": %.2f, \"us_min\": %.2f, \"gb_per_s\": %.3f, \"isa\": \"%s\"}\n",
                                tn.c_str(), (long long)o->K, (long long)o->N, bits, opt.n_threads, med, us.front(), gbs, k->isa);
                else
                    std::printf("| %s | %lld x %lld | %.3f | %d | %.1f | %.2f | %s |\n", tn.c_str(), (long long)o->K,
                                (long long)o->N, bits, opt.n_threads, med, gbs, k->isa);
                std::fflush(stdout);
            }
        }
        return 0;
    };
}

} // namespace tern_cli
