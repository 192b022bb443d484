// test-kv.cpp — KV cache compression: the KIVI quantizers, every ISA's compressed-cache attention
// kernels against the scalar reference, the attention op over each cache format (prefill rows and
// flash-decoding split) against a double-precision computation on the cache's own contents, the
// attention statistics the eviction policies use, and the policies end to end on a small
// synthetic model (budgets kept, generation past the window finite and deterministic).
#include "test-util.h"

#include "ggml/kv-layout.h"
#include "ggml/plan.h"
#include "kernels-cpu/cpu-backend.h"
#include "kernels-cpu/cpu-ops.h"
#include "kernels-cpu/vec-dot.h"
#include "kv-cache.h"
#include "synth.h"
#include "tern.h"

#include <array>
#include <fstream>
#include <iterator>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>

using namespace tern;

namespace {

using test_util::randv;

bool one_thread() {
    const char *e = std::getenv("TERN_TEST_ONE_THREAD");
    return e && *e && *e != '0';
}

std::vector<const isa_kernels *> isa_tables() {
    std::vector<const isa_kernels *> v;
    for (const isa_kernels *k : {kernels_avx2(), kernels_avx512(), kernels_neon(), kernels_neon_dotprod()})
        if (k) v.push_back(k);
    if (v.empty()) std::fprintf(stderr, "note: no SIMD kernel table on this CPU; only the scalar reference is tested\n");
    return v;
}

const kv_format k_formats[] = {kv_format::f32, kv_format::f16, kv_format::q8_0, kv_format::q4_0, kv_format::kivi4,
                               kv_format::kivi2};


} // namespace

