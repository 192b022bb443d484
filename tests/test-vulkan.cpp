// test-vulkan.cpp — the Vulkan backend against references: every matmul weight type over many
// shapes (reference: the scalar dequantizer and a double-precision dot), every element-wise op
// (reference: the CPU backend's scalar kernels), graphs that cross between GPU and CPU, and whole
// models (logits close to the CPU's and the same greedy choices). Runs on any Vulkan device: Mesa's
// lavapipe in CI, a real GPU where there is one ($TERN_VK_DEVICE picks). Without Vulkan in the
// build or a device, it says it skipped.
#include "test-util.h"

#include "ggml/plan.h"
#include "ggml/type-table.h"
#include "kernels-cpu/cpu-backend.h"

#ifdef TERN_HAVE_VULKAN
#include "kernels-vulkan/vk-backend.h"
#include "kv-cache.h"
#include "tern.h"

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

using namespace tern;

namespace {

const backend_iface *vk() {
    static const backend_iface *b = [] {
        cpu_backend_register(); // runs what the GPU does not
        vk_backend_register();
        const backend_iface *v = backend_find("vulkan");
        return v && v->open(-1).is_ok() ? v : nullptr;
    }();
    return b;
}

#define NEED_VULKAN()                                                                                                  \
    if (!vk()) {                                                                                                       \
        MESSAGE("SKIPPED: no usable Vulkan device (tern info --devices)");                                             \
        return;                                                                                                        \
    }

using test_util::randv;

// A leaf holding host data (flagged offload when the GPU may take it).
tensor *leaf(graph &g, type t, int64_t ne0, int64_t ne1, void *data, bool offload) {
    tensor *x = g.new_tensor_2d(t, ne0, ne1);
    x->data = data;
    if (offload) x->flags |= tensor_flag_offload;
    return x;
}

void release(const std::vector<const tensor *> &w) { vk()->release(w.data(), w.size()); }

// Marks y as g's output, plans g into mem and runs it on the GPU, which must take y's op.
void run_on_gpu(graph &g, tensor *y, arena &mem) {
    g.mark_output(y);
    REQUIRE(plan_memory(g, mem).is_ok());
    REQUIRE(vk_supports_op(y));
    compute_options opt;
    const status st = vk()->compute(g.nodes(), opt);
    INFO(st.message());
    REQUIRE(st.is_ok());
}

} // namespace

