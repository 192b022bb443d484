#version 450
// attention.comp — causal attention of one sequence's queries over its F16 cache on the device.
// a: q [n5 tokens][n1 heads][n0 = D] f32; b, c: K, V [n2 KV heads][n4 slots][D] f16, where the
// sequence's dyn[0] committed slots are followed by the pass's tokens; d: out [n5][n1][D] f32;
// f0 = scale, f1 > 0: scores soft-capped, f1 * tanh(s / f1). Query i sees slots [0, dyn[0] + i],
// or with a sliding window n3 > 0 the last n3 of them (slots are positions here: the backend
// checks). One workgroup per (head, query): scores of up to
// 256 slots at a time in shared memory, softmax kept online (running max and sum) across chunks.
#include "common.glsl"
layout(local_size_x = 64) in;
#define CHUNK 256u
#define MAXD 256u
shared float sc[CHUNK];
shared float red[64];

float reduce_max(float x) {
    const uint t = gl_LocalInvocationID.x;
    red[t] = x;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (t < s) red[t] = max(red[t], red[t + s]);
        barrier();
    }
    const float r = red[0];
    barrier();
    return r;
}
float reduce_sum(float x) {
    const uint t = gl_LocalInvocationID.x;
    red[t] = x;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    const float r = red[0];
    barrier();
    return r;
}

void main() {
    const uint D = p.n0, H = p.n1, Hkv = p.n2, n_main = dyn_at(0u), cap = p.n4;
    const uint h = gl_WorkGroupID.x, i = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
    const uint hk = h / (H / Hkv), n_vis = n_main + i + 1u, W = p.n3;
    const uint first = W > 0u && n_vis > W ? n_vis - W : 0u;
    F32 q = F32(p.a), o = F32(p.d);
    U32 kc = U32(p.b), vc = U32(p.c);
    const uint qo = (i * H + h) * D, kv0 = hk * cap * D;
    float acc[MAXD / 64u];
    for (uint r = 0; r < MAXD / 64u; r++) acc[r] = 0.0;
    float m = -1e30, l = 0.0;
    for (uint base = first; base < n_vis; base += CHUNK) {
        const uint cnt = min(CHUNK, n_vis - base);
        float cmax = -1e30;
        for (uint t = tid; t < cnt; t += 64u) {
            const uint row = (kv0 + (base + t) * D) / 2u;
            float s = 0.0;
            for (uint d = 0; d < D; d += 2u) {
                const vec2 kk = unpackHalf2x16(kc.v[row + d / 2u]);
                s += q.v[qo + d] * kk.x + q.v[qo + d + 1u] * kk.y;
            }
            s *= p.f0;
            if (p.f1 > 0.0) s = p.f1 * tanh(s / p.f1);
            sc[t] = s;
            cmax = max(cmax, s);
        }
        const float mnew = max(m, reduce_max(cmax)); // (reduce's barriers also publish sc)
        const float alpha = exp(m - mnew);
        float part = 0.0;
        for (uint t = tid; t < cnt; t += 64u) {
            const float e = exp(sc[t] - mnew);
            sc[t] = e;
            part += e;
        }
        l = l * alpha + reduce_sum(part);
        for (uint r = 0; r < MAXD / 64u; r++) {
            const uint d = tid + 64u * r;
            if (d >= D) break;
            float a = acc[r] * alpha;
            for (uint t = 0; t < cnt; t++) {
                const uint w = (kv0 + (base + t) * D + d) / 2u;
                const vec2 vv = unpackHalf2x16(vc.v[w]);
                a += sc[t] * ((d & 1u) != 0u ? vv.y : vv.x);
            }
            acc[r] = a;
        }
        m = mnew;
        barrier(); // before the next chunk overwrites sc
    }
    for (uint r = 0; r < MAXD / 64u; r++) {
        const uint d = tid + 64u * r;
        if (d < D) o.v[qo + d] = acc[r] / l;
    }
}
