// test-kernels.cpp — every dot/axpy kernel of every ISA this CPU runs, against the scalar
// reference over many lengths and random inputs; and the matmul op on 1 and 2 threads against a
// double-precision product of the dequantized weights.
#include "test-util.h"

#include "ggml/fp16.h"
#include "ggml/plan.h"
#include "kernels-cpu/cpu-backend.h"
#include "kernels-cpu/cpu-ops.h"
#include "kernels-cpu/cpu-features.h"
#include "kernels-cpu/gemm-i8.h"

#include <cmath>
#include <random>

using namespace tern;

namespace {

std::vector<const isa_kernels *> isas() {
    std::vector<const isa_kernels *> v{kernels_generic()};
    for (const isa_kernels *k : {kernels_avx2(), kernels_avx512(), kernels_neon(), kernels_neon_dotprod()})
        if (k) v.push_back(k);
    static bool printed = false;
    if (!printed) {
        std::string s;
        for (auto *k : v) s += std::string(k->isa) + " ";
        std::fprintf(stderr, "kernel ISAs tested on this CPU: %s\n", s.c_str());
        if (!kernels_avx512()) std::fprintf(stderr, "note: AVX-512 kernels built but not testable here (CPU lacks AVX-512/VNNI)\n");
        printed = true;
    }
    return v;
}

// TERN_TEST_QUICK=1 shrinks the random repetitions and the matmul shapes (every type and ISA is
// still covered); TERN_TEST_ONE_THREAD=1 runs the matmul on one thread only (set for the
// qemu-aarch64 run: Debian 12's qemu-user 7.2 hangs in thread creation on our CI machine).
bool env_flag(const char *name) {
    const char *q = std::getenv(name);
    return q && *q && *q != '0';
}
bool quick() { return env_flag("TERN_TEST_QUICK"); }
bool one_thread() { return env_flag("TERN_TEST_ONE_THREAD"); }

const type k_weight_types[] = {type::f32,  type::f16,  type::bf16, type::q8_0, type::q4_0, type::q4_1,
                               type::q5_0, type::q5_1, type::q2_k, type::q3_k, type::q4_k, type::q5_k,
                               type::q6_k, type::tq1_0, type::tq2_0};

} // namespace

