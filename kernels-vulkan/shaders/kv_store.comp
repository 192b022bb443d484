#version 450
// kv_store.comp — append a pass's keys and values (a: k, b: v, [n4 tokens][n1 KV heads][n0 = D]
// f32) to the device copy of one layer's F16 cache (c: K, d: V, [n1 heads][n2 slots][D] f16),
// at slots dyn[0] + i (the cache's length, which changes every step), and write the same rows to
// e, [n1 heads][K, V][n4 tokens][D] f16, for the host's copy of the cache. One invocation per
// pair of dimensions (D is even).
#include "common.glsl"
layout(local_size_x = 64) in;

void main() {
    const uint D = p.n0, Hkv = p.n1, cap = p.n2, first = dyn_at(0u), n = p.n4;
    const uint e = gl_GlobalInvocationID.x, i = gl_WorkGroupID.y; // pair e of token i
    if (e >= D * Hkv / 2u) return;
    const uint h = (2u * e) / D, d = (2u * e) % D;
    F32 k = F32(p.a), v = F32(p.b);
    U32 kc = U32(p.c), vc = U32(p.d), out_rows = U32(p.e);
    const uint src = i * D * Hkv + h * D + d, dst = ((h * cap + first + i) * D + d) / 2u;
    const uint kw = packHalf2x16(vec2(k.v[src], k.v[src + 1u])), vw = packHalf2x16(vec2(v.v[src], v.v[src + 1u]));
    kc.v[dst] = kw;
    vc.v[dst] = vw;
    out_rows.v[((2u * h * n + i) * D + d) / 2u] = kw;
    out_rows.v[(((2u * h + 1u) * n + i) * D + d) / 2u] = vw;
}
