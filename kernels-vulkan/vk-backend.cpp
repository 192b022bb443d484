// vk-backend.cpp — graph execution with the Vulkan backend (vk-backend.h).
//
// compute() places each node: on the GPU when a shader supports it and either it multiplies by an
// offloaded weight or (other ops) one of its inputs is an offloaded weight or was computed on the
// GPU; on the CPU otherwise. Nodes are
// then run in order as runs of one placement. A GPU run is one command buffer: uploads of the
// inputs it takes from the host (staging copies), one dispatch per node, downloads of what the
// CPU or the caller reads later; it is submitted and waited for before the next run. Everything
// a graph computes on the GPU gets its own place in one device buffer for the whole call, so a
// tensor made by an earlier GPU run is read there again. Offloaded weights are uploaded on first
// use and stay until their model is freed.
#include "vk-backend.h"
#include "vk-device.h"

#include "ggml/kv-layout.h"
#include "ggml/type-table.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

// Vulkan structs are initialized the Vulkan way, {sType} and the rest zero.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace tern {

namespace {

struct dev_weight {
    vk_buffer buf;
    const void *host; // the data it was uploaded from
};

// The device copy of one layer's F16 KV cache: rows [0, n_valid) of every head equal the host's.
struct kv_mirror {
    vk_buffer k, v; // [Hkv][cap][D] f16
    int64_t cap = 0, D = 0, Hkv = 0;
    uint64_t epoch = 0;
    int64_t n_valid = 0;
};

struct vk_state {
    ~vk_state();
    std::unordered_map<uint64_t, kv_mirror> mirrors; // by kv_layer::uid // prints the profile ($TERN_VK_PROFILE)
    std::mutex mu;
    double cpu_ms = 0; // wall time of the CPU runs inside Vulkan graphs
    std::map<std::string, int64_t> cpu_ops; // ops run on the CPU, by kind
    int64_t n_cpu_runs = 0, n_graphs = 0;
    std::unique_ptr<vk_device> dev;
    status open_error;
    bool tried_default = false;
    std::unordered_map<const tensor *, dev_weight> weights;
    vk_buffer act, stage;
    vk_buffer dyn; // host-visible: the values behind vk_push::dyn, one uint32 per slot
};
vk_state &state() {
    static vk_state s;
    return s;
}

vk_state::~vk_state() {
    if (!dev || !dev->profiling()) return;
    std::fprintf(stderr, "vulkan profile (%s): %lld graphs, %lld GPU submissions taking %.1f ms (recording to fence), "
                         "%lld CPU runs taking %.1f ms; %lld command buffers recorded for reuse, %lld reuses\n",
                 dev->name().c_str(), (long long)n_graphs, (long long)dev->n_submits(), dev->submit_wall_ms(), (long long)n_cpu_runs, cpu_ms,
                 (long long)dev->n_recorded(), (long long)dev->n_reused());
    double total = 0;
    for (const auto &kv : dev->profile()) total += kv.second.gpu_ms;
    for (const auto &kv : dev->profile())
        std::fprintf(stderr, "  %-16s %8lld dispatches %10.2f ms GPU (%4.1f%%) %8.1f us each\n", kv.first.c_str(),
                     (long long)kv.second.count, kv.second.gpu_ms, 100.0 * kv.second.gpu_ms / std::max(total, 1e-9),
                     1000.0 * kv.second.gpu_ms / (double)std::max<int64_t>(kv.second.count, 1));
    for (const auto &kv : cpu_ops) std::fprintf(stderr, "  on the CPU: %-12s %8lld nodes\n", kv.first.c_str(), (long long)kv.second);
    for (auto &kv : weights) dev->free(&kv.second.buf);
    for (auto &kv : mirrors) dev->free(&kv.second.k), dev->free(&kv.second.v);
    dev->free(&act);
    dev->free(&stage);
    dev->free(&dyn);
}

// $TERN_VK_MUL_VEC=0: decode matmuls through mul_mat too; $TERN_VK_MUL_MM=0: prompt batches
// through mul_mat rather than the tiled mul_mm (for measuring).
bool env_off(const char *name) {
    const char *e = std::getenv(name);
    return e && *e == '0';
}
bool vec_off() {
    static const bool off = env_off("TERN_VK_MUL_VEC");
    return off;
}
bool mm_off() {
    static const bool off = env_off("TERN_VK_MUL_MM");
    return off;
}

constexpr int64_t k_mm_cols = 16; // activation columns per matmul workgroup (COLS in mul_mat.comp)
constexpr int64_t k_mm_tile = 64; // rows and columns of a mul_mm tile (TN, TM in mul_mm.comp)
constexpr int64_t k_mm_min = 32;  // batches of at least this many columns go through mul_mm

size_t align256(size_t n) { return (n + 255) / 256 * 256; }

const tensor *root_of(const tensor *t) {
    while (t->view_src) t = t->view_src;
    return t;
}

// The shader-name suffix of a weight type the matmul shaders read; nullptr: none.
const char *weight_suffix(type t) {
    switch (t) {
    case type::f32: return "f32";
    case type::f16: return "f16";
    case type::q8_0: return "q8_0";
    case type::q4_0: return "q4_0";
    case type::q4_1: return "q4_1";
    case type::q4_k: return "q4_k";
    case type::q6_k: return "q6_k";
    default: return nullptr;
    }
}
// kind: mul_mat, mul_mm, mul_vec or mul_vec_sg.
std::string matmul_shader(const char *kind, type t) { return std::string(kind) + "_" + weight_suffix(t); }

// The activation rounding the CPU applies before multiplying by weights of type t (shaders/quant_act.comp),
// and how many values one invocation covers; nullptr: none (f32 weights).
const char *act_shader(type t, int64_t *per) {
    switch (type_get(t)->vec_dot_type) {
    case type::q8_0:
    case type::q8_1: *per = 32; return "quant_act_q8";
    case type::q8_k: *per = 256; return "quant_act_q8k";
    case type::f16: *per = 1; return "quant_act_f16";
    default: *per = 1; return nullptr;
    }
}

bool f32_contig(const tensor *t) { return t && t->ttype == type::f32 && tensor_is_contiguous(t); }

} // namespace