TEST_SUITE("kernels") {

TEST_CASE("dot kernels match the scalar reference") {
    int gemv_checked = 0;
    std::mt19937 rng(123);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (type t : k_weight_types) {
        const type_traits *tr = type_get(t);
        const type vdt = tr->vec_dot_type;
        for (int64_t n : {1, 7, 16, 31, 32, 33, 64, 96, 100, 256, 288, 576, 1000, 768, 1536, 2304, 4096}) {
            if (n % tr->block_size) continue;
            if (quick() && n != 1 && n != 32 && n != 33 && n != 96 && n != 256 && n != 768) continue;
            for (int rep = 0; rep < 8; rep++) {
                if (quick() && rep != 0 && rep != 7) continue;
                std::vector<float> w(n), x(n);
                for (auto &v : w) v = nd(rng) * (rep == 7 ? 100.0f : 1.0f);
                for (auto &v : x) v = nd(rng);
                std::vector<uint8_t> wq(row_size(t, n)), xq(row_size(vdt, n));
                tr->from_float(w.data(), wq.data(), n);
                type_get(vdt)->from_float(x.data(), xq.data(), n);
                // Magnitude for the tolerance: sum |w_i x_i| of the dequantized values.
                std::vector<float> wd(n), xd(n);
                tr->to_float(wq.data(), wd.data(), n);
                type_get(vdt)->to_float(xq.data(), xd.data(), n);
                double mag = 0;
                for (int64_t i = 0; i < n; i++) mag += std::fabs((double)wd[i] * xd[i]);
                const float ref = kernels_generic()->dot[(int)t](n, wq.data(), xq.data());
                for (const isa_kernels *k : isas()) {
                    const float got = k->dot[(int)t](n, wq.data(), xq.data());
                    CHECK_MESSAGE(std::fabs(got - ref) <= 1e-5 * mag + 1e-6, k->isa, " ", type_name(t), " n=", n,
                                  " got ", got, " ref ", ref);
                    if (k->gemv_prep[(int)t]) { // the decode kernel, activations in its own layout
                        const bool has_dot = k->gemv_dot[(int)t] != nullptr;
                        REQUIRE(has_dot);
                        std::vector<uint8_t> xp(GEMV_ACT_BYTES(n));
                        // in three thread shares, as the matmul runs it
                        for (int ith = 0; ith < 3; ith++) k->gemv_prep[(int)t](n, x.data(), xp.data(), ith, 3);
                        const float g = k->gemv_dot[(int)t](n, wq.data(), xp.data());
                        // The reference with x rounded as gemv_prep rounds it (f16 for f16 weights).
                        float gref = ref;
                        if (gemv_act_type(t) != vdt) {
                            const type at = gemv_act_type(t);
                            std::vector<uint8_t> xa(row_size(at, n)), xv(row_size(vdt, n));
                            std::vector<float> xr(n);
                            type_get(at)->from_float(x.data(), xa.data(), n);
                            type_get(at)->to_float(xa.data(), xr.data(), n);
                            type_get(vdt)->from_float(xr.data(), xv.data(), n);
                            gref = kernels_generic()->dot[(int)t](n, wq.data(), xv.data());
                            CHECK_MESSAGE(std::fabs(gref - ref) > 0.0f, "rounding to ", type_name(at), " changed nothing");
                        }
                        CHECK_MESSAGE(std::fabs(g - gref) <= 1e-5 * mag + 1e-6, k->isa, " gemv ", type_name(t), " n=", n,
                                      " got ", g, " ref ", gref);
                        gemv_checked++;
                    }
                }
            }
        }
    }
    if (kernels_avx512()) CHECK(gemv_checked > 0); // q4_0's decode kernel was exercised
    MESSAGE("decode (gemv_prep) kernels checked: ", gemv_checked);
}

TEST_CASE("2x2 tile kernels match four scalar dot products") {
    std::mt19937 rng(321);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    int tested = 0;
    for (type t : k_weight_types) {
        const type vdt = type_get(t)->vec_dot_type;
        for (int64_t n : {32, 64, 96, 576, 1024}) {
            if (n % type_get(t)->block_size) continue;
            std::vector<std::vector<uint8_t>> w(2), x(2);
            std::vector<double> mag(4, 0.0);
            for (int i = 0; i < 2; i++) {
                std::vector<float> a(n), b(n);
                for (auto &v : a) v = nd(rng);
                for (auto &v : b) v = nd(rng);
                w[i].resize(row_size(t, n));
                x[i].resize(row_size(vdt, n));
                type_get(t)->from_float(a.data(), w[i].data(), n);
                type_get(vdt)->from_float(b.data(), x[i].data(), n);
            }
            float ref[4];
            for (int j = 0; j < 4; j++) {
                ref[j] = kernels_generic()->dot[(int)t](n, w[j % 2].data(), x[j / 2].data());
                std::vector<float> wf(n), xf(n);
                type_get(t)->to_float(w[j % 2].data(), wf.data(), n);
                type_get(vdt)->to_float(x[j / 2].data(), xf.data(), n);
                for (int64_t i = 0; i < n; i++) mag[j] += std::fabs((double)wf[i] * xf[i]);
            }
            for (const isa_kernels *k : isas()) {
                if (!k->dot2x2[(int)t]) continue;
                tested++;
                float out[4];
                k->dot2x2[(int)t](n, w[0].data(), w[1].data(), x[0].data(), x[1].data(), out);
                for (int j = 0; j < 4; j++)
                    CHECK_MESSAGE(std::fabs(out[j] - ref[j]) <= 1e-5 * mag[j] + 1e-6, k->isa, " ", type_name(t), " n=", n);
            }
        }
    }
    if (kernels_avx2()) CHECK(tested > 0);
}

TEST_CASE("axpy kernels match the scalar reference") {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (type t : {type::f32, type::f16}) {
        for (int64_t n : {1, 8, 15, 16, 17, 64, 100, 129}) {
            std::vector<float> x(n), y0(n);
            for (auto &v : x) v = nd(rng);
            for (auto &v : y0) v = nd(rng);
            std::vector<uint8_t> xq(row_size(t, n));
            type_get(t)->from_float(x.data(), xq.data(), n);
            std::vector<float> ref = y0;
            kernels_generic()->axpy[(int)t](n, 0.37f, xq.data(), ref.data());
            for (const isa_kernels *k : isas()) {
                std::vector<float> y = y0;
                k->axpy[(int)t](n, 0.37f, xq.data(), y.data());
                for (int64_t i = 0; i < n; i++) CHECK(std::fabs(y[i] - ref[i]) <= 1e-5f * (1 + std::fabs(ref[i])));
            }
        }
    }
}

TEST_CASE("mul_mat op: every type, ISA and thread count against a double reference") {
    std::mt19937 rng(99);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (type t : k_weight_types) {
        for (auto shape : {std::array<int64_t, 3>{64, 5, 1}, {96, 33, 3}, {256, 17, 7}, {128, 40, 16}, {64, 37, 13}, {64, 300, 1}, {32, 250, 5}, {600, 70, 25}, {61, 20, 9}}) {
            const int64_t bs = type_get(t)->block_size;
            const int64_t K = (shape[0] + bs - 1) / bs * bs, N = shape[1], M = shape[2];
            graph g;
            tensor *w = g.new_tensor_2d(t, K, N, "w");
            tensor *x = g.new_tensor_2d(type::f32, K, M, "x");
            std::vector<float> wf(K * N), xf(K * M);
            for (auto &v : wf) v = nd(rng);
            for (auto &v : xf) v = nd(rng);
            std::vector<uint8_t> wq(row_size(t, K) * N);
            type_get(t)->from_float(wf.data(), wq.data(), K * N);
            w->data = wq.data();
            x->data = xf.data();
            tensor *y = g.mul_mat(w, x);
            g.mark_output(y);
            arena mem;
            REQUIRE(plan_memory(g, mem).is_ok());
            // Reference: dequantized weights, activations rounded like the kernel sees them.
            std::vector<float> wd(K * N);
            type_get(t)->to_float(wq.data(), wd.data(), K * N);
            const type vdt = type_get(t)->vec_dot_type;
            std::vector<float> xd(K * M);
            for (int64_t m = 0; m < M; m++) {
                std::vector<uint8_t> xq(row_size(vdt, K));
                type_get(vdt)->from_float(xf.data() + m * K, xq.data(), K);
                type_get(vdt)->to_float(xq.data(), xd.data() + m * K, K);
            }
            // Decode (M = 1) through an ISA's gemv_prep rounds them as gemv_act_type says.
            const type gat = gemv_act_type(t);
            std::vector<float> xg(K * M);
            for (int64_t m = 0; m < M; m++) {
                std::vector<uint8_t> xq(row_size(gat, K));
                type_get(gat)->from_float(xf.data() + m * K, xq.data(), K);
                type_get(gat)->to_float(xq.data(), xg.data() + m * K, K);
            }
            // The int8 GEMM's activations: the dot path's blocks taken apart (q, d and s per sub-block).
            std::vector<float> xi(K * M);
            if (const int sb = i8_subblock(t))
                for (int64_t m = 0; m < M; m++) {
                    std::vector<int8_t> q(K);
                    std::vector<float> d(K / sb), s(K / sb);
                    std::vector<uint8_t> tmp(row_size(vdt, K));
                    i8_quantize_act(vdt, xf.data() + m * K, K, sb, tmp.data(), q.data(), d.data(), s.data());
                    for (int64_t i = 0; i < K; i++) xi[m * K + i] = d[i / sb] * q[i];
                    for (int64_t i = 0; i < K; i++) REQUIRE(xi[m * K + i] == xd[m * K + i]); // same rounding as the dot path
                }
            if (quick() && M > 7) continue;
            for (const isa_kernels *k : isas()) {
                for (int nth : {1, 2, 3}) {
                    if (one_thread() && nth > 1) {
                        static bool said = false;
                        if (!said) std::fprintf(stderr, "TERN_TEST_ONE_THREAD: multi-threaded matmul runs skipped\n");
                        said = true;
                        continue;
                    }
                    compute_options opt;
                    opt.n_threads = nth;
                    REQUIRE(cpu_compute(g.nodes(), opt, k).is_ok());
                    const float *yo = (const float *)y->data;
                    // The f32 GEMM multiplies f32 activations; the dot path and the int8 GEMM quantized ones.
                    const mm_path path = cpu_mul_mat_path(k, t, M);
                    const bool gemm = path == mm_path::gemm_f32 || path == mm_path::gemm_i8;
                    const bool gemv = path == mm_path::dot && M == 1 && k->gemv_prep[(int)t];
                    const float *xr = path == mm_path::gemm_f32 ? xf.data()
                                      : path == mm_path::gemm_i8 ? xi.data()
                                      : gemv                     ? xg.data()
                                                                 : xd.data();
                    for (int64_t m = 0; m < M; m++)
                        for (int64_t r = 0; r < N; r++) {
                            double ref = 0, mag = 0;
                            for (int64_t i = 0; i < K; i++) {
                                ref += (double)wd[r * K + i] * xr[m * K + i];
                                mag += std::fabs((double)wd[r * K + i] * xr[m * K + i]);
                            }
                            // q4_1/q5_1 use the activation block sum d*sum(q) stored in fp16 (as GGUF's
                            // q8_1 does): allow its rounding (2^-11 relative) on the min term.
                            const double tol = (t == type::q4_1 || t == type::q5_1 ? 1e-3 : 1e-5) * mag + 1e-5;
                            REQUIRE_MESSAGE(std::fabs(yo[m * N + r] - ref) <= tol, k->isa, " ",
                                            type_name(t), " nth=", nth, path == mm_path::gemm_i8 ? " (int8 gemm)" : gemm ? " (gemm)" : " (dot)");
                        }
                }
            }
        }
    }
}
}

