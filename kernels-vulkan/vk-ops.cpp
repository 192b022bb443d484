// vk-ops.cpp — the ops the Vulkan backend runs: which nodes a shader supports
// (vk_supports_op) and, per node, the shaders it dispatches with their push constants and
// workgroup counts.
#include "vk-backend.h"
#include "vk-internal.h"

#include "ggml/type-table.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace tern {
namespace vkb {

namespace {

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
bool blk_off() { // $TERN_VK_VEC_BLOCKS=0: decode products one weight per lane for every type
    static const bool off = env_off("TERN_VK_VEC_BLOCKS");
    return off;
}
// Rows per 32 lanes in mul_vec_blk: 1, 2 or 4 ($TERN_VK_VEC_ROWS, read at every dispatch so the
// tests can try each).
int64_t vec_rows() {
    const char *e = std::getenv("TERN_VK_VEC_ROWS");
    const int r = e ? std::atoi(e) : 2;
    return r == 1 || r == 4 ? r : 2;
}
bool mm_off() {
    static const bool off = env_off("TERN_VK_MUL_MM");
    return off;
}

constexpr int64_t k_mm_cols = 16; // activation columns per matmul workgroup (COLS in mul_mat.comp)
constexpr int64_t k_mm_tile = 64; // rows and columns of a mul_mm tile (TN, TM in mul_mm.comp)
constexpr int64_t k_mm_min = 32;  // batches of at least this many columns go through mul_mm
constexpr int64_t k_cm_min = 64;  // ... and through mul_mm_cm where the device has cooperative matrices

// kind: get_rows, mul_mat, mul_mm, mul_mm_cm, mul_vec, mul_vec_sg, mul_vec_blk_r<R> or mul_vec_blk_sg_r<R>.
std::string matmul_shader(const char *kind, type t) { return std::string(kind) + "_" + weight_suffix(t); }

bool f32_contig(const tensor *t) { return t && t->ttype == type::f32 && tensor_is_contiguous(t); }

// A slot behind vk_push::dyn holding v (run_gpu sized the buffer).
uint64_t dyn_slot(run_plan &p, uint32_t v) {
    vk_state &s = state();
    ((uint32_t *)s.dyn.map)[p.n_dyn] = v;
    return s.dyn.addr + 4u * p.n_dyn++;
}

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

} // namespace

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


// Hazard keys: what a dispatch reads or writes — a root tensor, a place in the act buffer (rounded
// activations, a kv_store's rows for the host) or a layer's KV mirror. 0: nothing to track (weights).
uint64_t key_of(const tensor *t) {
    const tensor *r = root_of(t);
    return is_offloaded_weight(r) ? 0 : (uint64_t)(uintptr_t)r;
}
uint64_t key_place(size_t off) { return (1ull << 63) | off; }
uint64_t key_mirror(uint64_t uid) { return (1ull << 62) | uid; }

// Whether a dispatch with these accesses must wait for those since the last barrier (it reads what
// they wrote, or overwrites what they read or wrote); records its accesses. Independent dispatches
// — q, k and v of one input, the two RoPEs, gate and up — then run without a barrier between them.
// $TERN_VK_BARRIERS=all: a barrier before every dispatch (for measuring).
bool ordered(run_plan &p, std::initializer_list<uint64_t> reads, std::initializer_list<uint64_t> writes) {
    static const bool all = [] {
        const char *e = std::getenv("TERN_VK_BARRIERS");
        return e && std::strcmp(e, "all") == 0;
    }();
    bool need = all;
    for (uint64_t r : reads) need |= r && p.written.count(r);
    for (uint64_t w : writes) need |= w && (p.written.count(w) || p.read.count(w));
    if (need) p.read.clear(), p.written.clear();
    for (uint64_t r : reads)
        if (r) p.read.insert(r);
    for (uint64_t w : writes)
        if (w) p.written.insert(w);
    return need;
}

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
        uint64_t input = key_of(n->src[1]);
        if (act_shader(a->ttype, &per)) { // round the activations as the CPU would
            pc.b = s.act.addr + p.act_scratch.at(n);
            input = key_place(p.act_scratch.at(n));
        }
        if (const char *q = p.rounds_input.count(n) ? act_shader(a->ttype, &per) : nullptr) {
            vk_push qc;
            qc.a = addr_of(p, n->src[1]);
            qc.d = pc.b;
            qc.n[0] = u32(K * M);
            const int64_t groups = per == 1 ? (K * M + 31) / 32 : K * M / per; // workgroups of 32
            TERN_RETURN_IF_ERROR(s.dev->dispatch(q, qc, u32(std::min<int64_t>(groups, 65535)), u32((groups + 65534) / 65535), 1,
                                                 ordered(p, {key_of(n->src[1])}, {input})));
        }
        const bool ord = ordered(p, {input}, {key_of(n)});
        pc.n[0] = u32(K), pc.n[1] = u32(N), pc.n[2] = u32(a->nb[1]), pc.n[3] = u32(M);
        if (M == 1 && !vec_off()) { // decode: four rows per workgroup, one per 32 lanes
            const int64_t groups = (N + 3) / 4;
            // whole blocks per lane where every unit of blocks starts on a word (shaders/vec_blocks.glsl)
            const int64_t unit = a->ttype == type::q4_1 ? 1 : 2, nb = K / 32;
            const bool blocks = (a->ttype == type::q4_0 || a->ttype == type::q4_1 || a->ttype == type::q8_0 || a->ttype == type::q4_k) &&
                                a->nb[1] % 4 == 0 &&
                                nb % unit == 0 && !blk_off();
            const bool sg = s.dev->subgroup_size() != 0;
            if (blocks) { // rows per 32 lanes: they share the activations each lane loads
                const int64_t rows = vec_rows(), g = (N + 4 * rows - 1) / (4 * rows);
                const std::string kind = std::string(sg ? "mul_vec_blk_sg_r" : "mul_vec_blk_r") + std::to_string(rows);
                return s.dev->dispatch(matmul_shader(kind.c_str(), a->ttype).c_str(), pc, u32(std::min<int64_t>(g, 65535)),
                                       u32((g + 65534) / 65535), 1, ord);
            }
            const std::string name = matmul_shader(sg ? "mul_vec_sg" : "mul_vec", a->ttype);
            return s.dev->dispatch(name.c_str(), pc, u32(std::min<int64_t>(groups, 65535)), u32((groups + 65534) / 65535), 1, ord);
        }
        if (M >= k_cm_min && s.dev->coopmat()) // long prompt batches on tensor cores: 64 x 64 tiles
            return s.dev->dispatch(matmul_shader("mul_mm_cm", a->ttype).c_str(), pc, u32((N + k_mm_tile - 1) / k_mm_tile),
                                   u32((M + k_mm_tile - 1) / k_mm_tile), 1, ord);
        if (M >= k_mm_min && !mm_off()) // prompt batches: 64 x 64 tiles
            return s.dev->dispatch(matmul_shader("mul_mm", a->ttype).c_str(), pc, u32((N + k_mm_tile - 1) / k_mm_tile),
                                   u32((M + k_mm_tile - 1) / k_mm_tile), 1, ord);
        return s.dev->dispatch(matmul_shader("mul_mat", a->ttype).c_str(), pc, u32(std::min<int64_t>(N, 65535)), u32((N + 65534) / 65535),
                               u32((M + k_mm_cols - 1) / k_mm_cols), ord);
    }
    case op::get_rows: { // the lookup of a table that lives on the GPU (a tied output matrix)
        const int64_t E = a->ne[0], M = tensor_nelements(n->src[1]), groups = (E * M + 255) / 256;
        pc.n[0] = u32(E), pc.n[1] = u32(M), pc.n[2] = u32(a->nb[1]);
        return s.dev->dispatch(matmul_shader("get_rows", a->ttype).c_str(), pc, u32(std::min<int64_t>(groups, 65535)),
                               u32((groups + 65534) / 65535), 1, ordered(p, {key_of(n->src[1])}, {key_of(n)}));
    }
    case op::add:
    case op::mul:
    case op::silu_mul:
    case op::relu2_mul:
    case op::gelu_mul:
    case op::scale:
    case op::softcap: {
        const int64_t ne = tensor_nelements(a), groups = (ne + 255) / 256;
        pc.n[0] = u32(ne);
        pc.n[1] = n->src[1] ? u32(tensor_nelements(n->src[1])) : 1u;
        pc.f[0] = n->fparams[0];
        if (!n->src[1]) pc.b = pc.a;
        const char *name = n->kind == op::add ? "add" : n->kind == op::mul ? "mul" : n->kind == op::silu_mul ? "silu_mul"
                           : n->kind == op::relu2_mul ? "relu2_mul" : n->kind == op::gelu_mul ? "gelu_mul"
                           : n->kind == op::scale ? "scale" : "softcap";
        return s.dev->dispatch(name, pc, u32(std::min<int64_t>(groups, 65535)), u32((groups + 65534) / 65535), 1,
                               ordered(p, {key_of(a), n->src[1] ? key_of(n->src[1]) : 0}, {key_of(n)}));
    }
    case op::rms_norm: {
        const int64_t rows = tensor_nrows(a);
        pc.n[0] = u32(a->ne[0]), pc.n[1] = u32(rows), pc.f[0] = n->fparams[0];
        return s.dev->dispatch("rms_norm", pc, u32(std::min<int64_t>(rows, 65535)), u32((rows + 65534) / 65535), 1,
                               ordered(p, {key_of(a)}, {key_of(n)}));
    }
    case op::rope: {
        const int64_t D = a->ne[0], H = a->ne[1], M = a->ne[2], n_rot = n->iparams[0];
        pc.n[0] = u32(D), pc.n[1] = u32(H), pc.n[2] = u32(M), pc.n[3] = u32(n_rot), pc.n[4] = u32(n->iparams[1]);
        pc.f[0] = n->fparams[0];
        const int64_t items = n_rot / 2 + (D - n_rot);
        return s.dev->dispatch("rope", pc, u32((items + 63) / 64), u32(H), u32(M), ordered(p, {key_of(a), key_of(n->src[1])}, {key_of(n)}));
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
            const bool ord = ordered(p, {key_of(n->src[0]), key_of(n->src[1])}, {key_mirror(L.uid), key_place(rows_off)});
            TERN_RETURN_IF_ERROR(s.dev->dispatch("kv_store", kc, u32((L.D * L.n_head_kv / 2 + 63) / 64), u32(sp.n), 1, ord));
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
            ac.n[0] = u32(L.D), ac.n[1] = u32(a->ne[1]), ac.n[2] = u32(L.n_head_kv), ac.n[3] = u32(std::max(0, n->iparams[0]));
            ac.n[4] = u32(L.cap_main), ac.n[5] = u32(sp.n);
            ac.f[0] = n->fparams[0], ac.f[1] = n->fparams[1];
            const bool ord = ordered(p, {key_of(n->src[0]), key_mirror(L.uid)}, {key_of(n)});
            TERN_RETURN_IF_ERROR(s.dev->dispatch("attention", ac, u32(a->ne[1]), u32(sp.n), 1, ord));
        }
        return status::ok();
    default: return make_status(code::internal, "Vulkan: no shader for %s", op_name(n->kind));
    }
}

} // namespace vkb