TEST_SUITE("vulkan") {

// Reference: the weights through the scalar dequantizer, the activations through the scalar
// quantizer of the type's activation format and back (the GPU rounds them as the CPU does).
TEST_CASE("matmul: every weight type and many shapes match the dequantized reference") {
    NEED_VULKAN();
    const type types[] = {type::f32, type::f16, type::q8_0, type::q4_0, type::q4_1, type::q4_k, type::q6_k};
    // (K, N, M): decode (M = 1, mul_vec), odd row counts, more columns than one mul_mat workgroup's 16,
    // batches of 32 or more (the tiled mul_mm): whole 64 x 64 tiles, partial ones in both directions;
    // decode rows of more units of blocks than lanes, and rows whose blocks do not start on words
    // or do not pair (the per-weight mul_vec)
    const int64_t shapes[][3] = {{256, 1, 1},     {256, 7, 3},    {512, 33, 1},  {512, 5, 9},    {768, 70, 17},
                                 {1024, 3, 8},    {2304, 11, 2},  {512, 64, 32}, {256, 130, 70}, {1024, 65, 100},
                                 {768, 200, 33},  {2304, 9, 1},   {96, 5, 1},    {160, 6, 1}};
    uint32_t seed = 1;
    for (const char *rows : {"1", "2", "4"}) // rows per 32 lanes of the whole-block decode shader
    for (type t : types) {
        for (const auto &sh : shapes) {
            if (sh[2] != 1 && std::string(rows) != "2") continue; // only decode shapes depend on it
            setenv("TERN_VK_VEC_ROWS", rows, 1);
            CAPTURE(std::string(rows));
            const int64_t K = sh[0], N = sh[1], M = sh[2];
            if (K % type_get(t)->block_size != 0) continue; // rows of whole blocks only (K-quants: 256)
            const std::string tname = type_name(t);
            CAPTURE(tname);
            CAPTURE(K);
            CAPTURE(N);
            CAPTURE(M);
            const auto wf = randv((size_t)(K * N), seed++);
            const auto xf = randv((size_t)(K * M), seed++);
            std::vector<uint8_t> wq(row_size(t, K) * (size_t)N);
            for (int64_t n = 0; n < N; n++) type_get(t)->from_float(wf.data() + n * K, wq.data() + n * row_size(t, K), K);
            std::vector<float> wd((size_t)(K * N));
            for (int64_t n = 0; n < N; n++) type_get(t)->to_float(wq.data() + n * row_size(t, K), wd.data() + n * K, K);
            // the activations as the CPU rounds them for this weight type (its vec_dot_type)
            std::vector<float> xr(xf);
            const type vdt = type_get(t)->vec_dot_type;
            if (vdt != type::f32) {
                std::vector<uint8_t> xq(row_size(vdt, K));
                for (int64_t m = 0; m < M; m++) {
                    type_get(vdt)->from_float(xf.data() + m * K, xq.data(), K);
                    type_get(vdt)->to_float(xq.data(), xr.data() + m * K, K);
                }
            }
            graph g;
            tensor *w = leaf(g, t, K, N, wq.data(), true);
            tensor *x = leaf(g, type::f32, K, M, const_cast<float *>(xf.data()), false);
            tensor *y = g.mul_mat(w, x);
            arena mem;
            run_on_gpu(g, y, mem);
            double worst = 0;
            for (int64_t m = 0; m < M; m++)
                for (int64_t n = 0; n < N; n++) {
                    double ref = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++) {
                        ref += (double)wd[(size_t)(n * K + k)] * xr[(size_t)(m * K + k)];
                        mag += std::fabs((double)wd[(size_t)(n * K + k)] * xr[(size_t)(m * K + k)]);
                    }
                    const double got = ((const float *)y->data)[m * N + n];
                    worst = std::max(worst, std::fabs(got - ref) / (mag + 1e-6));
                }
            // f32 sums of K products, relative to the sum of magnitudes; on cooperative matrices (batches
            // of 64 or more) weights and activations are rounded to f16 first
            CHECK(worst < (M >= 64 && vk_uses_coopmat() ? 2e-3 : 1e-5));
            release({w});
        }
    }
    unsetenv("TERN_VK_VEC_ROWS");
}

TEST_CASE("embedding lookup: rows of every weight type match the scalar dequantizer") {
    NEED_VULKAN();
    const type types[] = {type::f32, type::f16, type::q8_0, type::q4_0, type::q4_1, type::q4_k, type::q6_k};
    const int64_t E = 512, V = 37;
    const std::vector<int32_t> ids = {0, 36, 5, 5, 17, 1, 30, 2, 36};
    uint32_t seed = 300;
    for (type t : types) {
        const std::string tname = type_name(t);
        CAPTURE(tname);
        const auto wf = randv((size_t)(E * V), seed++);
        std::vector<uint8_t> wq(row_size(t, E) * (size_t)V);
        for (int64_t v = 0; v < V; v++) type_get(t)->from_float(wf.data() + v * E, wq.data() + v * row_size(t, E), E);
        graph g;
        tensor *w = leaf(g, t, E, V, wq.data(), true);
        tensor *id = g.new_tensor_1d(type::i32, (int64_t)ids.size());
        id->data = (void *)ids.data();
        tensor *y = g.get_rows(w, id);
        arena mem;
        run_on_gpu(g, y, mem);
        std::vector<float> row((size_t)E);
        double worst = 0;
        for (size_t m = 0; m < ids.size(); m++) {
            type_get(t)->to_float(wq.data() + (size_t)ids[m] * row_size(t, E), row.data(), E);
            for (int64_t k = 0; k < E; k++)
                worst = std::max(worst, (double)std::fabs(((const float *)y->data)[m * (size_t)E + (size_t)k] - row[(size_t)k]));
        }
        CHECK(worst < 1e-5);
        release({w});
    }
}