bool vk_supports_op(const tensor *n) {
    const tensor *a = n->src[0], *b = n->src[1];
    switch (n->kind) {
    case op::mul_mat: {
        int64_t per;
        const char *q = act_shader(a->ttype, &per);
        if (q == nullptr && type_get(a->ttype)->vec_dot_type != type::f32) return false;
        if (a->ne[0] % per != 0) return false;
    }
        return weight_suffix(a->ttype) && a->kind == op::none && f32_contig(b) && a->ne[0] % 32 == 0 && a->nb[1] % 2 == 0 &&
               (a->ttype != type::f32 || a->nb[1] % 4 == 0) && f32_contig(n);
    case op::add:
    case op::mul:
    case op::silu_mul:
    case op::relu2_mul:
        return f32_contig(a) && f32_contig(b) && f32_contig(n) &&
               (tensor_nelements(b) == tensor_nelements(a) || (tensor_nrows(b) == 1 && b->ne[0] == a->ne[0]));
    case op::scale:
    case op::rms_norm: return f32_contig(a) && f32_contig(n);
    case op::rope:
        return f32_contig(a) && f32_contig(n) && b && b->ttype == type::i32 && tensor_is_contiguous(b) &&
               n->iparams[0] % 2 == 0 && n->iparams[0] <= a->ne[0] && (n->iparams[1] == 0 || n->iparams[1] == 2);
    case op::kv_store:
    case op::attention: {
        const bool store = n->kind == op::kv_store;
        const kv_batch *kb = (const kv_batch *)n->src[store ? 2 : 1]->data;
        if (!kb || !f32_contig(a) || (store && !f32_contig(b)) || (!store && !f32_contig(n))) return false;
        if (!store && (n->iparams[0] != 0 || n->fparams[1] != 0.0f)) return false; // no window, no soft-cap
        for (const kv_span &sp : kb->spans) {
            const kv_layer &L = *sp.layer;
            if (L.fmt != kv_format::f16 || L.staged() || L.track || L.D % 2 != 0 || L.D > 256) return false;
            if (!store && a->ne[1] % L.n_head_kv != 0) return false;
            for (int64_t h = 0; h < L.n_head_kv; h++) // evicted slots or heads out of step: the CPU's job
                if (L.heads[h].n_dead != 0 || L.heads[h].n_main != L.heads[0].n_main) return false;
        }
        return true;
    }
    default: return false;
    }
}

