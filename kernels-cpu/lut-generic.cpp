// lut-generic.cpp — scalar reference of the LUT GEMV (see lut.h): the integer table arithmetic
// exactly as the SIMD kernels do it, with plain loops.
#include "lut.h"
#include "vec-dot.h"

#include "ggml/fp16.h"
#include "ggml/quant-ref.h"

#include <algorithm>
#include <cmath>

namespace tern {

void lut_prep_generic(int64_t K, const float *x, int8_t *tables, float *tscale, float *xsum) {
    for (int64_t g = 0; g < K / LUT_GROUP; g++) {
        const float *xg = x + g * LUT_GROUP;
        float amax = 0;
        for (int qd = 0; qd < LUT_GROUP / 4; qd++) {
            const float *q = xg + 4 * qd;
            amax = std::max(amax, ((std::fabs(q[0]) + std::fabs(q[1])) + std::fabs(q[2])) + std::fabs(q[3]));
        }
        for (int h = 0; h < 2; h++) {
            float sum = 0;
            for (int i = 0; i < LUT_XSUM_COLS; i++) sum += xg[h * LUT_XSUM_COLS + i];
            xsum[2 * g + h] = sum;
        }
        const float inv = amax > 0 ? 127.0f / amax : 0.0f;
        tscale[g] = amax / 127.0f;
        for (int qd = 0; qd < LUT_GROUP / 4; qd++) {
            const float *q = xg + 4 * qd;
            int8_t *t = tables + (g * (LUT_GROUP / 4) + qd) * LUT_TABLE_BYTES;
            for (int c = 0; c < 8; c++) { // bit 3 clear: -x3; the mirror half is the negation
                const float v = (((c & 1 ? q[0] : -q[0]) + (c & 2 ? q[1] : -q[1])) + (c & 4 ? q[2] : -q[2])) - q[3];
                t[c] = (int8_t)std::nearbyint(v * inv);
                t[15 - c] = (int8_t)-t[c];
            }
        }
    }
}

void lut_gemv_generic(type t, int64_t K, const uint8_t *tile, const int8_t *tables, const float *tscale,
                      const float *xsum, float *y) {
    const bool has_min = t != type::tlt;
    const int bits = lut_bits(t);
    const int sets = lut_scale_sets(bits, has_min), quads = LUT_GROUP / 4 / sets; // quads per scale set
    const float c2 = has_min ? (float)((1 << bits) - 1) : 1.0f; // 2c of lut.h
    const float *D = (const float *)tile;
    const size_t header = has_min ? 0 : (size_t)LUT_TILE_ROWS * 4;
    const size_t group_bytes = (size_t)LUT_TILE_ROWS * lut_block_bytes(bits, has_min);
    const size_t codes_off = (size_t)LUT_TILE_ROWS * lut_scale_bytes(bits, has_min);
    for (int r = 0; r < LUT_TILE_ROWS; r++) {
        float P = 0, Q = 0;
        for (int64_t g = 0; g < K / LUT_GROUP; g++) {
            const uint8_t *grp = tile + header + (size_t)g * group_bytes;
            for (int s = 0; s < sets; s++) {
                int32_t acc = 0;
                for (int b = 0; b < bits; b++)
                    for (int qd = s * quads; qd < (s + 1) * quads; qd++) {
                        bool hi;
                        const uint8_t byte = grp[codes_off + lut_code_pos(bits, r, qd, b, &hi)];
                        const uint8_t code = hi ? byte >> 4 : byte & 15;
                        acc += tables[(g * (LUT_GROUP / 4) + qd) * LUT_TABLE_BYTES + code] * (1 << b);
                    }
                const float X = lut_set_xsum(xsum, g, s, sets);
                if (has_min) {
                    const fp16_t *dm = (const fp16_t *)(grp + lut_set_offset(s));
                    P += fp16_to_fp32(dm[r]) * (tscale[g] * (float)acc + c2 * X);
                    Q += fp16_to_fp32(dm[LUT_TILE_ROWS + r]) * X;
                } else {
                    P += (float)grp[r] * (tscale[g] * (float)acc + c2 * X);
                }
            }
        }
        y[r] = has_min ? 0.5f * P + Q : 0.5f * D[r] * P;
    }
}

void kernels_add_lut_generic(isa_kernels *t) {
    t->lut_prep = lut_prep_generic;
    t->lut_gemv = lut_gemv_generic;
    t->lut_gemv2 = nullptr;
}

} // namespace tern
