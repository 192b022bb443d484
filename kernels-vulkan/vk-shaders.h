// vk-shaders.h — the compute shaders, compiled to SPIR-V by glslc at build time and embedded in
// the binary (cmake/embed-spirv.cmake writes the table).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

struct vk_shader {
    const char *name;     // e.g. "mul_mat_q4_0", "add", "rms_norm"
    const uint32_t *code; // SPIR-V words
    size_t n_words;
};
extern const vk_shader vk_shaders[]; // ends with a null name

} // namespace tern
