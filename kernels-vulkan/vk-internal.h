// vk-internal.h — what the Vulkan backend's two halves share: vk-backend.cpp (the backend's
// state, placement of nodes, runs, weights and the KV mirror) and vk-ops.cpp (which ops the GPU
// runs and the dispatch of each).
#pragma once

#include "vk-device.h"

#include "ggml/backend.h"
#include "ggml/kv-layout.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tern {
namespace vkb {

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
    ~vk_state(); // prints the profile ($TERN_VK_PROFILE) and frees the buffers
    std::unordered_map<uint64_t, kv_mirror> mirrors; // by kv_layer::uid
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
vk_state &state();

inline size_t align256(size_t n) { return (n + 255) / 256 * 256; }
inline const tensor *root_of(const tensor *t) {
    while (t->view_src) t = t->view_src;
    return t;
}
inline bool is_offloaded_weight(const tensor *t) { return t->kind == op::none && (t->flags & tensor_flag_offload); }
// The kv_batch of a kv_store or attention node.
inline const kv_batch *batch_of(const tensor *n) { return (const kv_batch *)n->src[n->kind == op::kv_store ? 2 : 1]->data; }
// Bytes of one span's rows as kv_store hands them to the host: [Hkv][K, V][n][D] f16.
inline size_t kv_rows_bytes(const kv_layer &L, int64_t n) { return align256((size_t)(L.n_head_kv * 2 * n * L.D) * 2); }

// One graph's plan: placement, places in the act buffer, transfers.
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
    std::unordered_set<uint64_t> read, written;              // hazard keys since the last barrier (vk-ops.cpp)
};

// The shader-name suffix of a weight type the matmul shaders read; nullptr: none.
const char *weight_suffix(type t);
// The activation rounding the CPU applies before multiplying by weights of type t
// (shaders/quant_act.comp), and how many values one invocation covers; nullptr: none.
const char *act_shader(type t, int64_t *per);
// Collects the dispatches of node n (vk-ops.cpp) into the open recording.
status dispatch(run_plan &p, const tensor *n);

} // namespace vkb
} // namespace tern
