// cpu-backend.cpp — graph execution on the CPU: one OpenMP parallel region per graph, every
// thread walks the node list, a barrier (thread-barrier.h) after each node. Thread 0 asks the
// abort callback after each node and runs the weight store's hooks before the nodes that need
// them; the node to stop at is shared, so all threads leave the loop at the same node.
#include "cpu-backend.h"
#include "lut.h"

#include "cpu-ops.h"
#include "thread-barrier.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tern {

status cpu_compute(const std::vector<tensor *> &nodes, const compute_options &opt, const isa_kernels *k) {
    const int nth = std::max(1, opt.n_threads);
    size_t work = 0;
    for (const tensor *n : nodes) {
        TERN_CHECK_OR_RETURN(cpu_supports_op(n), code::unsupported, "CPU backend cannot run %s on %s",
                             op_name(n->kind), n->src[0] ? type_name(n->src[0]->ttype) : "?");
        work = std::max(work, cpu_op_work_size(n, nth));
    }
    std::vector<uint8_t> work_buf(work + 64);
    uint8_t *wdata = work_buf.data();
    std::unique_ptr<std::atomic<int64_t>[]> counters(new std::atomic<int64_t>[nodes.size()]);
    for (size_t i = 0; i < nodes.size(); i++) counters[i].store(0, std::memory_order_relaxed);
    // The node at which the graph stops. Only thread 0 writes it, and only just before a barrier,
    // so every thread reads the same value between two barriers and all leave at the same node.
    std::atomic<size_t> stop_at{SIZE_MAX};
    if (opt.abort_cb && opt.abort_cb(opt.abort_data)) stop_at.store(0);
    bool hook_failed = false;
    std::unique_ptr<thread_barrier> bar;
    gemv_cache gemv;
#pragma omp parallel num_threads(nth)
    {
#pragma omp single
        bar = std::make_unique<thread_barrier>(omp_get_num_threads()); // the team may be smaller than nth
        op_ctx c{omp_get_thread_num(), omp_get_num_threads(), wdata, k, nullptr, opt.batch_invariant, bar.get(), &gemv};
        for (size_t i = 0; i < nodes.size(); i++) {
            tensor *n = nodes[i];
            c.next_chunk = &counters[i];
            if (opt.before_node && opt.hook_at[i]) {
                // The weight store may evict what the previous node read: everyone has finished it
                // (barrier after each node), and nobody starts node i before the hook returns.
                if (c.ith == 0 && stop_at.load() > i && !opt.before_node(opt.hook_data, i)) hook_failed = true, stop_at.store(i);
                bar->wait();
            }
            if (stop_at.load() <= i) break;
            if (n->kind == op::view || n->kind == op::none) continue;
            cpu_op_compute(c, n);
            if (c.ith == 0 && n->kind != op::mul_mat) gemv = {}; // may have written the work area or x
            if (c.ith == 0 && opt.abort_cb && i + 1 < nodes.size() && opt.abort_cb(opt.abort_data)) stop_at.store(i + 1);
            bar->wait();
        }
    }
    const bool aborted = stop_at.load() != SIZE_MAX;
    TERN_CHECK_OR_RETURN(!hook_failed, code::io, "a weight could not be made resident");
    TERN_CHECK_OR_RETURN(!aborted, code::aborted, "computation aborted by the caller");
    return status::ok();
}

namespace {
status cpu_iface_compute(const std::vector<tensor *> &nodes, const compute_options &opt) {
    return cpu_compute(nodes, opt, kernels_select());
}
std::string cpu_describe_matmul(type wt, int64_t n_tokens) {
    const isa_kernels *k = kernels_select();
    const std::string isa = k->isa;
    const mm_path path = cpu_mul_mat_path(k, wt, n_tokens);
    if (path == mm_path::gemm_i8) return isa + " int8 GEMM on repacked u8 panels, 8-bit activations";
    if (path == mm_path::gemm_f32) return isa + " f32 GEMM on dequantized panels";
    if (type_is_lut(wt)) return isa + " table lookup (LUT)";
    if (k->tile_gemv[(int)wt]) return isa + " 16-row tile GEMV, " + std::string(type_name(type_get(wt)->vec_dot_type)) + " activations";
    const type vdt = type_get(wt)->vec_dot_type;
    if (vdt == type::f32) return isa + " dot";
    return isa + " dot, " + type_name(vdt) + " activations";
}

// Q4_0/Q4_K/Q6_K matrices become their 16-row tiles (type_tiled_for; blocks.h) where the selected
// ISA has its own tile kernel. Q4_0 for instance: on one
// Zen 5 core its decode GEMV streams 2048 x 8192 from DRAM at 28.8 GB/s against 18.7 for the
// row kernel (gemv_dot_q4_0), and hot in L2 at 52 against 26. TERN_REPACK=0 keeps file layouts.
type cpu_weight_layout(const tensor *w) {
    const char *e = std::getenv("TERN_REPACK"); // read at each load (tests compare both layouts)
    const bool off = e && *e == '0';
    const isa_kernels *k = kernels_select();
    const type to = type_tiled_for(w->ttype);
    if (off || to == w->ttype || !k->tile_gemv[(int)to] || k->tile_gemv[(int)to] == kernels_generic()->tile_gemv[(int)to])
        return w->ttype;
    if (w->ne[2] != 1 || w->ne[3] != 1 || w->ne[1] % type_get(to)->tile_rows || w->ne[0] % type_get(to)->block_size)
        return w->ttype;
    return to;
}

const backend_iface k_cpu_backend = {"cpu", cpu_supports_op, cpu_iface_compute, cpu_describe_matmul, nullptr, nullptr,
                                     nullptr, nullptr, cpu_weight_layout};
} // namespace

void cpu_backend_register() { backend_register(&k_cpu_backend); }

int cpu_default_threads() {
    // $TERN_THREADS overrides (a launcher, a container, an emulator that should not start threads).
    if (const char *e = std::getenv("TERN_THREADS"); e && *e) {
        const int n = std::atoi(e);
        if (n > 0) return std::min(n, 1024);
    }
    // Count distinct (physical id, core id) pairs; fall back to logical CPUs.
    std::ifstream f("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, phys = "0";
    while (std::getline(f, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = line.substr(0, line.find_first_of(" \t"));
        const std::string val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if (key == "physical") phys = val;
        if (key == "core") cores.insert({phys, val});
    }
    const long logical = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores.empty() ? (int)logical : (int)cores.size();
    if (logical > 0) n = std::min<int>(n, (int)logical);
    return std::max(1, n);
}

} // namespace tern
