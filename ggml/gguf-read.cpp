// gguf-read.cpp — bounds-checked GGUF parser. Nothing read from the file is trusted: every
// length is compared with the bytes left before memory is touched or allocated.
#include "gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <limits>
#include <type_traits>

namespace tern {

namespace {
constexpr uint64_t k_max_string = 1ull << 30;  // 1 GiB: longer strings are hostile
constexpr uint64_t k_max_dims = 4;
// float -> int64 without undefined behaviour for nan or out-of-range values.
int64_t clamp_i64(double f) {
    if (!(f == f)) return 0;
    if (f >= 9.2e18) return std::numeric_limits<int64_t>::max();
    if (f <= -9.2e18) return std::numeric_limits<int64_t>::min();
    return (int64_t)f;
}
} // namespace

const char *gguf_vtype_name(gguf_vtype t) {
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                  "bool", "string", "array", "u64", "i64", "f64"};
    return (uint32_t)t < (uint32_t)gguf_vtype::count_ ? names[(uint32_t)t] : "invalid";
}

size_t gguf_vtype_size(gguf_vtype t) {
    switch (t) {
    case gguf_vtype::u8: case gguf_vtype::i8: case gguf_vtype::boolean: return 1;
    case gguf_vtype::u16: case gguf_vtype::i16: return 2;
    case gguf_vtype::u32: case gguf_vtype::i32: case gguf_vtype::f32: return 4;
    case gguf_vtype::u64: case gguf_vtype::i64: case gguf_vtype::f64: return 8;
    default: return 0;
    }
}

// Cursor over the file bytes; every read checks the remaining length.
class gguf_parser {
  public:
    gguf_parser(const uint8_t *p, size_t n) : p_(p), n_(n) {}

    size_t pos() const { return off_; }
    size_t left() const { return n_ - off_; }

    template <class T> status read(T *v, const char *what) {
        TERN_CHECK_OR_RETURN(left() >= sizeof(T), code::bad_format,
                             "GGUF truncated: %s at byte %zu needs %zu bytes, file has %zu left", what, off_,
                             sizeof(T), left());
        std::memcpy(v, p_ + off_, sizeof(T));
        off_ += sizeof(T);
        return status::ok();
    }

    status read_string(std::string *s, const char *what) {
        uint64_t len = 0;
        TERN_RETURN_IF_ERROR(read(&len, what));
        TERN_CHECK_OR_RETURN(len <= k_max_string && len <= left(), code::bad_format,
                             "GGUF %s at byte %zu: string length %llu exceeds the %zu bytes left", what,
                             off_ - 8, (unsigned long long)len, left());
        s->assign((const char *)p_ + off_, len);
        off_ += len;
        return status::ok();
    }

    status read_value(gguf_kv *kv, gguf_vtype t, int depth);
    status parse(gguf_file *f);

  private:
    const uint8_t *p_;
    size_t n_;
    size_t off_ = 0;
};