namespace {

status ensure_open(int index) {
    vk_state &s = state();
    if (s.dev) return index < 0 || index == s.dev->index() ? status::ok() : make_status(code::invalid_argument,
        "the Vulkan backend already uses device %d; one device per process", s.dev->index());
    if (s.tried_default && index < 0) return s.open_error; // no device: asked once per process
    status st = vk_device::open(index, &s.dev);
    if (!st && index < 0) s.tried_default = true, s.open_error = st;
    return st;
}

status vk_open(int index) {
    std::lock_guard<std::mutex> lock(state().mu);
    return ensure_open(index);
}

std::vector<std::string> vk_devices() {
    std::vector<std::string> out;
    for (const vk_device_info &d : vk_list_devices()) {
        char line[512];
        std::snprintf(line, sizeof line, "vulkan%d: %s (%s, %.1f GiB)%s%s", d.index, d.name.c_str(), d.type.c_str(),
                      d.vram_bytes / 1073741824.0, d.usable ? "" : " — not usable: ", d.usable ? "" : d.why_not.c_str());
        out.push_back(line);
    }
    return out;
}

void vk_release(const tensor *const *w, size_t n) {
    vk_state &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.dev) return;
    for (size_t i = 0; i < n; i++) {
        auto it = s.weights.find(w[i]);
        if (it == s.weights.end()) continue;
        s.dev->free(&it->second.buf);
        s.weights.erase(it);
    }
}

void vk_release_kv(const uint64_t *uids, size_t n) {
    vk_state &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.dev) return;
    for (size_t i = 0; i < n; i++) {
        auto it = s.mirrors.find(uids[i]);
        if (it == s.mirrors.end()) continue;
        s.dev->free(&it->second.k);
        s.dev->free(&it->second.v);
        s.mirrors.erase(it);
    }
}

status grow(vk_buffer *b, size_t need, bool host) {
    vk_state &s = state();
    if (b->buf && b->size >= need) return status::ok();
    s.dev->free(b);
    return s.dev->alloc(std::max(need, (size_t)(b->size * 3 / 2)), host, b);
}

// The weight on the device, uploaded on first use.
status weight_buffer(const tensor *w, const vk_buffer **out) {
    vk_state &s = state();
    auto it = s.weights.find(w);
    if (it != s.weights.end() && (it->second.host != w->data || it->second.buf.size < tensor_nbytes(w))) {
        s.dev->free(&it->second.buf); // not the weight it was (a freed model's tensor reused)
        s.weights.erase(it);
        it = s.weights.end();
    }
    if (it == s.weights.end()) {
        const size_t n = tensor_nbytes(w);
        TERN_CHECK_OR_RETURN(w->data, code::internal, "weight %s has no data to upload", w->name.c_str());
        vk_buffer dst;
        TERN_RETURN_IF_ERROR(s.dev->alloc(n, false, &dst));
        // through the staging buffer, in pieces of at most 64 MiB
        const size_t piece = std::min<size_t>(n, 64u << 20);
        status st = grow(&s.stage, piece, true);
        for (size_t off = 0; st && off < n; off += piece) {
            const size_t len = std::min(piece, n - off);
            std::memcpy(s.stage.map, (const uint8_t *)w->data + off, len);
            st = s.dev->begin();
            if (st) s.dev->copy(s.stage, 0, dst, off, len), st = s.dev->submit();
        }
        if (!st) {
            s.dev->free(&dst);
            return st;
        }
        it = s.weights.emplace(w, dev_weight{dst, w->data}).first;
    }
    *out = &it->second.buf;
    return status::ok();
}

