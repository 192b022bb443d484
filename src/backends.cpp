// backends.cpp — the list of backends built into libtern. The one place the runtime names them.
#include "runtime.h"

#include "kernels-cpu/cpu-backend.h"
#ifdef TERN_HAVE_VULKAN
#include "kernels-vulkan/vk-backend.h"
#endif

namespace tern {

void backends_init() {
    cpu_backend_register();
#ifdef TERN_HAVE_VULKAN
    vk_backend_register();
#endif
}

const backend_iface *gpu_backend(const tern_model *m) {
    const backend_iface *cpu = backend_find("cpu");
    const backend_iface *gpu = backend_find("vulkan");
    if (!gpu) {
        log_msg(TERN_LOG_WARN, "n_gpu_layers = %d, but this build has no GPU backend (Vulkan headers and glslc at build time): running on the CPU",
                m->n_gpu_layers);
        return cpu;
    }
    const status st = gpu->open(m->gpu_device);
    if (!st) {
        log_msg(TERN_LOG_WARN, "no GPU for n_gpu_layers = %d (%s): running on the CPU", m->n_gpu_layers, st.message().c_str());
        return cpu;
    }
    return gpu;
}

} // namespace tern
