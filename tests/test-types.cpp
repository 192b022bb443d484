// test-types.cpp — type table, fp16/bf16 conversion and the reference (de)quantizers:
// byte-exact block layouts and bounded round-trip error.
#include "test-util.h"

#include "ggml/fp16.h"
#include "ggml/quant-ref.h"
#include "ggml/type-table.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace tern;

TEST_SUITE("types") {

TEST_CASE("fp16 conversion: exhaustive round trip and rounding") {
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = fp16_to_fp32((fp16_t)h);
        if (std::isnan(f)) continue;
        REQUIRE_MESSAGE(fp32_to_fp16(f) == h, "half ", h);
    }
    CHECK(fp32_to_fp16(1.0f) == 0x3C00);
    CHECK(fp32_to_fp16(65504.0f) == 0x7BFF);
    CHECK(fp32_to_fp16(1e6f) == 0x7C00);                     // overflow -> inf
    CHECK(fp32_to_fp16(1.0f + 1.0f / 2048.0f) == 0x3C00);    // tie -> even
    CHECK(fp32_to_fp16(1.0f + 3.0f / 2048.0f) == 0x3C02);    // tie -> even (up)
    CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));   // smallest subnormal
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);   // tie to even -> 0
    CHECK(fp32_to_fp16(std::ldexp(1.5f, -25)) == 0x0001);
}

TEST_CASE("round_away is std::lround (half away from zero) for the activation quantizers") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> ud(-200.0f, 200.0f);
    std::vector<float> xs = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -127.5f, 0.49999997f, -0.49999997f,
                             8388607.5f, -8388607.5f, 16777216.0f, 1e9f, -1e9f};
    for (int i = 0; i < 100000; i++) xs.push_back(ud(rng));
    for (int i = -600; i <= 600; i++) xs.push_back(i * 0.25f); // every tie in range
    for (float x : xs) REQUIRE_MESSAGE(round_away(x) == (int)std::lround(x), x);
}

TEST_CASE("bf16 conversion") {
    CHECK(fp32_to_bf16(1.0f) == 0x3F80);
    CHECK(bf16_to_fp32(0x3F80) == 1.0f);
    CHECK(fp32_to_bf16(bits_f32(0x3F808000)) == 0x3F80); // tie -> even
    CHECK(fp32_to_bf16(bits_f32(0x3F818000)) == 0x3F82);
    CHECK(std::isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
}

TEST_CASE("type table rows match GGUF block sizes") {
    CHECK(type_get(type::q4_0)->type_size == 18);
    CHECK(type_get(type::q4_1)->type_size == 20);
    CHECK(type_get(type::q8_0)->type_size == 34);
    CHECK(type_get(type::q6_k)->type_size == 210);
    CHECK(type_get(type::tq2_0)->type_size == 66);
    CHECK(type_get(type::bf16)->type_size == 2);
    CHECK(type_get(99u) == nullptr);
    CHECK(type_get(4u) == nullptr); // ids 4 and 5 are retired in GGUF
    type t;
    CHECK(type_from_name("Q4_1", &t));
    CHECK(t == type::q4_1);
    CHECK(!type_from_name("q9_9", &t));
    CHECK(row_size(type::q4_0, 64) == 36);
}

TEST_CASE("q8_0 and q4_0 blocks are byte-exact for known input") {
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16) / 16.0f; // -1 .. 0.9375
    block_q8_0 q8;
    type_get(type::q8_0)->from_float(x, &q8, 32);
    CHECK(q8.d == fp32_to_fp16(1.0f / 127.0f));
    CHECK(q8.qs[0] == -127);
    CHECK(q8.qs[16] == 0);
    CHECK(q8.qs[31] == (int8_t)std::lround(0.9375f * 127.0f));
    block_q4_0 q4;
    type_get(type::q4_0)->from_float(x, &q4, 32);
    // max magnitude is -1 -> d = -1/-8 = 0.125, element 0 -> q = 0 (nibble), element 16 -> 8
    CHECK(fp16_to_fp32(q4.d) == 0.125f);
    CHECK((q4.qs[0] & 15) == 0);
    CHECK((q4.qs[0] >> 4) == 8);
    float y[32];
    type_get(type::q4_0)->to_float(&q4, y, 32);
    for (int i = 0; i < 32; i++) CHECK(std::fabs(y[i] - x[i]) <= 0.0625f + 1e-6f);
}

