// test-graph.cpp — the memory planner (reuse without clobbering live values) and each
// non-matmul op against a direct double-precision computation.
#include "test-util.h"

#include "ggml/fp16.h"
#include "ggml/plan.h"
#include "kernels-cpu/cpu-backend.h"
#include "kernels-cpu/thread-barrier.h"

#include <cmath>
#include <random>
#include <thread>

using namespace tern;

namespace {
using test_util::randv;
void run(graph &g, arena &mem, int nth = 2) {
    REQUIRE(plan_memory(g, mem).is_ok());
    compute_options opt;
    opt.n_threads = nth;
    REQUIRE(cpu_compute(g.nodes(), opt, kernels_select()).is_ok());
}
} // namespace

TEST_SUITE("graph") {

TEST_CASE("planner reuses dead intermediates and keeps live ones intact") {
    const int64_t E = 64, M = 4;
    graph g;
    tensor *x = g.new_tensor_2d(type::f32, E, M, "x");
    auto xv = randv(E * M, 1);
    x->data = xv.data();
    // x -> a -> b -> ... chain of 10 adds of x, then a long-lived value used at the end.
    tensor *keep = g.mul(x, x); // live until the end
    tensor *cur = g.add(x, x);
    for (int i = 0; i < 10; i++) cur = g.add(cur, x);
    tensor *out = g.add(cur, keep);
    g.mark_output(out);
    arena mem;
    plan_stats st;
    REQUIRE(plan_memory(g, mem, &st).is_ok());
    CHECK(st.arena_bytes < st.naive_bytes / 3);
    compute_options opt;
    opt.n_threads = 2;
    REQUIRE(cpu_compute(g.nodes(), opt, kernels_select()).is_ok());
    for (int64_t i = 0; i < E * M; i++) CHECK(((float *)out->data)[i] == doctest::Approx(12 * xv[i] + xv[i] * xv[i]).epsilon(1e-5));
}

TEST_CASE("relu2_mul and scale") {
    const int64_t E = 40, M = 3;
    graph g;
    tensor *a = g.new_tensor_2d(type::f32, E, M), *b = g.new_tensor_2d(type::f32, E, M);
    auto av = randv(E * M, 11), bv = randv(E * M, 12);
    a->data = av.data();
    b->data = bv.data();
    tensor *r = g.relu2_mul(a, b), *s = g.scale(a, -2.5f);
    g.mark_output(r);
    g.mark_output(s);
    arena mem;
    run(g, mem);
    int negatives = 0;
    for (int64_t i = 0; i < E * M; i++) {
        const float rl = av[i] > 0 ? av[i] : 0;
        negatives += av[i] < 0;
        CHECK(((float *)r->data)[i] == doctest::Approx(rl * rl * bv[i]).epsilon(1e-6));
        CHECK(((float *)s->data)[i] == -2.5f * av[i]);
    }
    CHECK(negatives > 0); // the ReLU branch was exercised
}

TEST_CASE("rms_norm, mul, silu_mul, get_rows") {
    const int64_t E = 48, M = 3, V = 10;
    graph g;
    tensor *x = g.new_tensor_2d(type::f32, E, M);
    tensor *w = g.new_tensor_1d(type::f32, E);
    auto xv = randv(E * M, 2), wv = randv(E, 3);
    x->data = xv.data();
    w->data = wv.data();
    tensor *n = g.mul(g.rms_norm(x, 1e-5f), w);
    tensor *s = g.silu_mul(x, x);
    // embedding table in f16, rows 7, 0, 9
    tensor *tab = g.new_tensor_2d(type::f16, E, V);
    auto tv = randv(E * V, 4);
    std::vector<fp16_t> th(E * V);
    for (size_t i = 0; i < th.size(); i++) th[i] = fp32_to_fp16(tv[i]);
    tab->data = th.data();
    tensor *ids = g.new_tensor_1d(type::i32, 3);
    int32_t idv[3] = {7, 0, 9};
    ids->data = idv;
    tensor *rows = g.get_rows(tab, ids);
    for (tensor *t : {n, s, rows}) g.mark_output(t);
    arena mem;
    run(g, mem);
    for (int64_t m = 0; m < M; m++) {
        double ss = 0;
        for (int64_t i = 0; i < E; i++) ss += (double)xv[m * E + i] * xv[m * E + i];
        const double r = 1.0 / std::sqrt(ss / E + 1e-5);
        for (int64_t i = 0; i < E; i++) {
            const double xi = xv[m * E + i];
            CHECK(((float *)n->data)[m * E + i] == doctest::Approx(xi * r * wv[i]).epsilon(1e-5));
            CHECK(((float *)s->data)[m * E + i] == doctest::Approx(xi / (1 + std::exp(-xi)) * xi).epsilon(1e-5));
            CHECK(((float *)rows->data)[m * E + i] == fp16_to_fp32(th[idv[m] * E + i]));
        }
    }
}

TEST_CASE("rope: normal and neox pairing, partial rotation") {
    const int64_t D = 16, H = 3, M = 4;
    for (int mode : {0, 2}) {
        for (int n_rot : {16, 8}) {
            graph g;
            tensor *x = g.new_tensor(type::f32, 3, std::array<int64_t, 3>{D, H, M}.data());
            auto xv = randv(D * H * M, 5);
            x->data = xv.data();
            tensor *pos = g.new_tensor_1d(type::i32, M);
            int32_t pv[4] = {0, 3, 17, 250};
            pos->data = pv;
            tensor *y = g.rope(x, pos, n_rot, 10000.0f, mode);
            g.mark_output(y);
            arena mem;
            run(g, mem);
            for (int64_t m = 0; m < M; m++)
                for (int64_t h = 0; h < H; h++) {
                    const float *in = xv.data() + (m * H + h) * D;
                    const float *out = (const float *)y->data + (m * H + h) * D;
                    for (int i = 0; i < n_rot / 2; i++) {
                        const double th = pv[m] * std::pow(10000.0, -2.0 * i / n_rot);
                        const int a = mode ? i : 2 * i, b = mode ? i + n_rot / 2 : 2 * i + 1;
                        CHECK(out[a] == doctest::Approx(in[a] * std::cos(th) - in[b] * std::sin(th)).epsilon(1e-5));
                        CHECK(out[b] == doctest::Approx(in[a] * std::sin(th) + in[b] * std::cos(th)).epsilon(1e-5));
                    }
                    for (int64_t i = n_rot; i < D; i++) CHECK(out[i] == in[i]);
                }
        }
    }
}

TEST_CASE("abort callback stops a graph between nodes") {
    graph g;
    tensor *x = g.new_tensor_2d(type::f32, 8, 2);
    auto xv = randv(16, 11);
    x->data = xv.data();
    tensor *y = g.add(g.add(x, x), x);
    g.mark_output(y);
    arena mem;
    REQUIRE(plan_memory(g, mem).is_ok());
    compute_options opt;
    opt.n_threads = 2;
    opt.abort_cb = [](void *) { return true; };
    status st = cpu_compute(g.nodes(), opt, kernels_select());
    CHECK(st.err() == code::aborted);
}

TEST_CASE("abort callback asked mid-graph stops every thread at the same node") {
    graph g;
    tensor *x = g.new_tensor_2d(type::f32, 64, 4);
    auto xv = randv(256, 12);
    x->data = xv.data();
    tensor *y = x;
    for (int i = 0; i < 20; i++) y = g.add(y, x);
    g.mark_output(y);
    arena mem;
    REQUIRE(plan_memory(g, mem).is_ok());
    for (int nth : {1, 2, 3, 4}) {
        for (int after : {1, 5, 19}) {
            int calls = 0;
            compute_options opt;
            opt.n_threads = nth;
            struct ctr { int *calls, after; } cb{&calls, after};
            opt.abort_data = &cb;
            opt.abort_cb = [](void *d) { auto *c = (ctr *)d; return ++*c->calls > c->after; };
            CHECK(cpu_compute(g.nodes(), opt, kernels_select()).err() == code::aborted);
            CHECK(calls == after + 1); // asked once before the graph and once after each node
        }
        int calls = 0; // never true: the graph completes and the answer is 21 * x
        compute_options opt;
        opt.n_threads = nth;
        opt.abort_data = &calls;
        opt.abort_cb = [](void *d) { ++*(int *)d; return false; };
        REQUIRE(cpu_compute(g.nodes(), opt, kernels_select()).is_ok());
        CHECK(calls == 20); // before the graph, and after each of the 20 adds but the last
        for (int i = 0; i < 256; i++) CHECK(((float *)y->data)[i] == doctest::Approx(21.0f * xv[i]).epsilon(1e-5));
    }
}

TEST_CASE("thread barrier: no thread passes before all arrive, over many rounds and team sizes") {
    for (int nth : {1, 2, 3, 5, 8}) {
        thread_barrier bar(nth);
        const int rounds = 2000;
        std::vector<std::atomic<int>> arrived(rounds);
        for (auto &a : arrived) a.store(0);
        std::atomic<int> errors{0};
        std::vector<std::thread> ts;
        for (int t = 0; t < nth; t++)
            ts.emplace_back([&, t] {
                for (int r = 0; r < rounds; r++) {
                    if (t == r % nth && r % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200)); // past the spin: sleepers
                    arrived[r].fetch_add(1);
                    bar.wait();
                    if (arrived[r].load() != nth) errors++;
                }
            });
        for (auto &th : ts) th.join();
        CHECK(errors.load() == 0);
    }
}
}
