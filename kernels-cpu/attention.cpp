// attention.cpp — the kv_store and attention ops over a layer's KV cache (ggml/kv-layout.h),
// reading every cache format in place: keys are scored by dot kernels on the stored rows (query
// quantized to q8_0 for q8_0/q4_0 keys) or by the KIVI group kernel, values accumulated by
// dequantize-axpy kernels. No full-precision copy of the cache is made.
//
// Work split. With enough (token, head) rows for every thread (prefill), each row is one work
// item: scores, softmax, weighted sum. Otherwise (decode), each row is cut along the sequence into
// chunks of ATTN_CHUNK slots, every chunk keeps a partial softmax state (max, sum, weighted sum),
// and after a barrier the states of a row are merged (flash-decoding). When the runtime asks for
// attention statistics (layer->track), the normalized probabilities of query tokens
// m >= track_from are added to heads[].score (summed over the query heads sharing a KV head).
#include "cpu-ops.h"

#include "ggml/kv-layout.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern {

namespace {

constexpr int64_t ATTN_CHUNK = 256; // slots per decode work item (a multiple of KIVI_GROUP)


const kv_batch *batch_of(const tensor *cache) { return (const kv_batch *)cache->data; }

// Slots visible to query token m of the pass for head `hd`: main and residual counts.
struct row_view {
    int64_t nm, nr;
    int64_t n() const { return nm + nr; }
};
inline row_view visible(const kv_layer &L, const kv_head &hd, int64_t m) {
    return L.staged() ? row_view{hd.n_main, hd.n_res + m + 1} : row_view{hd.n_main + m + 1, 0};
}
// Index into pos[] / score[] of visible slot j.
inline int64_t slot_index(const kv_layer &L, const row_view &rv, int64_t j) {
    return j < rv.nm ? j : L.cap_main + (j - rv.nm);
}

// The per-format kernels and strides of one layer.
struct attn_fns {
    const kv_layer *L;
    const isa_kernels *k;
    vec_dot_fn kdot, rdot;   // key rows (per-token formats) / residual f16 rows
    axpy_fn vaxpy, raxpy;    // value rows / residual rows
    kivi_kscore_fn kscore;   // kivi keys
    kivi_vaxpy_fn kvaxpy;    // kivi values
    kv_vacc_fn vacc, racc;   // multi-row value accumulation (main store, residual), when D % 32 == 0
    kv_kdot_fn kdotn, rdotn; // multi-row key scores (main store, residual), when D % 32 == 0
    size_t krow, vrow, kgroup;
    bool quant_q;            // keys need the query as q8_0
    attn_fns(const kv_layer *l, const isa_kernels *kt) : L(l), k(kt) {
        const kv_format f = L->fmt;
        rdot = k->dot[(int)type::f16];
        raxpy = k->axpy[(int)type::f16];
        kdot = nullptr;
        vaxpy = nullptr;
        kscore = nullptr;
        kvaxpy = nullptr;
        krow = kgroup = 0;
        vrow = kv_value_row_bytes(f, L->D);
        if (kv_is_kivi(f)) {
            kscore = k->kivi_kscore[f == kv_format::kivi2];
            kvaxpy = k->kivi_vaxpy[f == kv_format::kivi2];
            kgroup = kv_key_group_bytes(f, L->D);
        } else {
            kdot = k->dot[(int)kv_row_type(f)];
            vaxpy = k->axpy[(int)kv_row_type(f)];
            krow = kv_key_row_bytes(f, L->D);
        }
        quant_q = f == kv_format::q8_0 || f == kv_format::q4_0;
        const bool d32 = L->D % 32 == 0;
        vacc = d32 ? k->kv_vacc[(int)f] : nullptr;
        racc = d32 ? k->kv_vacc[(int)kv_format::f16] : nullptr;
        kdotn = d32 && !kv_is_kivi(f) ? k->kv_kdot[(int)f] : nullptr;
        rdotn = d32 ? k->kv_kdot[(int)kv_format::f16] : nullptr;
    }

