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

// Weight l (0..31) of chunk c (elements 32c .. 32c+31) of the row starting at byte `row`. The 32
// lanes of a subgroup take the 32 weights of one chunk, so their loads of weights and activations
// fall on neighbouring addresses.
float weight(U32 w, uint row, uint c, uint l) {
#if defined(TYPE_F32)
    return uintBitsToFloat(w.v[(row >> 2) + 32u * c + l]);
#elif defined(TYPE_F16)
    return f16_at(w, row + 2u * (32u * c + l));
#elif defined(TYPE_Q8_0)
    const uint b = row + 34u * c;
    return f16_at(w, b) * float(i8_at(w, b + 2u + l));
#elif defined(TYPE_Q4_0)
    const uint b = row + 18u * c;
    const uint x = byte_at(w, b + 2u + (l & 15u));
    return f16_at(w, b) * (float(l < 16u ? x & 15u : x >> 4) - 8.0);
#elif defined(TYPE_Q4_1)
    const uint b = row + 20u * c;
    const uint x = byte_at(w, b + 4u + (l & 15u));
    return f16_at(w, b) * float(l < 16u ? x & 15u : x >> 4) + f16_at(w, b + 2u);
#elif defined(TYPE_Q4_K)
    // block: f16 d, f16 dmin, scales[12], qs[128]; sub-block j = c % 8 of block c / 8
    const uint b = row + 144u * (c >> 3), j = c & 7u;
    uint sc, mn;
    if (j < 4u) {
        sc = byte_at(w, b + 4u + j) & 63u;
        mn = byte_at(w, b + 8u + j) & 63u;
    } else {
        sc = (byte_at(w, b + 8u + j) & 15u) | ((byte_at(w, b + j) >> 6) << 4);
        mn = (byte_at(w, b + 8u + j) >> 4) | ((byte_at(w, b + 4u + j) >> 6) << 4);
    }
    const uint q = (byte_at(w, b + 16u + 32u * (j >> 1) + l) >> ((j & 1u) * 4u)) & 15u;
    return f16_at(w, b) * float(sc) * float(q) - f16_at(w, b + 2u) * float(mn);
#elif defined(TYPE_Q6_K)
    // block: ql[128], qh[64], scales[16] (i8), f16 d; chunk = half h, quarter r of block c / 8
    const uint b = row + 210u * (c >> 3), h = (c >> 2) & 1u, r = c & 3u;
    const uint ql = b + 64u * h + ((r & 1u) != 0u ? 32u : 0u), qh = b + 128u + 32u * h;
    const uint v = ((byte_at(w, ql + l) >> (r >= 2u ? 4u : 0u)) & 15u) | (((byte_at(w, qh + l) >> (2u * r)) & 3u) << 4);
    return f16_at(w, b + 208u) * float(i8_at(w, b + 192u + 8u * h + l / 16u + 2u * r)) * (float(v) - 32.0);
#else
#error "no TYPE_ defined"
#endif
}

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
