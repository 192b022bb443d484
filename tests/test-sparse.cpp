// test-sparse.cpp — flash sparse mode: ffn_select keeps exactly the largest |silu(gate)| per
// token; sparse_ffn over contiguous and row-pointer tables, every ISA's kernel table, several
// types and batch sizes, against a double-precision computation; flash-prepare's bundled model
// with every neuron kept agrees with the original; under a memory budget (neuron windows small
// enough to evict, prefill overflowing them) logits are bit-identical to the mapped bundled
// model; the neuron counters add up; bad settings are clear errors.
#include "test-util.h"

#include "ggml/gguf.h"
#include "ggml/plan.h"
#include "ggml/type-table.h"
#include "kernels-cpu/cpu-backend.h"
#include "kernels-cpu/vec-dot.h"
#include "synth.h"
#include "tern.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

using namespace tern;

namespace {

using model_ptr = std::unique_ptr<tern_model, void (*)(tern_model *)>;

using test_util::randv;

std::vector<const isa_kernels *> tables() {
    std::vector<const isa_kernels *> v{kernels_generic()};
    for (const isa_kernels *k : {kernels_avx2(), kernels_avx512(), kernels_neon(), kernels_neon_dotprod()})
        if (k) v.push_back(k);
    return v;
}

double silu(double g) { return g / (1.0 + std::exp(-g)); }

} // namespace

