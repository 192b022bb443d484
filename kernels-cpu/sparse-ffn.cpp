// sparse-ffn.cpp — the sparse SwiGLU FFN of flash sparse mode (ggml/tensor.h, op::ffn_select and
// op::sparse_ffn). The gate projection runs densely (it is the predictor); ffn_select keeps, per
// token, the neurons with the largest |silu(gate)|; sparse_ffn reads only their bundles (up row +
// down column), from a contiguous table or through a row-pointer table when the weight store has
// gathered the bundles it read into its neuron window.
#include "cpu-ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern {

namespace {

inline size_t align64(size_t n) { return (n + 63) / 64 * 64; }

inline const uint8_t *bundle_at(const tensor *b, int64_t j) {
    if (b->flags & tensor_flag_indirect) return ((const uint8_t *const *)b->data)[j];
    return (const uint8_t *)b->data + (size_t)j * b->nb[1];
}

// Elements of down rows each thread accumulates at a time (a multiple of every block size).
constexpr int64_t k_seg = 256;

} // namespace

size_t cpu_sparse_ffn_work_size(const tensor *node, int n_threads) {
    if (node->kind == op::ffn_select) return align64((size_t)node->src[0]->ne[0] * sizeof(float)) * (size_t)n_threads;
    const type t = (type)node->iparams[0];
    const type vdt = type_get(t)->vec_dot_type;
    const int64_t E = node->src[1]->ne[0], M = node->src[1]->ne[1], F = node->src[0]->ne[0];
    return align64(row_size(vdt, E) * (size_t)M) + align64((size_t)F) + align64((size_t)F * (size_t)M * sizeof(float)) +
           align64(k_seg * sizeof(float)) * (size_t)n_threads;
}

bool cpu_sparse_ffn_supported(const tensor *node) {
    if (node->kind == op::ffn_select) return true;
    const type_traits *up = type_get((uint32_t)node->iparams[0]), *down = type_get((uint32_t)node->iparams[1]);
    const int64_t E = node->src[1]->ne[0];
    return up && down && up->tile_rows == 0 && down->to_float && down->tile_rows == 0 && E % up->block_size == 0 &&
           E % down->block_size == 0 && k_seg % down->block_size == 0 && kernels_generic()->dot[node->iparams[0]] != nullptr;
}

void cpu_ffn_select(const op_ctx &c, tensor *dst) {
    const tensor *g = dst->src[0];
    const int64_t F = g->ne[0], M = g->ne[1];
    const float keep = dst->fparams[0];
    const int64_t k = std::max<int64_t>(1, std::min<int64_t>(F, (int64_t)std::llround((double)keep * (double)F)));
    float *mag = (float *)(c.work + (size_t)c.ith * align64((size_t)F * sizeof(float)));
    int64_t lo, hi;
    split(M, c.ith, c.nth, &lo, &hi);
    for (int64_t m = lo; m < hi; m++) {
        const float *gm = (const float *)g->data + m * F;
        float *out = (float *)dst->data + m * F;
        for (int64_t j = 0; j < F; j++) out[j] = gm[j] / (1.0f + std::exp(-gm[j]));
        if (k >= F) continue;
        for (int64_t j = 0; j < F; j++) mag[j] = std::fabs(out[j]);
        std::nth_element(mag, mag + (F - k), mag + F); // mag[F-k]: the k-th largest
        const float tau = mag[F - k];
        for (int64_t j = 0; j < F; j++)
            if (std::fabs(out[j]) < tau) out[j] = 0.0f;
    }
}

void cpu_sparse_ffn(const op_ctx &c, tensor *dst) {
    const tensor *coef = dst->src[0], *x = dst->src[1], *b = dst->src[2];
    const type t = (type)dst->iparams[0], td = (type)dst->iparams[1];
    const type_traits *tr = type_get(td); // the down columns'
    const int64_t E = x->ne[0], M = x->ne[1], F = coef->ne[0];
    const size_t rb = row_size(t, E);
    const type vdt = type_get(t)->vec_dot_type;
    const size_t xs = row_size(vdt, E);
    uint8_t *xq = c.work;
    uint8_t *active = xq + align64(xs * (size_t)M);
    float *h = (float *)(active + align64((size_t)F));
    float *seg = (float *)((uint8_t *)h + align64((size_t)F * (size_t)M * sizeof(float)) +
                           (size_t)c.ith * align64(k_seg * sizeof(float)));
    const float *cf = (const float *)coef->data;
    float *y = (float *)dst->data;
    // Phase 1: activations in the dot format; which neurons any token uses.
    int64_t lo, hi;
    split(M, c.ith, c.nth, &lo, &hi);
    for (int64_t m = lo; m < hi; m++) {
        const float *xm = (const float *)x->data + m * E;
        if (vdt == type::f32) std::memcpy(xq + m * xs, xm, xs);
        else type_get(vdt)->from_float(xm, xq + m * xs, E);
    }
    split(F, c.ith, c.nth, &lo, &hi);
    for (int64_t j = lo; j < hi; j++) {
        uint8_t any = 0;
        for (int64_t m = 0; m < M; m++) any |= cf[m * F + j] != 0.0f;
        active[j] = any;
    }
    barrier(c);
    // Phase 2: h[m][j] = c[j, m] * (up_j . x_m) for the neurons in use.
    const vec_dot_fn dot = c.k->dot[(int)t];
    for (int64_t j = lo; j < hi; j++) {
        if (!active[j]) continue;
        const uint8_t *up = bundle_at(b, j);
        for (int64_t m = 0; m < M; m++) {
            const float cj = cf[m * F + j];
            h[m * F + j] = cj != 0.0f ? cj * dot(E, up, xq + m * xs) : 0.0f;
        }
    }
    barrier(c);
    // Phase 3: y[:, m] = sum_j h[m][j] * down_j, each thread owning segments of the output.
    const int64_t n_seg = (E + k_seg - 1) / k_seg;
    const axpy_fn axpy = c.k->axpy[(int)td];
    split(n_seg, c.ith, c.nth, &lo, &hi);
    for (int64_t s = lo; s < hi; s++) {
        const int64_t e0 = s * k_seg, n = std::min(k_seg, E - e0);
        const size_t boff = (size_t)(e0 / tr->block_size) * tr->type_size;
        for (int64_t m = 0; m < M; m++) std::fill(y + m * E + e0, y + m * E + e0 + n, 0.0f);
        for (int64_t j = 0; j < F; j++) {
            if (!active[j]) continue;
            const uint8_t *down = bundle_at(b, j) + rb + boff;
            if (M == 1 && axpy) {
                if (h[j] != 0.0f) axpy(n, h[j], down, y + e0);
                continue;
            }
            tr->to_float(down, seg, n);
            for (int64_t m = 0; m < M; m++) {
                const float hm = h[m * F + j];
                if (hm == 0.0f) continue;
                float *ym = y + m * E + e0;
                for (int64_t i = 0; i < n; i++) ym[i] += hm * seg[i];
            }
        }
    }
}

} // namespace tern