TEST_CASE("element-wise ops, RMSNorm and RoPE match the CPU's scalar kernels") {
    NEED_VULKAN();
    const int64_t shapes[][2] = {{64, 1}, {576, 3}, {2048, 5}, {96, 40}};
    uint32_t seed = 100;
    for (const auto &sh : shapes) {
        const int64_t E = sh[0], M = sh[1];
        CAPTURE(E);
        CAPTURE(M);
        auto av = randv((size_t)(E * M), seed++), bv = randv((size_t)(E * M), seed++), rowv = randv((size_t)E, seed++);
        std::vector<int32_t> pos((size_t)M);
        for (int64_t m = 0; m < M; m++) pos[(size_t)m] = (int32_t)(m * 37 + 5);
        for (int variant = 0; variant < 12; variant++) {
            CAPTURE(variant);
            graph g[2]; // [0] on the CPU's scalar kernels, [1] on Vulkan
            tensor *out[2];
            std::vector<const tensor *> flagged;
            for (int side = 0; side < 2; side++) {
                tensor *a = leaf(g[side], type::f32, E, M, av.data(), side == 1);
                tensor *b = leaf(g[side], type::f32, E, M, bv.data(), side == 1);
                tensor *row = leaf(g[side], type::f32, E, 1, rowv.data(), side == 1);
                tensor *p = g[side].new_tensor_1d(type::i32, M);
                p->data = pos.data();
                if (side == 1) flagged.insert(flagged.end(), {a, b, row});
                tensor *r = nullptr;
                switch (variant) {
                case 0: r = g[side].add(a, b); break;
                case 1: r = g[side].add(a, row); break; // broadcast
                case 2: r = g[side].mul(a, row); break;
                case 3: r = g[side].mul(a, b); break;
                case 4: r = g[side].silu_mul(a, b); break;
                case 5: r = g[side].relu2_mul(a, b); break;
                case 6: r = g[side].scale(a, 0.125f); break;
                case 7: r = g[side].rms_norm(a, 1e-5f); break;
                case 8: // llama pairing, all dims rotated; heads of 32
                    r = g[side].rope(g[side].reshape_3d(a, 32, E / 32, M), p, 32, 10000.0f, 0);
                    break;
                case 9: // NEOX pairing, half the dims rotated
                    r = g[side].rope(g[side].reshape_3d(a, 32, E / 32, M), p, 16, 500000.0f, 2);
                    break;
                case 10: r = g[side].gelu_mul(g[side].scale(a, 4.0f), b); break; // past GELU's +-10 clamps too
                case 11: r = g[side].softcap(g[side].scale(a, 20.0f), 30.0f); break;
                }
                g[side].mark_output(r);
                out[side] = r;
            }
            arena mem[2];
            REQUIRE(plan_memory(g[0], mem[0]).is_ok());
            REQUIRE(plan_memory(g[1], mem[1]).is_ok());
            compute_options opt;
            REQUIRE(cpu_compute(g[0].nodes(), opt, kernels_generic()).is_ok());
            REQUIRE(vk_supports_op(out[1]));
            REQUIRE(vk()->compute(g[1].nodes(), opt).is_ok());
            const float *ref = (const float *)out[0]->data, *got = (const float *)out[1]->data;
            double worst = 0;
            for (int64_t i = 0; i < E * M; i++) worst = std::max(worst, (double)std::fabs(got[i] - ref[i]) / (1.0 + std::fabs(ref[i])));
            // RoPE: float angles of positions up to ~1500; GELU: the GPU's tanh may move an f16
            // rounding of the result by one step (2^-11 relative)
            CHECK(worst < (variant == 8 || variant == 9 ? 2e-4 : variant == 10 ? 1e-3 : 1e-5));
            release(flagged);
        }
    }
}

