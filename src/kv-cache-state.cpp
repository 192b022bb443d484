// kv-cache-state.cpp — a KV cache's contents as a byte string and back (tern_seq_state_*).
//
// Layout (little-endian, as the host writes it): a header of int64 fields
//   magic "TERNKV01", format, policy, n_layer, n_head_kv, D, cap_main, cap_res, next_pos, scores
// then for each layer and KV head: n_main, n_res, n_dead (int64), the main store's keys (n_main
// rows, or n_main / 32 KIVI groups) and values (n_main rows), the residual's n_res f16 key and
// value rows, the n_main + n_res positions (int32) and, when the policy tracks them, scores (f32).
// Loading checks every count against this cache's configuration before copying anything.
#include "kv-cache.h"

#include <cstring>

namespace tern {

namespace {

constexpr char k_magic[8] = {'T', 'E', 'R', 'N', 'K', 'V', '0', '1'};

struct writer {
    std::vector<uint8_t> *out;
    void bytes(const void *p, size_t n) { out->insert(out->end(), (const uint8_t *)p, (const uint8_t *)p + n); }
    void i64(int64_t v) { bytes(&v, sizeof v); }
};

struct reader {
    const uint8_t *p, *end;
    bool ok = true;
    bool bytes(void *dst, size_t n) {
        if (!ok || (size_t)(end - p) < n) return ok = false;
        std::memcpy(dst, p, n);
        p += n;
        return true;
    }
    int64_t i64() {
        int64_t v = -1;
        bytes(&v, sizeof v);
        return v;
    }
};

} // namespace

size_t kv_cache::state_key_bytes(int64_t n_main) const {
    return kv_is_kivi(cfg_.fmt) ? (size_t)(n_main / KIVI_GROUP) * kv_key_group_bytes(cfg_.fmt, D_)
                                : (size_t)n_main * kv_key_row_bytes(cfg_.fmt, D_);
}

void kv_cache::save_state(std::vector<uint8_t> *out) const {
    writer w{out};
    w.bytes(k_magic, sizeof k_magic);
    const kv_layer &L0 = layers_[0];
    const bool scores = heads_[0].score != nullptr;
    for (int64_t v : {(int64_t)cfg_.fmt, (int64_t)cfg_.policy, n_layer_, n_head_kv_, D_, L0.cap_main, L0.cap_res, next_pos_,
                      (int64_t)scores})
        w.i64(v);
    const size_t vrow = kv_value_row_bytes(cfg_.fmt, D_), rrow = (size_t)D_ * sizeof(fp16_t);
    for (const kv_head &hd : heads_) {
        w.i64(hd.n_main), w.i64(hd.n_res), w.i64(hd.n_dead);
        w.bytes(hd.k, state_key_bytes(hd.n_main));
        w.bytes(hd.v, (size_t)hd.n_main * vrow);
        w.bytes(hd.rk, (size_t)hd.n_res * rrow);
        w.bytes(hd.rv, (size_t)hd.n_res * rrow);
        w.bytes(hd.pos, sizeof(int32_t) * (size_t)hd.n_main);
        w.bytes(hd.pos + L0.cap_main, sizeof(int32_t) * (size_t)hd.n_res);
        if (scores) {
            w.bytes(hd.score, sizeof(float) * (size_t)hd.n_main);
            w.bytes(hd.score + L0.cap_main, sizeof(float) * (size_t)hd.n_res);
        }
    }
}

status kv_cache::load_state(const uint8_t *data, size_t size) {
    rows_changed(); // (also when the state is refused: a mirror then merely re-reads the same rows)
    reader r{data, data + size};
    char magic[8];
    TERN_CHECK_OR_RETURN(r.bytes(magic, sizeof magic) && std::memcmp(magic, k_magic, sizeof magic) == 0, code::invalid_argument,
                         "not a tern sequence state");
    const kv_layer &L0 = layers_[0];
    const bool scores = heads_[0].score != nullptr;
    const int64_t want[] = {(int64_t)cfg_.fmt, (int64_t)cfg_.policy, n_layer_, n_head_kv_, D_, L0.cap_main, L0.cap_res};
    const char *what[] = {"KV format", "KV policy", "layer count", "KV head count", "head size", "context size", "residual size"};
    for (int i = 0; i < 7; i++) {
        const int64_t got = r.i64();
        TERN_CHECK_OR_RETURN(r.ok && got == want[i], code::invalid_argument,
                             "the state was saved with another %s (%lld, this context: %lld)", what[i], (long long)got,
                             (long long)want[i]);
    }
    const int64_t next_pos = r.i64(), has_scores = r.i64();
    TERN_CHECK_OR_RETURN(r.ok && next_pos >= 0 && next_pos <= cfg_.n_ctx && has_scores == (int64_t)scores,
                         code::invalid_argument, "the sequence state's header is inconsistent");
    // Read into a copy of the head table first: a bad state leaves the cache as it was.
    std::vector<kv_head> heads = heads_;
    const size_t vrow = kv_value_row_bytes(cfg_.fmt, D_), rrow = (size_t)D_ * sizeof(fp16_t);
    struct span {
        size_t off, n;
        void *dst;
    };
    std::vector<span> copies;
    const uint8_t *base = r.p;
    for (kv_head &hd : heads) {
        hd.n_main = r.i64(), hd.n_res = r.i64(), hd.n_dead = r.i64();
        TERN_CHECK_OR_RETURN(r.ok && hd.n_main >= 0 && hd.n_main <= L0.cap_main && hd.n_res >= 0 && hd.n_res <= L0.cap_res &&
                                 hd.n_dead >= 0 && hd.n_dead <= hd.n_main + hd.n_res &&
                                 (!kv_is_kivi(cfg_.fmt) || hd.n_main % KIVI_GROUP == 0) && (kv_is_kivi(cfg_.fmt) || hd.n_res == 0),
                             code::invalid_argument, "the sequence state's slot counts do not fit this context");
        const size_t parts[] = {state_key_bytes(hd.n_main),
                                (size_t)hd.n_main * vrow,
                                (size_t)hd.n_res * rrow,
                                (size_t)hd.n_res * rrow,
                                sizeof(int32_t) * (size_t)hd.n_main,
                                sizeof(int32_t) * (size_t)hd.n_res,
                                scores ? sizeof(float) * (size_t)hd.n_main : 0,
                                scores ? sizeof(float) * (size_t)hd.n_res : 0};
        void *dsts[] = {hd.k, hd.v, hd.rk, hd.rv, hd.pos, hd.pos + L0.cap_main, hd.score, hd.score ? hd.score + L0.cap_main : nullptr};
        for (int i = 0; i < 8; i++) {
            TERN_CHECK_OR_RETURN((size_t)(r.end - r.p) >= parts[i], code::invalid_argument, "the sequence state is truncated");
            if (i == 4 || i == 5) { // positions: below next_pos, or -1 for an evicted slot
                int32_t pos;
                for (size_t k = 0; k < parts[i] / sizeof pos; k++) {
                    std::memcpy(&pos, r.p + k * sizeof pos, sizeof pos);
                    TERN_CHECK_OR_RETURN(pos >= -1 && pos < next_pos, code::invalid_argument,
                                         "the sequence state holds a position outside 0..%lld", (long long)next_pos - 1);
                }
            }
            if (parts[i]) copies.push_back({(size_t)(r.p - base), parts[i], dsts[i]});
            r.p += parts[i];
        }
    }
    TERN_CHECK_OR_RETURN(r.p == r.end, code::invalid_argument, "the sequence state has %zu trailing bytes", (size_t)(r.end - r.p));
    for (const span &s : copies) std::memcpy(s.dst, base + s.off, s.n);
    for (size_t i = 0; i < heads_.size(); i++) {
        heads_[i].n_main = heads[i].n_main;
        heads_[i].n_res = heads[i].n_res;
        heads_[i].n_dead = heads[i].n_dead;
    }
    next_pos_ = next_pos;
    pass_n_ = 0;
    return status::ok();
}

} // namespace tern
