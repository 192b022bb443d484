#version 450
// get_rows.comp — embedding lookup: d[m][k] = W[ids[m]][k] dequantized, for one weight type
// (-DTYPE_*, weights.glsl). a: W (row stride n2 bytes), b: ids [n1] i32, d: out [n1][n0] f32.
// One invocation per output value.
#include "common.glsl"
layout(local_size_x = 256) in;

#include "weights.glsl"

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    const uint E = p.n0;
    if (i >= E * p.n1) return;
    const uint m = i / E, k = i % E;
    const uint row = uint(I32(p.b).v[m]) * p.n2;
    F32(p.d).v[i] = weight(U32(p.a), row, k >> 5, k & 31u);
}
