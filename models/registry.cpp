// registry.cpp — the table of architectures. Adding one = one file + one row here.
#include "model.h"

namespace tern {

extern const arch_def k_arch_llama;
extern const arch_def k_arch_bitnet;
extern const arch_def k_arch_qwen2;
extern const arch_def k_arch_phi3;
extern const arch_def k_arch_gemma2;
extern const arch_def k_arch_gemma3;
extern const arch_def k_arch_qwen3;

namespace {
const arch_def *const k_archs[] = {&k_arch_llama, &k_arch_bitnet, &k_arch_qwen2, &k_arch_phi3, &k_arch_gemma2, &k_arch_gemma3, &k_arch_qwen3};
}

const arch_def *arch_find(const std::string &name) {
    for (const arch_def *a : k_archs)
        if (name == a->name) return a;
    return nullptr;
}

std::vector<std::string> arch_names() {
    std::vector<std::string> v;
    for (const arch_def *a : k_archs) v.push_back(a->name);
    return v;
}

} // namespace tern
