#version 450
// mul_mat.comp — y[m][n] = sum_k W[n][k] x[m][k] for one weight type (compiled once per type with
// -DTYPE_*). One workgroup computes one weight row against up to COLS activation columns; each
// thread dequantizes 32-weight chunks of the row, and the workgroup sums through shared memory.
// a: W (row stride n2 bytes), b: x [M][K] f32, d: y [M][N] f32; n0 = K, n1 = N, n3 = M.
#include "common.glsl"

layout(local_size_x = 64) in;
#define COLS 8
shared float red[COLS][64];

// The 32 weights of chunk c (elements 32c .. 32c+31) of the row starting at byte `row`.
void chunk(U32 w, uint row, uint c, out float q[32]) {
#if defined(TYPE_F32)
    for (uint i = 0; i < 32; i++) q[i] = uintBitsToFloat(w.v[(row >> 2) + 32u * c + i]);
#elif defined(TYPE_F16)
    for (uint i = 0; i < 32; i += 2) {
        const vec2 h = unpackHalf2x16(w.v[(row >> 2) + 16u * c + i / 2u]);
        q[i] = h.x, q[i + 1] = h.y;
    }
#elif defined(TYPE_Q8_0)
    const uint b = row + 34u * c;
    const float d = f16_at(w, b);
    for (uint i = 0; i < 32; i++) q[i] = d * float(i8_at(w, b + 2u + i));
#elif defined(TYPE_Q4_0)
    const uint b = row + 18u * c;
    const float d = f16_at(w, b);
    for (uint i = 0; i < 16; i++) {
        const uint x = byte_at(w, b + 2u + i);
        q[i] = d * (float(x & 15u) - 8.0), q[i + 16] = d * (float(x >> 4) - 8.0);
    }
#elif defined(TYPE_Q4_1)
    const uint b = row + 20u * c;
    const float d = f16_at(w, b), m = f16_at(w, b + 2u);
    for (uint i = 0; i < 16; i++) {
        const uint x = byte_at(w, b + 4u + i);
        q[i] = d * float(x & 15u) + m, q[i + 16] = d * float(x >> 4) + m;
    }
#elif defined(TYPE_Q4_K)
    // block: f16 d, f16 dmin, scales[12], qs[128]; sub-block j = c % 8 of block c / 8
    const uint b = row + 144u * (c >> 3), j = c & 7u;
    const float d = f16_at(w, b), dmin = f16_at(w, b + 2u);
    uint sc, mn;
    if (j < 4u) {
        sc = byte_at(w, b + 4u + j) & 63u;
        mn = byte_at(w, b + 8u + j) & 63u;
    } else {
        sc = (byte_at(w, b + 8u + j) & 15u) | ((byte_at(w, b + j) >> 6) << 4);
        mn = (byte_at(w, b + 8u + j) >> 4) | ((byte_at(w, b + 4u + j) >> 6) << 4);
    }
    const float ds = d * float(sc), dm = dmin * float(mn);
    const uint qs = b + 16u + 32u * (j >> 1), shift = (j & 1u) * 4u;
    for (uint i = 0; i < 32; i++) q[i] = ds * float((byte_at(w, qs + i) >> shift) & 15u) - dm;
#elif defined(TYPE_Q6_K)
    // block: ql[128], qh[64], scales[16] (i8), f16 d; chunk = half h, quarter r of block c / 8
    const uint b = row + 210u * (c >> 3), h = (c >> 2) & 1u, r = c & 3u;
    const float d = f16_at(w, b + 208u);
    const uint ql = b + 64u * h + ((r & 1u) != 0u ? 32u : 0u), qh = b + 128u + 32u * h;
    const uint lo_shift = r >= 2u ? 4u : 0u, hi_shift = 2u * r;
    for (uint i = 0; i < 32; i++) {
        const uint v = ((byte_at(w, ql + i) >> lo_shift) & 15u) | (((byte_at(w, qh + i) >> hi_shift) & 3u) << 4);
        q[i] = d * float(i8_at(w, b + 192u + 8u * h + i / 16u + 2u * r)) * (float(v) - 32.0);
    }
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
    float acc[COLS];
    for (uint j = 0; j < COLS; j++) acc[j] = 0.0;
    float q[32];
    for (uint c = tid; c < K / 32u; c += 64u) {
        chunk(w, n * stride, c, q);
        for (uint j = 0; j < cols; j++) {
            const uint xo = (m0 + j) * K + 32u * c;
            float s = 0.0;
            for (uint i = 0; i < 32; i++) s += q[i] * x.v[xo + i];
            acc[j] += s;
        }
    }
    for (uint j = 0; j < COLS; j++) red[j][tid] = acc[j];
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s)
            for (uint j = 0; j < COLS; j++) red[j][tid] += red[j][tid + s];
        barrier();
    }
    if (tid < cols) y.v[(m0 + tid) * N + n] = red[tid][0];
}
