// test-stream.cpp — weights under a memory budget (src/weight-store.h): at every budget, from
// the smallest that can stream to one that holds everything, logits are bit-identical to the
// mapped model's, with separate and tied output matrices, O_DIRECT and page-cache reads, one and
// two threads, two contexts decoding at once, after an aborted pass, and on SmolLM2; the I/O
// counters add up; a budget too small and a file cut short under a running model are clear errors.
#include "test-util.h"

#include "synth.h"
#include "kernels-cpu/vec-dot.h"
#include "ggml/type-table.h"
#include "tern.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace tern;

namespace {

using model_ptr = std::unique_ptr<tern_model, void (*)(tern_model *)>;
using ctx_ptr = std::unique_ptr<tern_context, void (*)(tern_context *)>;

bool one_thread() { return std::getenv("TERN_TEST_ONE_THREAD") != nullptr; }

std::string make_model(const std::string &name, const char *arch, const char *recipe) {
    const std::string path = test_util::temp_path(name);
    synth_params sp;
    REQUIRE(synth_preset("tiny", &sp.shape).is_ok());
    sp.shape.arch = arch;
    REQUIRE(quant_recipe_parse(recipe, &sp.recipe).is_ok());
    sp.n_threads = 1;
    REQUIRE(synth_model(path, sp).is_ok());
    return path;
}

model_ptr load(const std::string &path, uint64_t budget, bool direct = true) {
    tern_model_params mp = tern_model_default_params();
    mp.mem_budget = budget;
    mp.direct_io = direct;
    tern_model *m = nullptr;
    const tern_status st = tern_model_load(path.c_str(), &mp, &m);
    INFO(tern_last_error());
    REQUIRE(st == TERN_OK);
    return model_ptr(m, tern_model_free);
}

// Logits of a 24-token prompt (every row) and of 12 greedy steps after it, concatenated.
std::vector<float> run(tern_model *m, int n_threads, bool (*abort_cb)(void *) = nullptr, void *abort_data = nullptr) {
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 64;
    p.n_batch = 16; // two passes for the prompt
    p.n_threads = n_threads;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
    ctx_ptr ctx(c, tern_context_free);
    const int V = tern_model_n_vocab(m);
    std::vector<tern_token> prompt(24);
    for (int i = 0; i < 24; i++) prompt[(size_t)i] = (tern_token)((i * 53 + 7) % V);
    std::vector<float> out;
    if (abort_cb) { // one aborted decode first; then the same context continues normally
        tern_context_params q = p;
        q.abort_callback = abort_cb;
        q.abort_user_data = abort_data;
        tern_context *ca = nullptr;
        REQUIRE(tern_context_init(m, &q, &ca) == TERN_OK);
        ctx_ptr actx(ca, tern_context_free);
        CHECK(tern_decode(ca, prompt.data(), 24, true) == TERN_ERR_ABORTED);
    }
    REQUIRE(tern_decode(c, prompt.data(), 24, true) == TERN_OK);
    for (int i = 0; i < 24; i++) {
        const float *l = tern_get_logits(c, i);
        out.insert(out.end(), l, l + V);
    }
    for (int s = 0; s < 12; s++) {
        const float *l = tern_get_logits(c, -1);
        int best = 0;
        for (int v = 0; v < V; v++)
            if (l[v] > l[best]) best = v;
        const tern_token t = best;
        REQUIRE(tern_decode(c, &t, 1, false) == TERN_OK);
        l = tern_get_logits(c, -1);
        out.insert(out.end(), l, l + V);
    }
    return out;
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

} // namespace

TEST_SUITE("stream") {

TEST_CASE("resident q4_0/q4_k/q6_k matrices are repacked into 16-row tiles where the CPU has their kernels; results stay the file's") {
    const isa_kernels *k = kernels_select();
    auto own = [k](type t) { return k->tile_gemv[(int)t] != kernels_generic()->tile_gemv[(int)t]; };
    const std::pair<const char *, std::vector<type>> cases[] = {{"Q4_0", {type::q4_0x16}},
                                                                {"Q4_K_M", {type::q4_kx16, type::q6_kx16}}};
    for (const auto &c : cases) {
        CAPTURE(c.first);
        const std::string path = make_model(std::string("repack-") + c.first + ".gguf", "llama", c.first);
        char kbuf[2048];
        setenv("TERN_REPACK", "0", 1);
        model_ptr plain = load(path, 0);
        unsetenv("TERN_REPACK");
        REQUIRE(tern_model_kernels(plain.get(), kbuf, sizeof kbuf) > 0);
        CHECK(std::string(kbuf).find("x16") == std::string::npos);
        model_ptr packed = load(path, 0);
        REQUIRE(tern_model_kernels(packed.get(), kbuf, sizeof kbuf) > 0);
        const std::string kinds = kbuf;
        INFO(kinds);
        for (type t : c.second) {
            CHECK((kinds.find(std::string(type_name(t)) + ":") != std::string::npos) == own(t));
            if (!own(t)) MESSAGE("no ISA tile kernel for ", type_name(t), " on this CPU: kept in the file's layout");
        }
        if (c.second[0] == type::q4_0x16) CHECK(kinds.find("q4_0:") != std::string::npos); // the embedding table stays
        const std::vector<float> a = run(plain.get(), 1), b = run(packed.get(), 1);
        REQUIRE(a.size() == b.size());
        double num = 0, den = 0;
        for (size_t i = 0; i < a.size(); i++) num += (double)(a[i] - b[i]) * (a[i] - b[i]), den += (double)a[i] * a[i];
        CHECK(std::sqrt(num / den) < 1e-4); // only the float summation order differs
        std::remove(path.c_str());
    }
}

TEST_CASE("stream: logits bit-identical to the mapped model at every budget") {
    struct variant {
        const char *arch, *recipe;
    };
    for (variant va : {variant{"llama", "Q8_0"}, variant{"llama", "Q4_K_M"}, variant{"bitnet", "Q4_0"}}) {
        CAPTURE(va.arch);
        CAPTURE(va.recipe);
        const std::string path = make_model(std::string("stream-") + va.arch + "-" + va.recipe + ".gguf", va.arch, va.recipe);
        const int nth = one_thread() ? 1 : 2;
        const std::vector<float> ref = run(load(path, 0).get(), nth);
        uint64_t weights = 0;
        {
            model_ptr m = load(path, 1ull << 40); // everything fits: all read into RAM, nothing streamed
            const tern_io_stats s = tern_model_io_stats(m.get());
            CHECK_FALSE(s.streaming);
            CHECK(s.bytes_resident >= s.bytes_weights);
            weights = s.bytes_weights;
            CHECK(same_bits(run(m.get(), nth), ref));
            CHECK(tern_model_io_stats(m.get()).n_passes == 0); // nothing to read: passes skip the store
            CHECK(tern_model_io_stats(m.get()).bytes_read == 0);
        }
        // The smallest budget that streams is named in the error for a smaller one.
        tern_model_params mp = tern_model_default_params();
        mp.mem_budget = 64 * 1024;
        tern_model *bad = nullptr;
        CHECK(tern_model_load(path.c_str(), &mp, &bad) == TERN_ERR_INVALID_ARGUMENT);
        CHECK(bad == nullptr);
        const std::string msg = tern_last_error();
        CHECK(msg.find("too small") != std::string::npos);
        CHECK(msg.find("at least") != std::string::npos);
        for (double frac : {0.35, 0.5, 0.75, 0.95}) {
            for (bool direct : {true, false}) {
                CAPTURE(frac);
                CAPTURE(direct);
                const uint64_t budget = (uint64_t)(frac * (double)weights);
                tern_model_params q = tern_model_default_params();
                q.mem_budget = budget;
                tern_model *mm = nullptr;
                if (tern_model_load(path.c_str(), &q, &mm) != TERN_OK) { // below the minimum for this shape
                    CHECK(std::string(tern_last_error()).find("too small") != std::string::npos);
                    CHECK(frac < 0.5);
                    continue;
                }
                tern_model_free(mm);
                model_ptr m = load(path, budget, direct);
                const tern_io_stats s0 = tern_model_io_stats(m.get());
                CHECK(s0.streaming);
                CHECK(s0.n_streamed > 0);
                CHECK(s0.bytes_resident + s0.bytes_buffer <= budget);
                CHECK(s0.bytes_read == 0);
                // Two threads once (hooks run between nodes while the other thread waits), then one
                // (a second context: the read-ahead continues across contexts).
                CHECK(same_bits(run(m.get(), frac == 0.5 && direct ? nth : 1), ref));
                CHECK(same_bits(run(m.get(), 1), ref));
                const tern_io_stats s = tern_model_io_stats(m.get());
                // 2 runs x (2 prompt passes + 12 steps); each pass reads every streamed tensor once,
                // the read-ahead at most one buffer more; lookups read at most 24 rows per pass.
                CHECK(s.n_passes == 28);
                CHECK(s.bytes_read >= s.n_passes * s.bytes_streamed_per_pass);
                CHECK(s.bytes_read <= s.n_passes * s.bytes_streamed_per_pass + s.bytes_buffer + s.n_passes * 24 * 4096);
                CHECK(s.bytes_used_in_ram < s.bytes_used);
                CHECK(s.read_ms > 0);
            }
        }
        std::remove(path.c_str());
    }
}

TEST_CASE("stream: two contexts decode at once, and an aborted pass loses nothing") {
    const std::string path = make_model("stream-ctx.gguf", "llama", "Q8_0");
    const std::vector<float> ref = run(load(path, 0).get(), 1);
    model_ptr m = load(path, tern_model_io_stats(load(path, 1ull << 40).get()).bytes_weights / 2);
    REQUIRE(tern_model_io_stats(m.get()).streaming);
    if (!one_thread()) {
        std::vector<float> a, b;
        std::thread t1([&] { a = run(m.get(), 1); });
        std::thread t2([&] { b = run(m.get(), 1); });
        t1.join();
        t2.join();
        CHECK(same_bits(a, ref));
        CHECK(same_bits(b, ref));
    }
    for (int stop_after : {1, 5, 20}) { // abort between nodes: early, mid-layer, late
        CAPTURE(stop_after);
        std::atomic<int> calls{0};
        struct ab {
            std::atomic<int> *calls;
            int stop_after;
        } data{&calls, stop_after};
        auto cb = [](void *d) {
            ab *x = (ab *)d;
            return ++*x->calls > x->stop_after;
        };
        CHECK(same_bits(run(m.get(), one_thread() ? 1 : 2, cb, &data), ref));
    }
    std::remove(path.c_str());
}

TEST_CASE("stream: a file cut short under a running model is an I/O error, not a crash") {
    const std::string path = make_model("stream-cut.gguf", "llama", "Q8_0");
    model_ptr m = load(path, tern_model_io_stats(load(path, 1ull << 40).get()).bytes_weights / 2, false);
    REQUIRE(tern_model_io_stats(m.get()).streaming);
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    const long size = (long)f.tellg();
    REQUIRE(truncate(path.c_str(), size / 2) == 0);
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 32;
    p.n_threads = 1;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m.get(), &p, &c) == TERN_OK);
    ctx_ptr ctx(c, tern_context_free);
    const tern_token t = 1;
    CHECK(tern_decode(c, &t, 1, false) == TERN_ERR_IO);
    const std::string msg = tern_last_error();
    CHECK(msg.find("reading") != std::string::npos);
    CHECK(tern_decode(c, &t, 1, false) == TERN_ERR_IO); // and again, without hanging
    std::remove(path.c_str());
}

TEST_CASE("stream: SmolLM2 greedy output identical under a 40 MiB budget") {
    const std::string path = test_util::default_model();
    SKIP_IF_MISSING(path);
    const int nth = one_thread() ? 1 : 2;
    const std::vector<float> ref = run(load(path, 0).get(), nth);
    model_ptr m = load(path, 40ull << 20);
    const tern_io_stats s = tern_model_io_stats(m.get());
    CHECK(s.streaming);
    CHECK(s.bytes_resident + s.bytes_buffer <= (40ull << 20));
    CHECK(same_bits(run(m.get(), nth), ref));
}

} // TEST_SUITE