TEST_CASE("a graph that crosses GPU -> CPU -> GPU gives the CPU's answer") {
    NEED_VULKAN();
    // y = W2 (ffn_select(rms_norm(W1 x)) * W1 x + x): ffn_select (sparse FFN's neuron choice,
    // here keeping all) has no shader, so it runs on the CPU between two GPU runs; x is read by
    // both sides.
    const int64_t E = 256, M = 4;
    auto w1f = randv((size_t)(E * E), 7, 0.1f), w2f = randv((size_t)(E * E), 8, 0.1f), xf = randv((size_t)(E * M), 9);
    std::vector<uint8_t> w1(row_size(type::q8_0, E) * E), w2(row_size(type::q8_0, E) * E);
    for (int64_t n = 0; n < E; n++) {
        type_get(type::q8_0)->from_float(w1f.data() + n * E, w1.data() + n * row_size(type::q8_0, E), E);
        type_get(type::q8_0)->from_float(w2f.data() + n * E, w2.data() + n * row_size(type::q8_0, E), E);
    }
    graph g[2];
    tensor *out[2];
    std::vector<const tensor *> flagged;
    for (int side = 0; side < 2; side++) {
        tensor *W1 = leaf(g[side], type::q8_0, E, E, w1.data(), side == 1), *W2 = leaf(g[side], type::q8_0, E, E, w2.data(), side == 1);
        tensor *x = leaf(g[side], type::f32, E, M, xf.data(), false);
        if (side == 1) flagged.insert(flagged.end(), {W1, W2});
        tensor *h = g[side].mul_mat(W1, x);
        tensor *t = g[side].add(g[side].mul(g[side].ffn_select(g[side].rms_norm(h, 1e-6f), 1.0f), h), x);
        out[side] = g[side].mul_mat(W2, t);
        g[side].mark_output(out[side]);
    }
    arena mem[2];
    REQUIRE(plan_memory(g[0], mem[0]).is_ok());
    REQUIRE(plan_memory(g[1], mem[1]).is_ok());
    compute_options opt;
    opt.n_threads = 2;
    REQUIRE(cpu_compute(g[0].nodes(), opt, kernels_generic()).is_ok());
    REQUIRE(vk()->compute(g[1].nodes(), opt).is_ok());
    double worst = 0, norm = 0;
    for (int64_t i = 0; i < E * M; i++) {
        worst = std::max(worst, (double)std::fabs(((float *)out[1]->data)[i] - ((float *)out[0]->data)[i]));
        norm = std::max(norm, (double)std::fabs(((float *)out[0]->data)[i]));
    }
    CHECK(worst < 0.02 * norm); // the CPU quantizes activations to 8 bits, the GPU does not
    release(flagged);
}

// kv_store and attention as ops: one cache fed on the CPU, one on the GPU, the same random keys,
// values and queries, passes of many tokens and of one; head sizes of one and of several
// 32-lane steps, GQA, caches longer than attention.comp's 256-slot chunk, a sliding window
// shorter than the cache, soft-capped scores. The outputs must agree
// and the host's copy of the GPU-fed cache (the rows kv_store sends back) must equal the CPU's.
TEST_CASE("kv_store and attention on the GPU match the CPU's over the same cache") {
    NEED_VULKAN();
    const int64_t H = 4, Hkv = 2;
    struct variant {
        int64_t D;
        int window;   // sliding window (0: none)
        float softcap; // score soft-cap (0: none)
    };
    for (const variant &vr : {variant{64, 0, 0.0f}, variant{96, 0, 0.0f}, variant{64, 100, 0.0f}, variant{64, 0, 5.0f}}) {
        const int64_t D = vr.D;
        CAPTURE(D);
        CAPTURE(vr.window);
        CAPTURE(vr.softcap);
        hparams hp;
        hp.n_layer = 1, hp.n_head = H, hp.n_head_kv = Hkv, hp.head_dim = D, hp.n_rot = D, hp.n_embd = H * D;
        kv_config cfg;
        cfg.fmt = kv_format::f16;
        cfg.n_ctx = 1024;
        cfg.n_batch = 512;
        kv_cache kv[2]; // 0: the CPU's, 1: the GPU's
        REQUIRE(kv[0].init(hp, cfg).is_ok());
        REQUIRE(kv[1].init(hp, cfg).is_ok());
        uint32_t seed = 100;
        double worst = 0;
        for (int64_t n : {300, 5, 1, 1, 290, 1, 2}) {
            CAPTURE(n);
            const auto qv = randv((size_t)(D * H * n), seed++), kn = randv((size_t)(D * Hkv * n), seed++),
                       vn = randv((size_t)(D * Hkv * n), seed++);
            std::vector<float> out[2];
            for (int side = 0; side < 2; side++) {
                std::vector<int32_t> pos;
                REQUIRE(kv[side].begin_pass(n, &pos).is_ok());
                graph g;
                std::vector<tensor *> leaves;
                kv[side].bind(g, &leaves);
                tensor *q = g.new_tensor(type::f32, 3, std::array<int64_t, 3>{D, H, n}.data());
                tensor *k = leaf(g, type::f32, D * Hkv, n, (void *)kn.data(), side == 1);
                tensor *v = leaf(g, type::f32, D * Hkv, n, (void *)vn.data(), side == 1);
                q->data = (void *)qv.data();
                std::vector<const tensor *> flagged{k, v};
                if (side == 1) { // inputs made on the GPU (scaled by 1), so kv_store and attention run there
                    q->flags |= tensor_flag_offload;
                    flagged.push_back(q);
                    q = g.scale(q, 1.0f), k = g.scale(k, 1.0f), v = g.scale(v, 1.0f);
                }
                tensor *o = g.attention(q, leaves[0], g.kv_store(k, v, leaves[0]), 1.0f / std::sqrt((float)D), vr.window, vr.softcap);
                g.mark_output(o);
                arena mem;
                REQUIRE(plan_memory(g, mem).is_ok());
                compute_options opt;
                opt.n_threads = 2;
                if (side == 0) {
                    REQUIRE(cpu_compute(g.nodes(), opt, kernels_generic()).is_ok());
                } else {
                    REQUIRE(vk_supports_op(o));
                    REQUIRE(vk()->compute(g.nodes(), opt).is_ok());
                    release(flagged);
                }
                kv[side].commit_pass();
                out[side].assign((const float *)o->data, (const float *)o->data + D * H * n);
            }
            for (size_t i = 0; i < out[0].size(); i++) worst = std::max(worst, (double)std::fabs(out[1][i] - out[0][i]));
        }
        MESSAGE("D " << D << ", window " << vr.window << ", soft-cap " << vr.softcap << ": largest attention output difference " << worst);
        CHECK(worst < 1e-4); // the same f16 cache and f32 arithmetic, summed in another order
        for (int64_t h = 0; h < Hkv; h++) {
            std::vector<float> k[2], v[2], sc[2];
            std::vector<int32_t> pos[2];
            for (int side = 0; side < 2; side++) kv[side].dump_head(0, h, &k[side], &v[side], &pos[side], &sc[side]);
            CHECK(pos[1] == pos[0]);
            CHECK(k[1] == k[0]); // bit for bit: both converted f32 -> f16 by rounding to nearest
            CHECK(v[1] == v[0]);
        }
    }
}

