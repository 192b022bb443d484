// test-lut.cpp — tern's LUT weight types and table-lookup GEMV: the documented byte layout, the
// reference quantizers, every ISA's kernels against the scalar reference, the reference against a
// float product (within the int8 tables' rounding bound), and the matmul op on 1-3 threads.
#include "test-util.h"

#include "ggml/gguf.h"
#include "ggml/plan.h"
#include "ggml/quant-ref.h"
#include "kernels-cpu/cpu-backend.h"
#include "kernels-cpu/cpu-ops.h"
#include "kernels-cpu/lut.h"

#include "tern.h"

#include <cmath>
#include <memory>
#include <cstring>
#include <random>

using namespace tern;

namespace {

const type k_lut_types[] = {type::tl1, type::tl2, type::tl3, type::tl4, type::tlt};

std::vector<const isa_kernels *> isas() {
    std::vector<const isa_kernels *> v{kernels_generic()};
    for (const isa_kernels *k : {kernels_avx2(), kernels_avx512(), kernels_neon(), kernels_neon_dotprod()})
        if (k) v.push_back(k);
    return v;
}

// TERN_TEST_ONE_THREAD=1: the matmul runs on one thread only (qemu-user, see test-kernels.cpp).
bool one_thread() {
    const char *q = std::getenv("TERN_TEST_ONE_THREAD");
    return q && *q && *q != '0';
}

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> v(n);
    for (auto &x : v) x = nd(rng);
    return v;
}

// Quantizes N rows (N % 32 == 0) of K floats into a tensor's bytes, and dequantizes them back.
std::vector<uint8_t> quantize(type t, const std::vector<float> &w, int64_t K, int64_t N) {
    std::vector<uint8_t> q(row_size(t, K) * N);
    rows_from_float(t, w.data(), q.data(), K, 0, N);
    return q;
}
std::vector<float> dequantize(type t, const std::vector<uint8_t> &q, int64_t K, int64_t N) {
    std::vector<float> w(K * N);
    for (int64_t r = 0; r < N; r += LUT_TILE_ROWS) rows_to_float(t, q.data(), K, r, LUT_TILE_ROWS, w.data() + r * K);
    return w;
}

} // namespace