TEST_CASE("reference quantizers: round-trip error within a block's step") {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (type t : {type::f16, type::bf16, type::q8_0, type::q8_1, type::q4_0, type::q4_1}) {
        const std::string tname = type_name(t);
        CAPTURE(tname);
        const type_traits *tr = type_get(t);
        const int n = 256;
        std::vector<float> x(n), y(n);
        for (auto &v : x) v = nd(rng);
        std::vector<uint8_t> q(row_size(t, n));
        tr->from_float(x.data(), q.data(), n);
        tr->to_float(q.data(), y.data(), n);
        for (int b = 0; b < n; b += 32) {
            float amax = 0, mn = x[b], mx = x[b];
            for (int j = b; j < b + 32; j++) {
                amax = std::max(amax, std::fabs(x[j]));
                mn = std::min(mn, x[j]);
                mx = std::max(mx, x[j]);
            }
            float bound;
            switch (t) {
            case type::f16: bound = amax * 1e-3f; break;
            case type::bf16: bound = amax * 8e-3f; break;
            case type::q8_0:
            // half a step, plus the fp16 rounding of the scale times the largest code
            case type::q8_1: bound = amax / 127.0f * 0.57f + 1e-6f; break;
            // the positive end clamps at code 7 when the largest magnitude is negative: a full step
            case type::q4_0: bound = amax / 8.0f * 1.01f + amax * 2e-3f; break;
            default: bound = (mx - mn) / 15.0f * 0.51f + (mx - mn) * 8e-3f + std::fabs(mn) * 1e-3f; break;
            }
            for (int j = b; j < b + 32; j++) CHECK(std::fabs(y[j] - x[j]) <= bound);
        }
    }
}

TEST_CASE("every computable format: round-trip RMS error on Gaussian weights") {
    // Bounds: about 1.15x what tern's quantizers reach (measured), well below the next-coarser format.
    const std::pair<type, double> cases[] = {
        {type::q8_0, 0.0062}, {type::q5_0, 0.050}, {type::q5_1, 0.044}, {type::q4_0, 0.100}, {type::q4_1, 0.091},
        {type::q2_k, 0.31},   {type::q3_k, 0.167}, {type::q4_k, 0.084}, {type::q5_k, 0.042}, {type::q6_k, 0.0205},
        {type::q8_k, 0.0083}};
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int n = 256 * 32;
    std::vector<float> x(n), y(n);
    for (auto &v : x) v = nd(rng);
    for (const auto &c : cases) {
        const std::string tname = type_name(c.first);
        CAPTURE(tname);
        const type_traits *tr = type_get(c.first);
        REQUIRE((tr->to_float && tr->from_float));
        std::vector<uint8_t> q(row_size(c.first, n));
        tr->from_float(x.data(), q.data(), n);
        tr->to_float(q.data(), y.data(), n);
        double e = 0;
        for (int i = 0; i < n; i++) e += (double)(x[i] - y[i]) * (x[i] - y[i]);
        CHECK(std::sqrt(e / n) <= c.second);
    }
}

TEST_CASE("K-quants: zero and constant blocks survive, scales decode in range") {
    for (type t : {type::q2_k, type::q3_k, type::q4_k, type::q5_k, type::q6_k, type::tq1_0, type::tq2_0}) {
        const std::string tname = type_name(t);
        CAPTURE(tname);
        std::vector<float> x(256, 0.0f), y(256, 1.0f);
        std::vector<uint8_t> q(row_size(t, 256));
        type_get(t)->from_float(x.data(), q.data(), 256);
        type_get(t)->to_float(q.data(), y.data(), 256);
        for (float v : y) CHECK(v == 0.0f);
        for (int i = 0; i < 256; i++) x[i] = (i % 3 - 1) * 0.5f; // ternary pattern: exact in every format
        type_get(t)->from_float(x.data(), q.data(), 256);
        type_get(t)->to_float(q.data(), y.data(), 256);
        for (int i = 0; i < 256; i++) CHECK(std::fabs(y[i] - x[i]) <= 0.5f * 0.01f);
    }
}