    // s[j - j0] = scale * q.k_j for visible slots j in [j0, j1); j0 is a multiple of KIVI_GROUP.
    // min_pos: slots at earlier positions are masked too (sliding-window attention); cap > 0:
    // scores are soft-capped, cap * tanh(s / cap).
    void scores(const kv_head &hd, const row_view &rv, const float *q, const void *qk, int64_t j0, int64_t j1,
                float scale, float *s, int32_t min_pos, float cap = 0.0f) const {
        const int64_t D = L->D;
        int64_t j = j0;
        const int64_t mend = std::min(j1, rv.nm);
        if (kscore) {
            for (; j < mend; j += KIVI_GROUP) kscore(D, hd.k + (size_t)(j / KIVI_GROUP) * kgroup, q, s + (j - j0));
            for (int64_t i = j0; i < mend; i++) s[i - j0] *= scale;
        } else if (kdotn && mend > j) {
            kdotn(D, mend - j, hd.k + (size_t)j * krow, krow, (const float *)qk, s + (j - j0)); // qk: f32 or q8_0
            for (; j < mend; j++) s[j - j0] *= scale;
        } else {
            for (; j < mend; j++) s[j - j0] = scale * kdot(D, hd.k + (size_t)j * krow, qk);
        }
        const int64_t r0 = std::max(j0, rv.nm);
        if (rdotn && r0 < j1) {
            rdotn(D, j1 - r0, (const uint8_t *)(hd.rk + (size_t)(r0 - rv.nm) * D), (size_t)D * sizeof(fp16_t), q, s + (r0 - j0));
            for (j = r0; j < j1; j++) s[j - j0] *= scale;
        } else
            for (j = r0; j < j1; j++) s[j - j0] = scale * rdot(D, hd.rk + (size_t)(j - rv.nm) * D, q);
        if (cap > 0.0f)
            for (j = j0; j < j1; j++) s[j - j0] = cap * std::tanh(s[j - j0] / cap);
        if (hd.n_dead > 0 || min_pos > 0)
            for (j = j0; j < j1; j++)
                if (hd.pos[slot_index(*L, rv, j)] < std::max(min_pos, 0)) s[j - j0] = -INFINITY;
    }

    // out += p[j - j0] * v_j for visible slots j in [j0, j1).
    void accumulate(const kv_head &hd, const row_view &rv, const float *p, int64_t j0, int64_t j1, float *out) const {
        const int64_t D = L->D, mend = std::min(j1, rv.nm);
        if (vacc && mend > j0) vacc(D, mend - j0, hd.v + (size_t)j0 * vrow, vrow, p, out);
        else
            for (int64_t j = j0; j < mend; j++) {
                if (kvaxpy) kvaxpy(D, p[j - j0], hd.v + (size_t)j * vrow, out);
                else vaxpy(D, p[j - j0], hd.v + (size_t)j * vrow, out);
            }
        const int64_t r0 = std::max(j0, rv.nm);
        if (r0 >= j1) return;
        if (racc) racc(D, j1 - r0, (const uint8_t *)(hd.rv + (size_t)(r0 - rv.nm) * D), (size_t)D * sizeof(fp16_t), p + (r0 - j0), out);
        else
            for (int64_t j = r0; j < j1; j++) raxpy(D, p[j - j0], hd.rv + (size_t)(j - rv.nm) * D, out);
    }
};

struct attn_shape {
    int64_t D, H, M, Hkv, group, n_max; // n_max: most visible slots of any row
    bool split;
    int64_t n_chunks; // per row, split mode
};

attn_shape shape_of(const tensor *q, const kv_layer *L, int nth) {
    attn_shape s{};
    s.D = q->ne[0], s.H = q->ne[1], s.M = q->ne[2], s.Hkv = L->n_head_kv, s.group = s.H / s.Hkv;
    for (int64_t h = 0; h < L->n_head_kv; h++)
        s.n_max = std::max(s.n_max, visible(*L, L->heads[h], s.M - 1).n());
    s.split = s.M * s.H < 4 * (int64_t)nth && s.n_max > ATTN_CHUNK;
    s.n_chunks = s.split ? (s.n_max + ATTN_CHUNK - 1) / ATTN_CHUNK : 1;
    return s;
}

inline size_t al64(size_t b) { return (b + 63) / 64 * 64; }

// Scratch layout (bytes). It must not depend on the thread count the region actually got (OpenMP
// may give fewer threads than asked, e.g. inside an application's own parallel region), so the
// shared parts are sized as for split mode and come first, and every per-thread area has the same
// stride:
//  parts [rows * n_chunks][D + 2] f32 | e-scores [rows][n_max] f32 (tracking) |
//  per thread: scores [max(n_max, ATTN_CHUNK)] f32 + query as q8_0 | per thread (tracking):
//  accumulators [Hkv][cap_main + cap_res] f32
struct scratch {
    size_t parts, escores, per_thread, priv;
};
scratch scratch_of(const attn_shape &s, const kv_layer &L) {
    scratch r{};
    const int64_t chunks = (s.n_max + ATTN_CHUNK - 1) / ATTN_CHUNK;
    r.parts = al64(sizeof(float) * (size_t)(s.M * s.H * chunks) * (size_t)(s.D + 2));
    r.escores = L.track ? al64(sizeof(float) * (size_t)(s.M * s.H) * (size_t)s.n_max) : 0;
    r.per_thread = al64(sizeof(float) * (size_t)std::max(s.n_max, ATTN_CHUNK)) + al64(row_size(type::q8_0, s.D));
    r.priv = L.track ? al64(sizeof(float) * (size_t)s.Hkv * (size_t)(L.cap_main + L.cap_res)) : 0;
    return r;
}


// The earliest position a query sees with a sliding window (0: all): the query's own slot is the
// last visible one.
inline int32_t min_pos(const kv_layer &L, const kv_head &hd, const row_view &rv, int window) {
    if (window <= 0) return 0;
    return hd.pos[slot_index(L, rv, rv.n() - 1)] - window + 1;
}

// Rows [first, first + n) along dim of a pass tensor (one sequence's span) as a tensor of their own.
tensor span_rows(const tensor *t, int dim, int64_t first, int64_t n) {
    tensor r = *t;
    r.data = (uint8_t *)t->data + (size_t)first * t->nb[dim];
    r.ne[dim] = n;
    return r;
}

} // namespace