TEST_SUITE("lut") {

TEST_CASE("LUT types: sizes and the documented code layout (quad pairs, paired planes, nibbles)") {
    CHECK(row_size(type::tl2, 128) == 2 * (4 + 16));
    CHECK(row_size(type::tl4, 64) == 2 * 4 + 32); // two scale sets per 64 columns
    CHECK(row_size(type::tlt, 192) == 3 * (1 + 16) + 4);
    CHECK(type_get(type::tl1)->tile_rows == 32);
    const int64_t K = 64;
    // tl2, one tile: row 17 holds q = 3 at column 4*5 + 2 (quad 5), row 2 q = 1 at column 3
    // (quad 0); every other weight is the row's minimum (q = 0).
    {
        std::vector<float> w(32 * K, 0.0f);
        w[17 * K + 22] = 3.0f;
        w[2 * K + 3] = 1.0f;
        w[2 * K + 4] = 3.0f; // so that row 2's step is 1 and q = 1 at column 3
        const auto q = quantize(type::tl2, w, K, 32);
        const uint8_t *codes = q.data() + 32 * 4; // after fp16 d[32] and m[32]
        std::vector<uint8_t> want(32 * 2 * 8, 0);
        // quad 5: pair block v = 2 (64 bytes each), lane 1; row 17 -> half h = 1, e = 1, low nibble;
        // planes 0 and 1 in bytes 2e and 2e+1: both bits set -> code 0b0100 in each
        want[2 * 64 + 32 + 16 + 2] = 0x04;
        want[2 * 64 + 32 + 16 + 3] = 0x04;
        // row 2: quad 0 (block 0, lane 0, half 0, e = 2): q = 1 at column 3 -> plane 0 code 0b1000;
        // column 4 (quad 1, lane 1) q = 3 -> code 0b0001 in both planes
        want[4] = 0x08;
        want[16 + 4] = 0x01;
        want[16 + 5] = 0x01;
        for (size_t i = 0; i < want.size(); i++) {
            CAPTURE(i);
            CHECK(codes[i] == want[i]);
        }
        const auto back = dequantize(type::tl2, q, K, 32);
        for (size_t i = 0; i < w.size(); i++) CHECK(back[i] == doctest::Approx(w[i]).epsilon(1e-6));
    }
    // tl1 (a single plane): row 25 -> second byte of the pair (8j + e, j = 1, e = 1), high nibble.
    {
        std::vector<float> w(32 * K, 0.0f);
        w[25 * K + 1] = 1.0f; // quad 0, column 1
        const auto q = quantize(type::tl1, w, K, 32);
        const uint8_t *codes = q.data() + 32 * 4;
        for (int i = 0; i < 8 * 32; i++) {
            CAPTURE(i);
            CHECK(codes[i] == (i == 3 ? 0x20 : 0));
        }
    }
}

TEST_CASE("LUT types: round-trip error falls with the bit count; tlt is exact on ternary rows") {
    const int64_t K = 320, N = 64;
    const auto w = gaussian(K * N, 5);
    double prev = 1e9;
    for (type t : {type::tl1, type::tl2, type::tl3, type::tl4}) {
        const auto back = dequantize(t, quantize(t, w, K, N), K, N);
        double se = 0, ss = 0;
        for (size_t i = 0; i < w.size(); i++) se += (back[i] - w[i]) * (back[i] - w[i]), ss += w[i] * w[i];
        const double rel = std::sqrt(se / ss);
        MESSAGE(std::string(type_name(t)) << ": relative RMS error " << rel);
        const int bits = lut_bits(t);
        CHECK(rel < 1.5 / (1 << bits)); // a B-bit grid over each group's range, with slack (the fit weights large values)
        CHECK(rel < prev * 0.62);
        prev = rel;
    }
    // Ternary values with a different scale per row (BitNet: per tensor): exact. A group with half
    // the row's scale (TQ2_0 blocks may differ) is stored to the 8-bit group scale's rounding.
    for (bool half_group : {false, true}) {
        std::vector<float> tw(K * N);
        std::mt19937 rng(7);
        for (int64_t r = 0; r < N; r++)
            for (int64_t i = 0; i < K; i++) {
                const float s = 0.01f * (1 + (r % 5)) * (half_group && i / 64 == 2 ? 0.3f : 1.0f);
                tw[r * K + i] = s * (float)((int)(rng() % 3) - 1);
            }
        const auto back = dequantize(type::tlt, quantize(type::tlt, tw, K, N), K, N);
        for (size_t i = 0; i < tw.size(); i++)
            REQUIRE(back[i] == doctest::Approx(tw[i]).epsilon(half_group && (i % K) / 64 == 2 ? 1.0 / 255 : 1e-6));
    }
}

TEST_CASE("Q4_0 and Q4_1 weights convert to tl4 without loss (one scale set per 32 columns)") {
    const int64_t K = 192, N = 64;
    for (type src : {type::q4_1, type::q4_0}) {
        // rows with a different scale per row and a few large outliers, like real weights
        auto w = gaussian(K * N, 41);
        for (int64_t r = 0; r < N; r++)
            for (int64_t i = 0; i < K; i++) w[r * K + i] *= 0.01f * (1 + r % 7) * (i % 37 == 5 ? 6.0f : 1.0f);
        std::vector<uint8_t> q(row_size(src, K) * N);
        rows_from_float(src, w.data(), q.data(), K, 0, N);
        std::vector<float> wq(K * N);
        rows_to_float(src, q.data(), K, 0, N, wq.data());
        const auto back = dequantize(type::tl4, quantize(type::tl4, wq, K, N), K, N);
        int off = 0;
        for (size_t i = 0; i < wq.size(); i++)
            off += back[i] != wq[i]; // bit for bit: the same fp16 steps and offsets, the same codes
        CHECK_MESSAGE(off == 0, std::string(type_name(src)), ": ", off, " of ", wq.size(), " weights changed");
    }
}

TEST_CASE("lut_prep: every ISA builds the reference tables bit for bit") {
    for (int64_t K : {64, 128, 576, 3200}) {
        const auto x = gaussian(K, (uint32_t)K);
        std::vector<int8_t> t0(K * 4), t1(K * 4);
        std::vector<float> s0(K / 64), s1(K / 64), x0(K / 32), x1(K / 32);
        lut_prep_generic(K, x.data(), t0.data(), s0.data(), x0.data());
        // table entries against their definition: sum_i (bit i of c ? x_i : -x_i), scaled to int8
        for (int64_t q = 0; q < K / 4; q++)
            for (int c = 0; c < 16; c++) {
                const float *p = x.data() + 4 * q;
                const float v = (c & 1 ? p[0] : -p[0]) + (c & 2 ? p[1] : -p[1]) + (c & 4 ? p[2] : -p[2]) + (c & 8 ? p[3] : -p[3]);
                REQUIRE(std::fabs(t0[q * 16 + c] * s0[q / 16] - v) <= 0.5f * s0[q / 16] * 1.0001f + 1e-6f);
            }
        for (const isa_kernels *k : isas()) {
            CAPTURE(k->isa);
            k->lut_prep(K, x.data(), t1.data(), s1.data(), x1.data());
            CHECK(t0 == t1);
            CHECK(s0 == s1);
            for (int64_t h = 0; h < K / 32; h++) {
                float want = 0; // the sums per 32 columns
                for (int i = 0; i < 32; i++) want += x[h * 32 + i];
                CHECK(x1[h] == doctest::Approx(want).epsilon(1e-5));
                CHECK(x1[h] == doctest::Approx(x0[h]).epsilon(1e-5));
            }
        }
    }
}

TEST_CASE("lut_gemv: the reference is within the int8 tables' rounding of the float product") {
    for (type t : k_lut_types) {
        for (int64_t K : {64, 192, 1024}) {
            const int64_t N = 32;
            const auto w = gaussian(K * N, 11 + (uint32_t)K), x = gaussian(K, 3 + (uint32_t)K);
            const auto q = quantize(t, w, K, N);
            const auto wd = dequantize(t, q, K, N);
            std::vector<int8_t> tab(K * 4);
            std::vector<float> ts(K / 64), xs(K / 32), y(32);
            lut_prep_generic(K, x.data(), tab.data(), ts.data(), xs.data());
            lut_gemv_generic(t, K, q.data(), tab.data(), ts.data(), xs.data(), y.data());
            const int bits = lut_bits(t);
            for (int r = 0; r < 32; r++) {
                double ref = 0, bound = 0, mag = 0;
                for (int64_t i = 0; i < K; i++) ref += (double)wd[r * K + i] * x[i], mag += std::fabs(wd[r * K + i] * x[i]);
                // each table entry is off by at most tscale/2; a row-group sums 16 quads per plane
                // with weights 2^b, times d/2: |err| <= sum_g d_g * tscale_g * (2^B - 1) * 4
                std::vector<float> one(K);
                for (int64_t g = 0; g < K / 64; g++) {
                    float dmax = 0; // d of this row and group = the largest step between levels
                    for (int i = 0; i < 64; i++)
                        for (int j = 0; j < 64; j++)
                            dmax = std::max(dmax, std::fabs(wd[r * K + g * 64 + i] - wd[r * K + g * 64 + j]));
                    bound += dmax / ((1 << bits) - 1) * ts[g] * ((1 << bits) - 1) * 4;
                }
                CHECK_MESSAGE(std::fabs(y[r] - ref) <= bound + 1e-5 * mag + 1e-6, std::string(type_name(t)), " K=", K, " r=", r);
            }
        }
    }
}

TEST_CASE("lut_gemv: every ISA matches the scalar reference") {
    for (type t : k_lut_types)
        for (int64_t K : {64, 128, 320, 576, 1024, 3200}) {
            const int64_t N = 64;
            const auto w = gaussian(K * N, 21 + (uint32_t)K, K == 320 ? 100.0f : 1.0f), x = gaussian(K, 4);
            const auto q = quantize(t, w, K, N);
            const auto wd = dequantize(t, q, K, N);
            std::vector<int8_t> tab(K * 4);
            std::vector<float> ts(K / 64), xs(K / 32), y0(32), y1(32);
            lut_prep_generic(K, x.data(), tab.data(), ts.data(), xs.data());
            for (int tile = 0; tile < 2; tile++) {
                std::vector<double> mag(32, 0.0);
                for (int r = 0; r < 32; r++)
                    for (int64_t i = 0; i < K; i++) mag[r] += std::fabs(wd[(tile * 32 + r) * K + i] * x[i]);
                const uint8_t *tp = q.data() + tile * 32 * row_size(t, K);
                lut_gemv_generic(t, K, tp, tab.data(), ts.data(), xs.data(), y0.data());
                for (const isa_kernels *k : isas()) {
                    k->lut_gemv(t, K, tp, tab.data(), ts.data(), xs.data(), y1.data());
                    for (int r = 0; r < 32; r++)
                        REQUIRE_MESSAGE(std::fabs(y1[r] - y0[r]) <= 1e-5 * mag[r] + 1e-6, k->isa, " ",
                                        std::string(type_name(t)), " K=", K, " r=", r);
                    if (k->lut_gemv2) { // the two-token kernel: this row twice, once next to a zero row
                        std::vector<float> z(K, 0.0f), ya(32), yb(32);
                        std::vector<int8_t> tz(K * 4);
                        std::vector<float> tsz(K / 64), xsz(K / 32);
                        lut_prep_generic(K, z.data(), tz.data(), tsz.data(), xsz.data());
                        const lut_act acts[2] = {{tab.data(), ts.data(), xs.data()}, {tz.data(), tsz.data(), xsz.data()}};
                        k->lut_gemv2(t, K, tp, acts, ya.data(), yb.data());
                        for (int r = 0; r < 32; r++) {
                            REQUIRE_MESSAGE(std::fabs(ya[r] - y0[r]) <= 1e-5 * mag[r] + 1e-6, k->isa, " gemv2 ",
                                            std::string(type_name(t)), " K=", K, " r=", r);
                            REQUIRE(std::fabs(yb[r]) <= 1e-6);
                        }
                        const lut_act swapped[2] = {acts[1], acts[0]};
                        k->lut_gemv2(t, K, tp, swapped, yb.data(), ya.data());
                        for (int r = 0; r < 32; r++) REQUIRE(std::fabs(ya[r] - y0[r]) <= 1e-5 * mag[r] + 1e-6);
                    }
                }
            }
        }
}

TEST_CASE("mul_mat with LUT weights: GEMV and batches on 1-3 threads (the GEMM path when TERN_GEMM=1)") {
    for (type t : k_lut_types)
        for (auto shape : {std::array<int64_t, 3>{64, 32, 1}, {192, 96, 3}, {256, 64, 9}, {128, 32, 4}, {64, 320, 1}}) {
            const int64_t K = shape[0], N = shape[1], M = shape[2];
            const auto wf = gaussian(K * N, 31), xf = gaussian(K * M, 32);
            auto wq = quantize(t, wf, K, N);
            const auto wd = dequantize(t, wq, K, N);
            graph g;
            tensor *w = g.new_tensor_2d(t, K, N, "w");
            tensor *x = g.new_tensor_2d(type::f32, K, M, "x");
            w->data = wq.data();
            x->data = (void *)xf.data();
            tensor *y = g.mul_mat(w, x);
            g.mark_output(y);
            arena mem;
            REQUIRE(plan_memory(g, mem).is_ok());
            for (const isa_kernels *k : isas())
                for (int nth : {1, 2, 3}) {
                    if (nth > 1 && one_thread()) continue;
                    compute_options opt;
                    opt.n_threads = nth;
                    REQUIRE(cpu_compute(g.nodes(), opt, k).is_ok());
                    const bool gemm = cpu_mul_mat_uses_gemm(k, t, M);
                    for (int64_t m = 0; m < M; m++) {
                        std::vector<int8_t> tab(K * 4);
                        std::vector<float> ts(K / 64), xs(K / 32), yr(32);
                        lut_prep_generic(K, xf.data() + m * K, tab.data(), ts.data(), xs.data());
                        for (int64_t r0 = 0; r0 < N; r0 += 32) {
                            lut_gemv_generic(t, K, wq.data() + r0 * row_size(t, K), tab.data(), ts.data(), xs.data(), yr.data());
                            for (int r = 0; r < 32; r++) {
                                double ref = yr[r], mag = 0;
                                if (gemm) { // f32 activations times dequantized weights
                                    ref = 0;
                                    for (int64_t i = 0; i < K; i++) ref += (double)wd[(r0 + r) * K + i] * xf[m * K + i];
                                }
                                for (int64_t i = 0; i < K; i++) mag += std::fabs(wd[(r0 + r) * K + i] * xf[m * K + i]);
                                REQUIRE_MESSAGE(std::fabs(((float *)y->data)[m * N + r0 + r] - ref) <= 1e-5 * mag + 1e-5,
                                                k->isa, " ", std::string(type_name(t)), " nth=", nth, gemm ? " (gemm)" : " (lut)");
                            }
                        }
                    }
                }
        }
}
}

