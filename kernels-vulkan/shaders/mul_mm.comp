#version 450
// mul_mm.comp — y[m][n] = sum_k W[n][k] x[m][k] for prompt batches, one weight type (-DTYPE_*):
// a tiled matrix-matrix product. A workgroup of 256 computes a tile of 64 weight rows x 64
// activation columns; per 32-wide step of k it dequantizes its weights (eight per thread,
// weight8) and loads its activations into shared memory, then each thread accumulates 4 x 4
// outputs from there.
// a: W (row stride n2 bytes), b: x [M][K] f32, d: y [M][N] f32; n0 = K, n1 = N, n3 = M.
#include "common.glsl"

layout(local_size_x = 256) in;
#define TN 64u // weight rows per tile
#define TM 64u // activation columns per tile
shared float ws[32][TN + 1u]; // [k][row]; the pad spreads a group's stores over the banks
shared float xs[32][TM + 1u]; // [k][column]

#include "weights.glsl"

void main() {
    const uint K = p.n0, N = p.n1, stride = p.n2, M = p.n3;
    const uint n0 = gl_WorkGroupID.x * TN, m0 = gl_WorkGroupID.y * TM;
    const uint tid = gl_LocalInvocationID.x, lane = tid & 31u, group = tid >> 5;
    const uint tx = tid & 15u, ty = tid >> 4; // outputs: rows n0 + tx + 16i, columns m0 + ty + 16j
    U32 w = U32(p.a);
    F32 x = F32(p.b), y = F32(p.d);
    float acc[4][4];
    [[unroll]] for (uint i = 0; i < 4u; i++)
        [[unroll]] for (uint j = 0; j < 4u; j++) acc[i][j] = 0.0;
    const uint nch = K / 32u;
    for (uint c = 0; c < nch; c++) {
        { // weights: thread t dequantizes quarter t % 4 of row t / 4's chunk, eight at once
            const uint r = tid >> 2, q = tid & 3u;
            float v[8];
            if (n0 + r < N) weight8(w, (n0 + r) * stride, c, q, v);
            else [[unroll]] for (uint i = 0; i < 8u; i++) v[i] = 0.0;
            [[unroll]] for (uint i = 0; i < 8u; i++) ws[k8(q, i)][r] = v[i];
        }
        // activations: group g loads columns g, g + 8, ..., lane = position in the chunk
        [[unroll]] for (uint u = 0; u < 8u; u++) {
            const uint r = group + 8u * u;
            xs[lane][r] = m0 + r < M ? x.v[(m0 + r) * K + 32u * c + lane] : 0.0;
        }
        barrier();
        [[unroll]] for (uint k = 0; k < 32u; k++) {
            float a[4], b[4];
            [[unroll]] for (uint i = 0; i < 4u; i++) a[i] = ws[k][tx + 16u * i];
            [[unroll]] for (uint j = 0; j < 4u; j++) b[j] = xs[k][ty + 16u * j];
            [[unroll]] for (uint i = 0; i < 4u; i++)
                [[unroll]] for (uint j = 0; j < 4u; j++) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    [[unroll]] for (uint j = 0; j < 4u; j++) {
        const uint m = m0 + ty + 16u * j;
        if (m >= M) continue;
        [[unroll]] for (uint i = 0; i < 4u; i++) {
            const uint n = n0 + tx + 16u * i;
            if (n < N) y.v[m * N + n] = acc[i][j];
        }
    }
}