TEST_CASE("row-tiled GEMV (q4_0x16, q4_kx16) of every ISA matches the file type's scalar dot products") {
    std::mt19937 rng(77);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    int own = 0;
    for (const auto &pr : {std::pair<type, type>{type::q4_0, type::q4_0x16}, {type::q4_k, type::q4_kx16}, {type::q6_k, type::q6_kx16}}) {
        const type from = pr.first, to = pr.second, vdt = type_get(from)->vec_dot_type;
        REQUIRE(type_get(to)->vec_dot_type == vdt);
        for (int64_t K : {32, 64, 96, 256, 800, 1024, 2048, 4096}) {
            if (K % type_get(from)->block_size || (quick() && K != 96 && K != 256 && K != 2048)) continue;
            for (int rep = 0; rep < 4; rep++) {
                const int64_t N = 16;
                std::vector<float> w(K * N), x(K);
                for (auto &v : w) v = nd(rng) * (rep == 3 ? 100.0f : 1.0f) + (rep == 1 ? 0.7f : 0.0f); // rep 1: minimums matter
                for (auto &v : x) v = nd(rng) * (rep == 2 ? 50.0f : 1.0f);
                const size_t rs = row_size(from, K);
                std::vector<uint8_t> q(rs * N), t(rs * N), xq(row_size(vdt, K));
                type_get(from)->from_float(w.data(), q.data(), K * N);
                REQUIRE(rows_repack(from, to, q.data(), t.data(), K, N));
                type_get(vdt)->from_float(x.data(), xq.data(), K);
                std::vector<float> wd(K * N), xd(K);
                type_get(from)->to_float(q.data(), wd.data(), K * N);
                type_get(vdt)->to_float(xq.data(), xd.data(), K);
                for (const isa_kernels *k : isas()) {
                    const tile_gemv_fn f = k->tile_gemv[(int)to];
                    const bool have = f != nullptr;
                    REQUIRE_MESSAGE(have, k->isa);
                    if (f != kernels_generic()->tile_gemv[(int)to]) own++;
                    std::vector<uint8_t> xp(GEMV_ACT_BYTES(K));
                    for (int ith = 0; ith < 3; ith++) k->gemv_prep[(int)to](K, x.data(), xp.data(), ith, 3);
                    float y[16];
                    f(K, t.data(), xp.data(), y);
                    for (int r = 0; r < N; r++) {
                        double mag = 0;
                        for (int64_t i = 0; i < K; i++) mag += std::fabs((double)wd[r * K + i] * xd[i]);
                        const float ref = kernels_generic()->dot[(int)from](K, q.data() + r * rs, xq.data());
                        REQUIRE_MESSAGE(std::fabs(y[r] - ref) <= 1e-5 * mag + 1e-6, k->isa, " ", type_name(to), " K=", K,
                                        " row ", r, " got ", y[r], " ref ", ref);
                    }
                }
            }
        }
    }
    if (kernels_avx512()) CHECK(own > 0); // the AVX-512 kernels were exercised, not only the reference
    MESSAGE("row-tiled ISA kernels checked: ", own);
}

