// kv-layout.cpp — KV format names and sizes, and the scalar KIVI quantizers (layout in kv-layout.h).
#include "kv-layout.h"

#include "type-table.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <strings.h>

namespace tern {

namespace {
const char *const k_names[] = {"f32", "f16", "q8_0", "q4_0", "kivi4", "kivi2"};


// Asymmetric b-bit fit of n values x[i*stride]: fp16 scale and zero (the minimum), codes in 0..2^b-1
// computed with the rounded scale and zero so that dequantization reproduces what was fitted.
void fit(const float *x, size_t stride, int n, int bits, fp16_t *scale, fp16_t *zero, uint8_t *codes) {
    float mn = x[0], mx = x[0];
    for (int i = 1; i < n; i++) mn = std::min(mn, x[i * stride]), mx = std::max(mx, x[i * stride]);
    const int levels = (1 << bits) - 1;
    *scale = fp32_to_fp16((mx - mn) / (float)levels);
    *zero = fp32_to_fp16(mn);
    const float s = fp16_to_fp32(*scale), z = fp16_to_fp32(*zero);
    const float inv = s > 0 ? 1.0f / s : 0.0f;
    for (int i = 0; i < n; i++) {
        const int q = (int)std::lrintf((x[i * stride] - z) * inv);
        codes[i] = (uint8_t)std::clamp(q, 0, levels);
    }
}

// 32 codes <-> the packed bytes of one key channel or one value block (same packing for both).
void pack32(const uint8_t *c, int bits, uint8_t *out) {
    if (bits == 4)
        for (int i = 0; i < 16; i++) out[i] = (uint8_t)(c[i] | c[i + 16] << 4);
    else
        for (int i = 0; i < 8; i++) out[i] = (uint8_t)(c[i] | c[i + 8] << 2 | c[i + 16] << 4 | c[i + 24] << 6);
}
inline int code32(const uint8_t *p, int bits, int i) {
    return bits == 4 ? (p[i & 15] >> (4 * (i >> 4))) & 15 : (p[i & 7] >> (2 * (i >> 3))) & 3;
}
} // namespace

const char *kv_format_name(kv_format f) { return f < kv_format::count_ ? k_names[(int)f] : "?"; }

int kv_name_index(const char *name, const char *const *names, int n) {
    for (int i = 0; name && i < n; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}

bool kv_format_parse(const char *name, kv_format *out) {
    const int i = kv_name_index(name, k_names, (int)kv_format::count_);
    if (i >= 0) *out = (kv_format)i;
    return i >= 0;
}

size_t kv_key_group_bytes(kv_format f, int64_t D) {
    return (size_t)D * 4 + (size_t)D * KIVI_GROUP * (size_t)kivi_bits(f) / 8;
}
size_t kv_key_row_bytes(kv_format f, int64_t D) { return row_size(kv_row_type(f), D); }
size_t kv_value_row_bytes(kv_format f, int64_t D) {
    if (!kv_is_kivi(f)) return row_size(kv_row_type(f), D);
    return (size_t)(D / 32) * 4 + (size_t)D * (size_t)kivi_bits(f) / 8;
}

double kv_bytes_per_token_head(kv_format f, int64_t D) {
    const double k = kv_is_kivi(f) ? (double)kv_key_group_bytes(f, D) / KIVI_GROUP : (double)kv_key_row_bytes(f, D);
    return k + (double)kv_value_row_bytes(f, D);
}

void kivi_quantize_keys(kv_format f, int64_t D, const float *x, size_t ld, uint8_t *group) {
    const int bits = kivi_bits(f);
    fp16_t *scale = (fp16_t *)group, *zero = scale + D;
    uint8_t *codes = group + D * 4, c[KIVI_GROUP];
    for (int64_t ch = 0; ch < D; ch++) {
        fit(x + ch, ld, KIVI_GROUP, bits, &scale[ch], &zero[ch], c);
        pack32(c, bits, codes + ch * KIVI_GROUP * bits / 8);
    }
}

void kivi_dequantize_keys(kv_format f, int64_t D, const uint8_t *group, float *x, size_t ld) {
    const int bits = kivi_bits(f);
    const fp16_t *scale = (const fp16_t *)group, *zero = scale + D;
    const uint8_t *codes = group + D * 4;
    for (int64_t ch = 0; ch < D; ch++) {
        const float s = fp16_to_fp32(scale[ch]), z = fp16_to_fp32(zero[ch]);
        const uint8_t *p = codes + ch * KIVI_GROUP * bits / 8;
        for (int t = 0; t < KIVI_GROUP; t++) x[t * ld + ch] = s * (float)code32(p, bits, t) + z;
    }
}

void kivi_quantize_value(kv_format f, int64_t D, const float *x, uint8_t *row) {
    const int bits = kivi_bits(f);
    uint8_t c[32];
    for (int64_t b = 0; b < D / 32; b++) {
        fp16_t *sz = (fp16_t *)(row + b * 4);
        fit(x + b * 32, 1, 32, bits, &sz[0], &sz[1], c);
        pack32(c, bits, row + (D / 32) * 4 + b * 32 * bits / 8);
    }
}

void kivi_dequantize_value(kv_format f, int64_t D, const uint8_t *row, float *x) {
    const int bits = kivi_bits(f);
    for (int64_t b = 0; b < D / 32; b++) {
        const fp16_t *sz = (const fp16_t *)(row + b * 4);
        const float s = fp16_to_fp32(sz[0]), z = fp16_to_fp32(sz[1]);
        const uint8_t *p = row + (D / 32) * 4 + b * 32 * bits / 8;
        for (int i = 0; i < 32; i++) x[b * 32 + i] = s * (float)code32(p, bits, i) + z;
    }
}

} // namespace tern
