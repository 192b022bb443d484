// quant-legacy.cpp — reference code for the 32-weight block formats: q8_0, q8_1 (activations),
// q4_0, q4_1, q5_0, q5_1.
#include "fp16.h"
#include "quant-ref.h"
#include "type-table.h"

#include <algorithm>
#include <cmath>
#include <vector>
#include <cstring>

namespace tern {

// ---- Q8_0: symmetric 8-bit, 32 per block -------------------------------------------------------
void q8_0_from_float(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = (block_q8_0 *)dst;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[b].qs[j] = (int8_t)round_away(x[j] * id);
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
            y[b].qs[j] = (int8_t)round_away(x[j] * id);
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

// ---- q4_0x16: 16 q4_0 rows interleaved per block (blocks.h) ----------------------------------
// Row r's nibble byte j (element j low, j+16 high) sits at qs[64*(j/4) + 4*r + j%4].
void q4_0x16_pack(const void *rows, size_t row_bytes, int64_t K, void *tile) {
    block_q4_0x16 *t = (block_q4_0x16 *)tile;
    for (int64_t b = 0; b < K / QK4_0; b++)
        for (int r = 0; r < Q4X16_ROWS; r++) {
            const block_q4_0 &q = ((const block_q4_0 *)((const uint8_t *)rows + r * row_bytes))[b];
            t[b].d[r] = q.d;
            for (int j = 0; j < 4; j++) std::memcpy(t[b].qs + 64 * j + 4 * r, q.qs + 4 * j, 4);
        }
}
void q4_0x16_unpack_row(const void *tile, int64_t K, int r, void *row) {
    const block_q4_0x16 *t = (const block_q4_0x16 *)tile;
    block_q4_0 *q = (block_q4_0 *)row;
    for (int64_t b = 0; b < K / QK4_0; b++) {
        q[b].d = t[b].d[r];
        for (int j = 0; j < 4; j++) std::memcpy(q[b].qs + 4 * j, t[b].qs + 64 * j + 4 * r, 4);
    }
}
void q4_0x16_tile_to_float(const void *tile, int64_t K, int r0, int n, float *dst) {
    tiled_to_float(type::q4_0, q4_0x16_unpack_row, tile, K, r0, n, dst);
}
void q4_0x16_tile_from_float(const float *src, void *tile, int64_t K) {
    tiled_from_float(type::q4_0, q4_0x16_pack, src, tile, K);
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

// ---- Q5_0: symmetric 5-bit, offset 16 ----------------------------------------------------------
void q5_0_from_float(const float *x, void *dst, int64_t n) {
    block_q5_0 *y = (block_q5_0 *)dst;
    for (int64_t b = 0; b < n / QK5_0; b++, x += QK5_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK5_0; j++) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = std::min(31, (int)(int8_t)(x[j] * id + 16.5f));
            const int hi = std::min(31, (int)(int8_t)(x[j + QK5_0 / 2] * id + 16.5f));
            y[b].qs[j] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + QK5_0 / 2);
        }
        std::memcpy(y[b].qh, &qh, 4);
    }
}
void q5_0_to_float(const void *src, float *y, int64_t n) {
    const block_q5_0 *x = (const block_q5_0 *)src;
    for (int64_t b = 0; b < n / QK5_0; b++, y += QK5_0) {
        const float d = fp16_to_fp32(x[b].d);
        uint32_t qh;
        std::memcpy(&qh, x[b].qh, 4);
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = (x[b].qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            const int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = d * (lo - 16);
            y[j + QK5_0 / 2] = d * (hi - 16);
        }
    }
}

// ---- Q5_1: asymmetric 5-bit ---------------------------------------------------------------------
void q5_1_from_float(const float *x, void *dst, int64_t n) {
    block_q5_1 *y = (block_q5_1 *)dst;
    for (int64_t b = 0; b < n / QK5_1; b++, x += QK5_1) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < QK5_1; j++) {
            mn = std::min(mn, x[j]);
            mx = std::max(mx, x[j]);
        }
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        y[b].m = fp32_to_fp16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = std::min(31, (int)((x[j] - mn) * id + 0.5f));
            const int hi = std::min(31, (int)((x[j + QK5_1 / 2] - mn) * id + 0.5f));
            y[b].qs[j] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + QK5_1 / 2);
        }
        std::memcpy(y[b].qh, &qh, 4);
    }
}
void q5_1_to_float(const void *src, float *y, int64_t n) {
    const block_q5_1 *x = (const block_q5_1 *)src;
    for (int64_t b = 0; b < n / QK5_1; b++, y += QK5_1) {
        const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
        uint32_t qh;
        std::memcpy(&qh, x[b].qh, 4);
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = (x[b].qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            const int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = d * lo + m;
            y[j + QK5_1 / 2] = d * hi + m;
        }
    }
}

} // namespace tern
