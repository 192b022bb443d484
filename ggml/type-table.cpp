// type-table.cpp — the type table and the scalar reference (de)quantizers.
#include "type-table.h"

#include "fp16.h"
#include "quant-ref.h"

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

constexpr type_traits row(const char *name, int64_t bs, size_t ts, bool q, to_float_fn tf = nullptr,
                          from_float_fn ff = nullptr, type vdt = type::f32) {
    type_traits r{};
    r.name = name, r.block_size = bs, r.type_size = ts, r.quantized = q, r.to_float = tf, r.from_float = ff;
    r.vec_dot_type = vdt;
    return r;
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
        set(type::q5_0, row("q5_0", 32, 22, true, q5_0_to_float, q5_0_from_float, type::q8_0));
        set(type::q5_1, row("q5_1", 32, 24, true, q5_1_to_float, q5_1_from_float, type::q8_1));
        set(type::q2_k, row("q2_k", 256, 84, true, q2_k_to_float, q2_k_from_float, type::q8_k));
        set(type::q3_k, row("q3_k", 256, 110, true, q3_k_to_float, q3_k_from_float, type::q8_k));
        set(type::q4_k, row("q4_k", 256, 144, true, q4_k_to_float, q4_k_from_float, type::q8_k));
        set(type::q5_k, row("q5_k", 256, 176, true, q5_k_to_float, q5_k_from_float, type::q8_k));
        set(type::q6_k, row("q6_k", 256, 210, true, q6_k_to_float, q6_k_from_float, type::q8_k));
        set(type::q8_k, row("q8_k", 256, 292, true, q8_k_to_float, q8_k_from_float, type::q8_k));
        set(type::tq1_0, row("tq1_0", 256, 54, true, tq1_0_to_float, tq1_0_from_float, type::q8_k));
        set(type::tq2_0, row("tq2_0", 256, 66, true, tq2_0_to_float, tq2_0_from_float, type::q8_k));
        // Recognised, sizes known, not computable yet.
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
        // LUT types: LUT_GROUP weights per block, LUT_TILE_ROWS rows per tile (blocks.h).
        auto lut = [](const char *name, int bits, tile_to_float_fn tf, tile_from_float_fn ff) {
            type_traits r = row(name, LUT_GROUP, lut_block_bytes(bits, true), true, nullptr, nullptr, type::f32);
            r.tile_rows = LUT_TILE_ROWS;
            r.row_extra = 0;
            r.tile_to_float = tf;
            r.tile_from_float = ff;
            return r;
        };
        set(type::tl1, lut("tl1", 1, tl1_tile_to_float, tl1_tile_from_float));
        set(type::tl2, lut("tl2", 2, tl2_tile_to_float, tl2_tile_from_float));
        set(type::tl3, lut("tl3", 3, tl3_tile_to_float, tl3_tile_from_float));
        set(type::tl4, lut("tl4", 4, tl4_tile_to_float, tl4_tile_from_float));
        type_traits t = lut("tlt", 2, tlt_tile_to_float, tlt_tile_from_float);
        t.type_size = lut_block_bytes(2, false);
        t.row_extra = 4;
        set(type::tlt, t);
        type_traits r = row("q4_0x16", QK4_0, sizeof(block_q4_0), true, nullptr, nullptr, type::q8_0);
        r.tile_rows = Q4X16_ROWS;
        r.tile_to_float = q4_0x16_tile_to_float;
        r.tile_from_float = q4_0x16_tile_from_float;
        set(type::q4_0x16, r);
        r = row("q4_kx16", QK_K, sizeof(block_q4_k), true, nullptr, nullptr, type::q8_k);
        r.tile_rows = Q4X16_ROWS;
        r.tile_to_float = q4_kx16_tile_to_float;
        r.tile_from_float = q4_kx16_tile_from_float;
        set(type::q4_kx16, r);
        r = row("q6_kx16", QK_K, sizeof(block_q6_k), true, nullptr, nullptr, type::q8_k);
        r.tile_rows = Q4X16_ROWS;
        r.tile_to_float = q6_kx16_tile_to_float;
        r.tile_from_float = q6_kx16_tile_from_float;
        set(type::q6_kx16, r);
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
    return r ? (size_t)(n / r->block_size) * r->type_size + r->row_extra : 0;
}

