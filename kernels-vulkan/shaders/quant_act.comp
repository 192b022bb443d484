#version 450
// quant_act.comp — activations rounded the way the CPU backend quantizes them before a matmul
// (its vec_dot_type), written back as f32, so GPU and CPU multiply the same numbers:
// MODE 0: Q8_0/Q8_1 — blocks of 32, d = fp16(max|x| / 127), q = round-half-away(x * 127 / max|x|);
// MODE 1: Q8_K — blocks of 256, d = max / -127 (the signed extreme), q = min(127, round-even(x / d));
// MODE 2: F16 — each value rounded to half precision.
// a: x [n0] f32, d: out [n0] f32. One invocation per block (per value for MODE 2).
#include "common.glsl"
layout(local_size_x = 64) in;

// fp32 -> fp16 -> fp32 with round-to-nearest-even (subnormals included; no overflow handling:
// activation scales are far below 65504).
float f16_round(float v) {
    if (abs(v) < 6.103515625e-05) return roundEven(v * 16777216.0) / 16777216.0;
    uint b = floatBitsToUint(v);
    b += 0xFFFu + ((b >> 13) & 1u);
    return uintBitsToFloat(b & 0xFFFFE000u);
}

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
    F32 a = F32(p.a), d = F32(p.d);
#if MODE == 2
    if (i >= p.n0) return;
    d.v[i] = f16_round(a.v[i]);
#elif MODE == 0
    if (i >= p.n0 / 32u) return;
    float amax = 0.0;
    for (uint j = 0; j < 32u; j++) amax = max(amax, abs(a.v[32u * i + j]));
    const float s = amax / 127.0, id = s != 0.0 ? 1.0 / s : 0.0, ds = f16_round(s);
    for (uint j = 0; j < 32u; j++) {
        const float x = a.v[32u * i + j] * id;
        d.v[32u * i + j] = ds * (sign(x) * floor(abs(x) + 0.5));
    }
#else
    if (i >= p.n0 / 256u) return;
    float amax = 0.0, mx = 0.0;
    for (uint j = 0; j < 256u; j++) {
        const float x = a.v[256u * i + j];
        if (abs(x) > amax) amax = abs(x), mx = x;
    }
    if (amax == 0.0) {
        for (uint j = 0; j < 256u; j++) d.v[256u * i + j] = 0.0;
        return;
    }
    const float iscale = -127.0 / mx, ds = 1.0 / iscale;
    for (uint j = 0; j < 256u; j++) d.v[256u * i + j] = ds * min(127.0, roundEven(iscale * a.v[256u * i + j]));
#endif
}