// The CPU generates greedily; the GPU (-ngl 999) is fed the same tokens. At every step the logits
// must be close, and the GPU must pick the CPU's token wherever the CPU's choice was clear (its
// margin over the runner-up larger than the tolerance). The tolerance is per model: stories260K
// has F32 weights (lavapipe 0.0011 from the CPU, the H100 0.0038: its exp, pow and inversesqrt
// are not libm's); SmolLM2 is Q4_1 with 8-bit activations, where one rounding flip moves logits
// by tenths: the CPU's own scalar and AVX-512 kernels differ by 0.95 on these prompts.
TEST_CASE("whole models: the GPU's logits and greedy choices follow the CPU's") {
    NEED_VULKAN();
    struct one {
        std::string path, prompt;
        int n;
        double tol;
    };
    // the tiny random models of the other architectures: GeGLU, soft-capped logits and scores, sliding
    // windows (gemma2), fused QKV (phi3), attention biases (qwen2)
    const one models[] = {{test_util::model_path("stories260K.gguf"), "Once upon a time", 32, 1e-2},
                          {test_util::model_path("gemma2-tiny-f32.gguf"), "Once upon a time", 16, 1e-2},
                          {test_util::model_path("phi3-tiny-f32.gguf"), "Once upon a time", 16, 1e-2},
                          {test_util::model_path("qwen2-tiny-f32.gguf"), "Once upon a time", 16, 1e-2},
                          {test_util::default_model(), "The three primary colors are", 8, 1.5}};
    for (const one &c : models) {
        if (!test_util::file_exists(c.path)) {
            MESSAGE("SKIPPED: " << c.path << " is absent");
            continue;
        }
        CAPTURE(c.path);
        std::vector<tern_token> chosen;         // the CPU's greedy tokens
        std::vector<std::vector<float>> logits; // the CPU's logits at each step
        std::string text[2];
        double worst = 0;
        int clear_steps = 0;
        for (int side = 0; side < 2; side++) {
            tern_model_params mp = tern_model_default_params();
            mp.n_gpu_layers = side == 1 ? 999 : 0;
            tern_model *m = nullptr;
            REQUIRE(tern_model_load(c.path.c_str(), &mp, &m) == TERN_OK);
            tern_context_params cp = tern_context_default_params();
            cp.n_ctx = 256;
            cp.n_threads = 2;
            tern_context *ctx = nullptr;
            REQUIRE(tern_context_init(m, &cp, &ctx) == TERN_OK);
            std::vector<tern_token> toks(256);
            const int32_t nt = tern_tokenize(m, c.prompt.c_str(), (int32_t)c.prompt.size(), toks.data(), 256, true, false);
            REQUIRE(nt > 0);
            REQUIRE(tern_decode(ctx, toks.data(), nt, false) == TERN_OK);
            const int32_t V = tern_model_n_vocab(m);
            int64_t recorded0, reused0, recorded1, reused1;
            vk_command_stats(&recorded0, &reused0);
            for (int i = 0; i < c.n; i++) {
                const float *lg = tern_get_logits(ctx, -1);
                tern_token best = 0;
                for (int32_t v = 1; v < V; v++)
                    if (lg[v] > lg[best]) best = v;
                if (side == 0) {
                    chosen.push_back(best);
                    logits.emplace_back(lg, lg + V);
                } else {
                    const std::vector<float> &ref = logits[(size_t)i];
                    for (int32_t v = 0; v < V; v++) worst = std::max(worst, (double)std::fabs(lg[v] - ref[(size_t)v]));
                    float second = -1e30f;
                    for (int32_t v = 0; v < V; v++)
                        if (v != chosen[(size_t)i]) second = std::max(second, ref[(size_t)v]);
                    if (ref[(size_t)chosen[(size_t)i]] - second > c.tol) {
                        clear_steps++;
                        CHECK(best == chosen[(size_t)i]);
                    }
                }
                char piece[64];
                const int32_t k = tern_token_to_piece(m, best, piece, sizeof piece, false);
                if (k > 0) text[side].append(piece, (size_t)k);
                tern_token next = chosen[(size_t)i]; // the GPU follows the CPU's text
                if (i + 1 < c.n) REQUIRE(tern_decode(ctx, &next, 1, false) == TERN_OK);
            }
            vk_command_stats(&recorded1, &reused1);
            if (side == 1) { // decode steps differ only in the cache's length: their commands are reused
                MESSAGE("command buffers: " << recorded1 - recorded0 << " recorded, " << reused1 - reused0 << " reused");
                CHECK(reused1 - reused0 >= c.n - 2);
            }
            tern_context_free(ctx);
            tern_model_free(m);
        }
        MESSAGE("cpu: " << text[0] << " | vulkan: " << text[1] << " | largest logit difference " << worst << ", "
                        << clear_steps << " of " << c.n << " choices clear");
        CHECK(worst < c.tol);
        CHECK(clear_steps >= c.n / 4); // the check above must have had something to check
    }
}