TEST_SUITE("lut") {

TEST_CASE("TQ2_0 and TQ1_0 ternary weights convert to tlt without loss") {
    const std::string src = test_util::model_path("bitnet-tiny-tq2_0.gguf");
    SKIP_IF_MISSING(src);
    const std::string tq1 = test_util::temp_path("bt-tq1.gguf"), tlt = test_util::temp_path("bt-tlt.gguf");
    REQUIRE(tern_model_quantize(src.c_str(), tq1.c_str(), "TQ1_0", one_thread() ? 1 : 2, nullptr, nullptr) == TERN_OK);
    REQUIRE(tern_model_quantize(tq1.c_str(), tlt.c_str(), "TLT", one_thread() ? 1 : 2, nullptr, nullptr) == TERN_OK);
    std::unique_ptr<gguf_file> a, b;
    REQUIRE(gguf_file::open(src, &a).is_ok());
    REQUIRE(gguf_file::open(tlt, &b).is_ok());
    int converted = 0;
    for (const auto &ta : a->tensors) {
        const gguf_tensor_info *tb = b->find_tensor(ta.name);
        REQUIRE(tb);
        if (ta.ttype != type::tq2_0) continue;
        CHECK(tb->ttype == type::tlt);
        const int64_t K = ta.ne[0], N = ta.ne[1];
        std::vector<float> fa(K * 32), fb(K * 32);
        double worst = 0;
        for (int64_t r = 0; r < N; r += 32) {
            rows_to_float(ta.ttype, a->tensor_data(ta), K, r, 32, fa.data());
            rows_to_float(tb->ttype, b->tensor_data(*tb), K, r, 32, fb.data());
            for (int64_t i = 0; i < K * 32; i++)
                worst = std::max(worst, std::fabs((double)fb[i] - fa[i]) / std::max(1e-30, (double)std::fabs(fa[i])));
        }
        CHECK_MESSAGE(worst <= 1e-6, ta.name, " worst relative error ", worst);
        converted++;
    }
    CHECK(converted == 28);
    std::remove(tq1.c_str());
    std::remove(tlt.c_str());
}
}