TEST_CASE("ternary formats are exact for ternary weights and match the documented bit layout") {
    std::mt19937 rng(3);
    std::vector<float> x(512), y(512);
    for (auto &v : x) v = (float)((int)(rng() % 3) - 1) * 0.25f;
    x[0] = 0.25f; // both blocks reach the scale
    x[256] = -0.25f;
    for (type t : {type::tq1_0, type::tq2_0}) {
        std::vector<uint8_t> q(row_size(t, 512));
        type_get(t)->from_float(x.data(), q.data(), 512);
        type_get(t)->to_float(q.data(), y.data(), 512);
        for (int i = 0; i < 512; i++) REQUIRE(y[i] == x[i]);
    }
    // tq2_0: element 128*(j/32) + 32p + j%32 lives in byte j, bits 2p (value w + 1).
    block_tq2_0 b2;
    type_get(type::tq2_0)->from_float(x.data(), &b2, 256);
    for (int i = 0; i < 256; i++) {
        const int v = (b2.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
        REQUIRE(v - 1 == (int)(x[i] / 0.25f));
    }
    // tq1_0: byte 0 holds trits of elements 0, 32, 64, 96, 128 as ceil(T*256/243).
    block_tq1_0 b1;
    type_get(type::tq1_0)->from_float(x.data(), &b1, 256);
    int T = 0;
    for (int k = 0; k < 5; k++) T = T * 3 + (int)(x[32 * k] / 0.25f) + 1;
    CHECK(b1.qs[0] == (uint8_t)((T * 256 + 242) / 243));
}

TEST_CASE("q8_k reproduces ggml's activation rounding (signed max -> -127, ties to even)") {
    std::vector<float> x(256, 0.0f);
    x[0] = -2.0f;  // the signed max maps to -127: iscale = -127 / -2 = 63.5
    x[1] = 1.0f;   // 63.5 -> 64 (tie to even)
    x[2] = 0.5f / 63.5f * 3.0f; // 1.5 -> 2
    x[3] = 0.5f / 63.5f * 5.0f; // 2.5 -> 2
    x[4] = 2.0f;   // +127
    block_q8_k b;
    type_get(type::q8_k)->from_float(x.data(), &b, 256);
    CHECK(b.qs[0] == -127);
    CHECK(b.qs[1] == 64);
    CHECK(b.qs[2] == 2);
    CHECK(b.qs[3] == 2);
    CHECK(b.qs[4] == 127);
    CHECK(b.bsums[0] == -127 + 64 + 2 + 2 + 127);
    CHECK(b.d == doctest::Approx(2.0f / 127.0f).epsilon(1e-6));
}

TEST_CASE("q5_0/q5_1 5th bits and K-quant scale packing") {
    // q5_0: element j's 5th bit is bit j of qh.
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16); // -16 .. 15: d = 1, q = i
    block_q5_0 b;
    type_get(type::q5_0)->from_float(x, &b, 32);
    CHECK(fp16_to_fp32(b.d) == 1.0f);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    CHECK(qh == 0xFFFF0000u); // q = i: elements 16..31 have the 5th bit
    CHECK((b.qs[3] & 15) == 3);
    CHECK((b.qs[3] >> 4) == ((19) & 15));
    // q3_k signed scales and q4_k 6-bit scale/min pairs decode to what was packed.
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> v(256);
    for (int i = 0; i < 256; i++) v[i] = nd(rng) * (1.0f + (float)(i / 16)); // growing sub-block scales
    block_q3_k b3;
    type_get(type::q3_k)->from_float(v.data(), &b3, 256);
    for (int j = 0; j < 16; j++) {
        const int s = k3_scale(b3.scales, j);
        CHECK(s >= -32);
        CHECK(s <= 31);
    }
    int smax = 0;
    for (int j = 0; j < 16; j++) smax = std::max(smax, std::abs(k3_scale(b3.scales, j)));
    CHECK(smax >= 31); // the largest sub-block takes the full range
    CHECK(std::abs(k3_scale(b3.scales, 0)) * 4 < std::abs(k3_scale(b3.scales, 15)));
    block_q4_k b4;
    type_get(type::q4_k)->from_float(v.data(), &b4, 256);
    int sc7, mn7, sc0, mn0;
    k4_scale_min(b4.scales, 7, &sc7, &mn7);
    k4_scale_min(b4.scales, 0, &sc0, &mn0);
    CHECK(sc7 >= 60); // the largest sub-block takes (nearly) the full 6-bit range
    CHECK(sc0 < sc7);
}