TEST_CASE("a GPU that cannot be had: the model runs on the CPU, with the CPU's results") {
    NEED_VULKAN();
    const std::string path = test_util::model_path("stories260K.gguf");
    if (!test_util::file_exists(path)) {
        MESSAGE("SKIPPED: " << path << " is absent");
        return;
    }
    std::vector<float> lg[2];
    for (int side = 0; side < 2; side++) {
        tern_model_params mp = tern_model_default_params();
        if (side == 1) mp.n_gpu_layers = 999, mp.gpu_device = 42; // no such device
        tern_model *m = nullptr;
        REQUIRE(tern_model_load(path.c_str(), &mp, &m) == TERN_OK);
        tern_context *ctx = nullptr;
        REQUIRE(tern_context_init(m, nullptr, &ctx) == TERN_OK); // warns, then uses the CPU
        const tern_token toks[] = {1, 400, 401};
        REQUIRE(tern_decode(ctx, toks, 3, false) == TERN_OK);
        lg[side].assign(tern_get_logits(ctx, -1), tern_get_logits(ctx, -1) + tern_model_n_vocab(m));
        tern_context_free(ctx);
        tern_model_free(m);
    }
    CHECK(lg[0] == lg[1]); // bit for bit: both ran on the CPU
    char list[1024];
    CHECK(tern_devices(list, sizeof list) > 0); // the device the other tests use is listed
    CHECK(std::string(list).rfind("vulkan0: ", 0) == 0);
}