size_t cpu_attention_work_size(const tensor *node, int nth) {
    size_t most = 0;
    for (const kv_span &sp : batch_of(node->src[1])->spans) {
        const tensor q = span_rows(node->src[0], 2, sp.first, sp.n);
        const attn_shape s = shape_of(&q, sp.layer, nth);
        const scratch r = scratch_of(s, *sp.layer);
        most = std::max(most, r.parts + r.escores + (r.per_thread + r.priv) * (size_t)nth);
    }
    return most;
}

bool cpu_attention_supported(const tensor *node, const isa_kernels *k) {
    const bool store = node->kind == op::kv_store;
    const kv_batch *b = batch_of(node->src[store ? 2 : 1]);
    if (!b || b->spans.empty()) return false;
    int64_t next = 0;
    for (const kv_span &sp : b->spans) {
        const kv_layer *L = sp.layer;
        if (!L || sp.first != next || sp.n <= 0) return false;
        next += sp.n;
        if (L->fmt >= kv_format::count_ || (L->fmt >= kv_format::q8_0 && L->D % 32 != 0)) return false;
        if (store ? node->src[0]->ne[0] != L->D * L->n_head_kv
                  : node->src[0]->ne[0] != L->D || node->src[0]->ne[1] % L->n_head_kv != 0)
            return false;
        const attn_fns f(L, k);
        if (!(f.rdot && f.raxpy && (kv_is_kivi(L->fmt) ? f.kscore && f.kvaxpy : f.kdot && f.vaxpy))) return false;
    }
    return next == node->src[0]->ne[store ? 1 : 2];
}

