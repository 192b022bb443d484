// test-types.cpp — type table, fp16/bf16 conversion and the reference (de)quantizers:
// byte-exact block layouts and bounded round-trip error.
#include "test-util.h"

#include "ggml/fp16.h"
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
}
