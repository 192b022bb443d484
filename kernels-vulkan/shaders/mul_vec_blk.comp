#version 450
// mul_vec_blk.comp — y[n] = sum_k W[n][k] x[k] for one activation column (decode), Q4_0, Q4_1 or
// Q8_0 weights (-DTYPE_*) whose blocks start on words (vec_blocks.glsl). A workgroup of four
// 32-lane groups; each group computes ROWS consecutive rows: a lane takes every 32nd unit of
// blocks, loads the unit's activations once and uses them for all ROWS rows, so the activations
// are read N / ROWS times rather than N. Sums go through a clustered subgroup add (-DSUBGROUPS,
// on devices with subgroups of 32 lanes or more) or shared memory.
// a: W (row stride n2 bytes), b: x [K] f32 (16-byte aligned), d: y [N] f32; n0 = K, n1 = N.
#include "common.glsl"
#ifdef SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_clustered : require
#endif
#ifndef ROWS
#define ROWS 1
#endif

layout(local_size_x = 128) in;
shared float red[ROWS][128];

#include "vec_blocks.glsl"

void main() {
    const uint K = p.n0, N = p.n1, stride = p.n2;
#ifdef SUBGROUPS
    // the 32 lanes of a group are one cluster of a subgroup (the reduction below needs that)
    const bool sg = gl_SubgroupSize >= 32u;
    const uint tid = sg ? gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID : gl_LocalInvocationID.x;
#else
    const uint tid = gl_LocalInvocationID.x;
#endif
    const uint lane = tid & 31u, group = tid >> 5;
    const uint n0 = ((gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u) * 4u + group) * uint(ROWS);
    U32 w = U32(p.a);
    V4 x4 = V4(p.b);
    F32 y = F32(p.d);
    float acc[ROWS];
    [[unroll]] for (uint r = 0; r < uint(ROWS); r++) acc[r] = 0.0;
    const uint units = K / (32u * UNIT_BLOCKS), wstride = stride / 4u;
    if (n0 < N)
        for (uint u = lane; u < units; u += 32u) {
            vec4 xv[UNIT_VEC4];
            [[unroll]] for (uint i = 0; i < UNIT_VEC4; i++) xv[i] = x4.v[u * UNIT_VEC4 + i];
            [[unroll]] for (uint r = 0; r < uint(ROWS); r++)
                if (n0 + r < N) acc[r] += unit_dot(w, (n0 + r) * wstride, u, xv);
        }
#ifdef SUBGROUPS
    if (sg) {
        [[unroll]] for (uint r = 0; r < uint(ROWS); r++) {
            const float sum = subgroupClusteredAdd(acc[r], 32u);
            if (lane == 0u && n0 + r < N) y.v[n0 + r] = sum;
        }
        return;
    }
#endif
    [[unroll]] for (uint r = 0; r < uint(ROWS); r++) red[r][tid] = acc[r];
    barrier();
    for (uint s = 16u; s > 0u; s >>= 1) {
        if (lane < s)
            [[unroll]] for (uint r = 0; r < uint(ROWS); r++) red[r][tid] += red[r][tid + s];
        barrier();
    }
    if (lane == 0u)
        [[unroll]] for (uint r = 0; r < uint(ROWS); r++)
            if (n0 + r < N) y.v[n0 + r] = red[r][tid];
}
