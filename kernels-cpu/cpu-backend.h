// cpu-backend.h — the CPU backend: runs graph nodes with OpenMP threads (one parallel region per
// graph, a barrier between nodes) using one ISA kernel table.
#pragma once

#include "ggml/backend.h"
#include "vec-dot.h"

namespace tern {

// Register the CPU backend as "cpu" (idempotent).
void cpu_backend_register();

// Run planned nodes with a given kernel table (tests use this to run every ISA).
status cpu_compute(const std::vector<tensor *> &nodes, const compute_options &opt, const isa_kernels *k);

// Threads the CPU backend uses by default: physical cores (logical / SMT siblings), at least 1.
int cpu_default_threads();

} // namespace tern
