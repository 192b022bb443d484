#version 450
// mul_mat.comp — y[m][n] = sum_k W[n][k] x[m][k] for one weight type (compiled once per type with
// -DTYPE_*). One workgroup computes one weight row against up to COLS activation columns; each
// thread dequantizes one weight of each chunk it visits, and the workgroup sums through shared
// memory.
// a: W (row stride n2 bytes), b: x [M][K] f32, d: y [M][N] f32; n0 = K, n1 = N, n3 = M.
#include "common.glsl"

layout(local_size_x = 128) in;
#define WG 128u
#define COLS 16
shared float red[COLS][WG];

#include "weights.glsl"

void main() {
    const uint K = p.n0, N = p.n1, stride = p.n2, M = p.n3;
    const uint n = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u;
    const uint m0 = gl_WorkGroupID.z * COLS;
    if (n >= N) return; // whole workgroup
    const uint cols = min(uint(COLS), M - m0);
    U32 w = U32(p.a);
    F32 x = F32(p.b), y = F32(p.d);
    const uint tid = gl_LocalInvocationID.x;
    // constant loop bounds (with a test inside) keep acc[] in registers
    float acc[COLS];
    [[unroll]] for (uint j = 0; j < COLS; j++) acc[j] = 0.0;
    const uint lane = tid & 31u, group = tid >> 5; // WG / 32 groups of 32 lanes take turns at chunks
    const uint G = WG / 32u, nch = K / 32u, row = n * stride;
    uint c = group;
    for (; c + 7u * G < nch; c += 8u * G) { // eight chunks at once: more loads in flight
        float wv[8];
        [[unroll]] for (uint u = 0; u < 8u; u++) wv[u] = weight(w, row, c + u * G, lane);
        const uint xo = m0 * K + 32u * c + lane;
        [[unroll]] for (uint j = 0; j < COLS; j++)
            if (j < cols) {
                float a = 0.0;
                [[unroll]] for (uint u = 0; u < 8u; u++) a += wv[u] * x.v[xo + j * K + 32u * G * u];
                acc[j] += a;
            }
    }
    for (; c < nch; c += G) {
        const float wv = weight(w, row, c, lane);
        const uint xo = m0 * K + 32u * c + lane;
        [[unroll]] for (uint j = 0; j < COLS; j++)
            if (j < cols) acc[j] += wv * x.v[xo + j * K];
    }
    [[unroll]] for (uint j = 0; j < COLS; j++)
        if (j < cols) red[j][tid] = acc[j];
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (tid < s)
            [[unroll]] for (uint j = 0; j < COLS; j++)
                if (j < cols) red[j][tid] += red[j][tid + s];
        barrier();
    }
    if (tid < cols) y.v[(m0 + tid) * N + n] = red[tid][0];
}