TEST_CASE("mul_mat with row-tiled weights: as the file type on every path, decode equal to batch-invariant columns") {
    std::mt19937 rng(78);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t K = 512, N = 48;
    for (const auto &pr : {std::pair<type, type>{type::q4_0, type::q4_0x16}, {type::q4_k, type::q4_kx16}, {type::q6_k, type::q6_kx16}})
    for (int64_t M : {1, 3, 9, 17}) {
        const type from = pr.first, to = pr.second;
        CAPTURE(M);
        graph g;
        tensor *w0 = g.new_tensor_2d(from, K, N, "w0");
        tensor *w1 = g.new_tensor_2d(to, K, N, "w1");
        tensor *x = g.new_tensor_2d(type::f32, K, M, "x");
        std::vector<float> wf(K * N), xf(K * M);
        for (auto &v : wf) v = nd(rng);
        for (auto &v : xf) v = nd(rng);
        const size_t rs = row_size(from, K);
        std::vector<uint8_t> q(rs * N), t(rs * N);
        type_get(from)->from_float(wf.data(), q.data(), K * N);
        REQUIRE(rows_repack(from, to, q.data(), t.data(), K, N));
        w0->data = q.data(), w1->data = t.data(), x->data = xf.data();
        tensor *y0 = g.mul_mat(w0, x), *y1 = g.mul_mat(w1, x);
        g.mark_output(y0), g.mark_output(y1);
        arena mem;
        REQUIRE(plan_memory(g, mem).is_ok());
        for (const isa_kernels *k : isas())
            for (int nth : {1, 2, 3}) {
                if (one_thread() && nth > 1) continue;
                for (bool inv : {false, true}) {
                    compute_options opt;
                    opt.n_threads = nth;
                    opt.batch_invariant = inv;
                    REQUIRE(cpu_compute(g.nodes(), opt, k).is_ok());
                    const float *a = (const float *)y0->data, *b = (const float *)y1->data;
                    const bool i8 = !inv && cpu_mul_mat_path(k, to, M) == mm_path::gemm_i8 &&
                                    cpu_mul_mat_path(k, from, M) == mm_path::gemm_i8;
                    for (int64_t i = 0; i < M * N; i++) {
                        if (i8) // the same panels and activations reach the same GEMM kernel
                            REQUIRE_MESSAGE(a[i] == b[i], k->isa, " ", type_name(to), " nth=", nth);
                        else
                            REQUIRE_MESSAGE(std::fabs(a[i] - b[i]) <= 1e-4f * (1.0f + std::fabs(a[i])), k->isa, " ",
                                            type_name(to), " nth=", nth, " inv=", inv);
                    }
                    // Batch-invariant columns are what decoding each token alone gives.
                    if (inv) {
                        std::vector<float> cols(b, b + M * N);
                        for (int64_t m = 0; m < M; m++) {
                            graph g1;
                            tensor *w = g1.new_tensor_2d(to, K, N, "w");
                            tensor *x1 = g1.new_tensor_2d(type::f32, K, 1, "x");
                            w->data = t.data(), x1->data = xf.data() + m * K;
                            tensor *y = g1.mul_mat(w, x1);
                            g1.mark_output(y);
                            arena mem1;
                            REQUIRE(plan_memory(g1, mem1).is_ok());
                            compute_options o1;
                            o1.n_threads = nth;
                            REQUIRE(cpu_compute(g1.nodes(), o1, k).is_ok());
                            REQUIRE(std::memcmp(y->data, cols.data() + m * N, N * sizeof(float)) == 0);
                        }
                    }
                }
            }
    }
}

