#version 450
// binary.comp — element-wise ops over n0 elements: d[i] = op(a[i], b[i % n1]) (n1: b's element
// count; a row of b is broadcast over a's rows). OP (-DOP=): 0 add, 1 mul, 2 silu(a) * b,
// 3 relu(a)^2 * b, 4 a * f0 (b unused).
#include "common.glsl"
layout(local_size_x = 256) in;

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= p.n0) return;
    F32 a = F32(p.a), b = F32(p.b), d = F32(p.d);
    const float x = a.v[i];
#if OP == 4
    d.v[i] = x * p.f0;
#else
    const float y = b.v[i % p.n1];
#if OP == 0
    d.v[i] = x + y;
#elif OP == 1
    d.v[i] = x * y;
#elif OP == 2
    d.v[i] = x / (1.0 + exp(-x)) * y;
#elif OP == 3
    const float r = max(x, 0.0);
    d.v[i] = r * r * y;
#endif
#endif
}