TEST_CASE("q4_0x16: the repack is exact, in the documented byte order, and refuses other shapes") {
    std::mt19937 rng(41);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t K : {32, 96, 2048})
        for (int64_t N : {16, 48}) {
            CAPTURE(K);
            CAPTURE(N);
            std::vector<float> w(K * N);
            for (auto &v : w) v = nd(rng) * (rng() % 7 == 0 ? 30.0f : 1.0f);
            const size_t rs = row_size(type::q4_0, K);
            REQUIRE(row_size(type::q4_0x16, K) == rs);
            std::vector<uint8_t> q(rs * N), t(rs * N), back(rs);
            type_get(type::q4_0)->from_float(w.data(), q.data(), K * N);
            REQUIRE(rows_repack(type::q4_0, type::q4_0x16, q.data(), t.data(), K, N));
            // Byte order (blocks.h): row r's nibble byte j of block b at qs[64*(j/4) + 4r + j%4].
            for (int64_t r = 0; r < N; r++)
                for (int64_t b = 0; b < K / 32; b++) {
                    const block_q4_0 &src = ((const block_q4_0 *)(q.data() + r * rs))[b];
                    const block_q4_0x16 &dst = ((const block_q4_0x16 *)(t.data() + r / 16 * 16 * rs))[b];
                    REQUIRE(dst.d[r % 16] == src.d);
                    for (int j = 0; j < 16; j++) REQUIRE(dst.qs[64 * (j / 4) + 4 * (r % 16) + j % 4] == src.qs[j]);
                }
            // Same values through the tile dequantizer, one row or a run of rows at a time.
            std::vector<float> a(K * N), b(K * 5);
            type_get(type::q4_0)->to_float(q.data(), a.data(), K * N);
            for (int64_t r = 0; r < N; r++) {
                rows_to_float(type::q4_0x16, t.data(), K, r, 1, b.data());
                REQUIRE(std::memcmp(b.data(), a.data() + r * K, K * sizeof(float)) == 0);
                q4_0x16_unpack_row(t.data() + r / 16 * 16 * rs, K, (int)(r % 16), back.data());
                REQUIRE(std::memcmp(back.data(), q.data() + r * rs, rs) == 0);
            }
            if (N >= 32) { // a run inside the second tile
                rows_to_float(type::q4_0x16, t.data(), K, 16 + 3, 5, b.data());
                CHECK(std::memcmp(b.data(), a.data() + 19 * K, 5 * K * sizeof(float)) == 0);
            }
            // In place gives the same bytes; quantizing a tile directly too.
            std::vector<uint8_t> ip = q;
            REQUIRE(rows_repack_inplace(type::q4_0, type::q4_0x16, ip.data(), K, N));
            CHECK(ip == t);
            std::vector<uint8_t> tq(rs * 16);
            type_get(type::q4_0x16)->tile_from_float(w.data(), tq.data(), K);
            CHECK(std::memcmp(tq.data(), t.data(), rs * 16) == 0);
        }
    std::vector<uint8_t> buf(1 << 16);
    CHECK_FALSE(rows_repack(type::q4_1, type::q4_0x16, buf.data(), buf.data() + 32768, 64, 16)); // other source type
    CHECK_FALSE(rows_repack(type::q4_0, type::q4_0x16, buf.data(), buf.data() + 32768, 64, 8));  // not whole tiles
    CHECK_FALSE(rows_repack(type::q4_0, type::q4_0x16, buf.data(), buf.data() + 32768, 48, 16)); // not whole blocks
    CHECK_FALSE(rows_repack_inplace(type::q4_0, type::q4_0x16, buf.data(), 64, 24));
    CHECK(type_is_runtime_only(type::q4_0x16));
    CHECK_FALSE(type_is_runtime_only(type::q4_0));
}