status gguf_parser::read_value(gguf_kv *kv, gguf_vtype t, int depth) {
    switch (t) {
#define TERN_SCALAR(tag, T)                                                                         \
    case gguf_vtype::tag: {                                                                        \
        T v{};                                                                                      \
        TERN_RETURN_IF_ERROR(read(&v, kv->key.c_str()));                                           \
        kv->f = (double)v;                                                                         \
        kv->i = std::is_floating_point<T>::value ? clamp_i64(kv->f) : (int64_t)v;                  \
        kv->u = std::is_floating_point<T>::value ? (uint64_t)std::max<int64_t>(0, kv->i) : (uint64_t)v; \
        return status::ok();                                                                       \
    }
        TERN_SCALAR(u8, uint8_t)
        TERN_SCALAR(i8, int8_t)
        TERN_SCALAR(u16, uint16_t)
        TERN_SCALAR(i16, int16_t)
        TERN_SCALAR(u32, uint32_t)
        TERN_SCALAR(i32, int32_t)
        TERN_SCALAR(f32, float)
        TERN_SCALAR(u64, uint64_t)
        TERN_SCALAR(i64, int64_t)
        TERN_SCALAR(f64, double)
#undef TERN_SCALAR
    case gguf_vtype::boolean: {
        uint8_t v = 0;
        TERN_RETURN_IF_ERROR(read(&v, kv->key.c_str()));
        TERN_CHECK_OR_RETURN(v <= 1, code::bad_format, "GGUF key '%s': bool value %u is not 0 or 1",
                             kv->key.c_str(), v);
        kv->i = v;
        kv->u = v;
        kv->f = v;
        return status::ok();
    }
    case gguf_vtype::string: return read_string(&kv->str, kv->key.c_str());
    case gguf_vtype::array: {
        TERN_CHECK_OR_RETURN(depth < 4, code::bad_format, "GGUF key '%s': arrays nested too deep",
                             kv->key.c_str());
        uint32_t at = 0;
        uint64_t n = 0;
        TERN_RETURN_IF_ERROR(read(&at, kv->key.c_str()));
        TERN_RETURN_IF_ERROR(read(&n, kv->key.c_str()));
        TERN_CHECK_OR_RETURN(at < (uint32_t)gguf_vtype::count_, code::bad_format,
                             "GGUF key '%s': unknown array element type %u", kv->key.c_str(), at);
        const gguf_vtype et = (gguf_vtype)at;
        // Every element takes at least one byte (strings eight): bound the count before allocating.
        const size_t min_elem = et == gguf_vtype::string || et == gguf_vtype::array ? 8 : gguf_vtype_size(et);
        TERN_CHECK_OR_RETURN(n <= left() / min_elem, code::bad_format,
                             "GGUF key '%s': array of %llu %s elements exceeds the %zu bytes left",
                             kv->key.c_str(), (unsigned long long)n, gguf_vtype_name(et), left());
        if (depth == 0) {
            kv->arr_type = et;
            kv->arr_n = n;
        }
        if (et == gguf_vtype::string) {
            std::vector<std::string> v(n);
            for (uint64_t k = 0; k < n; k++) TERN_RETURN_IF_ERROR(read_string(&v[k], kv->key.c_str()));
            if (depth == 0) kv->arr_str = std::move(v);
        } else if (et == gguf_vtype::array) {
            gguf_kv inner;
            inner.key = kv->key;
            for (uint64_t k = 0; k < n; k++) TERN_RETURN_IF_ERROR(read_value(&inner, et, depth + 1));
        } else {
            const size_t bytes = n * min_elem;
            if (depth == 0) kv->arr_raw.assign(p_ + off_, p_ + off_ + bytes);
            off_ += bytes;
        }
        return status::ok();
    }
    default:
        return make_status(code::bad_format, "GGUF key '%s': unknown value type %u", kv->key.c_str(),
                           (unsigned)t);
    }
}