TEST_SUITE("kv") {

TEST_CASE("KIVI quantizers: codes within half a step, per channel (keys) and per token (values)") {
    for (kv_format f : {kv_format::kivi4, kv_format::kivi2})
        for (int64_t D : {32, 64, 128}) {
            auto x = randv((size_t)(KIVI_GROUP * D), 1 + (uint32_t)D);
            for (int64_t c = 0; c < D; c++) x[(size_t)(5 * D + c)] += (float)c * 0.1f; // channel-dependent offsets
            std::vector<uint8_t> g(kv_key_group_bytes(f, D));
            kivi_quantize_keys(f, D, x.data(), (size_t)D, g.data());
            std::vector<float> y(x.size());
            kivi_dequantize_keys(f, D, g.data(), y.data(), (size_t)D);
            const int levels = (1 << kivi_bits(f)) - 1;
            for (int64_t c = 0; c < D; c++) {
                float mn = 1e30f, mx = -1e30f;
                for (int t = 0; t < KIVI_GROUP; t++) mn = std::min(mn, x[(size_t)(t * D + c)]), mx = std::max(mx, x[(size_t)(t * D + c)]);
                const float step = (mx - mn) / (float)levels;
                for (int t = 0; t < KIVI_GROUP; t++)
                    CHECK(std::fabs(y[(size_t)(t * D + c)] - x[(size_t)(t * D + c)]) <= 0.5f * step * 1.01f + 2e-3f * (mx - mn));
            }
            std::vector<uint8_t> row(kv_value_row_bytes(f, D));
            std::vector<float> vy((size_t)D);
            kivi_quantize_value(f, D, x.data(), row.data());
            kivi_dequantize_value(f, D, row.data(), vy.data());
            for (int64_t b = 0; b < D / 32; b++) {
                float mn = 1e30f, mx = -1e30f;
                for (int i = 0; i < 32; i++) mn = std::min(mn, x[(size_t)(b * 32 + i)]), mx = std::max(mx, x[(size_t)(b * 32 + i)]);
                for (int i = 0; i < 32; i++)
                    CHECK(std::fabs(vy[(size_t)(b * 32 + i)] - x[(size_t)(b * 32 + i)]) <=
                          0.5f * (mx - mn) / (float)levels * 1.01f + 2e-3f * (mx - mn));
            }
        }
    // sizes: KIVI-2 must stay below 0.2x F16 (head size 64, scales included)
    CHECK(kv_bytes_per_token_head(kv_format::kivi2, 64) / kv_bytes_per_token_head(kv_format::f16, 64) == doctest::Approx(0.1875));
    CHECK(kv_bytes_per_token_head(kv_format::kivi4, 64) / kv_bytes_per_token_head(kv_format::f16, 64) == doctest::Approx(0.3125));
}

TEST_CASE("compressed-cache attention kernels match the scalar reference on every ISA") {
    const isa_kernels *ref = kernels_generic();
    for (const isa_kernels *k : isa_tables()) {
        CAPTURE(k->isa);
        for (int64_t D : {32, 64, 96, 128, 256}) {
            for (int trial = 0; trial < 8; trial++) {
                const uint32_t seed = (uint32_t)(D * 100 + trial);
                auto x = randv((size_t)(KIVI_GROUP * D), seed, 1.0f + trial);
                auto q = randv((size_t)D, seed + 1);
                for (int fi = 0; fi < 2; fi++) {
                    const kv_format f = fi ? kv_format::kivi2 : kv_format::kivi4;
                    std::vector<uint8_t> g(kv_key_group_bytes(f, D)), row(kv_value_row_bytes(f, D));
                    kivi_quantize_keys(f, D, x.data(), (size_t)D, g.data());
                    float s0[KIVI_GROUP], s1[KIVI_GROUP];
                    ref->kivi_kscore[fi](D, g.data(), q.data(), s0);
                    k->kivi_kscore[fi](D, g.data(), q.data(), s1);
                    for (int t = 0; t < KIVI_GROUP; t++) CHECK(s1[t] == doctest::Approx(s0[t]).epsilon(1e-4).scale(10.0));
                    kivi_quantize_value(f, D, x.data(), row.data());
                    std::vector<float> y0 = randv((size_t)D, seed + 2), y1 = y0;
                    ref->kivi_vaxpy[fi](D, 0.37f, row.data(), y0.data());
                    k->kivi_vaxpy[fi](D, 0.37f, row.data(), y1.data());
                    for (int64_t i = 0; i < D; i++) CHECK(y1[(size_t)i] == doctest::Approx(y0[(size_t)i]).epsilon(1e-5));
                }
                // multi-row value accumulation vs per-row reference axpy
                for (kv_format f : k_formats) {
                    if (!k->kv_vacc[(int)f]) continue;
                    CAPTURE(std::string(kv_format_name(f)));
                    const int64_t n = 1 + trial * 5;
                    const size_t stride = kv_value_row_bytes(f, D);
                    std::vector<uint8_t> rows(stride * (size_t)n);
                    auto vals = randv((size_t)(n * D), seed + 4);
                    for (int64_t j = 0; j < n; j++) {
                        if (kv_is_kivi(f)) kivi_quantize_value(f, D, vals.data() + j * D, rows.data() + j * stride);
                        else type_get(kv_row_type(f))->from_float(vals.data() + j * D, rows.data() + j * stride, D);
                    }
                    auto p = randv((size_t)n, seed + 5);
                    std::vector<float> y0 = randv((size_t)D, seed + 6), y1 = y0;
                    for (int64_t j = 0; j < n; j++) {
                        if (kv_is_kivi(f)) ref->kivi_vaxpy[f == kv_format::kivi2](D, p[(size_t)j], rows.data() + j * stride, y0.data());
                        else ref->axpy[(int)kv_row_type(f)](D, p[(size_t)j], rows.data() + j * stride, y0.data());
                    }
                    k->kv_vacc[(int)f](D, n, rows.data(), stride, p.data(), y1.data());
                    for (int64_t i = 0; i < D; i++) CHECK(y1[(size_t)i] == doctest::Approx(y0[(size_t)i]).epsilon(1e-4).scale(1.0));
                }
                // multi-row key scores vs per-row reference dots
                for (kv_format f : k_formats) {
                    if (!k->kv_kdot[(int)f]) continue;
                    CAPTURE(std::string(kv_format_name(f)));
                    const int64_t n = 1 + trial * 3;
                    const type rt = kv_row_type(f);
                    const size_t stride = row_size(rt, D);
                    std::vector<uint8_t> rows(stride * (size_t)n);
                    auto keys = randv((size_t)(n * D), seed + 7);
                    type_get(rt)->from_float(keys.data(), rows.data(), n * D);
                    std::vector<float> s0((size_t)n), s1((size_t)n);
                    const type qt = type_get(rt)->vec_dot_type; // f32 for f16 keys, q8_0 for q8_0/q4_0
                    std::vector<uint8_t> qq(row_size(qt, D));
                    type_get(qt)->from_float(q.data(), qq.data(), D);
                    for (int64_t j = 0; j < n; j++) s0[(size_t)j] = ref->dot[(int)rt](D, rows.data() + j * stride, qq.data());
                    k->kv_kdot[(int)f](D, n, rows.data(), stride, (const float *)qq.data(), s1.data());
                    for (int64_t j = 0; j < n; j++) CHECK(s1[(size_t)j] == doctest::Approx(s0[(size_t)j]).epsilon(1e-4).scale(1.0));
                }
                for (type t : {type::q8_0, type::q4_0}) {
                    std::vector<uint8_t> row(row_size(t, D));
                    type_get(t)->from_float(x.data(), row.data(), D);
                    std::vector<float> y0 = randv((size_t)D, seed + 3), y1 = y0;
                    ref->axpy[(int)t](D, -1.3f, row.data(), y0.data());
                    k->axpy[(int)t](D, -1.3f, row.data(), y1.data());
                    for (int64_t i = 0; i < D; i++) CHECK(y1[(size_t)i] == doctest::Approx(y0[(size_t)i]).epsilon(1e-5));
                }
            }
        }
    }
}

// One layer, H=4 query heads over Hkv=2 KV heads, D=64. Three passes of 100 tokens (prefill rows)
// fill the cache (KIVI: 288 quantized, 12 in the residual); then a pass of M tokens attends over the
// committed slots, read in place, plus its own. The reference recomputes pass 2 in double
// precision from the cache's contents before the pass and the new tokens rounded like the cache.
TEST_CASE("attention over every cache format, prefill rows and split decode, matches a direct computation") {
    const int64_t D = 64, H = 4, Hkv = 2, N1 = 300;
    hparams hp;
    hp.n_layer = 1, hp.n_head = H, hp.n_head_kv = Hkv, hp.head_dim = D, hp.n_rot = D, hp.n_embd = H * D;
    const int nth = one_thread() ? 1 : 2;
    for (kv_format f : k_formats)
        for (int64_t M : {1, 3}) {
            CAPTURE(std::string(kv_format_name(f)));
            CAPTURE(M);
            kv_config cfg;
            cfg.fmt = f;
            cfg.policy = kv_policy::h2o; // statistics on; the budget is never reached
            cfg.n_ctx = 1024;
            cfg.budget = 700;
            cfg.n_batch = 512;
            kv_cache kv;
            REQUIRE(kv.init(hp, cfg).is_ok());
            auto pass = [&](int64_t n, const std::vector<float> &qv, const std::vector<float> &kn,
                            const std::vector<float> &vn) -> std::vector<float> {
                std::vector<int32_t> pos;
                REQUIRE(kv.begin_pass(n, &pos).is_ok());
                graph g;
                std::vector<tensor *> leaves;
                kv.bind(g, &leaves);
                tensor *q = g.new_tensor(type::f32, 3, std::array<int64_t, 3>{D, H, n}.data());
                tensor *k = g.new_tensor_2d(type::f32, D * Hkv, n), *v = g.new_tensor_2d(type::f32, D * Hkv, n);
                q->data = (void *)qv.data(), k->data = (void *)kn.data(), v->data = (void *)vn.data();
                tensor *o = g.attention(q, leaves[0], g.kv_store(k, v, leaves[0]), 0.125f);
                g.mark_output(o);
                arena mem;
                REQUIRE(plan_memory(g, mem).is_ok());
                compute_options opt;
                opt.n_threads = nth;
                REQUIRE(cpu_compute(g.nodes(), opt, kernels_select()).is_ok());
                kv.commit_pass();
                return std::vector<float>((float *)o->data, (float *)o->data + D * H * n);
            };
            for (int64_t done = 0; done < N1; done += N1 / 3) // three passes: KIVI passes are at most 128 tokens
                pass(N1 / 3, randv((size_t)(D * H * N1 / 3), 1 + (uint32_t)done), randv((size_t)(D * Hkv * N1 / 3), 2 + (uint32_t)done),
                     randv((size_t)(D * Hkv * N1 / 3), 3 + (uint32_t)done));
            std::vector<float> kold[2], vold[2], sc0[2];
            std::vector<int32_t> pos0[2];
            double total0 = 0;
            for (int h = 0; h < Hkv; h++) {
                kv.dump_head(0, h, &kold[h], &vold[h], &pos0[h], &sc0[h]);
                REQUIRE(pos0[h].size() == (size_t)N1);
                for (float x : sc0[h]) total0 += x;
            }
            CHECK(total0 == doctest::Approx((double)H * N1).epsilon(1e-4)); // every query's probabilities sum to 1
            const auto qv = randv((size_t)(D * H * M), 4), kn = randv((size_t)(D * Hkv * M), 5), vn = randv((size_t)(D * Hkv * M), 6);
            const auto out = pass(M, qv, kn, vn);
            // new tokens as the cache holds them during the pass
            std::vector<float> kr(kn.size()), vr(vn.size());
            const type rt = kv_is_kivi(f) ? type::f16 : kv_row_type(f);
            for (int64_t i = 0; i < Hkv * M; i++) {
                std::vector<uint8_t> tmp(row_size(rt, D));
                type_get(rt)->from_float(kn.data() + i * D, tmp.data(), D);
                type_get(rt)->to_float(tmp.data(), kr.data() + i * D, D);
                type_get(rt)->from_float(vn.data() + i * D, tmp.data(), D);
                type_get(rt)->to_float(tmp.data(), vr.data() + i * D, D);
            }
            const double tol = f == kv_format::q8_0 || f == kv_format::q4_0 ? 2e-2 : 1e-4; // q8_0/q4_0 keys: query in q8_0
            double total1 = 0;
            for (int h = 0; h < Hkv; h++) {
                std::vector<float> kk, vv, sc;
                std::vector<int32_t> pp;
                kv.dump_head(0, h, &kk, &vv, &pp, &sc);
                for (float x : sc) total1 += x;
            }
            CHECK(total1 == doctest::Approx((double)H * (N1 + M)).epsilon(1e-4));
            for (int64_t m = 0; m < M; m++)
                for (int64_t h = 0; h < H; h++) {
                    const int64_t kvh = h / (H / Hkv), n = N1 + m + 1;
                    std::vector<double> p((size_t)n);
                    double mx = -1e300, sum = 0;
                    for (int64_t j = 0; j < n; j++) {
                        const float *kr_j = j < N1 ? kold[kvh].data() + j * D : kr.data() + ((j - N1) * Hkv + kvh) * D;
                        double s = 0;
                        for (int64_t d = 0; d < D; d++) s += (double)qv[(size_t)((m * H + h) * D + d)] * kr_j[d];
                        p[(size_t)j] = s * 0.125;
                        mx = std::max(mx, p[(size_t)j]);
                    }
                    for (auto &x : p) sum += (x = std::exp(x - mx));
                    for (int64_t d = 0; d < D; d++) {
                        double ref = 0;
                        for (int64_t j = 0; j < n; j++) {
                            const float *vr_j = j < N1 ? vold[kvh].data() + j * D : vr.data() + ((j - N1) * Hkv + kvh) * D;
                            ref += p[(size_t)j] / sum * vr_j[d];
                        }
                        CHECK(out[(size_t)((m * H + h) * D + d)] == doctest::Approx(ref).epsilon(tol).scale(1.0));
                    }
                }
        }
}

TEST_CASE("policies keep their budget per head; compaction keeps the kept tokens' values") {
    const int64_t D = 64, Hkv = 2;
    hparams hp;
    hp.n_layer = 2, hp.n_head = 4, hp.n_head_kv = Hkv, hp.head_dim = D, hp.n_rot = D, hp.n_embd = 4 * D;
    for (kv_format f : {kv_format::f16, kv_format::q8_0, kv_format::kivi4})
        for (kv_policy pol : {kv_policy::window, kv_policy::h2o, kv_policy::snapkv}) {
            CAPTURE(std::string(kv_format_name(f)));
            CAPTURE(std::string(kv_policy_name(pol)));
            kv_config cfg;
            cfg.fmt = f, cfg.policy = pol, cfg.n_ctx = 512, cfg.budget = 96, cfg.n_batch = 16;
            kv_cache kv;
            REQUIRE(kv.init(hp, cfg).is_ok());
            std::mt19937 rng(7);
            std::uniform_real_distribution<float> ud(0.0f, 1.0f);
            for (int step = 0; step < 40; step++) {
                const int64_t n = step < 10 ? 16 : 1;
                std::vector<int32_t> pos;
                REQUIRE(kv.begin_pass(n, &pos).is_ok());
                // Write keys/values directly as the kv_store op would (value = position), and
                // random attention statistics.
                graph g;
                std::vector<tensor *> leaves;
                kv.bind(g, &leaves);
                for (tensor *leaf : leaves) {
                    kv_layer *L = ((kv_batch *)leaf->data)->spans[0].layer;
                    std::vector<float> kn((size_t)(D * Hkv * n)), vn(kn.size());
                    for (int64_t i = 0; i < n; i++)
                        for (int64_t c = 0; c < D * Hkv; c++) kn[(size_t)(i * D * Hkv + c)] = vn[(size_t)(i * D * Hkv + c)] = (float)pos[(size_t)i];
                    tensor *k = g.new_tensor_2d(type::f32, D * Hkv, n), *v = g.new_tensor_2d(type::f32, D * Hkv, n);
                    k->data = kn.data(), v->data = vn.data();
                    tensor *st = g.kv_store(k, v, leaf);
                    st->data = leaf->data;
                    op_ctx c{0, 1, nullptr, kernels_generic(), nullptr};
                    cpu_kv_store(c, st);
                    for (int64_t h = 0; h < Hkv; h++)
                        if (L->heads[h].score)
                            for (int64_t s = 0; s < L->cap_main + L->cap_res; s++) L->heads[h].score[s] += ud(rng);
                }
                kv.commit_pass();
                // SnapKV compresses after multi-token passes; while decoding it lets one observation
                // window (32 tokens) accumulate before compressing again.
                CHECK(kv.n_cached() <= (pol == kv_policy::snapkv ? 96 + 32 : 96));
            }
            const size_t kept = pol == kv_policy::snapkv ? 96 + 30 : 96;
            CHECK(kv.n_cached() == (int64_t)kept);
            for (int64_t il = 0; il < 2; il++)
                for (int64_t h = 0; h < Hkv; h++) {
                    std::vector<float> k, v, sc;
                    std::vector<int32_t> pos;
                    kv.dump_head(il, h, &k, &v, &pos, &sc);
                    REQUIRE(pos.size() == kept);
                    for (size_t i = 1; i < pos.size(); i++) CHECK(pos[i] > pos[i - 1]); // position order
                    CHECK(pos.back() == 10 * 16 + 30 - 1);                               // the newest is kept
                    if (pol == kv_policy::window) {
                        for (int i = 0; i < 4; i++) CHECK(pos[(size_t)i] == i); // sinks
                        CHECK(pos[4] == pos.back() - 91);
                    }
                    // value == position survives moves and requantization (constant rows quantize exactly
                    // up to fp16 rounding of the value)
                    for (size_t i = 0; i < pos.size(); i++)
                        CHECK(v[i * D + 7] == doctest::Approx((double)pos[i]).epsilon(2e-3));
                }
        }
}

TEST_CASE("policies on a model: generation past the window stays finite and deterministic") {
    const std::string path = test_util::temp_path("kv-tiny.gguf");
    synth_params sp;
    REQUIRE(synth_preset("tiny", &sp.shape).is_ok());
    REQUIRE(quant_recipe_parse("F16", &sp.recipe).is_ok());
    sp.n_threads = 1;
    REQUIRE(synth_model(path, sp).is_ok());
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    std::unique_ptr<tern_model, void (*)(tern_model *)> model(m, tern_model_free);
    const int V = tern_model_n_vocab(m);
    struct combo {
        tern_kv_type t;
        tern_kv_policy p;
    };
    for (combo cb : {combo{TERN_KV_F16, TERN_KV_WINDOW}, combo{TERN_KV_KIVI2, TERN_KV_WINDOW}, combo{TERN_KV_Q4_0, TERN_KV_H2O},
                     combo{TERN_KV_KIVI4, TERN_KV_H2O}, combo{TERN_KV_Q8_0, TERN_KV_SNAPKV}}) {
        CAPTURE(cb.t);
        CAPTURE(cb.p);
        auto generate = [&] {
            tern_context_params p = tern_context_default_params();
            p.n_ctx = 128;
            p.n_batch = 16;
            p.n_threads = one_thread() ? 1 : 2;
            p.kv_type = cb.t;
            p.kv_policy = cb.p;
            p.kv_budget = 64;
            tern_context *c = nullptr;
            REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
            std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);
            std::vector<tern_token> prompt(40);
            for (int i = 0; i < 40; i++) prompt[(size_t)i] = (tern_token)((i * 37 + 11) % V);
            REQUIRE(tern_decode(c, prompt.data(), 40, false) == TERN_OK);
            std::vector<tern_token> out;
            for (int i = 0; i < 300; i++) { // far past n_ctx = 128 positions: renumbering happens
                const float *l = tern_get_logits(c, -1);
                REQUIRE(l != nullptr);
                int best = 0;
                for (int v = 0; v < V; v++) {
                    REQUIRE(std::isfinite(l[v]));
                    if (l[v] > l[best]) best = v;
                }
                out.push_back(best);
                REQUIRE(tern_decode(c, &out.back(), 1, false) == TERN_OK);
                CHECK(tern_context_kv_stats(c, 0).n_cached <= 64 + 32);
                CHECK(tern_context_pos(c) <= 128);
            }
            return out;
        };
        const auto a = generate(), b = generate();
        CHECK(a == b);
    }
    std::remove(path.c_str());
}

