// kv-cache.cpp — allocation and binding of the plain (uncompressed) KV cache.
#include "kv-cache.h"

#include <new>

namespace tern {

status kv_cache::init(const hparams &hp, int64_t n_ctx, type t) {
    TERN_CHECK_OR_RETURN(t == type::f16 || t == type::f32, code::unsupported, "KV cache type %s is not supported",
                         type_name(t));
    n_ctx_ = n_ctx;
    n_layer_ = hp.n_layer;
    row_ = hp.n_embd_kv();
    type_ = t;
    const size_t bytes = 2 * (size_t)n_layer_ * row_size(t, row_) * (size_t)n_ctx;
    try {
        mem_.assign(bytes, 0);
    } catch (const std::bad_alloc &) {
        return make_status(code::out_of_memory, "cannot allocate %zu MiB of KV cache for %lld tokens", bytes >> 20,
                           (long long)n_ctx);
    }
    used = 0;
    return status::ok();
}

void kv_cache::bind(graph &g, std::vector<tensor *> *k, std::vector<tensor *> *v) {
    const size_t layer_bytes = row_size(type_, row_) * (size_t)n_ctx_;
    k->resize(n_layer_);
    v->resize(n_layer_);
    for (int64_t il = 0; il < n_layer_; il++) {
        (*k)[il] = g.new_tensor_2d(type_, row_, n_ctx_, "k_cache");
        (*k)[il]->data = mem_.data() + (2 * il) * layer_bytes;
        (*v)[il] = g.new_tensor_2d(type_, row_, n_ctx_, "v_cache");
        (*v)[il]->data = mem_.data() + (2 * il + 1) * layer_bytes;
    }
}

} // namespace tern
