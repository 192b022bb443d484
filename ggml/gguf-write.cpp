// gguf-write.cpp — GGUF v3 writer: metadata in insertion order, tensors aligned.
#include "gguf.h"

#include <cstdio>
#include <cstring>

namespace tern {

namespace {
template <class T> void put(std::vector<uint8_t> &b, T v) {
    const uint8_t *p = (const uint8_t *)&v;
    b.insert(b.end(), p, p + sizeof(T));
}
void put_str(std::vector<uint8_t> &b, const std::string &s) {
    put<uint64_t>(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
}
void put_key(std::vector<uint8_t> &b, const std::string &key, gguf_vtype t) {
    put_str(b, key);
    put<uint32_t>(b, (uint32_t)t);
}
} // namespace

void gguf_writer::set_str(const std::string &key, const std::string &v) {
    put_key(kv_bytes_, key, gguf_vtype::string);
    put_str(kv_bytes_, v);
    n_kv_++;
}
void gguf_writer::set_u32(const std::string &key, uint32_t v) {
    put_key(kv_bytes_, key, gguf_vtype::u32);
    put(kv_bytes_, v);
    n_kv_++;
}
void gguf_writer::set_i32(const std::string &key, int32_t v) {
    put_key(kv_bytes_, key, gguf_vtype::i32);
    put(kv_bytes_, v);
    n_kv_++;
}
void gguf_writer::set_f32(const std::string &key, float v) {
    put_key(kv_bytes_, key, gguf_vtype::f32);
    put(kv_bytes_, v);
    n_kv_++;
}
void gguf_writer::set_bool(const std::string &key, bool v) {
    put_key(kv_bytes_, key, gguf_vtype::boolean);
    put<uint8_t>(kv_bytes_, v ? 1 : 0);
    n_kv_++;
}
void gguf_writer::set_arr_str(const std::string &key, const std::vector<std::string> &v) {
    put_key(kv_bytes_, key, gguf_vtype::array);
    put<uint32_t>(kv_bytes_, (uint32_t)gguf_vtype::string);
    put<uint64_t>(kv_bytes_, v.size());
    for (const auto &s : v) put_str(kv_bytes_, s);
    n_kv_++;
}
void gguf_writer::set_arr_f32(const std::string &key, const std::vector<float> &v) {
    put_key(kv_bytes_, key, gguf_vtype::array);
    put<uint32_t>(kv_bytes_, (uint32_t)gguf_vtype::f32);
    put<uint64_t>(kv_bytes_, v.size());
    for (float x : v) put(kv_bytes_, x);
    n_kv_++;
}
void gguf_writer::set_arr_i32(const std::string &key, const std::vector<int32_t> &v) {
    put_key(kv_bytes_, key, gguf_vtype::array);
    put<uint32_t>(kv_bytes_, (uint32_t)gguf_vtype::i32);
    put<uint64_t>(kv_bytes_, v.size());
    for (int32_t x : v) put(kv_bytes_, x);
    n_kv_++;
}

void gguf_writer::copy_kv(const gguf_kv &kv) {
    put_key(kv_bytes_, kv.key, kv.type);
    switch (kv.type) {
    case gguf_vtype::string: put_str(kv_bytes_, kv.str); break;
    case gguf_vtype::array:
        put<uint32_t>(kv_bytes_, (uint32_t)kv.arr_type);
        if (kv.arr_type == gguf_vtype::array) { // nested arrays are not kept: write an empty one
            put<uint64_t>(kv_bytes_, 0);
            break;
        }
        put<uint64_t>(kv_bytes_, kv.arr_n);
        if (kv.arr_type == gguf_vtype::string)
            for (const auto &s : kv.arr_str) put_str(kv_bytes_, s);
        else
            kv_bytes_.insert(kv_bytes_.end(), kv.arr_raw.begin(), kv.arr_raw.end());
        break;
    case gguf_vtype::f32: put<float>(kv_bytes_, (float)kv.f); break;
    case gguf_vtype::f64: put<double>(kv_bytes_, kv.f); break;
    default: {
        const size_t n = gguf_vtype_size(kv.type);
        const uint64_t u = kv.u;
        const uint8_t *p = (const uint8_t *)&u; // little-endian: low bytes first
        kv_bytes_.insert(kv_bytes_.end(), p, p + n);
    }
    }
    n_kv_++;
}

void gguf_writer::add_tensor(const std::string &name, type t, const int64_t *ne, uint32_t n_dims,
                             const void *data) {
    tensor_ref r{name, t, {1, 1, 1, 1}, n_dims, data, 0};
    int64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        r.ne[d] = ne[d];
        n *= ne[d];
    }
    r.n_bytes = row_size(t, r.ne[0]) * (size_t)(n / r.ne[0]);
    tensors_.push_back(r);
}

std::vector<uint8_t> gguf_writer::header_bytes() const {
    std::vector<uint8_t> b;
    put<uint32_t>(b, 0x46554747u);
    put<uint32_t>(b, 3);
    put<uint64_t>(b, tensors_.size());
    put<uint64_t>(b, n_kv_ + (alignment_ != 32 ? 1 : 0));
    b.insert(b.end(), kv_bytes_.begin(), kv_bytes_.end());
    if (alignment_ != 32) {
        put_key(b, "general.alignment", gguf_vtype::u32);
        put<uint32_t>(b, (uint32_t)alignment_);
    }
    uint64_t off = 0;
    for (const auto &t : tensors_) {
        put_str(b, t.name);
        put<uint32_t>(b, t.n_dims);
        for (uint32_t d = 0; d < t.n_dims; d++) put<uint64_t>(b, (uint64_t)t.ne[d]);
        put<uint32_t>(b, (uint32_t)t.t);
        put<uint64_t>(b, off);
        off += (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
    }
    b.resize((b.size() + alignment_ - 1) / alignment_ * alignment_, 0);
    return b;
}

std::vector<uint8_t> gguf_writer::to_bytes() const {
    std::vector<uint8_t> b = header_bytes();
    for (const auto &t : tensors_) {
        const uint8_t *p = (const uint8_t *)t.data;
        b.insert(b.end(), p, p + t.n_bytes);
        b.resize((b.size() + alignment_ - 1) / alignment_ * alignment_, 0);
    }
    return b;
}

status gguf_writer::write(const std::string &path, const producer &produce) const {
    const std::string tmp = path + ".part";
    FILE *f = std::fopen(tmp.c_str(), "wb");
    TERN_CHECK_OR_RETURN(f != nullptr, code::io, "cannot create '%s'", tmp.c_str());
    auto fail = [&](status st) {
        std::fclose(f);
        std::remove(tmp.c_str());
        return st;
    };
    const std::vector<uint8_t> head = header_bytes();
    if (std::fwrite(head.data(), 1, head.size(), f) != head.size())
        return fail(status(code::io, "short write to '" + tmp + "'"));
    std::vector<uint8_t> buf;
    const std::vector<uint8_t> zeros(alignment_, 0); // padding after a tensor: up to alignment - 1 bytes
    for (size_t i = 0; i < tensors_.size(); i++) {
        const tensor_ref &t = tensors_[i];
        const uint8_t *p = (const uint8_t *)t.data;
        if (produce) {
            buf.resize(t.n_bytes);
            status st = produce(i, buf.data(), t.n_bytes);
            if (!st.is_ok()) return fail(st);
            p = buf.data();
        }
        const size_t pad = (alignment_ - t.n_bytes % alignment_) % alignment_;
        if (std::fwrite(p, 1, t.n_bytes, f) != t.n_bytes || std::fwrite(zeros.data(), 1, pad, f) != pad)
            return fail(status(code::io, "short write to '" + tmp + "' (disk full?)"));
    }
    TERN_CHECK_OR_RETURN(std::fclose(f) == 0, code::io, "cannot close '%s'", tmp.c_str());
    TERN_CHECK_OR_RETURN(std::rename(tmp.c_str(), path.c_str()) == 0, code::io, "cannot rename '%s' to '%s'",
                         tmp.c_str(), path.c_str());
    return status::ok();
}

} // namespace tern