TEST_CASE("KV options are validated") {
    const std::string path = test_util::temp_path("kv-tiny2.gguf");
    synth_params sp;
    REQUIRE(synth_preset("tiny", &sp.shape).is_ok());
    REQUIRE(quant_recipe_parse("Q8_0", &sp.recipe).is_ok());
    sp.n_threads = 1;
    REQUIRE(synth_model(path, sp).is_ok());
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    std::unique_ptr<tern_model, void (*)(tern_model *)> model(m, tern_model_free);
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 256;
    tern_context *c = nullptr;
    p.kv_type = (tern_kv_type)42;
    CHECK(tern_context_init(m, &p, &c) == TERN_ERR_INVALID_ARGUMENT);
    p.kv_type = TERN_KV_KIVI2;
    p.kv_policy = TERN_KV_WINDOW;
    p.kv_budget = 300; // more than the context
    CHECK(tern_context_init(m, &p, &c) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(std::string(tern_last_error()).find("budget") != std::string::npos);
    p.kv_budget = 3; // fewer than the sinks
    CHECK(tern_context_init(m, &p, &c) == TERN_ERR_INVALID_ARGUMENT);
    p.kv_budget = 0;
    p.kv_residual = 8; // below one KIVI group
    CHECK(tern_context_init(m, &p, &c) == TERN_ERR_INVALID_ARGUMENT);
    tern_kv_type t;
    CHECK(tern_kv_type_parse("KIVI2", &t));
    CHECK(t == TERN_KV_KIVI2);
    CHECK_FALSE(tern_kv_type_parse("kivi3", &t));
    tern_kv_policy pol;
    CHECK(tern_kv_policy_parse("snapkv", &pol));
    CHECK(pol == TERN_KV_SNAPKV);
    std::remove(path.c_str());
}

} // TEST_SUITE