TEST_CASE("decode activations prepared once are reused only while the work area still holds them") {
    // y1 = A x, y2 = A x (reuses the prepared x), y3 = B x with B on the dot path (quantizes x into
    // the same work area), y4 = A x (must prepare again), y5 = A (x * 1): a different input.
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (type ta : {type::q4_0, type::q4_k, type::q4_0x16, type::q4_kx16, type::q6_kx16}) {
        const int64_t K = 512, N = 64;
        graph g;
        tensor *wa = g.new_tensor_2d(ta, K, N, "a");
        tensor *wb = g.new_tensor_2d(type::q8_0, K, N, "b");
        tensor *x = g.new_tensor_2d(type::f32, K, 1, "x");
        std::vector<float> af(K * N), bf(K * N), xf(K);
        for (auto &v : af) v = nd(rng);
        for (auto &v : bf) v = nd(rng);
        for (auto &v : xf) v = nd(rng);
        std::vector<uint8_t> aq(row_size(ta, K) * N), bq(row_size(type::q8_0, K) * N);
        if (type_is_runtime_only(ta)) { // quantized as the file type, then tiled
            const type from = ta == type::q4_0x16 ? type::q4_0 : ta == type::q4_kx16 ? type::q4_k : type::q6_k;
            REQUIRE(type_tiled_for(from) == ta);
            std::vector<uint8_t> rows(aq.size());
            type_get(from)->from_float(af.data(), rows.data(), K * N);
            REQUIRE(rows_repack(from, ta, rows.data(), aq.data(), K, N));
        } else {
            type_get(ta)->from_float(af.data(), aq.data(), K * N);
        }
        type_get(type::q8_0)->from_float(bf.data(), bq.data(), K * N);
        wa->data = aq.data(), wb->data = bq.data(), x->data = xf.data();
        tensor *y1 = g.mul_mat(wa, x), *y2 = g.mul_mat(wa, x), *y3 = g.mul_mat(wb, x), *y4 = g.mul_mat(wa, x);
        tensor *y5 = g.mul_mat(wa, g.scale(x, 2.0f));
        for (tensor *t : {y1, y2, y3, y4, y5}) g.mark_output(t);
        arena mem;
        REQUIRE(plan_memory(g, mem).is_ok());
        for (const isa_kernels *k : isas())
            for (int nth : {1, 2}) {
                compute_options opt;
                opt.n_threads = nth;
                REQUIRE(cpu_compute(g.nodes(), opt, k).is_ok());
                const float *o1 = (const float *)y1->data, *o2 = (const float *)y2->data, *o4 = (const float *)y4->data;
                const float *o5 = (const float *)y5->data;
                for (int64_t r = 0; r < N; r++) {
                    REQUIRE(o2[r] == o1[r]);
                    REQUIRE(o4[r] == o1[r]);
                    // x * 2 quantizes to the same integers with twice the scale
                    REQUIRE_MESSAGE(std::fabs(o5[r] - 2.0f * o1[r]) <= 1e-4f * (1.0f + std::fabs(o1[r])), k->isa, " ", type_name(ta));
                }
            }
    }
}