// The layer's mirror, brought up to the host's committed rows (re-read from the start when the
// runtime rewrote rows: kv_layer::epoch).
status sync_mirror(const kv_layer &L, kv_mirror **out) {
    vk_state &s = state();
    kv_mirror &m = s.mirrors[L.uid];
    if (!m.k.buf || m.cap != L.cap_main || m.D != L.D || m.Hkv != L.n_head_kv) {
        s.dev->free(&m.k);
        s.dev->free(&m.v);
        m = kv_mirror{};
        const size_t bytes = (size_t)(L.n_head_kv * L.cap_main * L.D) * 2;
        TERN_RETURN_IF_ERROR(s.dev->alloc(bytes, false, &m.k));
        TERN_RETURN_IF_ERROR(s.dev->alloc(bytes, false, &m.v));
        m.cap = L.cap_main, m.D = L.D, m.Hkv = L.n_head_kv, m.epoch = L.epoch;
    }
    if (m.epoch != L.epoch) m.n_valid = 0, m.epoch = L.epoch;
    const int64_t n_main = L.heads[0].n_main;
    m.n_valid = std::min(m.n_valid, n_main);
    if (m.n_valid < n_main) { // upload rows [n_valid, n_main) of every head
        const size_t row = (size_t)L.D * 2, n = (size_t)(n_main - m.n_valid) * row;
        TERN_RETURN_IF_ERROR(grow(&s.stage, 2 * n * (size_t)L.n_head_kv, true));
        TERN_RETURN_IF_ERROR(s.dev->begin());
        size_t at = 0;
        for (int64_t h = 0; h < L.n_head_kv; h++) {
            const size_t dev_off = (size_t)(h * L.cap_main + m.n_valid) * row;
            std::memcpy((uint8_t *)s.stage.map + at, L.heads[h].k + (size_t)m.n_valid * row, n);
            s.dev->copy(s.stage, at, m.k, dev_off, n);
            at += n;
            std::memcpy((uint8_t *)s.stage.map + at, L.heads[h].v + (size_t)m.n_valid * row, n);
            s.dev->copy(s.stage, at, m.v, dev_off, n);
            at += n;
        }
        TERN_RETURN_IF_ERROR(s.dev->submit());
        m.n_valid = n_main;
    }
    *out = &m;
    return status::ok();
}

const kv_batch *batch_of(const tensor *n) { return (const kv_batch *)n->src[n->kind == op::kv_store ? 2 : 1]->data; }

struct run_plan {
    const std::vector<tensor *> *nodes;
    std::vector<uint8_t> gpu;                                // per node
    std::unordered_map<const tensor *, size_t> producer;     // root -> node index
    std::unordered_map<const tensor *, size_t> dev_off;      // root -> offset in the act buffer
    std::unordered_set<const tensor *> download;             // roots the host reads after their GPU run
    std::unordered_set<const tensor *> upload;               // host roots GPU runs read, until uploaded
    std::unordered_map<const tensor *, size_t> act_scratch;  // mul_mat -> its rounded activations
    std::map<std::pair<const tensor *, std::string>, size_t> rounded; // (input, rounding) -> place
    std::unordered_set<const tensor *> rounds_input;         // the mul_mat that makes the rounded copy
    std::unordered_map<const tensor *, size_t> kv_rows;      // kv_store -> its rows for the host, per span
    uint32_t n_dyn = 0;                                      // dyn slots used by the run being collected
};

// A slot behind vk_push::dyn holding v (run_gpu sized the buffer).
uint64_t dyn_slot(run_plan &p, uint32_t v) {
    vk_state &s = state();
    ((uint32_t *)s.dyn.map)[p.n_dyn] = v;
    return s.dyn.addr + 4u * p.n_dyn++;
}

// Bytes of one span's rows as kv_store hands them to the host: [Hkv][K, V][n][D] f16.
size_t kv_rows_bytes(const kv_layer &L, int64_t n) { return align256((size_t)(L.n_head_kv * 2 * n * L.D) * 2); }

bool is_offloaded_weight(const tensor *t) { return t->kind == op::none && (t->flags & tensor_flag_offload); }

// Device address of t (a node's input or output) once its root has a place; 0 if not.
uint64_t addr_of(run_plan &p, const tensor *t) {
    vk_state &s = state();
    const tensor *r = root_of(t);
    const size_t off = (size_t)((const uint8_t *)t->data - (const uint8_t *)r->data);
    if (is_offloaded_weight(r)) {
        auto it = s.weights.find(r);
        return it == s.weights.end() ? 0 : it->second.buf.addr + off;
    }
    auto it = p.dev_off.find(r);
    return it == p.dev_off.end() ? 0 : s.act.addr + it->second + off;
}

uint32_t u32(int64_t v) { return (uint32_t)v; }