TEST_SUITE("kv") {

// The retrieval check of issue 5: a fact at the start of a ~1200-token prompt, the question at its
// end, the prompt in one pass so that SnapKV's observation window is the question, 25% budget.
TEST_CASE("SnapKV at a 25% budget keeps a fact from the start of a long prompt (SmolLM2)") {
    const std::string path = test_util::default_model(), text_path = "/usr/share/common-licenses/GPL-3";
    if (!test_util::file_exists(path) || !test_util::file_exists(text_path)) {
        std::fprintf(stderr, "SKIPPED: SnapKV retrieval check (%s or %s absent)\n", path.c_str(), text_path.c_str());
        return;
    }
    std::ifstream tf(text_path);
    const std::string gpl((std::istreambuf_iterator<char>(tf)), std::istreambuf_iterator<char>());
    REQUIRE(gpl.size() > 7200);
    const std::string user = "Remember this: the secret password is tangerine.\n\nNow read the following document.\n\n" +
                             gpl.substr(2000, 5200) +
                             "\n\nQuestion: What is the secret password mentioned at the very beginning? Answer with the password only.";
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    std::unique_ptr<tern_model, void (*)(tern_model *)> model(m, tern_model_free);
    const tern_chat_message msg{"user", user.c_str()};
    const int32_t len = tern_chat_apply_template(m, nullptr, &msg, 1, true, nullptr, 0);
    REQUIRE(len > 0);
    std::string prompt((size_t)len + 1, '\0');
    tern_chat_apply_template(m, nullptr, &msg, 1, true, prompt.data(), len + 1);
    prompt.resize((size_t)len);
    std::vector<tern_token> toks(4096);
    const int32_t n = tern_tokenize(m, prompt.data(), (int32_t)prompt.size(), toks.data(), (int32_t)toks.size(), true, true);
    REQUIRE(n > 1000);
    toks.resize((size_t)n);
    tern_context_params p = tern_context_default_params();
    p.n_ctx = 2048;
    p.n_batch = 2048;
    p.n_threads = one_thread() ? 1 : 2;
    p.kv_policy = TERN_KV_SNAPKV;
    p.kv_budget = n / 4;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &p, &c) == TERN_OK);
    std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);
    REQUIRE(tern_decode(c, toks.data(), n, false) == TERN_OK);
    CHECK(tern_context_kv_stats(c, 0).n_cached == n / 4);
    std::string answer;
    const int V = tern_model_n_vocab(m);
    for (int i = 0; i < 20; i++) {
        const float *l = tern_get_logits(c, -1);
        int best = 0;
        for (int v = 1; v < V; v++)
            if (l[v] > l[best]) best = v;
        if (tern_token_is_eog(m, best)) break;
        char piece[64];
        const int32_t k = tern_token_to_piece(m, best, piece, sizeof piece, false);
        if (k > 0) answer.append(piece, (size_t)k);
        tern_token t = best;
        REQUIRE(tern_decode(c, &t, 1, false) == TERN_OK);
    }
    std::fprintf(stderr, "SnapKV %d of %d prompt tokens kept; answer: %s\n", n / 4, n, answer.c_str());
    CHECK(answer.find("tangerine") != std::string::npos);
}

} // TEST_SUITE
