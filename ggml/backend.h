// backend.h — the backend interface: a function table per backend and a registry.
//
// A backend library registers itself (backend_register) when the runtime asks it to; nothing in
// ggml/ names a backend. compute() runs all nodes of a planned graph in order.
#pragma once

#include "status.h"
#include "tensor.h"

#include <string>
#include <vector>

namespace tern {

struct compute_options {
    int n_threads = 1;
    bool (*abort_cb)(void *) = nullptr; // polled between nodes when set; true stops the graph
    void *abort_data = nullptr;
    // Called by one thread before node i where hook_at[i] != 0, while the other threads wait (the
    // weight store makes streamed weights resident there). Not called for other nodes. A false
    // return stops the graph with the status the hook recorded.
    bool (*before_node)(void *data, size_t node) = nullptr;
    void *hook_data = nullptr;
    const uint8_t *hook_at = nullptr; // one flag per node
    // Batch-invariant results: each token's column is computed the same way whatever else is in
    // the pass (no 2x2 tiles, no GEMM, no split attention), so a sequence's output does not depend
    // on its neighbours or on how its prompt was cut into passes. Slower prefill.
    bool batch_invariant = false;
};

struct backend_iface {
    const char *name;
    bool (*supports_op)(const tensor *node);
    status (*compute)(const std::vector<tensor *> &nodes, const compute_options &opt);
    // Which kernel a matmul with weights of type wt over n_tokens activation columns uses, in words.
    std::string (*describe_matmul)(type wt, int64_t n_tokens);
    // Optional (null for the CPU). open: make device `device` (-1: the backend's choice) the one
    // compute() uses. devices: one line per device the backend sees. release: forget what the
    // backend keeps of these weights (their model is being freed). release_kv: the same for KV
    // cache layers (kv_layer::uid) whose context is being freed.
    status (*open)(int device) = nullptr;
    std::vector<std::string> (*devices)() = nullptr;
    void (*release)(const tensor *const *weights, size_t n) = nullptr;
    void (*release_kv)(const uint64_t *uids, size_t n) = nullptr;
    // Optional: the layout this backend computes weight matrix w fastest in, when it is not w's
    // own type (a runtime-only type, type-table.h, that rows_repack makes from w's); w->ttype for
    // none. The loader repacks a resident weight that is only multiplied, never looked up.
    type (*weight_layout)(const tensor *w) = nullptr;
};

void backend_register(const backend_iface *b);
const backend_iface *backend_find(const char *name);
std::vector<const backend_iface *> backend_list();

} // namespace tern