TEST_CASE("q4_kx16 and q6_kx16: the repack is exact and in the documented byte order") {
    std::mt19937 rng(43);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (const auto &pr : {std::pair<type, type>{type::q4_k, type::q4_kx16}, {type::q6_k, type::q6_kx16}}) {
        const type from = pr.first, to = pr.second;
        for (int64_t K : {256, 1024}) {
            const int64_t N = 32;
            CAPTURE(K);
            std::vector<float> w(K * N);
            for (auto &v : w) v = nd(rng) + (rng() % 5 == 0 ? 0.8f : 0.0f);
            const size_t rs = row_size(from, K);
            REQUIRE(row_size(to, K) == rs);
            std::vector<uint8_t> q(rs * N), t(rs * N);
            type_get(from)->from_float(w.data(), q.data(), K * N);
            REQUIRE(rows_repack(from, to, q.data(), t.data(), K, N));
            for (int64_t r = 0; r < N; r++)
                for (int64_t b = 0; b < K / 256; b++) {
                    const uint8_t *tile = t.data() + r / 16 * 16 * rs;
                    const int rr = (int)(r % 16);
                    if (to == type::q4_kx16) {
                        const block_q4_k &x = ((const block_q4_k *)(q.data() + r * rs))[b];
                        const block_q4_kx16 &y = ((const block_q4_kx16 *)tile)[b];
                        REQUIRE((y.d[rr] == x.d && y.dmin[rr] == x.dmin));
                        for (int k = 0; k < K_SCALE_SIZE; k++) REQUIRE(y.scales[k][rr] == x.scales[k]);
                        for (int c = 0; c < 4; c++)
                            for (int j = 0; j < 32; j++) REQUIRE(y.qs[c][j / 4][4 * rr + j % 4] == x.qs[32 * c + j]);
                    } else {
                        const block_q6_k &x = ((const block_q6_k *)(q.data() + r * rs))[b];
                        const block_q6_kx16 &y = ((const block_q6_kx16 *)tile)[b];
                        REQUIRE(y.d[rr] == x.d);
                        for (int k = 0; k < 16; k++) REQUIRE(y.scales[k][rr] == x.scales[k]);
                        for (int h = 0; h < 2; h++)
                            for (int j = 0; j < 32; j++) {
                                REQUIRE(y.q[h][j / 4][0][4 * rr + j % 4] == x.ql[64 * h + j]);
                                REQUIRE(y.q[h][j / 4][1][4 * rr + j % 4] == x.ql[64 * h + 32 + j]);
                                REQUIRE(y.q[h][j / 4][2][4 * rr + j % 4] == x.qh[32 * h + j]);
                            }
                    }
                }
            std::vector<float> a(K * N), b(K * N);
            type_get(from)->to_float(q.data(), a.data(), K * N);
            rows_to_float(to, t.data(), K, 0, 16, b.data());
            rows_to_float(to, t.data(), K, 16, 16, b.data() + 16 * K);
            CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
            std::vector<uint8_t> ip = q;
            REQUIRE(rows_repack_inplace(from, to, ip.data(), K, N));
            CHECK(ip == t);
            std::vector<uint8_t> tq(rs * 16);
            type_get(to)->tile_from_float(w.data(), tq.data(), K);
            CHECK(std::memcmp(tq.data(), t.data(), rs * 16) == 0);
        }
    }
    std::vector<uint8_t> buf(1 << 16);
    CHECK_FALSE(rows_repack(type::q4_k, type::q6_kx16, buf.data(), buf.data() + 32768, 256, 16)); // mismatched pair
    CHECK_FALSE(rows_repack(type::q6_k, type::q6_kx16, buf.data(), buf.data() + 32768, 128, 16)); // not whole blocks
}
}