using namespace vkb;

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
    case op::get_rows:
        return weight_suffix(a->ttype) && a->kind == op::none && a->ne[0] % 32 == 0 && a->nb[1] % 2 == 0 &&
               (a->ttype != type::f32 || a->nb[1] % 4 == 0) && b && b->ttype == type::i32 && tensor_is_contiguous(b) && f32_contig(n);
    case op::add:
    case op::mul:
    case op::silu_mul:
    case op::relu2_mul:
    case op::gelu_mul:
        return f32_contig(a) && f32_contig(b) && f32_contig(n) &&
               (tensor_nelements(b) == tensor_nelements(a) || (tensor_nrows(b) == 1 && b->ne[0] == a->ne[0]));
    case op::scale:
    case op::softcap:
    case op::rms_norm: return f32_contig(a) && f32_contig(n);
    case op::rope:
        return f32_contig(a) && f32_contig(n) && b && b->ttype == type::i32 && tensor_is_contiguous(b) &&
               n->iparams[0] % 2 == 0 && n->iparams[0] <= a->ne[0] && (n->iparams[1] == 0 || n->iparams[1] == 2);
    case op::kv_store:
    case op::attention: {
        const bool store = n->kind == op::kv_store;
        const kv_batch *kb = (const kv_batch *)n->src[store ? 2 : 1]->data;
        if (!kb || !f32_contig(a) || (store && !f32_contig(b)) || (!store && !f32_contig(n))) return false;
        const bool window = !store && n->iparams[0] > 0;
        for (const kv_span &sp : kb->spans) {
            const kv_layer &L = *sp.layer;
            if (L.fmt != kv_format::f16 || L.staged() || L.track || L.D % 2 != 0 || L.D > 256) return false;
            if (!store && a->ne[1] % L.n_head_kv != 0) return false;
            for (int64_t h = 0; h < L.n_head_kv; h++) { // evicted slots or heads out of step: the CPU's job
                const kv_head &hd = L.heads[h];
                if (hd.n_dead != 0 || hd.n_main != L.heads[0].n_main) return false;
                // a sliding window counts slots: every slot must hold its own position (positions
                // only grow, so the first and the pass's last decide)
                const int64_t last = hd.n_main + sp.n - 1;
                if (window && (hd.pos[0] != 0 || hd.pos[last] != (int32_t)last)) return false;
            }
        }
        return true;
    }
    default: return false;
    }
}

} // namespace tern