status dispatch(run_plan &p, const tensor *n) {
    vk_state &s = state();
    vk_push pc;
    pc.a = addr_of(p, n->src[0]);
    pc.b = n->src[1] ? addr_of(p, n->src[1]) : 0;
    pc.d = addr_of(p, n);
    const tensor *a = n->src[0];
    switch (n->kind) {
    case op::mul_mat: {
        const int64_t K = a->ne[0], N = a->ne[1], M = tensor_nrows(n->src[1]);
        int64_t per;
        if (act_shader(a->ttype, &per)) { // round the activations as the CPU would
            pc.b = s.act.addr + p.act_scratch.at(n);
        }
        if (const char *q = p.rounds_input.count(n) ? act_shader(a->ttype, &per) : nullptr) {
            vk_push qc;
            qc.a = addr_of(p, n->src[1]);
            qc.d = pc.b;
            qc.n[0] = u32(K * M);
            const int64_t groups = per == 1 ? (K * M + 31) / 32 : K * M / per; // workgroups of 32
            TERN_RETURN_IF_ERROR(s.dev->dispatch(q, qc, u32(std::min<int64_t>(groups, 65535)), u32((groups + 65534) / 65535), 1));
        }
        pc.n[0] = u32(K), pc.n[1] = u32(N), pc.n[2] = u32(a->nb[1]), pc.n[3] = u32(M);
        if (M == 1 && !vec_off()) { // decode: four rows per workgroup, one per 32 lanes
            const int64_t groups = (N + 3) / 4;
            const std::string name = matmul_shader(s.dev->subgroup_size() ? "mul_vec_sg" : "mul_vec", a->ttype);
            return s.dev->dispatch(name.c_str(), pc, u32(std::min<int64_t>(groups, 65535)), u32((groups + 65534) / 65535), 1);
        }
        if (M >= k_mm_min && !mm_off()) // prompt batches: 64 x 64 tiles
            return s.dev->dispatch(matmul_shader("mul_mm", a->ttype).c_str(), pc, u32((N + k_mm_tile - 1) / k_mm_tile),
                                   u32((M + k_mm_tile - 1) / k_mm_tile), 1);
        return s.dev->dispatch(matmul_shader("mul_mat", a->ttype).c_str(), pc, u32(std::min<int64_t>(N, 65535)), u32((N + 65534) / 65535),
                               u32((M + k_mm_cols - 1) / k_mm_cols));
    }
    case op::add:
    case op::mul:
    case op::silu_mul:
    case op::relu2_mul:
    case op::scale: {
        const int64_t ne = tensor_nelements(a), groups = (ne + 255) / 256;
        pc.n[0] = u32(ne);
        pc.n[1] = n->src[1] ? u32(tensor_nelements(n->src[1])) : 1u;
        pc.f[0] = n->fparams[0];
        if (n->kind == op::scale) pc.b = pc.a;
        const char *name = n->kind == op::add ? "add" : n->kind == op::mul ? "mul" : n->kind == op::silu_mul ? "silu_mul"
                           : n->kind == op::relu2_mul ? "relu2_mul" : "scale";
        return s.dev->dispatch(name, pc, u32(std::min<int64_t>(groups, 65535)), u32((groups + 65534) / 65535), 1);
    }
    case op::rms_norm: {
        const int64_t rows = tensor_nrows(a);
        pc.n[0] = u32(a->ne[0]), pc.n[1] = u32(rows), pc.f[0] = n->fparams[0];
        return s.dev->dispatch("rms_norm", pc, u32(std::min<int64_t>(rows, 65535)), u32((rows + 65534) / 65535), 1);
    }
    case op::rope: {
        const int64_t D = a->ne[0], H = a->ne[1], M = a->ne[2], n_rot = n->iparams[0];
        pc.n[0] = u32(D), pc.n[1] = u32(H), pc.n[2] = u32(M), pc.n[3] = u32(n_rot), pc.n[4] = u32(n->iparams[1]);
        pc.f[0] = n->fparams[0];
        const int64_t items = n_rot / 2 + (D - n_rot);
        return s.dev->dispatch("rope", pc, u32((items + 63) / 64), u32(H), u32(M));
    }
    case op::kv_store: {
        size_t rows_off = p.kv_rows.at(n);
        for (const kv_span &sp : batch_of(n)->spans) {
            const kv_layer &L = *sp.layer;
            const kv_mirror &m = s.mirrors.at(L.uid);
            vk_push kc;
            kc.a = addr_of(p, n->src[0]) + (uint64_t)sp.first * n->src[0]->nb[1];
            kc.b = addr_of(p, n->src[1]) + (uint64_t)sp.first * n->src[1]->nb[1];
            kc.c = m.k.addr, kc.d = m.v.addr, kc.e = s.act.addr + rows_off;
            kc.dyn = dyn_slot(p, u32(L.heads[0].n_main));
            kc.n[0] = u32(L.D), kc.n[1] = u32(L.n_head_kv), kc.n[2] = u32(L.cap_main), kc.n[4] = u32(sp.n);
            TERN_RETURN_IF_ERROR(s.dev->dispatch("kv_store", kc, u32((L.D * L.n_head_kv / 2 + 63) / 64), u32(sp.n), 1));
            rows_off += kv_rows_bytes(*sp.layer, sp.n);
        }
        return status::ok();
    }
    case op::attention:
        for (const kv_span &sp : batch_of(n)->spans) {
            const kv_layer &L = *sp.layer;
            const kv_mirror &m = s.mirrors.at(L.uid);
            vk_push ac;
            ac.a = addr_of(p, n->src[0]) + (uint64_t)sp.first * n->src[0]->nb[2];
            ac.b = m.k.addr, ac.c = m.v.addr;
            ac.d = addr_of(p, n) + (uint64_t)sp.first * n->nb[1];
            ac.dyn = dyn_slot(p, u32(L.heads[0].n_main));
            ac.n[0] = u32(L.D), ac.n[1] = u32(a->ne[1]), ac.n[2] = u32(L.n_head_kv);
            ac.n[4] = u32(L.cap_main), ac.n[5] = u32(sp.n);
            ac.f[0] = n->fparams[0];
            TERN_RETURN_IF_ERROR(s.dev->dispatch("attention", ac, u32(a->ne[1]), u32(sp.n), 1));
        }
        return status::ok();
    default: return make_status(code::internal, "Vulkan: no shader for %s", op_name(n->kind));
    }
}