void tiled_to_float(type row, tile_unpack_fn unpack, const void *tile, int64_t K, int r0, int n, float *dst) {
    std::vector<uint8_t> buf(row_size(row, K));
    for (int i = 0; i < n; i++) {
        unpack(tile, K, r0 + i, buf.data());
        type_get(row)->to_float(buf.data(), dst + (int64_t)i * K, K);
    }
}
void tiled_from_float(type row, tile_pack_fn pack, const float *src, void *tile, int64_t K) {
    const size_t rs = row_size(row, K);
    std::vector<uint8_t> rows(rs * Q4X16_ROWS);
    type_get(row)->from_float(src, rows.data(), K * Q4X16_ROWS);
    pack(rows.data(), rs, K, tile);
}

namespace {
tile_pack_fn tile_packer(type tiled) {
    switch (tiled) {
    case type::q4_0x16: return q4_0x16_pack;
    case type::q4_kx16: return q4_kx16_pack;
    case type::q6_kx16: return q6_kx16_pack;
    default: return nullptr;
    }
}
} // namespace

bool rows_repack(type from, type to, const void *src, void *dst, int64_t K, int64_t n) {
    const tile_pack_fn pack = to != from && to == type_tiled_for(from) ? tile_packer(to) : nullptr;
    if (!pack || K <= 0 || K % type_get(from)->block_size || n < 0 || n % Q4X16_ROWS) return false;
    const size_t rs = row_size(from, K);
    for (int64_t r = 0; r < n; r += Q4X16_ROWS) pack((const uint8_t *)src + r * rs, rs, K, (uint8_t *)dst + r * rs);
    return true;
}

bool rows_repack_inplace(type from, type to, void *data, int64_t K, int64_t n) {
    if (!rows_repack(from, to, nullptr, nullptr, K, 0)) return false; // the pair and K
    const int rows = type_get(to)->tile_rows;
    if (n < 0 || n % rows) return false;
    const size_t bytes = row_size(from, K) * rows;
    std::vector<uint8_t> tmp(bytes);
    for (int64_t r = 0; r < n; r += rows) {
        uint8_t *p = (uint8_t *)data + r / rows * bytes;
        std::memcpy(tmp.data(), p, bytes);
        rows_repack(from, to, tmp.data(), p, K, rows);
    }
    return true;
}

bool type_can_dequantize(type t) {
    const type_traits *r = type_get(t);
    return r && (r->to_float || r->tile_to_float);
}

void rows_to_float(type t, const void *data, int64_t K, int64_t r0, int64_t n, float *dst) {
    const type_traits *tr = type_get(t);
    const size_t rs = row_size(t, K);
    if (tr->tile_rows == 0) {
        for (int64_t r = 0; r < n; r++) tr->to_float((const uint8_t *)data + (size_t)(r0 + r) * rs, dst + r * K, K);
        return;
    }
    const int64_t tile = r0 / tr->tile_rows;
    tr->tile_to_float((const uint8_t *)data + (size_t)tile * tr->tile_rows * rs, K, (int)(r0 - tile * tr->tile_rows),
                      (int)n, dst);
}

void rows_from_float(type t, const float *src, void *data, int64_t K, int64_t r0, int64_t n) {
    const type_traits *tr = type_get(t);
    const size_t rs = row_size(t, K);
    if (tr->tile_rows == 0) {
        for (int64_t r = 0; r < n; r++) tr->from_float(src + r * K, (uint8_t *)data + (size_t)(r0 + r) * rs, K);
        return;
    }
    for (int64_t r = 0; r < n; r += tr->tile_rows)
        tr->tile_from_float(src + r * K, (uint8_t *)data + (size_t)(r0 + r) * rs, K);
}

} // namespace tern
