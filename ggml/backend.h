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
};

struct backend_iface {
    const char *name;
    bool (*supports_op)(const tensor *node);
    status (*compute)(const std::vector<tensor *> &nodes, const compute_options &opt);
    // Which kernel a matmul with weights of type wt over n_tokens activation columns uses, in words.
    std::string (*describe_matmul)(type wt, int64_t n_tokens);
};

void backend_register(const backend_iface *b);
const backend_iface *backend_find(const char *name);
std::vector<const backend_iface *> backend_list();

} // namespace tern
