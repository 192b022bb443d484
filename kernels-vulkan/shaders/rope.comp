#version 450
// rope.comp — rotary position embedding of a [D][H][M] f32 tensor (n0 = D, n1 = H, n2 = M),
// b: positions [M] i32, n3 = n_rot, n4 = mode (0: pairs (2i, 2i+1); 2: pairs (i, i + n_rot/2)),
// f0 = base. One invocation per (pair or passed-through element, head, token).
#include "common.glsl"
layout(local_size_x = 64) in;

void main() {
    const uint D = p.n0, H = p.n1, n_rot = p.n3, i = gl_GlobalInvocationID.x;
    const uint h = gl_WorkGroupID.y, m = gl_WorkGroupID.z;
    F32 a = F32(p.a), d = F32(p.d);
    I32 pos = I32(p.b);
    const uint row = (m * H + h) * D;
    if (i < n_rot / 2u) {
        const float theta = float(pos.v[m]) * pow(p.f0, -2.0 * float(i) / float(n_rot));
        const float cs = cos(theta), sn = sin(theta);
        const uint i0 = p.n4 == 2u ? i : 2u * i, i1 = p.n4 == 2u ? i + n_rot / 2u : 2u * i + 1u;
        const float x0 = a.v[row + i0], x1 = a.v[row + i1];
        d.v[row + i0] = x0 * cs - x1 * sn;
        d.v[row + i1] = x0 * sn + x1 * cs;
    } else if (n_rot + (i - n_rot / 2u) < D) {
        const uint k = n_rot + (i - n_rot / 2u);
        d.v[row + k] = a.v[row + k];
    }
}
