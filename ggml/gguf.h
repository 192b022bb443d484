// gguf.h — GGUF v2/v3 reader (bounds-checked, from an mmap or a memory buffer) and writer.
//
// Layout of a GGUF file: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, then n_kv
// (key, type, value) records, then n_tensors tensor infos (name, n_dims, ne[n_dims], type,
// offset relative to the data section), padding to `general.alignment` (default 32), and the
// data section. Every count, length and offset read from the file is checked against the bytes
// that remain before it is used; a malformed file is a `bad_format` status naming the field.
#pragma once

#include "status.h"
#include "type-table.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tern {

enum class gguf_vtype : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8,
    array = 9, u64 = 10, i64 = 11, f64 = 12, count_ = 13,
};
const char *gguf_vtype_name(gguf_vtype t);
size_t gguf_vtype_size(gguf_vtype t); // 0 for string/array

// One metadata value. Scalars are kept in `i`/`u`/`f` (all three filled where meaningful),
// strings in `str`; arrays keep their element type and count, string elements in `arr_str`,
// numeric elements packed little-endian in `arr_raw`. Nested arrays keep only their count.
struct gguf_kv {
    std::string key;
    gguf_vtype type = gguf_vtype::u8;
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    std::string str;
    gguf_vtype arr_type = gguf_vtype::u8;
    uint64_t arr_n = 0;
    std::vector<std::string> arr_str;
    std::vector<uint8_t> arr_raw;

    template <class T> T arr_at(uint64_t idx) const {
        T v;
        std::memcpy(&v, arr_raw.data() + idx * sizeof(T), sizeof(T));
        return v;
    }
};

struct gguf_tensor_info {
    std::string name;
    uint32_t n_dims = 0;
    int64_t ne[4] = {1, 1, 1, 1}; // ne[0] is the innermost (row length)
    type ttype = type::f32;
    uint64_t offset = 0; // relative to the data section
    size_t n_bytes = 0;
};

class gguf_file {
  public:
    // Parse a file: mmaps it read-only and keeps the mapping alive for tensor data.
    static status open(const std::string &path, std::unique_ptr<gguf_file> *out);
    // Parse a buffer the caller keeps alive (tests, fuzzing).
    static status parse(const uint8_t *data, size_t size, std::unique_ptr<gguf_file> *out);
    ~gguf_file();

    uint32_t version = 0;
    size_t alignment = 32;
    size_t data_offset = 0; // absolute offset of the data section
    std::vector<gguf_kv> kvs;
    std::vector<gguf_tensor_info> tensors;

    const gguf_kv *find(const std::string &key) const;
    const gguf_tensor_info *find_tensor(const std::string &name) const;
    const uint8_t *tensor_data(const gguf_tensor_info &t) const { return base_ + data_offset + t.offset; }
    size_t file_size() const { return size_; }
    const uint8_t *base() const { return base_; }

    // Typed getters: false when absent or not convertible (integers of any width, floats).
    bool get_i64(const std::string &key, int64_t *out) const;
    bool get_f64(const std::string &key, double *out) const;
    bool get_bool(const std::string &key, bool *out) const;
    bool get_str(const std::string &key, std::string *out) const;

  private:
    const uint8_t *base_ = nullptr;
    size_t size_ = 0;
    void *map_ = nullptr; // non-null when we own an mmap
    std::unordered_map<std::string, size_t> kv_index_, tensor_index_;
    friend class gguf_parser;
};

// Builds a GGUF file in memory order and writes it. Tensor data is referenced, not copied, until
// write() runs.
class gguf_writer {
  public:
    explicit gguf_writer(size_t alignment = 32) : alignment_(alignment) {}
    void set_str(const std::string &key, const std::string &v);
    void set_u32(const std::string &key, uint32_t v);
    void set_i32(const std::string &key, int32_t v);
    void set_f32(const std::string &key, float v);
    void set_bool(const std::string &key, bool v);
    void set_arr_str(const std::string &key, const std::vector<std::string> &v);
    void set_arr_f32(const std::string &key, const std::vector<float> &v);
    void set_arr_i32(const std::string &key, const std::vector<int32_t> &v);
    // Copy a key (any type) from a parsed file.
    void copy_kv(const gguf_kv &kv);
    void add_tensor(const std::string &name, type t, const int64_t *ne, uint32_t n_dims, const void *data);
    // Writes path + ".part", then renames it. Without a producer tensor data comes from the
    // pointers given to add_tensor; with one, produce(i, dst, n) fills tensor i's n bytes just
    // before they are written (quantize/synth stream tensors through one buffer this way).
    using producer = std::function<status(size_t index, uint8_t *dst, size_t n_bytes)>;
    status write(const std::string &path, const producer &produce = nullptr) const;
    std::vector<uint8_t> to_bytes() const;
    size_t n_tensors() const { return tensors_.size(); }

  private:
    std::vector<uint8_t> header_bytes() const;
    struct tensor_ref {
        std::string name;
        type t;
        int64_t ne[4];
        uint32_t n_dims;
        const void *data;
        size_t n_bytes;
    };
    size_t alignment_;
    std::vector<uint8_t> kv_bytes_;
    uint64_t n_kv_ = 0;
    std::vector<tensor_ref> tensors_;
};

} // namespace tern