TEST_SUITE("stream") {

TEST_CASE("sparse FFN kernels: selection and bundled FFN against double precision, every ISA") {
    const int64_t E = 512, F = 96;
    struct types {
        type up, down;
    };
    for (types tt : {types{type::f32, type::f32}, types{type::f16, type::f16}, types{type::q8_0, type::q8_0},
                     types{type::q4_0, type::q8_0}, types{type::q4_k, type::q8_0}, types{type::q6_k, type::q6_k},
                     types{type::q4_1, type::q4_1}}) {
        const type t = tt.up, td = tt.down;
        for (int64_t M : {1, 3}) {
            for (float keep : {1.0f, 0.3f}) {
                for (bool indirect : {false, true}) {
                    CAPTURE(type_name(t));
                    CAPTURE(type_name(td));
                    CAPTURE(M);
                    CAPTURE(keep);
                    CAPTURE(indirect);
                    // Bundles: up row j, down column j, padding; kept as floats for the reference.
                    const size_t rb = row_size(t, E), stride = ffn_bundle_bytes(t, td, E) + 64;
                    std::vector<uint8_t> table((size_t)F * stride, 0);
                    std::vector<float> upf((size_t)F * E), dnf((size_t)F * E);
                    const std::vector<float> up = randv((size_t)F * E, 1), dn = randv((size_t)F * E, 2);
                    for (int64_t j = 0; j < F; j++) {
                        uint8_t *b = table.data() + (size_t)j * stride;
                        rows_from_float(t, up.data() + j * E, b, E, 0, 1);
                        rows_from_float(td, dn.data() + j * E, b + rb, E, 0, 1);
                        rows_to_float(t, b, E, 0, 1, upf.data() + j * E);
                        rows_to_float(td, b + rb, E, 0, 1, dnf.data() + j * E);
                    }
                    std::vector<const uint8_t *> rows((size_t)F);
                    std::vector<std::vector<uint8_t>> scattered((size_t)F);
                    for (int64_t j = 0; j < F; j++) { // scattered copies, as the weight store gathers them
                        scattered[(size_t)j].assign(table.begin() + (long)(j * stride), table.begin() + (long)((j + 1) * stride));
                        rows[(size_t)j] = scattered[(size_t)j].data();
                    }
                    const std::vector<float> gv = randv((size_t)(F * M), 3, 2.0f), xv = randv((size_t)(E * M), 4);
                    for (const isa_kernels *k : tables()) {
                        CAPTURE(k->isa);
                        graph g;
                        tensor *gt = g.new_tensor_2d(type::f32, F, M), *xt = g.new_tensor_2d(type::f32, E, M);
                        tensor *bt = g.new_tensor_2d(type::i8, (int64_t)stride, F);
                        gt->data = (void *)gv.data(), xt->data = (void *)xv.data();
                        if (indirect) bt->data = rows.data(), bt->flags |= tensor_flag_indirect;
                        else bt->data = table.data();
                        tensor *c = g.ffn_select(gt, keep);
                        tensor *y = g.sparse_ffn(c, xt, bt, t, td);
                        g.mark_output(c);
                        g.mark_output(y);
                        arena mem;
                        REQUIRE(plan_memory(g, mem).is_ok());
                        compute_options opt;
                        opt.n_threads = 2;
                        REQUIRE(cpu_compute(g.nodes(), opt, k).is_ok());
                        const float *cv = (const float *)c->data, *yv = (const float *)y->data;
                        const int64_t kk = std::max<int64_t>(1, std::llround(keep * F));
                        for (int64_t m = 0; m < M; m++) {
                            // Selection: the kept values are silu(g), at least kk of them, none smaller in
                            // magnitude than a dropped one.
                            int64_t n_kept = 0;
                            float min_kept = INFINITY, max_dropped = 0;
                            for (int64_t j = 0; j < F; j++) {
                                const float s = (float)silu(gv[(size_t)(m * F + j)]);
                                const float cj = cv[m * F + j];
                                if (cj != 0.0f) {
                                    CHECK(cj == doctest::Approx(s).epsilon(1e-5));
                                    n_kept++;
                                    min_kept = std::min(min_kept, std::fabs(cj));
                                } else {
                                    max_dropped = std::max(max_dropped, std::fabs(s));
                                }
                            }
                            CHECK(n_kept >= kk);
                            if (keep >= 1.0f) CHECK(n_kept == F);
                            else CHECK(n_kept <= kk + 1);
                            CHECK(max_dropped <= min_kept);
                            // y = sum_j c_j (up_j . x) down_j over the table's own values.
                            std::vector<double> h((size_t)F, 0.0);
                            for (int64_t j = 0; j < F; j++) {
                                if (cv[m * F + j] == 0.0f) continue;
                                double d = 0;
                                for (int64_t i = 0; i < E; i++) d += (double)upf[(size_t)(j * E + i)] * xv[(size_t)(m * E + i)];
                                h[(size_t)j] = cv[m * F + j] * d;
                            }
                            double err = 0, norm = 0;
                            for (int64_t e = 0; e < E; e++) {
                                double ref = 0;
                                for (int64_t j = 0; j < F; j++) ref += h[(size_t)j] * dnf[(size_t)(j * E + e)];
                                err += (yv[m * E + e] - ref) * (yv[m * E + e] - ref);
                                norm += ref * ref;
                            }
                            // Activations are quantized for the dot products (8-bit: about 1% relative).
                            CHECK(std::sqrt(err / norm) < (t == type::f32 || t == type::f16 ? 1e-5 : 2e-2));
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("flash-prepare: the bundled model keeps every neuron and agrees with the original; sparse mode streams exactly") {
    const std::string path = test_util::temp_path("sparse-tiny.gguf"), bundled = test_util::temp_path("sparse-tiny-b.gguf");
    synth_params sp;
    REQUIRE(synth_preset("tiny", &sp.shape).is_ok());
    REQUIRE(quant_recipe_parse("Q8_0", &sp.recipe).is_ok());
    sp.n_threads = 1;
    REQUIRE(synth_model(path, sp).is_ok());
    REQUIRE(tern_flash_prepare(path.c_str(), bundled.c_str(), 1, nullptr, nullptr) == TERN_OK);
    CHECK(tern_flash_prepare(bundled.c_str(), (bundled + "2").c_str(), 1, nullptr, nullptr) == TERN_ERR_INVALID_ARGUMENT);

    auto load = [](const std::string &p, uint64_t budget, float keep, int window, bool direct = true) {
        tern_model_params mp = tern_model_default_params();
        mp.mem_budget = budget;
        mp.flash_keep = keep;
        mp.flash_window = window;
        mp.direct_io = direct;
        tern_model *m = nullptr;
        const tern_status st = tern_model_load(p.c_str(), &mp, &m);
        INFO(tern_last_error());
        REQUIRE(st == TERN_OK);
        return model_ptr(m, tern_model_free);
    };
    // Logits of a 20-token prompt (all rows) and 8 greedy steps.
    auto run = [](tern_model *m) {
        tern_context_params p = tern_context_default_params();
        p.n_ctx = 64;
        p.n_threads = 1;
        tern_context *c = nullptr;
        REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
        std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);
        const int V = tern_model_n_vocab(m);
        std::vector<tern_token> prompt(20);
        for (int i = 0; i < 20; i++) prompt[(size_t)i] = (tern_token)((i * 31 + 5) % V);
        REQUIRE(tern_decode(c, prompt.data(), 20, true) == TERN_OK);
        std::vector<float> out;
        for (int i = 0; i < 20; i++) out.insert(out.end(), tern_get_logits(c, i), tern_get_logits(c, i) + V);
        for (int s = 0; s < 8; s++) {
            const float *l = tern_get_logits(c, -1);
            const tern_token t = (tern_token)(std::max_element(l, l + V) - l);
            REQUIRE(tern_decode(c, &t, 1, false) == TERN_OK);
            l = tern_get_logits(c, -1);
            out.insert(out.end(), l, l + V);
        }
        return out;
    };
    auto rel = [](const std::vector<float> &a, const std::vector<float> &b) {
        double e = 0, n = 0;
        for (size_t i = 0; i < a.size(); i++) e += (a[i] - b[i]) * (a[i] - b[i]), n += (double)b[i] * b[i];
        return std::sqrt(e / n);
    };
    // Every neuron kept: the original model up to the requantized down columns.
    const std::vector<float> orig = run(load(path, 0, 0, 0).get()), full = run(load(bundled, 0, 0, 0).get());
    REQUIRE(orig.size() == full.size());
    CHECK(rel(full, orig) < 0.03);
    // Keeping 30% changes the logits, but by less than the logits' own size.
    const std::vector<float> ref = run(load(bundled, 0, 0.3f, 0).get());
    CHECK(rel(ref, full) > 1e-4);
    CHECK(rel(ref, full) < 1.0);
    // Under budgets: windows of one token's worth and of 40 neurons (evicting, and prefill passes
    // overflowing them), O_DIRECT and page cache: bit-identical to the mapped bundled model.
    uint64_t weights = tern_model_io_stats(load(bundled, 1ull << 40, 0.3f, 0).get()).bytes_weights;
    for (int window : {0, 40}) {
        for (bool direct : {true, false}) {
            CAPTURE(window);
            CAPTURE(direct);
            model_ptr m = load(bundled, weights / 2, 0.3f, window, direct);
            const std::vector<float> got = run(m.get());
            CHECK(got.size() == ref.size());
            CHECK(std::memcmp(got.data(), ref.data(), ref.size() * sizeof(float)) == 0);
            const tern_io_stats s = tern_model_io_stats(m.get());
            CHECK(s.bytes_window > 0);
            CHECK(s.neurons_used > 0);
            CHECK(s.neurons_cached > 0);              // consecutive tokens share neurons
            CHECK(s.neurons_cached < s.neurons_used); // and not all of them
            CHECK(s.bytes_read_neurons % (s.neurons_used - s.neurons_cached) == 0);
            CHECK(s.bytes_read_neurons / (s.neurons_used - s.neurons_cached) >= 2 * 272); // one bundle per neuron read
        }
    }
    // Budgets where every dense weight fits: the default window grows into what is left, an
    // explicit one does not; results stay bit-identical.
    {
        uint64_t prev = 0;
        for (double f : {0.9, 0.97}) {
            CAPTURE(f);
            model_ptr m = load(bundled, (uint64_t)(f * (double)weights), 0.3f, 0);
            const tern_io_stats s0 = tern_model_io_stats(m.get());
            CHECK(s0.bytes_streamed_per_pass == 0);
            CHECK(s0.bytes_resident + s0.bytes_window <= s0.mem_budget);
            CHECK(s0.bytes_window > prev);
            prev = s0.bytes_window;
            const std::vector<float> got = run(m.get());
            CHECK(std::memcmp(got.data(), ref.data(), ref.size() * sizeof(float)) == 0);
            const uint64_t fixed = tern_model_io_stats(load(bundled, (uint64_t)(f * (double)weights), 0.3f, 461).get()).bytes_window;
            CHECK(fixed < s0.bytes_window);
        }
    }
    // Bad settings.
    tern_model_params mp = tern_model_default_params();
    mp.flash_keep = 1.5f;
    tern_model *bad = nullptr;
    CHECK(tern_model_load(bundled.c_str(), &mp, &bad) == TERN_ERR_INVALID_ARGUMENT);
    mp.flash_keep = 0.3f;
    mp.mem_budget = 64 * 1024;
    CHECK(tern_model_load(bundled.c_str(), &mp, &bad) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(std::string(tern_last_error()).find("too small") != std::string::npos);
    std::remove(path.c_str());
    std::remove(bundled.c_str());
}

TEST_CASE("flash-prepare --gate-type: the predictor gate is requantized, the bundles are unchanged") {
    const std::string path = test_util::temp_path("sparse-gate.gguf"), plain = test_util::temp_path("sparse-gate-b.gguf"),
                      small = test_util::temp_path("sparse-gate-g4.gguf");
    synth_params sp;
    REQUIRE(synth_preset("tiny", &sp.shape).is_ok());
    REQUIRE(quant_recipe_parse("Q8_0", &sp.recipe).is_ok());
    sp.n_threads = 1;
    REQUIRE(synth_model(path, sp).is_ok());
    REQUIRE(tern_flash_prepare(path.c_str(), plain.c_str(), 1, nullptr, nullptr) == TERN_OK);
    REQUIRE(tern_flash_prepare_gate(path.c_str(), small.c_str(), "q4_0", 2, nullptr, nullptr) == TERN_OK);
    CHECK(tern_flash_prepare_gate(path.c_str(), (small + "x").c_str(), "q9_9", 1, nullptr, nullptr) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(tern_flash_prepare_gate(path.c_str(), (small + "x").c_str(), "q4_0x16", 1, nullptr, nullptr) == TERN_ERR_INVALID_ARGUMENT);
    std::unique_ptr<gguf_file> src, a, b;
    REQUIRE(gguf_file::open(path, &src).is_ok());
    REQUIRE(gguf_file::open(plain, &a).is_ok());
    REQUIRE(gguf_file::open(small, &b).is_ok());
    int n_gate = 0;
    for (const gguf_tensor_info &t : a->tensors) {
        CAPTURE(t.name);
        const gguf_tensor_info *u = b->find_tensor(t.name), *o = src->find_tensor(t.name);
        REQUIRE(u);
        if (t.name.find(".ffn_gate.") == std::string::npos) { // bundles and the rest: byte for byte
            CHECK(u->ttype == t.ttype);
            REQUIRE(u->n_bytes == t.n_bytes);
            CHECK(std::memcmp(a->tensor_data(t), b->tensor_data(*u), t.n_bytes) == 0);
            continue;
        }
        // The gate: the original's values quantized to q4_0 by the reference quantizer.
        n_gate++;
        REQUIRE(o);
        CHECK(u->ttype == type::q4_0);
        CHECK(u->ne[0] == o->ne[0]);
        CHECK(u->ne[1] == o->ne[1]);
        const int64_t K = o->ne[0], N = o->ne[1];
        std::vector<float> f((size_t)(K * N));
        rows_to_float(o->ttype, src->tensor_data(*o), K, 0, N, f.data());
        std::vector<uint8_t> want(row_size(type::q4_0, K) * (size_t)N);
        rows_from_float(type::q4_0, f.data(), want.data(), K, 0, N);
        REQUIRE(u->n_bytes >= want.size());
        CHECK(std::memcmp(b->tensor_data(*u), want.data(), want.size()) == 0);
    }
    CHECK(n_gate == (int)sp.shape.n_layer);
    // It loads and runs, and with every neuron kept stays close to the q8_0-gated bundle.
    auto logits = [](const std::string &p) {
        tern_model_params mp = tern_model_default_params();
        tern_model *m = nullptr;
        REQUIRE(tern_model_load(p.c_str(), &mp, &m) == TERN_OK);
        model_ptr mm(m, tern_model_free);
        tern_context_params cp = tern_context_default_params();
        cp.n_ctx = 32;
        cp.n_threads = 1;
        tern_context *c = nullptr;
        REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
        std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);
        const tern_token prompt[4] = {1, 7, 42, 99};
        REQUIRE(tern_decode(c, prompt, 4, false) == TERN_OK);
        const float *l = tern_get_logits(c, -1);
        return std::vector<float>(l, l + tern_model_n_vocab(m));
    };
    const std::vector<float> x = logits(plain), y = logits(small);
    double e = 0, n = 0;
    for (size_t i = 0; i < x.size(); i++) e += (x[i] - y[i]) * (x[i] - y[i]), n += (double)x[i] * x[i];
    CHECK(std::sqrt(e / n) > 1e-5); // the gate did change
    CHECK(std::sqrt(e / n) < 0.1);
    for (const std::string &f : {path, plain, small}) std::remove(f.c_str());
}

TEST_CASE("flash-prepare refuses architectures whose FFN cannot be bundled") {
    const std::string path = test_util::temp_path("sparse-bitnet.gguf");
    synth_params sp;
    REQUIRE(synth_preset("tiny", &sp.shape).is_ok());
    sp.shape.arch = "bitnet";
    REQUIRE(quant_recipe_parse("Q8_0", &sp.recipe).is_ok());
    sp.n_threads = 1;
    REQUIRE(synth_model(path, sp).is_ok());
    CHECK(tern_flash_prepare(path.c_str(), (path + ".b").c_str(), 1, nullptr, nullptr) == TERN_ERR_UNSUPPORTED);
    CHECK(std::string(tern_last_error()).find("llama") != std::string::npos);
    std::remove(path.c_str());
}

} // TEST_SUITE
