// fp16.h — IEEE half and bfloat16 <-> float conversion, portable scalar code.
//
// fp16_to_fp32 uses a 64 Ki-entry table filled once (thread-safe static init); the others are
// bit manipulation with round-to-nearest-even, matching F16C's and ggml's conversions.
#pragma once

#include <cstdint>
#include <cstring>

namespace tern {

using fp16_t = uint16_t;
using bf16_t = uint16_t;

inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float bits_f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// Exact conversion half -> float (handles subnormals, inf, nan).
inline float fp16_to_fp32_compute(fp16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        // subnormal: normalise
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while ((man & 0x400) == 0);
        man &= 0x3ff;
        return bits_f32(sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13));
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000 | (man << 13));
    return bits_f32(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

// 65536 entries, filled during static initialisation of type-table.cpp (before main).
extern float g_fp16_to_fp32[65536];

inline float fp16_to_fp32(fp16_t h) { return g_fp16_to_fp32[h]; }

// float -> half, round to nearest even; overflow to inf, nan preserved.
inline fp16_t fp32_to_fp16(float f) {
    const uint32_t x = f32_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t ax = x & 0x7fffffff;
    if (ax >= 0x7f800000) return (fp16_t)(sign | 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0));
    if (ax >= 0x477ff000) return (fp16_t)(sign | 0x7c00); // rounds to >= 65520 -> inf
    if (ax < 0x38800000) {                                 // result is subnormal or zero
        if (ax < 0x33000000) return (fp16_t)sign;          // < 2^-25 rounds to zero
        const uint32_t e = ax >> 23;
        const uint32_t m = (ax & 0x7fffff) | 0x800000;
        const uint32_t shift = 126 - e; // 14..24
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (fp16_t)(sign | r);
    }
    uint32_t r = ((ax >> 13) - ((127 - 15) << 10));
    const uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (fp16_t)(sign | r);
}

inline float bf16_to_fp32(bf16_t h) { return bits_f32((uint32_t)h << 16); }

inline bf16_t fp32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) return (bf16_t)((x >> 16) | 64); // quiet nan
    return (bf16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

} // namespace tern