namespace {

// Append one sequence's new keys and values (k, v: [D*Hkv, M] f32) after each head's committed
// slots: f16 residual rows (kivi) or main-store rows in the cache format.
void kv_store_span(const op_ctx &c, const tensor *k, const tensor *v, const kv_layer &L) {
    const int64_t D = L.D, M = k->ne[1];
    const type rt = kv_row_type(L.fmt);
    const size_t krow = L.staged() ? 0 : kv_key_row_bytes(L.fmt, D), vrow = kv_value_row_bytes(L.fmt, D);
    int64_t lo, hi;
    split(L.n_head_kv * M, c.ith, c.nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const int64_t h = r / M, i = r % M;
        const kv_head &hd = L.heads[h];
        const float *kx = (const float *)((const uint8_t *)k->data + i * k->nb[1]) + h * D;
        const float *vx = (const float *)((const uint8_t *)v->data + i * v->nb[1]) + h * D;
        if (L.staged()) {
            fp16_t *rk = hd.rk + (size_t)(hd.n_res + i) * D, *rv = hd.rv + (size_t)(hd.n_res + i) * D;
            for (int64_t d = 0; d < D; d++) rk[d] = fp32_to_fp16(kx[d]), rv[d] = fp32_to_fp16(vx[d]);
        } else {
            type_get(rt)->from_float(kx, hd.k + (size_t)(hd.n_main + i) * krow, D);
            type_get(rt)->from_float(vx, hd.v + (size_t)(hd.n_main + i) * vrow, D);
        }
    }
}

void attention_span(const op_ctx &c, const tensor *q, const kv_layer &L, tensor *dst, float scale, int window, float cap) {
    attn_shape s = shape_of(q, &L, c.nth);
    if (c.invariant) s.split = false, s.n_chunks = 1; // one summation order for a row at any batch size
    const scratch sc = scratch_of(s, L);
    const attn_fns fn(&L, c.k);
    const int64_t D = s.D, rows = s.M * s.H;
    uint8_t *mine = c.work + sc.parts + sc.escores + (size_t)c.ith * sc.per_thread;
    float *sbuf = (float *)mine;
    void *qq = mine + al64(sizeof(float) * (size_t)std::max(s.n_max, ATTN_CHUNK));
    uint8_t *priv_base = c.work + sc.parts + sc.escores + (size_t)c.nth * sc.per_thread;
    auto qrow = [&](int64_t m, int64_t h) {
        return (const float *)((const uint8_t *)q->data + h * q->nb[1] + m * q->nb[2]);
    };
    auto orow = [&](int64_t m, int64_t h) { return (float *)((uint8_t *)dst->data + m * dst->nb[1]) + h * D; };
    const bool quant_q = fn.quant_q;

    if (!s.split) {
        float *priv = L.track ? (float *)(priv_base + (size_t)c.ith * sc.priv) : nullptr;
        const size_t per_head = (size_t)(L.cap_main + L.cap_res);
        if (priv) std::fill(priv, priv + s.Hkv * per_head, 0.0f);
        int64_t lo, hi;
        split(rows, c.ith, c.nth, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            const int64_t m = r / s.H, h = r % s.H, kvh = h / s.group;
            const kv_head &hd = L.heads[kvh];
            const row_view rv = visible(L, hd, m);
            const int64_t n = rv.n();
            const float *qr = qrow(m, h);
            if (quant_q) type_get(type::q8_0)->from_float(qr, qq, D);
            fn.scores(hd, rv, qr, quant_q ? qq : (const void *)qr, 0, n, scale, sbuf, min_pos(L, hd, rv, window), cap);
            float mx = -INFINITY;
            for (int64_t j = 0; j < n; j++) mx = std::max(mx, sbuf[j]);
            double sum = 0;
            for (int64_t j = 0; j < n; j++) sum += (sbuf[j] = std::exp(sbuf[j] - mx));
            const float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < n; j++) sbuf[j] *= inv;
            float *out = orow(m, h);
            std::fill(out, out + D, 0.0f);
            fn.accumulate(hd, rv, sbuf, 0, n, out);
            if (priv && m >= L.track_from)
                for (int64_t j = 0; j < n; j++) priv[kvh * per_head + slot_index(L, rv, j)] += sbuf[j];
        }
        if (!priv) return;
        barrier(c);
        const int64_t total = s.Hkv * (int64_t)per_head;
        split(total, c.ith, c.nth, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            float add = 0;
            for (int t = 0; t < c.nth; t++) add += ((const float *)(priv_base + (size_t)t * sc.priv))[i];
            if (add != 0.0f) L.heads[i / per_head].score[i % per_head] += add;
        }
        return;
    }

