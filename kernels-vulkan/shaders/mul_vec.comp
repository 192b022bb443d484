#version 450
// mul_vec.comp — y[n] = sum_k W[n][k] x[k] for one activation column (decode), one weight type
// (-DTYPE_*). A workgroup of four 32-lane groups computes four rows, one per group: the lanes take
// the 32 weights of each chunk of their row, eight chunks in flight, and the group sums through
// shared memory, or (-DSUBGROUPS, on devices with subgroups of 32 lanes or more) with a clustered
// subgroup add. a: W (row stride n2 bytes), b: x [K] f32, d: y [N] f32; n0 = K, n1 = N.
#include "common.glsl"
#ifdef SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_clustered : require
#endif

layout(local_size_x = 128) in;
shared float red[128];

#include "weights.glsl"

void main() {
    const uint K = p.n0, N = p.n1, stride = p.n2;
#ifdef SUBGROUPS
    // the 32 lanes of a row are one cluster of a subgroup (the reduction below needs that)
    const bool sg = gl_SubgroupSize >= 32u;
    const uint tid = sg ? gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID : gl_LocalInvocationID.x;
#else
    const uint tid = gl_LocalInvocationID.x;
#endif
    const uint lane = tid & 31u, group = tid >> 5;
    const uint n = (gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u) * 4u + group;
    U32 w = U32(p.a);
    F32 x = F32(p.b), y = F32(p.d);
    float acc = 0.0;
    if (n < N) {
        const uint nch = K / 32u, row = n * stride;
        uint c = 0;
        for (; c + 8u <= nch; c += 8u) {
            float wv[8];
            [[unroll]] for (uint u = 0; u < 8u; u++) wv[u] = weight(w, row, c + u, lane);
            [[unroll]] for (uint u = 0; u < 8u; u++) acc += wv[u] * x.v[32u * (c + u) + lane];
        }
        for (; c < nch; c++) acc += weight(w, row, c, lane) * x.v[32u * c + lane];
    }
#ifdef SUBGROUPS
    if (sg) {
        const float sum = subgroupClusteredAdd(acc, 32u);
        if (lane == 0u && n < N) y.v[n] = sum;
        return;
    }
#endif
    red[tid] = acc;
    barrier();
    for (uint s = 16u; s > 0u; s >>= 1) {
        if (lane < s) red[tid] += red[tid + s];
        barrier();
    }
    if (lane == 0u && n < N) y.v[n] = red[tid];
}
