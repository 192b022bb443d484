// vk-backend.h — the Vulkan backend ("vulkan"). It runs the nodes it can on the GPU — matmuls
// whose weights carry tensor_flag_offload, and the element-wise ops around them — and hands the
// rest (token embedding lookup, the KV cache and attention, ops without a shader) to the "cpu"
// backend through the registry, copying activations across at the boundaries.
#pragma once

#include "ggml/backend.h"

namespace tern {

// Register "vulkan" (idempotent). Nothing touches the GPU until open() or the first compute().
void vk_backend_register();

// Whether the Vulkan backend can run node n (shape, type and strides), for the backend test.
bool vk_supports_op(const tensor *n);

// Command buffers recorded for reuse so far, and submissions that reused one (0, 0 before the
// device is open).
void vk_command_stats(int64_t *recorded, int64_t *reused);

// Whether batches of 64 or more columns multiply on cooperative matrices (f16 inputs) on the open
// device (tests widen their tolerance for them).
bool vk_uses_coopmat();

} // namespace tern
