#version 450
// binary.comp — element-wise ops over n0 elements: d[i] = op(a[i], b[i % n1]) (n1: b's element
// count; a row of b is broadcast over a's rows). OP (-DOP=): 0 add, 1 mul, 2 silu(a) * b,
// 3 relu(a)^2 * b, 4 a * f0 (b unused), 5 gelu_tanh(a) * b with the CPU's f16 roundings of GELU's
// input and result (ggml's), 6 f0 * tanh(a / f0) (soft-capping; b unused).
#include "common.glsl"
layout(local_size_x = 256) in;

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= p.n0) return;
    F32 a = F32(p.a), b = F32(p.b), d = F32(p.d);
    const float x = a.v[i];
#if OP == 4
    d.v[i] = x * p.f0;
#elif OP == 6
    d.v[i] = p.f0 * tanh(x * (1.0 / p.f0));
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
#elif OP == 5
    float g;
    if (x <= -10.0) g = 0.0;
    else if (x >= 10.0) g = x;
    else {
        const float h = f16_round(x);
        g = f16_round(0.5 * h * (1.0 + tanh(0.79788456080286535588 * h * (1.0 + 0.044715 * h * h))));
    }
    d.v[i] = g * y;
#endif
#endif
}