// Inputs that are not data: the KV cache leaf (a kv_batch) and attention's kv_store dependency.
bool skip_src(const tensor *n, const tensor *src) {
    if (n->kind == op::kv_store) return src == n->src[2];
    if (n->kind == op::attention) return src == n->src[1] || src == n->src[2];
    return false;
}

// Places in the act buffer for everything the GPU runs read or write (except offloaded weights),
// for the whole graph, so no tensor moves while the graph runs; and the weights' uploads.
status place(run_plan &p, size_t *act_bytes) {
    const auto &nodes = *p.nodes;
    size_t used = 0;
    for (size_t i = 0; i < nodes.size(); i++) {
        const tensor *n = nodes[i];
        if (!p.gpu[i] || n->kind == op::view) continue;
        if (n->kind == op::kv_store || n->kind == op::attention)
            for (const kv_span &sp : batch_of(n)->spans) {
                kv_mirror *unused;
                TERN_RETURN_IF_ERROR(sync_mirror(*sp.layer, &unused));
            }
        for (const tensor *src : n->src) {
            if (!src || skip_src(n, src)) continue;
            const tensor *r = root_of(src);
            if (is_offloaded_weight(r)) {
                const vk_buffer *unused;
                TERN_RETURN_IF_ERROR(weight_buffer(r, &unused));
            } else if (!p.dev_off.count(r)) {
                p.dev_off[r] = used;
                p.upload.insert(r);
                used += align256(tensor_nbytes(r));
            }
        }
        if (n->kind == op::kv_store) { // writes the cache mirror, no tensor of its own; its rows for the host
            p.kv_rows[n] = used;
            for (const kv_span &sp : batch_of(n)->spans) used += kv_rows_bytes(*sp.layer, sp.n);
            continue;
        }
        p.dev_off[n] = used;
        used += align256(tensor_nbytes(n));
        int64_t per;
        if (const char *q = n->kind == op::mul_mat ? act_shader(n->src[0]->ttype, &per) : nullptr) {
            // one rounded copy per input and rounding (q, k and v share theirs)
            const auto key = std::make_pair((const tensor *)n->src[1], std::string(q));
            auto it = p.rounded.find(key);
            if (it == p.rounded.end()) {
                it = p.rounded.emplace(key, used).first;
                used += align256(tensor_nbytes(n->src[1]));
                p.rounds_input.insert(n);
            }
            p.act_scratch[n] = it->second;
        }
    }
    *act_bytes = used;
    return status::ok();
}

