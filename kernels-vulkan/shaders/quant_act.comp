#version 450
// quant_act.comp — activations rounded the way the CPU backend quantizes them before a matmul
// (its vec_dot_type), written back as f32, so GPU and CPU multiply the same numbers:
// MODE 0: Q8_0/Q8_1 — blocks of 32, d = fp16(max|x| / 127), q = round-half-away(x * 127 / max|x|);
// MODE 1: Q8_K — blocks of 256, d = max / -127 (max: the first value of largest magnitude),
//         q = min(127, round-even(x / d));
// MODE 2: F16 — each value rounded to half precision.
// a: x [n0] f32, d: out [n0] f32. One workgroup of 32 per block (MODE 0, 1) or per 32 values.
#include "common.glsl"
layout(local_size_x = 32) in;
shared float s_abs[32];
shared uint s_idx[32];

// a / b rounded as IEEE division rounds it (the CPU's): Vulkan lets a shader's division be off by
// 2.5 ulp, which moves values across the rounding points of q; one correction with the exact
// remainder (fma) brings the quotient to the correctly rounded one.
float div_rn(float a, float b) {
    precise float q = a / b;
    precise float r = fma(-q, b, a);
    precise float y = 1.0 / b;
    return fma(r, y, q);
}

// The largest |value| of the workgroup's candidates and the smallest index holding it.
void reduce_absmax(float v, uint idx, out float best, out uint at) {
    const uint t = gl_LocalInvocationID.x;
    s_abs[t] = v;
    s_idx[t] = idx;
    barrier();
    for (uint s = 16u; s > 0u; s >>= 1) {
        if (t < s) {
            const float o = s_abs[t + s];
            const uint oi = s_idx[t + s];
            if (o > s_abs[t] || (o == s_abs[t] && oi < s_idx[t])) s_abs[t] = o, s_idx[t] = oi;
        }
        barrier();
    }
    best = s_abs[0];
    at = s_idx[0];
}

void main() {
    const uint blk = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u, t = gl_LocalInvocationID.x;
    F32 a = F32(p.a), d = F32(p.d);
#if MODE == 2
    const uint i = 32u * blk + t;
    if (i < p.n0) d.v[i] = f16_round(a.v[i]);
#elif MODE == 0
    if (blk >= p.n0 / 32u) return;
    const uint i = 32u * blk + t;
    const float x = a.v[i];
    float amax;
    uint unused;
    reduce_absmax(abs(x), t, amax, unused);
    const float s = div_rn(amax, 127.0), id = s != 0.0 ? div_rn(1.0, s) : 0.0;
    const float y = x * id;
    d.v[i] = f16_round(s) * (sign(y) * floor(abs(y) + 0.5));
#else
    if (blk >= p.n0 / 256u) return;
    const uint base = 256u * blk;
    float best = -1.0;
    uint at = 0u;
    for (uint k = 0; k < 8u; k++) { // this thread's values t, t + 32, ... in index order
        const float v = abs(a.v[base + t + 32u * k]);
        if (v > best) best = v, at = t + 32u * k;
    }
    float amax;
    uint where;
    reduce_absmax(best, at, amax, where);
    if (amax == 0.0) {
        for (uint k = 0; k < 8u; k++) d.v[base + t + 32u * k] = 0.0;
        return;
    }
    const float iscale = div_rn(-127.0, a.v[base + where]), ds = div_rn(1.0, iscale);
    for (uint k = 0; k < 8u; k++) d.v[base + t + 32u * k] = ds * min(127.0, roundEven(iscale * a.v[base + t + 32u * k]));
#endif
}
