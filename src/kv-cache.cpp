// kv-cache.cpp — KV cache memory, KIVI residual flushing, eviction policies and compaction.
#include "kv-cache.h"

#include <atomic>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <numeric>

namespace tern {

namespace {
const char *const k_policy_names[] = {"all", "window", "h2o", "snapkv"};


inline size_t al64(size_t b) { return (b + 63) / 64 * 64; }

// Rotate one key (D floats) by `delta` positions: RoPE of position p+delta = rotation by delta
// applied to the key rotated for p.
void rope_shift(float *x, int64_t n_rot, float base, int mode, int64_t delta) {
    for (int64_t i = 0; i < n_rot / 2; i++) {
        const double th = (double)delta * std::pow((double)base, -2.0 * (double)i / (double)n_rot);
        const float c = (float)std::cos(th), s = (float)std::sin(th);
        const int64_t a = mode == 2 ? i : 2 * i, b = mode == 2 ? i + n_rot / 2 : 2 * i + 1;
        const float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}
} // namespace

const char *kv_policy_name(kv_policy p) { return p < kv_policy::count_ ? k_policy_names[(int)p] : "?"; }

bool kv_policy_parse(const char *name, kv_policy *out) {
    const int i = kv_name_index(name, k_policy_names, (int)kv_policy::count_);
    if (i >= 0) *out = (kv_policy)i;
    return i >= 0;
}

constexpr int64_t KIVI_MAX_PASS = 128;

int64_t kv_cache::slack() const { return cfg_.policy == kv_policy::all ? 0 : std::max<int64_t>(KIVI_GROUP, cfg_.budget / 8); }

status kv_cache::init(const hparams &hp, const kv_config &cfg_in) {
    cfg_ = cfg_in;
    const kv_format f = cfg_.fmt;
    TERN_CHECK_OR_RETURN(f < kv_format::count_, code::invalid_argument, "unknown KV cache format");
    TERN_CHECK_OR_RETURN(f <= kv_format::f16 || hp.head_dim % 32 == 0, code::unsupported,
                         "KV format %s needs a head size that is a multiple of 32 (this model's is %lld)",
                         kv_format_name(f), (long long)hp.head_dim);
    TERN_CHECK_OR_RETURN(cfg_.n_ctx > 0 && cfg_.n_batch > 0, code::invalid_argument, "KV cache needs n_ctx and n_batch");
    TERN_CHECK_OR_RETURN(!kv_is_kivi(f) || (cfg_.residual >= KIVI_GROUP && cfg_.residual <= 4096), code::invalid_argument,
                         "KIVI residual length must be 32..4096 tokens (got %lld)", (long long)cfg_.residual);
    n_layer_ = hp.n_layer, n_head_kv_ = hp.n_head_kv, D_ = hp.head_dim, n_rot_ = hp.n_rot;
    rope_base_ = hp.rope_base, rope_mode_ = hp.rope_mode;
    rope_base_layer_.resize((size_t)hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) rope_base_layer_[(size_t)il] = hp.rope_base_of(il);
    int64_t cap = cfg_.n_ctx;
    if (cfg_.policy != kv_policy::all) {
        if (cfg_.budget <= 0) cfg_.budget = cfg_.n_ctx / 2;
        TERN_CHECK_OR_RETURN(cfg_.budget < cfg_.n_ctx, code::invalid_argument,
                             "KV budget %lld must be smaller than the context (%lld)", (long long)cfg_.budget,
                             (long long)cfg_.n_ctx);
        const int64_t floor_budget = cfg_.policy == kv_policy::window   ? cfg_.sinks + 1
                                     : cfg_.policy == kv_policy::snapkv ? cfg_.obs_window + 1
                                                                        : 2;
        TERN_CHECK_OR_RETURN(cfg_.budget >= floor_budget && cfg_.sinks >= 0 && cfg_.obs_window > 0 && cfg_.pool > 0,
                             code::invalid_argument, "KV budget %lld is too small for policy %s (at least %lld)",
                             (long long)cfg_.budget, kv_policy_name(cfg_.policy), (long long)floor_budget);
        // A pass may not push positions past n_ctx after a renumbering.
        cfg_.n_batch = std::min(cfg_.n_batch, cfg_.n_ctx - cfg_.budget);
        cap = std::min(cfg_.n_ctx, cfg_.budget + std::max(cfg_.n_batch, cfg_.obs_window) + slack());
    }
    const bool kivi = kv_is_kivi(f);
    // KIVI stages a pass's tokens in the f16 residual: passes of at most KIVI_MAX_PASS tokens keep
    // that staging area small (SmolLM2 at 4096 tokens, kivi2: 31.3 MiB allocated with 512-token
    // passes, 20.6 MiB with 32) and quantize a long prompt as it goes. Not with SnapKV, whose
    // observation window must see the whole prompt in one pass.
    if (kivi && cfg_.policy != kv_policy::snapkv) cfg_.n_batch = std::min(cfg_.n_batch, KIVI_MAX_PASS);
    const int64_t cap_main = kivi ? (cap + KIVI_GROUP - 1) / KIVI_GROUP * KIVI_GROUP + KIVI_GROUP : cap;
    const int64_t cap_res = kivi ? cfg_.residual + cfg_.n_batch + KIVI_GROUP : 0;
    const bool scores = cfg_.policy == kv_policy::h2o || cfg_.policy == kv_policy::snapkv;
    const size_t kbytes = kivi ? (size_t)(cap_main / KIVI_GROUP) * kv_key_group_bytes(f, D_)
                               : (size_t)cap_main * kv_key_row_bytes(f, D_);
    const size_t vbytes = (size_t)cap_main * kv_value_row_bytes(f, D_);
    const size_t rbytes = (size_t)cap_res * (size_t)D_ * sizeof(fp16_t);
    const size_t slots = (size_t)(cap_main + cap_res);
    const size_t per_head = al64(kbytes) + al64(vbytes) + 2 * al64(rbytes) + al64(slots * 4) + (scores ? al64(slots * 4) : 0);
    const size_t total = per_head * (size_t)(n_layer_ * n_head_kv_);
    try {
        mem_.assign(total + 64, 0);
        layers_.assign((size_t)n_layer_, kv_layer{});
        heads_.assign((size_t)(n_layer_ * n_head_kv_), kv_head{});
    } catch (const std::bad_alloc &) {
        return make_status(code::out_of_memory, "cannot allocate %zu MiB of KV cache", total >> 20);
    }
    uint8_t *p = (uint8_t *)(((uintptr_t)mem_.data() + 63) & ~(uintptr_t)63);
    for (int64_t il = 0; il < n_layer_; il++) {
        kv_layer &L = layers_[(size_t)il];
        L.fmt = f, L.D = D_, L.n_head_kv = n_head_kv_, L.cap_main = cap_main, L.cap_res = cap_res;
        static std::atomic<uint64_t> next_uid{1};
        L.uid = next_uid++;
        L.heads = &heads_[(size_t)(il * n_head_kv_)];
        for (int64_t h = 0; h < n_head_kv_; h++) {
            kv_head &hd = L.heads[h];
            hd.k = p, p += al64(kbytes);
            hd.v = p, p += al64(vbytes);
            hd.rk = (fp16_t *)p, p += al64(rbytes);
            hd.rv = (fp16_t *)p, p += al64(rbytes);
            hd.pos = (int32_t *)p, p += al64(slots * 4);
            if (scores) hd.score = (float *)p, p += al64(slots * 4);
        }
    }
    next_pos_ = 0, pass_n_ = 0;
    return status::ok();
}

void kv_cache::bind(graph &g, std::vector<tensor *> *leaves) {
    batches_.assign((size_t)n_layer_, kv_batch{});
    leaves->resize((size_t)n_layer_);
    for (int64_t il = 0; il < n_layer_; il++) {
        batches_[(size_t)il].spans = {kv_span{&layers_[(size_t)il], 0, pass_n_}};
        (*leaves)[(size_t)il] = g.kv_cache_leaf(&batches_[(size_t)il]);
    }
}

int64_t kv_cache::n_cached() const {
    if (heads_.empty()) return 0;
    const kv_head &hd = heads_[0];
    return hd.n_main + hd.n_res - hd.n_dead;
}

status kv_cache::begin_pass(int64_t n, std::vector<int32_t> *positions) {
    TERN_CHECK_OR_RETURN(n > 0 && n <= cfg_.n_batch, code::invalid_argument, "a pass of %lld tokens exceeds the batch size %lld",
                         (long long)n, (long long)cfg_.n_batch);
    if (cfg_.policy != kv_policy::all && next_pos_ + n > cfg_.n_ctx) reposition();
    TERN_CHECK_OR_RETURN(next_pos_ + n <= cfg_.n_ctx, code::context_full,
                         "%lld tokens do not fit: %lld of %lld context positions are used", (long long)n,
                         (long long)next_pos_, (long long)cfg_.n_ctx);
    const bool snap_reset = cfg_.policy == kv_policy::snapkv && n > 1;
    for (kv_layer &L : layers_) {
        for (int64_t h = 0; h < n_head_kv_; h++) {
            kv_head &hd = L.heads[h];
            const bool room = L.staged() ? hd.n_res + n <= L.cap_res : hd.n_main + n <= L.cap_main;
            TERN_CHECK_OR_RETURN(room, code::internal, "KV cache slots exhausted (%lld + %lld)",
                                 (long long)(hd.n_main + hd.n_res), (long long)n);
            const int64_t first = L.staged() ? L.cap_main + hd.n_res : hd.n_main;
            for (int64_t i = 0; i < n; i++) hd.pos[first + i] = (int32_t)(next_pos_ + i);
            if (hd.score) {
                if (snap_reset) std::fill(hd.score, hd.score + L.cap_main + L.cap_res, 0.0f);
                std::fill(hd.score + first, hd.score + first + n, 0.0f);
            }
        }
        L.n_new = n;
        L.track = cfg_.policy == kv_policy::h2o || cfg_.policy == kv_policy::snapkv;
        L.track_from = snap_reset ? std::max<int64_t>(0, n - cfg_.obs_window) : 0;
    }
    positions->resize((size_t)n);
    for (int64_t i = 0; i < n; i++) (*positions)[(size_t)i] = (int32_t)(next_pos_ + i);
    pass_n_ = n;
    return status::ok();
}

void kv_cache::abort_pass() {
    for (kv_layer &L : layers_) L.n_new = 0, L.track = false;
    pass_n_ = 0;
}

void kv_cache::commit_pass() {
    for (kv_layer &L : layers_) {
        for (int64_t h = 0; h < n_head_kv_; h++) {
            kv_head &hd = L.heads[h];
            (L.staged() ? hd.n_res : hd.n_main) += pass_n_;
            if (cfg_.policy != kv_policy::all) evict(hd);
            compact(hd, false);
            if (L.staged()) flush_residual(hd);
        }
        L.n_new = 0, L.track = false;
    }
    next_pos_ += pass_n_;
    pass_n_ = 0;
}

// Choose what this head forgets: alive slots are listed in position order (main, then residual).
void kv_cache::evict(kv_head &hd) {
    const kv_layer &L = layers_[0];
    std::vector<int64_t> alive;
    alive.reserve((size_t)(hd.n_main + hd.n_res));
    for (int64_t i = 0; i < hd.n_main; i++)
        if (hd.pos[i] >= 0) alive.push_back(i);
    for (int64_t i = 0; i < hd.n_res; i++)
        if (hd.pos[L.cap_main + i] >= 0) alive.push_back(L.cap_main + i);
    const int64_t A = (int64_t)alive.size(), B = cfg_.budget;
    if (A <= B) return;
    std::vector<uint8_t> keep((size_t)A, 0);
    switch (cfg_.policy) {
    case kv_policy::window:
        for (int64_t i = 0; i < A; i++) keep[(size_t)i] = i < cfg_.sinks || i >= A - (B - cfg_.sinks);
        break;
    case kv_policy::h2o: {
        const int64_t recent = B / 2, old = A - recent;
        for (int64_t i = old; i < A; i++) keep[(size_t)i] = 1;
        std::vector<int64_t> idx((size_t)old);
        std::iota(idx.begin(), idx.end(), 0);
        std::nth_element(idx.begin(), idx.begin() + (B - recent), idx.end(), [&](int64_t a, int64_t b) {
            return hd.score[alive[(size_t)a]] > hd.score[alive[(size_t)b]];
        });
        for (int64_t i = 0; i < B - recent; i++) keep[(size_t)idx[(size_t)i]] = 1;
        break;
    }
    case kv_policy::snapkv: {
        if (pass_n_ == 1 && A < B + cfg_.obs_window) return; // decode: compress once a window has been observed
        const int64_t obs = std::min(cfg_.obs_window, A), cand = A - obs, half = cfg_.pool / 2;
        for (int64_t i = cand; i < A; i++) keep[(size_t)i] = 1;
        std::vector<float> pooled((size_t)cand);
        for (int64_t i = 0; i < cand; i++) {
            float mx = 0;
            for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min(cand - 1, i + half); j++)
                mx = std::max(mx, hd.score[alive[(size_t)j]]);
            pooled[(size_t)i] = mx;
        }
        std::vector<int64_t> idx((size_t)cand);
        std::iota(idx.begin(), idx.end(), 0);
        const int64_t take = B - obs;
        // ties (equal pooled scores) resolved towards later tokens
        std::nth_element(idx.begin(), idx.begin() + take, idx.end(), [&](int64_t a, int64_t b) {
            return pooled[(size_t)a] != pooled[(size_t)b] ? pooled[(size_t)a] > pooled[(size_t)b] : a > b;
        });
        for (int64_t i = 0; i < take; i++) keep[(size_t)idx[(size_t)i]] = 1;
        std::fill(hd.score, hd.score + L.cap_main + L.cap_res, 0.0f);
        break;
    }
    default: return;
    }
    for (int64_t i = 0; i < A; i++)
        if (!keep[(size_t)i]) hd.pos[alive[(size_t)i]] = -1, hd.n_dead++;
}

// Reclaim evicted slots. Per-token formats move rows (exact). KIVI: the residual's rows move,
// wholly evicted key groups are dropped; partly evicted groups are requantized only when more
// than slack() dead slots remain (or `full`).
void kv_cache::compact(kv_head &hd, bool full) {
    if (hd.n_dead == 0) return;
    rows_changed();
    const kv_layer &L = layers_[0];
    const bool kivi = L.staged();
    const size_t vrow = kv_value_row_bytes(L.fmt, D_);
    int64_t dead_res = 0;
    if (kivi) { // residual rows (f16)
        int64_t w = 0;
        for (int64_t i = 0; i < hd.n_res; i++) {
            const int64_t s = L.cap_main + i;
            if (hd.pos[s] < 0) {
                dead_res++;
                continue;
            }
            if (w != i) {
                std::memcpy(hd.rk + w * D_, hd.rk + i * D_, D_ * sizeof(fp16_t));
                std::memcpy(hd.rv + w * D_, hd.rv + i * D_, D_ * sizeof(fp16_t));
                hd.pos[L.cap_main + w] = hd.pos[s];
                if (hd.score) hd.score[L.cap_main + w] = hd.score[s];
            }
            w++;
        }
        hd.n_res = w;
        hd.n_dead -= dead_res;
        if (hd.n_dead == 0) return;
    }
    if (!kivi) {
        if (!full && hd.n_dead <= slack()) return;
        const size_t krow = kv_key_row_bytes(L.fmt, D_);
        int64_t w = 0;
        for (int64_t i = 0; i < hd.n_main; i++) {
            if (hd.pos[i] < 0) continue;
            if (w != i) {
                std::memcpy(hd.k + w * krow, hd.k + i * krow, krow);
                std::memcpy(hd.v + w * vrow, hd.v + i * vrow, vrow);
                hd.pos[w] = hd.pos[i];
                if (hd.score) hd.score[w] = hd.score[i];
            }
            w++;
        }
        hd.n_main = w, hd.n_dead = 0;
        return;
    }
    // KIVI main store: drop wholly dead groups.
    const size_t gbytes = kv_key_group_bytes(L.fmt, D_);
    int64_t wg = 0;
    for (int64_t g = 0; g < hd.n_main / KIVI_GROUP; g++) {
        bool any = false;
        for (int64_t t = 0; t < KIVI_GROUP && !any; t++) any = hd.pos[g * KIVI_GROUP + t] >= 0;
        if (!any) {
            hd.n_dead -= KIVI_GROUP;
            continue;
        }
        if (wg != g) {
            std::memcpy(hd.k + wg * gbytes, hd.k + g * gbytes, gbytes);
            std::memcpy(hd.v + wg * KIVI_GROUP * vrow, hd.v + g * KIVI_GROUP * vrow, KIVI_GROUP * vrow);
            std::memmove(hd.pos + wg * KIVI_GROUP, hd.pos + g * KIVI_GROUP, KIVI_GROUP * sizeof(int32_t));
            if (hd.score) std::memmove(hd.score + wg * KIVI_GROUP, hd.score + g * KIVI_GROUP, KIVI_GROUP * sizeof(float));
        }
        wg++;
    }
    hd.n_main = wg * KIVI_GROUP;
    if (hd.n_dead == 0 || (!full && hd.n_dead <= slack())) return;
    std::vector<float> k, v, score;
    std::vector<int32_t> pos;
    std::vector<uint8_t> from_res;
    gather(hd, &k, &v, &pos, &score, &from_res);
    rewrite(hd, k, v, pos, score, std::count(from_res.begin(), from_res.end(), 1));
}

// KIVI: quantize the oldest 32 residual tokens into a key group and 32 value rows while the
// residual holds `residual` tokens or more.
void kv_cache::flush_residual(kv_head &hd) {
    const kv_layer &L = layers_[0];
    const size_t gbytes = kv_key_group_bytes(L.fmt, D_), vrow = kv_value_row_bytes(L.fmt, D_);
    std::vector<float> kf((size_t)(KIVI_GROUP * D_)), vf((size_t)D_);
    while (hd.n_res >= cfg_.residual && hd.n_main + KIVI_GROUP <= L.cap_main) {
        for (int64_t i = 0; i < KIVI_GROUP * D_; i++) kf[(size_t)i] = fp16_to_fp32(hd.rk[i]);
        kivi_quantize_keys(L.fmt, D_, kf.data(), (size_t)D_, hd.k + (hd.n_main / KIVI_GROUP) * gbytes);
        for (int64_t t = 0; t < KIVI_GROUP; t++) {
            for (int64_t d = 0; d < D_; d++) vf[(size_t)d] = fp16_to_fp32(hd.rv[t * D_ + d]);
            kivi_quantize_value(L.fmt, D_, vf.data(), hd.v + (hd.n_main + t) * vrow);
            hd.pos[hd.n_main + t] = hd.pos[L.cap_main + t];
            if (hd.score) hd.score[hd.n_main + t] = hd.score[L.cap_main + t];
        }
        const int64_t rest = hd.n_res - KIVI_GROUP;
        std::memmove(hd.rk, hd.rk + KIVI_GROUP * D_, (size_t)(rest * D_) * sizeof(fp16_t));
        std::memmove(hd.rv, hd.rv + KIVI_GROUP * D_, (size_t)(rest * D_) * sizeof(fp16_t));
        std::memmove(hd.pos + L.cap_main, hd.pos + L.cap_main + KIVI_GROUP, (size_t)rest * sizeof(int32_t));
        if (hd.score)
            std::memmove(hd.score + L.cap_main, hd.score + L.cap_main + KIVI_GROUP, (size_t)rest * sizeof(float));
        hd.n_main += KIVI_GROUP, hd.n_res = rest;
    }
}

// The head's live tokens as f32 keys and values [n][D], in position order.
void kv_cache::gather(const kv_head &hd, std::vector<float> *k, std::vector<float> *v, std::vector<int32_t> *pos,
                      std::vector<float> *score, std::vector<uint8_t> *from_res) const {
    const kv_layer &L = layers_[0];
    const size_t vrow = kv_value_row_bytes(L.fmt, D_);
    k->clear(), v->clear(), pos->clear(), score->clear(), from_res->clear();
    std::vector<float> kg((size_t)(KIVI_GROUP * D_)), row((size_t)D_);
    for (int64_t i = 0; i < hd.n_main; i++) {
        if (L.staged() && i % KIVI_GROUP == 0)
            kivi_dequantize_keys(L.fmt, D_, hd.k + (i / KIVI_GROUP) * kv_key_group_bytes(L.fmt, D_), kg.data(), (size_t)D_);
        if (hd.pos[i] < 0) continue;
        if (L.staged()) {
            k->insert(k->end(), kg.begin() + (i % KIVI_GROUP) * D_, kg.begin() + (i % KIVI_GROUP + 1) * D_);
            kivi_dequantize_value(L.fmt, D_, hd.v + i * vrow, row.data());
        } else {
            row.resize((size_t)D_);
            rows_to_float(kv_row_type(L.fmt), hd.k, D_, i, 1, row.data());
            k->insert(k->end(), row.begin(), row.end());
            rows_to_float(kv_row_type(L.fmt), hd.v, D_, i, 1, row.data());
        }
        v->insert(v->end(), row.begin(), row.end());
        pos->push_back(hd.pos[i]);
        score->push_back(hd.score ? hd.score[i] : 0.0f);
        from_res->push_back(0);
    }
    for (int64_t i = 0; i < hd.n_res; i++) {
        if (hd.pos[L.cap_main + i] < 0) continue;
        for (int64_t d = 0; d < D_; d++) k->push_back(fp16_to_fp32(hd.rk[i * D_ + d]));
        for (int64_t d = 0; d < D_; d++) v->push_back(fp16_to_fp32(hd.rv[i * D_ + d]));
        pos->push_back(hd.pos[L.cap_main + i]);
        score->push_back(hd.score ? hd.score[L.cap_main + i] : 0.0f);
        from_res->push_back(1);
    }
}

// Lay the given tokens out again from slot 0 (no dead slots). KIVI: whole groups of the tokens
// that were quantized go back to the main store, the remainder and former residual to the residual.
void kv_cache::rewrite(kv_head &hd, const std::vector<float> &k, const std::vector<float> &v,
                       const std::vector<int32_t> &pos, const std::vector<float> &score, int64_t n_from_res) {
    rows_changed();
    const kv_layer &L = layers_[0];
    const int64_t n = (int64_t)pos.size();
    const size_t vrow = kv_value_row_bytes(L.fmt, D_);
    int64_t n_main = n;
    if (L.staged()) {
        n_main = (n - n_from_res) / KIVI_GROUP * KIVI_GROUP;
        for (int64_t g = 0; g < n_main / KIVI_GROUP; g++)
            kivi_quantize_keys(L.fmt, D_, k.data() + g * KIVI_GROUP * D_, (size_t)D_,
                               hd.k + g * kv_key_group_bytes(L.fmt, D_));
        for (int64_t i = 0; i < n_main; i++) kivi_quantize_value(L.fmt, D_, v.data() + i * D_, hd.v + i * vrow);
        for (int64_t i = n_main; i < n; i++)
            for (int64_t d = 0; d < D_; d++) {
                hd.rk[(i - n_main) * D_ + d] = fp32_to_fp16(k[(size_t)(i * D_ + d)]);
                hd.rv[(i - n_main) * D_ + d] = fp32_to_fp16(v[(size_t)(i * D_ + d)]);
            }
    } else {
        rows_from_float(kv_row_type(L.fmt), k.data(), hd.k, D_, 0, n);
        rows_from_float(kv_row_type(L.fmt), v.data(), hd.v, D_, 0, n);
    }
    for (int64_t i = 0; i < n; i++) {
        const int64_t s = i < n_main ? i : L.cap_main + (i - n_main);
        hd.pos[s] = pos[(size_t)i];
        if (hd.score) hd.score[s] = score[(size_t)i];
    }
    hd.n_main = n_main, hd.n_res = n - n_main, hd.n_dead = 0;
    if (L.staged()) flush_residual(hd);
}

// Renumber each head's tokens 0..n-1 (keys re-rotated) so that new positions stay below n_ctx.
void kv_cache::reposition() {
    rows_changed();
    std::vector<float> k, v, score;
    std::vector<int32_t> pos;
    std::vector<uint8_t> from_res;
    int64_t n_max = 0;
    for (kv_head &hd : heads_) {
        gather(hd, &k, &v, &pos, &score, &from_res);
        for (size_t i = 0; i < pos.size(); i++) {
            rope_shift(k.data() + i * D_, n_rot_, rope_base_layer_[(size_t)((&hd - heads_.data()) / n_head_kv_)], rope_mode_,
                       (int64_t)i - pos[i]);
            pos[i] = (int32_t)i;
        }
        rewrite(hd, k, v, pos, score, std::count(from_res.begin(), from_res.end(), 1));
        n_max = std::max<int64_t>(n_max, (int64_t)pos.size());
    }
    next_pos_ = n_max;
}

status kv_cache::fill_synthetic(int64_t n, uint64_t seed) {
    std::vector<int32_t> positions;
    std::vector<float> k((size_t)D_), v((size_t)D_);
    uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
    auto next = [&] {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        return (float)((double)(st >> 40) / (double)(1ull << 24) * 4.0 - 2.0);
    };
    for (int64_t done = 0; done < n;) {
        const int64_t nb = std::min(n - done, cfg_.n_batch);
        TERN_RETURN_IF_ERROR(begin_pass(nb, &positions));
        for (kv_layer &L : layers_)
            for (int64_t h = 0; h < n_head_kv_; h++) {
                kv_head &hd = L.heads[h];
                for (int64_t i = 0; i < nb; i++) {
                    for (int64_t d = 0; d < D_; d++) k[(size_t)d] = next(), v[(size_t)d] = next();
                    if (L.staged()) {
                        for (int64_t d = 0; d < D_; d++) {
                            hd.rk[(hd.n_res + i) * D_ + d] = fp32_to_fp16(k[(size_t)d]);
                            hd.rv[(hd.n_res + i) * D_ + d] = fp32_to_fp16(v[(size_t)d]);
                        }
                    } else {
                        rows_from_float(kv_row_type(L.fmt), k.data(), hd.k, D_, hd.n_main + i, 1);
                        rows_from_float(kv_row_type(L.fmt), v.data(), hd.v, D_, hd.n_main + i, 1);
                    }
                }
            }
        commit_pass();
        done += nb;
    }
    return status::ok();
}

void kv_cache::truncate(int64_t p) {
    rows_changed();
    if (p <= 0) {
        for (kv_head &hd : heads_) hd.n_main = hd.n_res = hd.n_dead = 0;
        next_pos_ = 0;
        return;
    }
    if (p >= next_pos_) return;
    const int64_t cap_main = layers_[0].cap_main;
    for (kv_head &hd : heads_) {
        for (int64_t i = 0; i < hd.n_main; i++)
            if (hd.pos[i] >= p) hd.pos[i] = -1, hd.n_dead++;
        for (int64_t i = 0; i < hd.n_res; i++)
            if (hd.pos[cap_main + i] >= p) hd.pos[cap_main + i] = -1, hd.n_dead++;
        compact(hd, true);
    }
    next_pos_ = p;
}

void kv_cache::dump_head(int64_t il, int64_t h, std::vector<float> *k, std::vector<float> *v, std::vector<int32_t> *pos,
                         std::vector<float> *score) const {
    std::vector<uint8_t> from_res;
    gather(heads_[(size_t)(il * n_head_kv_ + h)], k, v, pos, score, &from_res);
}

double kv_bytes_per_token(const hparams &hp, kv_format f, int64_t n_tokens, int64_t residual) {
    double per_head = kv_bytes_per_token_head(f, hp.head_dim);
    if (kv_is_kivi(f) && n_tokens > 0)
        per_head += (double)std::min(residual, n_tokens) * 2.0 * (double)hp.head_dim * sizeof(fp16_t) / (double)n_tokens;
    return per_head * (double)(hp.n_layer * hp.n_head_kv);
}

double kv_cache::bytes_per_token(int64_t n_tokens) const {
    hparams hp;
    hp.n_layer = n_layer_, hp.n_head_kv = n_head_kv_, hp.head_dim = D_;
    return kv_bytes_per_token(hp, cfg_.fmt, n_tokens, cfg_.residual);
}

double kv_cache::f16_bytes_per_token() const {
    return kv_bytes_per_token_head(kv_format::f16, D_) * (double)(n_layer_ * n_head_kv_);
}

} // namespace tern