// One GPU run: nodes [i0, i1) of the plan (views among them need no work).
status run_gpu(run_plan &p, size_t i0, size_t i1) {
    vk_state &s = state();
    const auto &nodes = *p.nodes;
    // What the run uploads (inputs from the host, first read here) and downloads, and where they
    // sit in the staging buffer.
    struct xfer {
        const tensor *root;
        size_t stage_off, n;
    };
    std::vector<xfer> up, down;
    struct kv_down { // one span's appended rows: [Hkv][K, V][n][D] f16 in the act buffer
        const kv_layer *L;
        int64_t at, n; // slots [at, at + n) of every head
        size_t dev_off, stage_off;
    };
    std::vector<kv_down> kvdown;
    size_t stage = 0;
    uint32_t dyn_slots = 0;
    for (size_t i = i0; i < i1; i++) {
        const tensor *n = nodes[i];
        if (n->kind == op::view || n->kind == op::none) continue;
        for (const tensor *src : n->src) {
            if (!src || skip_src(n, src) || !p.upload.count(root_of(src))) continue;
            const tensor *r = root_of(src);
            p.upload.erase(r);
            up.push_back({r, stage, tensor_nbytes(r)});
            stage += align256(tensor_nbytes(r));
        }
        if (p.download.count(n)) {
            down.push_back({n, stage, tensor_nbytes(n)});
            stage += align256(tensor_nbytes(n));
        }
        if (n->kind == op::kv_store || n->kind == op::attention) dyn_slots += (uint32_t)batch_of(n)->spans.size();
        if (n->kind == op::kv_store) { // the appended rows go back to the host's cache too
            size_t dev_off = p.kv_rows.at(n);
            for (const kv_span &sp : batch_of(n)->spans) {
                const kv_layer &L = *sp.layer;
                kvdown.push_back({&L, L.heads[0].n_main, sp.n, dev_off, stage});
                stage += kv_rows_bytes(*sp.layer, sp.n);
                dev_off += kv_rows_bytes(*sp.layer, sp.n);
                s.mirrors.at(L.uid).n_valid = L.heads[0].n_main + sp.n;
            }
        }
    }
    TERN_RETURN_IF_ERROR(grow(&s.stage, stage, true));
    TERN_RETURN_IF_ERROR(grow(&s.dyn, 4 * (size_t)dyn_slots, true));
    p.n_dyn = 0;
    for (const xfer &x : up) std::memcpy((uint8_t *)s.stage.map + x.stage_off, x.root->data, x.n);
    TERN_RETURN_IF_ERROR(s.dev->begin(/*reusable=*/true));
    for (const xfer &x : up) s.dev->copy(s.stage, x.stage_off, s.act, p.dev_off[x.root], x.n);
    for (size_t i = i0; i < i1; i++) {
        const tensor *n = nodes[i];
        if (n->kind == op::view || n->kind == op::none) continue;
        TERN_RETURN_IF_ERROR(dispatch(p, n));
    }
    for (const xfer &x : down) s.dev->copy(s.act, p.dev_off[x.root], s.stage, x.stage_off, x.n);
    for (const kv_down &x : kvdown) s.dev->copy(s.act, x.dev_off, s.stage, x.stage_off, kv_rows_bytes(*x.L, x.n));
    const status st = s.dev->submit();
    if (!st) {
        for (auto &kv : s.mirrors) kv.second.n_valid = 0; // unknown state: re-read before the next use
        return st;
    }
    for (const xfer &x : down) std::memcpy(x.root->data, (const uint8_t *)s.stage.map + x.stage_off, x.n);
    for (const kv_down &x : kvdown) {
        const size_t row = (size_t)x.L->D * 2, bytes = (size_t)x.n * row;
        const uint8_t *src = (const uint8_t *)s.stage.map + x.stage_off;
        for (int64_t h = 0; h < x.L->n_head_kv; h++) {
            std::memcpy(x.L->heads[h].k + (size_t)x.at * row, src + (size_t)(2 * h) * bytes, bytes);
            std::memcpy(x.L->heads[h].v + (size_t)x.at * row, src + (size_t)(2 * h + 1) * bytes, bytes);
        }
    }
    return status::ok();
}

