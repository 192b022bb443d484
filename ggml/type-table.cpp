// type-table.cpp — the type table and the scalar reference (de)quantizers.
#include "type-table.h"

#include "fp16.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace tern {

float g_fp16_to_fp32[65536];
namespace {
const bool k_fp16_table_ready = [] {
    for (uint32_t i = 0; i < 65536; i++) g_fp16_to_fp32[i] = fp16_to_fp32_compute((fp16_t)i);
    return true;
}();
} // namespace

namespace {

// ---- plain float formats -------------------------------------------------------------------
void f32_to_float(const void *src, float *dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }
void f32_from_float(const float *src, void *dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

void f16_to_float(const void *src, float *dst, int64_t n) {
    const fp16_t *s = (const fp16_t *)src;
    for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(s[i]);
}
void f16_from_float(const float *src, void *dst, int64_t n) {
    fp16_t *d = (fp16_t *)dst;
    for (int64_t i = 0; i < n; i++) d[i] = fp32_to_fp16(src[i]);
}
void bf16_to_float(const void *src, float *dst, int64_t n) {
    const bf16_t *s = (const bf16_t *)src;
    for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(s[i]);
}
void bf16_from_float(const float *src, void *dst, int64_t n) {
    bf16_t *d = (bf16_t *)dst;
    for (int64_t i = 0; i < n; i++) d[i] = fp32_to_bf16(src[i]);
}

// ---- Q8_0: symmetric 8-bit, 32 per block -------------------------------------------------------
void q8_0_from_float(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = (block_q8_0 *)dst;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[b].qs[j] = (int8_t)std::lround(x[j] * id);
    }
}
void q8_0_to_float(const void *src, float *y, int64_t n) {
    const block_q8_0 *x = (const block_q8_0 *)src;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK8_0; j++) *y++ = d * x[b].qs[j];
    }
}

// ---- Q8_1: Q8_0 plus d*sum(q), the activation format for Q4_1 ----------------------------------
void q8_1_from_float(const float *x, void *dst, int64_t n) {
    block_q8_1 *y = (block_q8_1 *)dst;
    for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; j++) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[b].qs[j] = (int8_t)std::lround(x[j] * id);
            sum += y[b].qs[j];
        }
        y[b].d = fp32_to_fp16(d);
        y[b].s = fp32_to_fp16(d * (float)sum);
    }
}
void q8_1_to_float(const void *src, float *y, int64_t n) {
    const block_q8_1 *x = (const block_q8_1 *)src;
    for (int64_t b = 0; b < n / QK8_1; b++) {
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK8_1; j++) *y++ = d * x[b].qs[j];
    }
}

// ---- Q4_0: symmetric 4-bit, offset 8 --------------------------------------------------------
void q4_0_from_float(const float *x, void *dst, int64_t n) {
    block_q4_0 *y = (block_q4_0 *)dst;
    for (int64_t b = 0; b < n / QK4_0; b++, x += QK4_0) {
        float amax = 0.0f, max = 0.0f; // max keeps the sign of the largest magnitude
        for (int j = 0; j < QK4_0; j++) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const uint8_t lo = (uint8_t)std::min(15, (int)(int8_t)(x[j] * id + 8.5f));
            const uint8_t hi = (uint8_t)std::min(15, (int)(int8_t)(x[j + QK4_0 / 2] * id + 8.5f));
            y[b].qs[j] = lo | (hi << 4);
        }
    }
}
void q4_0_to_float(const void *src, float *y, int64_t n) {
    const block_q4_0 *x = (const block_q4_0 *)src;
    for (int64_t b = 0; b < n / QK4_0; b++, y += QK4_0) {
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = d * ((x[b].qs[j] & 15) - 8);
            y[j + QK4_0 / 2] = d * ((x[b].qs[j] >> 4) - 8);
        }
    }
}

// ---- Q4_1: asymmetric 4-bit (scale + minimum) ----------------------------------------------
void q4_1_from_float(const float *x, void *dst, int64_t n) {
    block_q4_1 *y = (block_q4_1 *)dst;
    for (int64_t b = 0; b < n / QK4_1; b++, x += QK4_1) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < QK4_1; j++) {
            mn = std::min(mn, x[j]);
            mx = std::max(mx, x[j]);
        }
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        y[b].m = fp32_to_fp16(mn);
        for (int j = 0; j < QK4_1 / 2; j++) {
            const uint8_t lo = (uint8_t)std::min(15, (int)(int8_t)((x[j] - mn) * id + 0.5f));
            const uint8_t hi = (uint8_t)std::min(15, (int)(int8_t)((x[j + QK4_1 / 2] - mn) * id + 0.5f));
            y[b].qs[j] = lo | (hi << 4);
        }
    }
}
void q4_1_to_float(const void *src, float *y, int64_t n) {
    const block_q4_1 *x = (const block_q4_1 *)src;
    for (int64_t b = 0; b < n / QK4_1; b++, y += QK4_1) {
        const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = d * (x[b].qs[j] & 15) + m;
            y[j + QK4_1 / 2] = d * (x[b].qs[j] >> 4) + m;
        }
    }
}