status gguf_parser::parse(gguf_file *f) {
    uint32_t magic = 0;
    TERN_RETURN_IF_ERROR(read(&magic, "magic"));
    TERN_CHECK_OR_RETURN(magic == 0x46554747u, code::bad_format,
                         "not a GGUF file: magic is 0x%08x, expected 'GGUF'", magic);
    TERN_RETURN_IF_ERROR(read(&f->version, "version"));
    TERN_CHECK_OR_RETURN(f->version == 2 || f->version == 3, code::unsupported,
                         "GGUF version %u is not supported (only 2 and 3)", f->version);
    uint64_t n_tensors = 0, n_kv = 0;
    TERN_RETURN_IF_ERROR(read(&n_tensors, "tensor count"));
    TERN_RETURN_IF_ERROR(read(&n_kv, "metadata count"));
    // A key-value record takes at least 12 bytes, a tensor info at least 24.
    TERN_CHECK_OR_RETURN(n_kv <= left() / 12, code::bad_format,
                         "GGUF metadata count %llu is impossible for a file of %zu bytes",
                         (unsigned long long)n_kv, n_);
    TERN_CHECK_OR_RETURN(n_tensors <= left() / 24, code::bad_format,
                         "GGUF tensor count %llu is impossible for a file of %zu bytes",
                         (unsigned long long)n_tensors, n_);

    f->kvs.resize(n_kv);
    for (uint64_t k = 0; k < n_kv; k++) {
        gguf_kv &kv = f->kvs[k];
        TERN_RETURN_IF_ERROR(read_string(&kv.key, "metadata key"));
        uint32_t t = 0;
        TERN_RETURN_IF_ERROR(read(&t, kv.key.c_str()));
        TERN_CHECK_OR_RETURN(t < (uint32_t)gguf_vtype::count_, code::bad_format,
                             "GGUF key '%s': unknown value type %u", kv.key.c_str(), t);
        kv.type = (gguf_vtype)t;
        TERN_RETURN_IF_ERROR(read_value(&kv, kv.type, 0));
        TERN_CHECK_OR_RETURN(f->kv_index_.emplace(kv.key, k).second, code::bad_format,
                             "GGUF key '%s' appears twice", kv.key.c_str());
    }

    if (const gguf_kv *a = f->find("general.alignment")) {
        TERN_CHECK_OR_RETURN(a->type == gguf_vtype::u32 && a->u != 0 && (a->u & (a->u - 1)) == 0 &&
                                 a->u <= (1u << 16),
                             code::bad_format, "GGUF general.alignment must be a power of two u32, got %llu",
                             (unsigned long long)a->u);
        f->alignment = (size_t)a->u;
    }

    f->tensors.resize(n_tensors);
    for (uint64_t k = 0; k < n_tensors; k++) {
        gguf_tensor_info &ti = f->tensors[k];
        TERN_RETURN_IF_ERROR(read_string(&ti.name, "tensor name"));
        TERN_RETURN_IF_ERROR(read(&ti.n_dims, "tensor dims"));
        TERN_CHECK_OR_RETURN(ti.n_dims >= 1 && ti.n_dims <= k_max_dims, code::bad_format,
                             "GGUF tensor '%s': %u dimensions (1..4 allowed)", ti.name.c_str(), ti.n_dims);
        int64_t n_elem = 1;
        for (uint32_t d = 0; d < ti.n_dims; d++) {
            uint64_t ne = 0;
            TERN_RETURN_IF_ERROR(read(&ne, "tensor shape"));
            TERN_CHECK_OR_RETURN(ne >= 1 && ne <= (uint64_t)std::numeric_limits<int64_t>::max() / (uint64_t)n_elem,
                                 code::bad_format, "GGUF tensor '%s': dimension %u is %llu (zero or overflows)",
                                 ti.name.c_str(), d, (unsigned long long)ne);
            ti.ne[d] = (int64_t)ne;
            n_elem *= (int64_t)ne;
        }
        uint32_t t = 0;
        TERN_RETURN_IF_ERROR(read(&t, "tensor type"));
        const type_traits *tr = type_get(t);
        TERN_CHECK_OR_RETURN(t != 131, code::unsupported,
                             "GGUF tensor '%s': type id 131 is the tl4 layout of older tern builds (one scale "
                             "per 64 columns), which this version no longer reads; quantize the source model "
                             "again (tern quantize IN OUT TL4)", ti.name.c_str());
        TERN_CHECK_OR_RETURN(tr != nullptr, code::unsupported, "GGUF tensor '%s': unknown type id %u",
                             ti.name.c_str(), t);
        TERN_CHECK_OR_RETURN(!type_is_runtime_only((type)t), code::unsupported,
                             "GGUF tensor '%s': type %s is an in-memory layout of tern, not a file format",
                             ti.name.c_str(), tr->name);
        ti.ttype = (type)t;
        TERN_CHECK_OR_RETURN(ti.ne[0] % tr->block_size == 0, code::bad_format,
                             "GGUF tensor '%s': row length %lld is not a multiple of the %s block size %lld",
                             ti.name.c_str(), (long long)ti.ne[0], tr->name, (long long)tr->block_size);
        TERN_RETURN_IF_ERROR(read(&ti.offset, "tensor offset"));
        TERN_CHECK_OR_RETURN(ti.offset % f->alignment == 0, code::bad_format,
                             "GGUF tensor '%s': offset %llu is not aligned to %zu", ti.name.c_str(),
                             (unsigned long long)ti.offset, f->alignment);
        // n_elem < 2^63, block size >= 1, type size <= 292: divide first to avoid overflow.
        const uint64_t n_blocks = (uint64_t)n_elem / (uint64_t)tr->block_size;
        TERN_CHECK_OR_RETURN(n_blocks <= (uint64_t)n_ / tr->type_size + 1, code::bad_format,
                             "GGUF tensor '%s': %lld elements cannot fit in a %zu-byte file", ti.name.c_str(),
                             (long long)n_elem, n_);
        if (tr->tile_rows > 0) {
            const int64_t rows = n_elem / ti.ne[0];
            TERN_CHECK_OR_RETURN(ti.ne[0] > 0 && rows % tr->tile_rows == 0, code::bad_format,
                                 "GGUF tensor '%s': %lld rows is not a multiple of the %s tile of %d rows",
                                 ti.name.c_str(), (long long)rows, tr->name, tr->tile_rows);
            TERN_CHECK_OR_RETURN(tr->row_extra == 0 || (uint64_t)rows <= (uint64_t)n_ / tr->row_extra, code::bad_format,
                                 "GGUF tensor '%s': %lld rows cannot fit in a %zu-byte file", ti.name.c_str(),
                                 (long long)rows, n_);
        }
        ti.n_bytes = (size_t)(n_blocks * tr->type_size) + (ti.ne[0] > 0 ? (size_t)(n_elem / ti.ne[0]) * tr->row_extra : 0);
        TERN_CHECK_OR_RETURN(f->tensor_index_.emplace(ti.name, k).second, code::bad_format,
                             "GGUF tensor '%s' appears twice", ti.name.c_str());
    }

    const size_t data_off = (off_ + f->alignment - 1) / f->alignment * f->alignment;
    TERN_CHECK_OR_RETURN(n_tensors == 0 || data_off <= n_, code::bad_format,
                         "GGUF truncated: data section would start at byte %zu of %zu", data_off, n_);
    f->data_offset = data_off;
    const size_t data_size = n_ > data_off ? n_ - data_off : 0;
    for (const auto &ti : f->tensors) {
        TERN_CHECK_OR_RETURN(ti.offset <= data_size && ti.n_bytes <= data_size - ti.offset, code::bad_format,
                             "GGUF tensor '%s': bytes %llu..%llu lie outside the %zu-byte data section "
                             "(file truncated or offset corrupt)",
                             ti.name.c_str(), (unsigned long long)ti.offset,
                             (unsigned long long)(ti.offset + ti.n_bytes), data_size);
    }
    return status::ok();
}

