#version 450
// rms_norm.comp — one workgroup per row of n0 floats: d = a / sqrt(mean(a^2) + f0).
#include "common.glsl"
layout(local_size_x = 128) in;
shared float red[128];

void main() {
    const uint n = p.n0, row = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u, tid = gl_LocalInvocationID.x;
    if (row >= p.n1) return;
    F32 a = F32(p.a), d = F32(p.d);
    float s = 0.0;
    for (uint i = tid; i < n; i += 128u) s += a.v[row * n + i] * a.v[row * n + i];
    red[tid] = s;
    barrier();
    for (uint k = 64u; k > 0u; k >>= 1) {
        if (tid < k) red[tid] += red[tid + k];
        barrier();
    }
    const float scale = inversesqrt(red[0] / float(n) + p.f0);
    for (uint i = tid; i < n; i += 128u) d.v[row * n + i] = a.v[row * n + i] * scale;
}