status vk_compute(const std::vector<tensor *> &nodes, const compute_options &opt) {
    const backend_iface *cpu = backend_find("cpu");
    TERN_CHECK_OR_RETURN(cpu, code::internal, "the Vulkan backend needs the CPU backend registered");
    vk_state &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    // Streamed weights (a memory budget) move between passes: the CPU runs those graphs.
    if (opt.before_node || !ensure_open(-1)) return cpu->compute(nodes, opt);

    run_plan p;
    p.nodes = &nodes;
    p.gpu.assign(nodes.size(), 0);
    for (size_t i = 0; i < nodes.size(); i++) p.producer[nodes[i]] = i;
    auto made_on_gpu = [&](const tensor *t) {
        auto it = p.producer.find(root_of(t));
        return it != p.producer.end() && p.gpu[it->second];
    };
    for (size_t i = 0; i < nodes.size(); i++) {
        const tensor *n = nodes[i];
        if (n->kind == op::view) {
            p.gpu[i] = made_on_gpu(n);
            continue;
        }
        if (n->kind == op::none || !vk_supports_op(n)) continue;
        if (n->kind == op::mul_mat) {
            p.gpu[i] = is_offloaded_weight(n->src[0]);
            continue;
        }
        if (n->kind == op::attention) { // reads the rows its kv_store appended: same side
            auto st = n->src[2] ? p.producer.find(n->src[2]) : p.producer.end(); // (kv_store aliases the cache leaf)
            p.gpu[i] = made_on_gpu(n->src[0]) && st != p.producer.end() && p.gpu[st->second];
            continue;
        }
        for (const tensor *src : n->src)
            if (src && (made_on_gpu(src) || is_offloaded_weight(root_of(src)))) p.gpu[i] = 1;
    }
    // Roots made on the GPU that the CPU (or the caller) reads.
    for (size_t i = 0; i < nodes.size(); i++) {
        const tensor *n = nodes[i];
        if ((n->flags & tensor_flag_output) && made_on_gpu(n)) p.download.insert(root_of(n));
        if (p.gpu[i] || n->kind == op::view) continue;
        for (const tensor *src : n->src)
            if (src && made_on_gpu(src)) p.download.insert(root_of(src));
    }
    s.n_graphs++;
    size_t act_bytes = 0;
    TERN_RETURN_IF_ERROR(place(p, &act_bytes));
    TERN_RETURN_IF_ERROR(grow(&s.act, act_bytes, false));
    for (size_t i = 0; i < nodes.size();) {
        // a run: nodes of one placement (views join whichever run they fall in)
        size_t j = i;
        const bool g = p.gpu[i];
        while (j < nodes.size() && (nodes[j]->kind == op::view || (bool)p.gpu[j] == g)) j++;
        if (opt.abort_cb && i > 0 && opt.abort_cb(opt.abort_data)) return make_status(code::aborted, "computation aborted by the caller");
        if (g) {
            TERN_RETURN_IF_ERROR(run_gpu(p, i, j));
        } else {
            const std::vector<tensor *> part(nodes.begin() + (std::ptrdiff_t)i, nodes.begin() + (std::ptrdiff_t)j);
            const auto t0 = std::chrono::steady_clock::now();
            TERN_RETURN_IF_ERROR(cpu->compute(part, opt));
            s.cpu_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            s.n_cpu_runs++;
            if (s.dev->profiling())
                for (const tensor *n : part)
                    if (n->kind != op::view && n->kind != op::none) s.cpu_ops[op_name(n->kind)]++;
        }
        i = j;
    }
    return status::ok();
}

std::string vk_describe_matmul(type wt, int64_t n_tokens) {
    return weight_suffix(wt) ? std::string("vulkan ") + type_name(wt) + " (dequantized in the shader)" : "cpu";
}

const backend_iface k_vk_backend = {"vulkan", vk_supports_op, vk_compute, vk_describe_matmul, vk_open, vk_devices, vk_release, vk_release_kv};

} // namespace

void vk_backend_register() { backend_register(&k_vk_backend); }

void vk_command_stats(int64_t *recorded, int64_t *reused) {
    vk_state &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    *recorded = s.dev ? s.dev->n_recorded() : 0;
    *reused = s.dev ? s.dev->n_reused() : 0;
}

} // namespace tern