    // Split mode: items (row, chunk) -> partial states.
    float *parts = (float *)c.work;
    float *escores = sc.escores ? (float *)(c.work + sc.parts) : nullptr;
    const int64_t items = rows * s.n_chunks;
    int64_t lo, hi;
    split(items, c.ith, c.nth, &lo, &hi);
    int64_t last_row = -1;
    for (int64_t it = lo; it < hi; it++) {
        const int64_t r = it / s.n_chunks, ch = it % s.n_chunks;
        const int64_t m = r / s.H, h = r % s.H, kvh = h / s.group;
        const kv_head &hd = L.heads[kvh];
        const row_view rv = visible(L, hd, m);
        float *part = parts + (size_t)it * (size_t)(D + 2);
        float *acc = part + 2;
        std::fill(acc, acc + D, 0.0f);
        const int64_t j0 = ch * ATTN_CHUNK, j1 = std::min(rv.n(), j0 + ATTN_CHUNK);
        if (j0 >= j1) {
            part[0] = -INFINITY, part[1] = 0;
            continue;
        }
        const float *qr = qrow(m, h);
        if (quant_q && r != last_row) type_get(type::q8_0)->from_float(qr, qq, D);
        last_row = r;
        fn.scores(hd, rv, qr, quant_q ? qq : (const void *)qr, j0, j1, scale, sbuf, min_pos(L, hd, rv, window), cap);
        float mx = -INFINITY;
        for (int64_t j = 0; j < j1 - j0; j++) mx = std::max(mx, sbuf[j]);
        if (mx == -INFINITY) { // every slot of the chunk is evicted
            part[0] = -INFINITY, part[1] = 0;
            if (escores && m >= L.track_from) std::fill_n(escores + (size_t)r * s.n_max + j0, j1 - j0, 0.0f);
            continue;
        }
        float sum = 0;
        for (int64_t j = 0; j < j1 - j0; j++) sum += (sbuf[j] = std::exp(sbuf[j] - mx));
        fn.accumulate(hd, rv, sbuf, j0, j1, acc);
        part[0] = mx, part[1] = sum;
        if (escores && m >= L.track_from) std::memcpy(escores + (size_t)r * s.n_max + j0, sbuf, sizeof(float) * (j1 - j0));
    }
    barrier(c);
    split(rows, c.ith, c.nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        float *p0 = parts + (size_t)r * s.n_chunks * (D + 2);
        float mx = -INFINITY;
        for (int64_t ch = 0; ch < s.n_chunks; ch++) mx = std::max(mx, p0[ch * (D + 2)]);
        double sum = 0;
        for (int64_t ch = 0; ch < s.n_chunks; ch++) {
            float *p = p0 + ch * (D + 2);
            p[0] = p[1] > 0 ? std::exp(p[0] - mx) : 0.0f; // chunk weight relative to the row max
            sum += (double)p[0] * p[1];
        }
        const float inv = (float)(1.0 / sum);
        float *out = orow(r / s.H, r % s.H);
        std::fill(out, out + D, 0.0f);
        for (int64_t ch = 0; ch < s.n_chunks; ch++) {
            float *p = p0 + ch * (D + 2);
            p[0] *= inv; // now: probability = e-score * p[0]
            for (int64_t d = 0; d < D; d++) out[d] += p[0] * p[2 + d];
        }
    }
    if (!escores) return;
    barrier(c);
    // Statistics: slots of each KV head split over threads; rows of its query heads summed.
    int64_t n_slots_all = 0;
    for (int64_t h = 0; h < s.Hkv; h++) n_slots_all += visible(L, L.heads[h], s.M - 1).n();
    split(n_slots_all, c.ith, c.nth, &lo, &hi);
    int64_t base = 0;
    for (int64_t kvh = 0; kvh < s.Hkv; kvh++) {
        const kv_head &hd = L.heads[kvh];
        const int64_t nk = visible(L, hd, s.M - 1).n();
        const int64_t a = std::max(lo - base, (int64_t)0), b = std::min(hi - base, nk);
        for (int64_t m = std::max<int64_t>(0, L.track_from); m < s.M; m++) {
            const row_view rv = visible(L, hd, m);
            for (int64_t h = kvh * s.group; h < (kvh + 1) * s.group; h++) {
                const int64_t r = m * s.H + h;
                const float *e = escores + (size_t)r * s.n_max;
                const float *p0 = parts + (size_t)r * s.n_chunks * (D + 2);
                for (int64_t j = a; j < std::min(b, rv.n()); j++)
                    hd.score[slot_index(L, rv, j)] += e[j] * p0[(j / ATTN_CHUNK) * (D + 2)];
            }
        }
        base += nk;
    }
}

} // namespace

// kv_store: src0 keys, src1 values [D*Hkv, M] f32, src2 the cache leaf; each span's columns go to
// its sequence's cache.
void cpu_kv_store(const op_ctx &c, tensor *dst) {
    for (const kv_span &sp : batch_of(dst->src[2])->spans) {
        const tensor k = span_rows(dst->src[0], 1, sp.first, sp.n), v = span_rows(dst->src[1], 1, sp.first, sp.n);
        kv_store_span(c, &k, &v, *sp.layer);
    }
}

// attention: each span's queries over its own sequence's cache. Spans run one after another with
// all threads (the scratch is shared, hence the barrier between them).
void cpu_attention(const op_ctx &c, tensor *dst) {
    const auto &spans = batch_of(dst->src[1])->spans;
    for (size_t i = 0; i < spans.size(); i++) {
        const kv_span &sp = spans[i];
        if (i) barrier(c);
        const tensor q = span_rows(dst->src[0], 2, sp.first, sp.n);
        tensor out = span_rows(dst, 1, sp.first, sp.n);
        attention_span(c, &q, *sp.layer, &out, dst->fparams[0], dst->iparams[0], dst->fparams[1]);
    }
}

} // namespace tern