constexpr type_traits row(const char *name, int64_t bs, size_t ts, bool q, to_float_fn tf = nullptr,
                          from_float_fn ff = nullptr, type vdt = type::f32) {
    return {name, bs, ts, q, tf, ff, vdt};
}

struct table {
    type_traits rows[(int)type::count_] = {};
    constexpr table() {
        auto set = [&](type t, type_traits r) { rows[(int)t] = r; };
        set(type::f32, row("f32", 1, 4, false, f32_to_float, f32_from_float, type::f32));
        set(type::f16, row("f16", 1, 2, false, f16_to_float, f16_from_float, type::f32));
        set(type::bf16, row("bf16", 1, 2, false, bf16_to_float, bf16_from_float, type::f32));
        set(type::q8_0, row("q8_0", 32, 34, true, q8_0_to_float, q8_0_from_float, type::q8_0));
        set(type::q8_1, row("q8_1", 32, 36, true, q8_1_to_float, q8_1_from_float, type::q8_1));
        set(type::q4_0, row("q4_0", 32, 18, true, q4_0_to_float, q4_0_from_float, type::q8_0));
        set(type::q4_1, row("q4_1", 32, 20, true, q4_1_to_float, q4_1_from_float, type::q8_1));
        // Recognised, sizes known, not computable yet.
        set(type::q5_0, row("q5_0", 32, 22, true));
        set(type::q5_1, row("q5_1", 32, 24, true));
        set(type::q2_k, row("q2_k", 256, 84, true));
        set(type::q3_k, row("q3_k", 256, 110, true));
        set(type::q4_k, row("q4_k", 256, 144, true));
        set(type::q5_k, row("q5_k", 256, 176, true));
        set(type::q6_k, row("q6_k", 256, 210, true));
        set(type::q8_k, row("q8_k", 256, 292, true));
        set(type::iq2_xxs, row("iq2_xxs", 256, 66, true));
        set(type::iq2_xs, row("iq2_xs", 256, 74, true));
        set(type::iq3_xxs, row("iq3_xxs", 256, 98, true));
        set(type::iq1_s, row("iq1_s", 256, 50, true));
        set(type::iq4_nl, row("iq4_nl", 32, 18, true));
        set(type::iq3_s, row("iq3_s", 256, 110, true));
        set(type::iq2_s, row("iq2_s", 256, 82, true));
        set(type::iq4_xs, row("iq4_xs", 256, 136, true));
        set(type::i8, row("i8", 1, 1, false));
        set(type::i16, row("i16", 1, 2, false));
        set(type::i32, row("i32", 1, 4, false));
        set(type::i64, row("i64", 1, 8, false));
        set(type::f64, row("f64", 1, 8, false));
        set(type::iq1_m, row("iq1_m", 256, 56, true));
        set(type::tq1_0, row("tq1_0", 256, 54, true));
        set(type::tq2_0, row("tq2_0", 256, 66, true));
    }
};
constexpr table k_table;

} // namespace

const type_traits *type_get(uint32_t raw) {
    if (raw >= (uint32_t)type::count_) return nullptr;
    const type_traits *r = &k_table.rows[raw];
    return r->name ? r : nullptr;
}
const type_traits *type_get(type t) { return type_get((uint32_t)t); }

const char *type_name(type t) {
    const type_traits *r = type_get(t);
    return r ? r->name : "unknown";
}

bool type_from_name(const char *name, type *out) {
    std::string s(name);
    for (auto &c : s) c = (char)std::tolower((unsigned char)c);
    for (uint32_t i = 0; i < (uint32_t)type::count_; i++) {
        if (k_table.rows[i].name && s == k_table.rows[i].name) {
            *out = (type)i;
            return true;
        }
    }
    return false;
}

size_t row_size(type t, int64_t n) {
    const type_traits *r = type_get(t);
    return r ? (size_t)(n / r->block_size) * r->type_size : 0;
}

} // namespace tern