// The GPU keeps a copy of the KV cache; the host's stays the reference. Two sequences in one batch,
// then a truncation and a restored state (which rewrite rows the copy holds): at each step the
// GPU's logits must stay those of the CPU doing the same.
TEST_CASE("KV cache on the GPU: batches of two sequences, truncation, restored state") {
    NEED_VULKAN();
    const std::string path = test_util::model_path("stories260K.gguf");
    if (!test_util::file_exists(path)) {
        MESSAGE("SKIPPED: " << path << " is absent");
        return;
    }
    std::vector<std::vector<float>> seen[2];
    for (int side = 0; side < 2; side++) {
        tern_model_params mp = tern_model_default_params();
        mp.n_gpu_layers = side == 1 ? 999 : 0;
        tern_model *m = nullptr;
        REQUIRE(tern_model_load(path.c_str(), &mp, &m) == TERN_OK);
        tern_context_params cp = tern_context_default_params();
        cp.n_ctx = 128;
        cp.n_seq_max = 2;
        cp.n_threads = 2;
        tern_context *ctx = nullptr;
        REQUIRE(tern_context_init(m, &cp, &ctx) == TERN_OK);
        const int32_t V = tern_model_n_vocab(m);
        auto keep = [&](const float *lg) { seen[side].emplace_back(lg, lg + V); };
        // both sequences' prompts in one batch
        const tern_token toks[] = {1, 400, 401, 402, 403, 404, 1, 300, 301, 302};
        const int32_t seqs[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
        INFO(tern_last_error());
        REQUIRE(tern_decode_batch(ctx, toks, seqs, 10) == TERN_OK);
        keep(tern_get_logits_seq(ctx, 0));
        keep(tern_get_logits_seq(ctx, 1));
        // one token each
        const tern_token next[] = {405, 303};
        const int32_t both[] = {0, 1};
        REQUIRE(tern_decode_batch(ctx, next, both, 2) == TERN_OK);
        keep(tern_get_logits_seq(ctx, 0));
        keep(tern_get_logits_seq(ctx, 1));
        // sequence 1's state, for later
        std::vector<uint8_t> state(tern_seq_state_get(ctx, 1, nullptr, 0));
        REQUIRE(tern_seq_state_get(ctx, 1, state.data(), state.size()) == state.size());
        // truncate sequence 0 to 3 tokens and continue it differently
        REQUIRE(tern_seq_truncate(ctx, 0, 3) == TERN_OK);
        const tern_token other[] = {500, 501};
        const int32_t zero[] = {0, 0};
        REQUIRE(tern_decode_batch(ctx, other, zero, 2) == TERN_OK);
        keep(tern_get_logits_seq(ctx, 0));
        // sequence 1 moves on
        const tern_token one_tok[] = {304};
        const int32_t one_seq[] = {1};
        REQUIRE(tern_decode_batch(ctx, one_tok, one_seq, 1) == TERN_OK);
        keep(tern_get_logits_seq(ctx, 1));
        // sequence 1's saved state replaces sequence 0's (rows the GPU's copy of 0 holds change)
        REQUIRE(tern_seq_state_set(ctx, 0, state.data(), state.size()) == TERN_OK);
        const tern_token again[] = {305};
        const int32_t seq0[] = {0};
        REQUIRE(tern_decode_batch(ctx, again, seq0, 1) == TERN_OK);
        keep(tern_get_logits_seq(ctx, 0));
        tern_context_free(ctx);
        tern_model_free(m);
    }
    REQUIRE(seen[0].size() == seen[1].size());
    for (size_t i = 0; i < seen[0].size(); i++) {
        CAPTURE(i);
        double worst = 0;
        for (size_t v = 0; v < seen[0][i].size(); v++) worst = std::max(worst, (double)std::fabs(seen[0][i][v] - seen[1][i][v]));
        CHECK(worst < 1e-2);
    }
}
}

#else

TEST_SUITE("vulkan") {
TEST_CASE("vulkan: not built") { MESSAGE("SKIPPED: this build has no Vulkan backend (libvulkan-dev and glslc at build time)"); }
}

#endif
