// vec-dot-neon.cpp — NEON kernels arrive with the ARM64 work (issue 3); until then aarch64 builds
// use the generic table.
#include "vec-dot.h"

namespace tern {
const isa_kernels *kernels_neon() { return nullptr; }
} // namespace tern
