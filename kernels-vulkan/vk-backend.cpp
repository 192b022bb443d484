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
#include "vk-internal.h"

#include "ggml/type-table.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// Vulkan structs are initialized the Vulkan way, {sType} and the rest zero.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace tern {
namespace vkb {

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

} // namespace vkb

using namespace vkb;

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
    p.read.clear(), p.written.clear(); // (the uploads' copies are followed by a barrier)
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

bool vk_uses_coopmat() {
    vk_state &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    return s.dev && s.dev->coopmat();
}

void vk_command_stats(int64_t *recorded, int64_t *reused) {
    vk_state &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    *recorded = s.dev ? s.dev->n_recorded() : 0;
    *reused = s.dev ? s.dev->n_reused() : 0;
}

} // namespace tern
