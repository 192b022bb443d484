// graph.cpp — tensor helpers and graph builders. Builders check shapes with asserts: a shape
// mismatch here is a bug in model code, never a property of user input (loaders check that).
#include "tensor.h"

#include <cassert>

namespace tern {

const char *op_name(op o) {
    static const char *names[] = {"none", "view", "get_rows", "mul_mat", "add", "mul",
                                  "rms_norm", "rope", "silu_mul", "relu2_mul", "gelu_mul", "scale", "softcap", "kv_store", "attention",
                                  "ffn_select", "sparse_ffn"};
    return (int)o < (int)op::count_ ? names[(int)o] : "?";
}

int64_t tensor_nelements(const tensor *t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }
int64_t tensor_nrows(const tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }
size_t tensor_nbytes(const tensor *t) { return t->nb[1] * (size_t)tensor_nrows(t); }

bool tensor_is_contiguous(const tensor *t) {
    return t->nb[0] == type_get(t->ttype)->type_size && t->nb[1] == row_size(t->ttype, t->ne[0]) &&
           t->nb[2] == t->nb[1] * t->ne[1] && t->nb[3] == t->nb[2] * t->ne[2];
}

void tensor_set_shape(tensor *t, type ty, int n_dims, const int64_t *ne) {
    t->ttype = ty;
    for (int d = 0; d < 4; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nb[0] = type_get(ty)->type_size;
    t->nb[1] = row_size(ty, t->ne[0]);
    t->nb[2] = t->nb[1] * t->ne[1];
    t->nb[3] = t->nb[2] * t->ne[2];
}

tensor *graph::new_tensor(type ty, int n_dims, const int64_t *ne, const char *name) {
    pool_.emplace_back();
    tensor *t = &pool_.back();
    tensor_set_shape(t, ty, n_dims, ne);
    t->name = name;
    return t;
}
tensor *graph::new_tensor_1d(type ty, int64_t ne0, const char *name) { return new_tensor(ty, 1, &ne0, name); }
tensor *graph::new_tensor_2d(type ty, int64_t ne0, int64_t ne1, const char *name) {
    const int64_t ne[2] = {ne0, ne1};
    return new_tensor(ty, 2, ne, name);
}

tensor *graph::new_node(op o, type ty, int n_dims, const int64_t *ne) {
    tensor *t = new_tensor(ty, n_dims, ne);
    t->kind = o;
    nodes_.push_back(t);
    return t;
}

tensor *graph::get_rows(tensor *table, tensor *ids) {
    assert(ids->ttype == type::i32);
    const int64_t ne[2] = {table->ne[0], ids->ne[0]};
    tensor *t = new_node(op::get_rows, type::f32, 2, ne);
    t->src[0] = table;
    t->src[1] = ids;
    return t;
}

tensor *graph::mul_mat(tensor *w, tensor *x) {
    assert(w->ne[0] == x->ne[0] && x->ttype == type::f32);
    const int64_t ne[2] = {w->ne[1], tensor_nrows(x)};
    tensor *t = new_node(op::mul_mat, type::f32, 2, ne);
    t->src[0] = w;
    t->src[1] = x;
    return t;
}

tensor *graph::add(tensor *a, tensor *b) {
    assert(a->ne[0] == b->ne[0] && (tensor_nrows(b) == 1 || tensor_nrows(b) == tensor_nrows(a)));
    tensor *t = new_node(op::add, type::f32, 4, a->ne);
    t->src[0] = a;
    t->src[1] = b;
    return t;
}

tensor *graph::mul(tensor *a, tensor *b) {
    assert(a->ne[0] == b->ne[0] && (tensor_nrows(b) == 1 || tensor_nrows(b) == tensor_nrows(a)));
    tensor *t = new_node(op::mul, type::f32, 4, a->ne);
    t->src[0] = a;
    t->src[1] = b;
    return t;
}

tensor *graph::rms_norm(tensor *x, float eps) {
    tensor *t = new_node(op::rms_norm, type::f32, 4, x->ne);
    t->src[0] = x;
    t->fparams[0] = eps;
    return t;
}

tensor *graph::rope(tensor *x, tensor *pos, int n_rot, float base, int mode) {
    assert(pos->ttype == type::i32 && pos->ne[0] == x->ne[2] && n_rot <= x->ne[0] && n_rot % 2 == 0);
    tensor *t = new_node(op::rope, type::f32, 4, x->ne);
    t->src[0] = x;
    t->src[1] = pos;
    t->iparams[0] = n_rot;
    t->iparams[1] = mode;
    t->fparams[0] = base;
    return t;
}

tensor *graph::gated(op o, tensor *gate, tensor *up) {
    assert(tensor_nelements(gate) == tensor_nelements(up));
    tensor *t = new_node(o, type::f32, 4, gate->ne);
    t->src[0] = gate;
    t->src[1] = up;
    return t;
}
tensor *graph::ffn_select(tensor *g, float keep) {
    assert(tensor_is_contiguous(g) && g->ttype == type::f32);
    tensor *t = new_node(op::ffn_select, type::f32, 2, g->ne);
    t->src[0] = g;
    t->fparams[0] = keep;
    return t;
}

tensor *graph::sparse_ffn(tensor *coef, tensor *x, tensor *bundles, type up, type down) {
    assert(coef->ne[0] == bundles->ne[1] && coef->ne[1] == x->ne[1]);
    assert(bundles->ttype == type::i8 && (size_t)bundles->ne[0] >= ffn_bundle_bytes(up, down, x->ne[0]));
    const int64_t ne[2] = {x->ne[0], x->ne[1]};
    tensor *t = new_node(op::sparse_ffn, type::f32, 2, ne);
    t->src[0] = coef;
    t->src[1] = x;
    t->src[2] = bundles;
    t->iparams[0] = (int32_t)up;
    t->iparams[1] = (int32_t)down;
    return t;
}

size_t ffn_bundle_bytes(type up, type down, int64_t E) { return row_size(up, E) + row_size(down, E); }

tensor *graph::silu_mul(tensor *gate, tensor *up) { return gated(op::silu_mul, gate, up); }
tensor *graph::relu2_mul(tensor *gate, tensor *up) { return gated(op::relu2_mul, gate, up); }
tensor *graph::gelu_mul(tensor *gate, tensor *up) { return gated(op::gelu_mul, gate, up); }

tensor *graph::softcap(tensor *x, float cap) {
    assert(tensor_is_contiguous(x) && x->ttype == type::f32 && cap > 0.0f);
    tensor *t = new_node(op::softcap, type::f32, 4, x->ne);
    t->src[0] = x;
    t->fparams[0] = cap;
    return t;
}

tensor *graph::scale(tensor *x, float s) {
    assert(tensor_is_contiguous(x) && x->ttype == type::f32);
    tensor *t = new_node(op::scale, type::f32, 4, x->ne);
    t->src[0] = x;
    t->fparams[0] = s;
    return t;
}

tensor *graph::kv_cache_leaf(kv_batch *batch) {
    tensor *t = new_tensor_1d(type::i8, 1, "kv_cache");
    t->data = batch;
    return t;
}

tensor *graph::kv_store(tensor *k, tensor *v, tensor *cache) {
    assert(k->ne[0] == v->ne[0] && tensor_nrows(k) == tensor_nrows(v) && k->ttype == type::f32 && v->ttype == type::f32);
    // The node's "result" is the cache itself: it aliases the leaf and needs no memory.
    tensor *t = new_node(op::kv_store, cache->ttype, 4, cache->ne);
    t->src[0] = k;
    t->src[1] = v;
    t->src[2] = cache;
    t->view_src = cache;
    return t;
}

tensor *graph::attention(tensor *q, tensor *cache, tensor *stored, float scale, int window, float softcap) {
    const int64_t ne[2] = {q->ne[0] * q->ne[1], q->ne[2]};
    tensor *t = new_node(op::attention, type::f32, 2, ne);
    t->src[0] = q;
    t->src[1] = cache;
    t->src[2] = stored; // orders the node after the store
    t->fparams[0] = scale;
    t->iparams[0] = window;
    t->fparams[1] = softcap;
    return t;
}

tensor *graph::reshape(tensor *x, int n_dims, const int64_t *ne) {
    assert(tensor_is_contiguous(x));
    tensor *t = new_node(op::view, x->ttype, n_dims, ne);
    assert(tensor_nelements(t) == tensor_nelements(x));
    t->src[0] = x;
    t->view_src = x;
    return t;
}
tensor *graph::reshape_2d(tensor *x, int64_t ne0, int64_t ne1) {
    const int64_t ne[2] = {ne0, ne1};
    return reshape(x, 2, ne);
}
tensor *graph::reshape_3d(tensor *x, int64_t ne0, int64_t ne1, int64_t ne2) {
    const int64_t ne[3] = {ne0, ne1, ne2};
    return reshape(x, 3, ne);
}

tensor *graph::view_cols(tensor *x, int64_t first, int64_t n) {
    assert(first + n <= x->ne[1]);
    const int64_t ne[2] = {x->ne[0], n};
    tensor *t = new_node(op::view, x->ttype, 2, ne);
    t->src[0] = x;
    t->view_src = x;
    t->view_offset = (size_t)first * x->nb[1];
    return t;
}

} // namespace tern