TEST_CASE("int8 GEMM: packed panels hold the weights exactly; ISA micro-kernels match the reference") {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::uniform_int_distribution<int> any8(-127, 127);
    int i8_kernels_checked = 0;
    const type packable[] = {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0, type::q2_k,
                             type::q3_k, type::q4_k, type::q5_k, type::q6_k, type::tq1_0, type::tq2_0};
    for (type t : packable) {
        const int sb = i8_subblock(t);
        REQUIRE((sb == 16 || sb == 32));
        const int64_t K = 512;
        for (int nr : {16, 11, 1}) {
            std::vector<float> wf(K * nr);
            for (auto &v : wf) v = nd(rng);
            const size_t rb = row_size(t, K);
            std::vector<uint8_t> wq(rb * nr);
            type_get(t)->from_float(wf.data(), wq.data(), K * nr);
            std::vector<float> wd(K * nr);
            type_get(t)->to_float(wq.data(), wd.data(), K * nr);
            std::vector<uint8_t> panel(i8_panel_bytes(K, sb));
            i8_pack_panel(t, wq.data(), rb, nr, K, panel.data());
            // a*q + b reproduces the format's own dequantization (to float rounding).
            const float *pa = (const float *)(panel.data() + K * 16), *pb = pa + (K / sb) * 16;
            for (int r = 0; r < 16; r++)
                for (int64_t k = 0; k < K; k++) {
                    const int64_t j = k / sb;
                    const float v = pa[j * 16 + r] * panel[(k / 4) * 64 + 4 * r + k % 4] + pb[j * 16 + r];
                    const float ref = r < nr ? wd[r * K + k] : 0.0f;
                    REQUIRE_MESSAGE(std::fabs(v - ref) <= 1e-6f * (1 + std::fabs(ref)), type_name(t), " r=", r, " k=", k);
                }
            // Every ISA's kernel against the scalar reference, for each token count.
            const int M = 8;
            std::vector<int8_t> q(K * M);
            std::vector<float> d(K / sb * M), s(K / sb * M);
            for (auto &v : q) v = (int8_t)any8(rng);
            for (auto &v : d) v = std::fabs(nd(rng)) * 0.01f;
            for (auto &v : s) v = nd(rng);
            const i8_acts xa{q.data(), d.data(), s.data(), (size_t)K, (size_t)(K / sb), (size_t)(K / sb)};
            for (const isa_kernels *k : isas()) {
                if (!k->gemm_i8 || i8_max_code(t) > k->gemm_i8_max_code) continue;
                i8_kernels_checked++;
                for (int nt = 1; nt <= M; nt++) {
                    std::vector<float> y(M * 20, -1.0f), yr(M * 20, -1.0f);
                    k->gemm_i8(K, sb, panel.data(), xa, nt, y.data(), 20, nr);
                    gemm_i8_generic(K, sb, panel.data(), xa, nt, yr.data(), 20, nr);
                    for (int i = 0; i < M * 20; i++)
                        REQUIRE_MESSAGE(std::fabs(y[i] - yr[i]) <= 1e-4f * (1 + std::fabs(yr[i])), k->isa, " ",
                                        type_name(t), " nt=", nt, " nr=", nr, " i=", i);
                }
            }
        }
    }
    MESSAGE("int8 GEMM micro-kernels checked (ISA x type x rows): ", i8_kernels_checked);
    if (kernels_avx512() || kernels_neon_dotprod()) CHECK(i8_kernels_checked > 0);
}