status gguf_file::parse(const uint8_t *data, size_t size, std::unique_ptr<gguf_file> *out) {
    std::unique_ptr<gguf_file> f(new gguf_file());
    f->base_ = data;
    f->size_ = size;
    gguf_parser p(data, size);
    TERN_RETURN_IF_ERROR(p.parse(f.get()));
    *out = std::move(f);
    return status::ok();
}

status gguf_file::open(const std::string &path, std::unique_ptr<gguf_file> *out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    TERN_CHECK_OR_RETURN(fd >= 0, code::io, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_status(code::io, "'%s' is not a regular file", path.c_str());
    }
    const size_t size = (size_t)st.st_size;
    if (size == 0) {
        ::close(fd);
        return make_status(code::bad_format, "'%s' is empty, not a GGUF file", path.c_str());
    }
    void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    TERN_CHECK_OR_RETURN(map != MAP_FAILED, code::io, "cannot mmap '%s': %s", path.c_str(), std::strerror(errno));
    std::unique_ptr<gguf_file> f;
    status st2 = parse((const uint8_t *)map, size, &f);
    if (!st2) {
        munmap(map, size);
        return status(st2.err(), path + ": " + st2.message());
    }
    f->map_ = map;
    *out = std::move(f);
    return status::ok();
}

gguf_file::~gguf_file() {
    if (map_) munmap(map_, size_);
}

const gguf_kv *gguf_file::find(const std::string &key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs[it->second];
}

const gguf_tensor_info *gguf_file::find_tensor(const std::string &name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors[it->second];
}

bool gguf_file::get_i64(const std::string &key, int64_t *out) const {
    const gguf_kv *kv = find(key);
    if (!kv || kv->type == gguf_vtype::string || kv->type == gguf_vtype::array) return false;
    *out = (kv->type == gguf_vtype::f32 || kv->type == gguf_vtype::f64) ? (int64_t)kv->f : kv->i;
    return true;
}

bool gguf_file::get_f64(const std::string &key, double *out) const {
    const gguf_kv *kv = find(key);
    if (!kv || kv->type == gguf_vtype::string || kv->type == gguf_vtype::array) return false;
    *out = kv->f;
    return true;
}

bool gguf_file::get_bool(const std::string &key, bool *out) const {
    const gguf_kv *kv = find(key);
    if (!kv || kv->type == gguf_vtype::string || kv->type == gguf_vtype::array) return false;
    *out = kv->u != 0;
    return true;
}

bool gguf_file::get_str(const std::string &key, std::string *out) const {
    const gguf_kv *kv = find(key);
    if (!kv || kv->type != gguf_vtype::string) return false;
    *out = kv->str;
    return true;
}

} // namespace tern
