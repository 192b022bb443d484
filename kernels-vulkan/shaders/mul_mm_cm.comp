#version 450
// mul_mm_cm.comp — y[m][n] = sum_k W[n][k] x[m][k] for prompt batches on tensor cores, through
// VK_NV_cooperative_matrix (16 x 16 x 16 f16 products accumulated in f32), one weight type
// (-DTYPE_*). A workgroup of four 32-lane subgroups computes a tile of 64 weight rows x 64
// activation columns, each subgroup a 32 x 32 quarter as 2 x 2 fragments. Per 32-wide step of k
// the workgroup dequantizes its weights and loads its activations into shared memory as f16
// (weights.glsl, one chunk per 32 lanes as in mul_vec). f16 inputs round each weight and
// activation to 11 significant bits: results differ from the f32 shaders by about 1e-3 relative.
// a: W (row stride n2 bytes), b: x [M][K] f32, d: y [M][N] f32; n0 = K, n1 = N, n3 = M.
#include "common.glsl"
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require

layout(local_size_x = 128) in;
#define T 64u   // tile rows and columns
#define LD 40u  // shared row length in halves: 32 + 8 (keeps fragment rows 16-byte aligned)
shared float16_t ws[T * LD]; // [row n][k]
shared float16_t xs[T * LD]; // [column m][k]
shared float ys[T * (T + 4u)]; // [column m][row n] for the guarded store

#include "weights.glsl"

void main() {
    const uint K = p.n0, N = p.n1, stride = p.n2, M = p.n3;
    const uint n0 = gl_WorkGroupID.x * T, m0 = gl_WorkGroupID.y * T;
    const uint tid = gl_LocalInvocationID.x, lane = tid & 31u, group = tid >> 5;
    const uint sg = gl_SubgroupID; // this subgroup's quarter: rows 32 * (sg & 1), columns 32 * (sg >> 1)
    const uint qr = 32u * (sg & 1u), qc = 32u * (sg >> 1);
    U32 w = U32(p.a);
    F32 x = F32(p.b), y = F32(p.d);
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
    [[unroll]] for (uint i = 0; i < 2u; i++)
        [[unroll]] for (uint j = 0; j < 2u; j++) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    const uint nch = K / 32u;
    for (uint c = 0; c < nch; c++) {
        // group g (of 4) loads rows / columns g, g + 4, ...; lane = position in the chunk
        for (uint r = group; r < T; r += 4u) {
            ws[r * LD + lane] = float16_t(n0 + r < N ? weight(w, (n0 + r) * stride, c, lane) : 0.0);
            xs[r * LD + lane] = float16_t(m0 + r < M ? x.v[(m0 + r) * K + 32u * c + lane] : 0.0);
        }
        barrier();
        [[unroll]] for (uint kk = 0; kk < 32u; kk += 16u) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[2], b[2];
            // A: 16 rows (n) x 16 k, row-major in ws; B: 16 k x 16 columns (m) = xs transposed,
            // i.e. column-major in xs
            [[unroll]] for (uint i = 0; i < 2u; i++) coopMatLoadNV(a[i], ws, (qr + 16u * i) * LD + kk, LD, false);
            [[unroll]] for (uint j = 0; j < 2u; j++) coopMatLoadNV(b[j], xs, (qc + 16u * j) * LD + kk, LD, true);
            [[unroll]] for (uint i = 0; i < 2u; i++)
                [[unroll]] for (uint j = 0; j < 2u; j++) acc[i][j] = coopMatMulAddNV(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    // C[n][m] goes to ys[m][n] (column-major store of the fragments), then out with bounds checks
    [[unroll]] for (uint i = 0; i < 2u; i++)
        [[unroll]] for (uint j = 0; j < 2u; j++)
            coopMatStoreNV(acc[i][j], ys, (qc + 16u * j) * (T + 4u) + qr + 16u * i, T + 4u, true);
    barrier();
    for (uint e = tid; e < T * T; e += 128u) {
        const uint m = e / T, n = e % T;
        if (m0 + m < M && n0 + n < N) y.v[(m0 + m) * N + n0 + n] = ys[m * (T + 4u) + n];
    }
}
