#version 450
// mul_mm_cm.comp — y[m][n] = sum_k W[n][k] x[m][k] for prompt batches on tensor cores, through
// VK_NV_cooperative_matrix (16 x 16 x 16 f16 products accumulated in f32), one weight type
// (-DTYPE_*). A workgroup of eight 32-lane subgroups computes a tile of 64 weight rows x 64
// activation columns, each subgroup 16 rows x 32 columns as two fragments. Per 64-wide step of k
// the workgroup dequantizes its weights eight at a time (weight8) and loads its activations into
// shared memory as f16. f16 inputs round each weight and activation to 11 significant bits:
// results differ from the f32 shaders by about 1e-3 relative.
// a: W (row stride n2 bytes), b: x [M][K] f32, d: y [M][N] f32; n0 = K, n1 = N, n3 = M.
#include "common.glsl"
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require

layout(local_size_x = 256) in;
#define T 64u   // tile rows and columns
#define KS 64u  // k per step (two chunks)
#define LD 72u  // shared row length in halves: KS + 8 (fragment rows stay 16-byte aligned)
#define LY 68u  // result row length in floats
shared float16_t ws[T * LD]; // [row n][k]
shared float16_t xs[T * LD]; // [column m][k]
shared float ys[T * LY];     // [column m][row n] for the guarded store

#include "weights.glsl"

void main() {
    const uint K = p.n0, N = p.n1, stride = p.n2, M = p.n3;
    const uint n0 = gl_WorkGroupID.x * T, m0 = gl_WorkGroupID.y * T;
    const uint tid = gl_LocalInvocationID.x;
    const uint sg = gl_SubgroupID; // rows 16 * (sg & 3), columns 32 * (sg >> 2)
    const uint qr = 16u * (sg & 3u), qc = 32u * (sg >> 2);
    U32 w = U32(p.a);
    F32 x = F32(p.b), y = F32(p.d);
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2];
    [[unroll]] for (uint j = 0; j < 2u; j++) acc[j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    for (uint k0 = 0; k0 < K; k0 += KS) {
        const uint nk = min(KS, K - k0); // 32 or 64
        // weights: 64 rows x (nk / 32) chunks x 4 quarters of eight
        for (uint item = tid; item < T * (nk / 8u); item += 256u) {
            const uint r = item / (nk / 8u), rest = item % (nk / 8u), cc = rest >> 2, q = rest & 3u;
            float v[8];
            if (n0 + r < N) weight8(w, (n0 + r) * stride, k0 / 32u + cc, q, v);
            else [[unroll]] for (uint i = 0; i < 8u; i++) v[i] = 0.0;
            [[unroll]] for (uint i = 0; i < 8u; i++) ws[r * LD + 32u * cc + k8(q, i)] = float16_t(v[i]);
        }
        // activations: 64 columns x nk, neighbouring threads on neighbouring k
        for (uint e = tid; e < T * nk; e += 256u) {
            const uint r = e / nk, k = e % nk;
            xs[r * LD + k] = float16_t(m0 + r < M ? x.v[(m0 + r) * K + k0 + k] : 0.0);
        }
        if (nk < KS) // a last half step: zeros where the second chunk would be
            for (uint e = tid; e < T * 32u; e += 256u) {
                const uint r = e / 32u, k = 32u + e % 32u;
                ws[r * LD + k] = float16_t(0.0);
                xs[r * LD + k] = float16_t(0.0);
            }
        barrier();
        [[unroll]] for (uint kk = 0; kk < KS; kk += 16u) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a, b[2];
            // A: 16 rows (n) x 16 k, row-major in ws; B: 16 k x 16 columns (m) = xs transposed,
            // i.e. column-major in xs
            coopMatLoadNV(a, ws, qr * LD + kk, LD, false);
            [[unroll]] for (uint j = 0; j < 2u; j++) coopMatLoadNV(b[j], xs, (qc + 16u * j) * LD + kk, LD, true);
            [[unroll]] for (uint j = 0; j < 2u; j++) acc[j] = coopMatMulAddNV(a, b[j], acc[j]);
        }
        barrier();
    }
    // C[n][m] goes to ys[m][n] (column-major store of the fragments), then out with bounds checks
    [[unroll]] for (uint j = 0; j < 2u; j++) coopMatStoreNV(acc[j], ys, (qc + 16u * j) * LY + qr, LY, true);
    barrier();
    for (uint e = tid; e < T * T; e += 256u) {
        const uint m = e / T, n = e % T;
        if (m0 + m < M && n0 + n < N) y.v[(m0 + m) * N + n0 + n] = ys[m * LY + n];
    }
}
