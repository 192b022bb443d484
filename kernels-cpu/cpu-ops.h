// cpu-ops.h — per-op CPU compute functions, called by every thread of the parallel region.
#pragma once

#include "ggml/tensor.h"
#include "vec-dot.h"

#include <atomic>
#include <cstdint>

namespace tern {

struct op_ctx {
    int ith, nth;           // this thread, thread count
    uint8_t *work;          // shared scratch of cpu_op_work_size() bytes
    const isa_kernels *k;   // kernel table in use
    std::atomic<int64_t> *next_chunk; // per-node work counter, zero before the node runs
};

size_t cpu_op_work_size(const tensor *node, int n_threads);
bool cpu_supports_op(const tensor *node);
void cpu_op_compute(const op_ctx &c, tensor *node);

} // namespace tern
