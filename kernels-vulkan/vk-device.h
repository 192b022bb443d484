// vk-device.h — one Vulkan device as the backend uses it: instance and device selection, buffers
// reached by device address (no descriptor sets: shaders take addresses in push constants), a
// pipeline per embedded shader, and a command buffer recorded and submitted per graph segment.
#pragma once

#include "ggml/status.h"

#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tern {

struct vk_device_info {
    int index;
    std::string name, type; // type: discrete, integrated, virtual, cpu, other
    uint64_t vram_bytes;    // largest device-local heap
    bool usable;            // has what the backend needs (Vulkan 1.2, buffer device address, int64)
    std::string why_not;    // when !usable
};

// Every physical device the loader reports (empty when there is no loader or driver).
std::vector<vk_device_info> vk_list_devices();

// A buffer with its memory, its device address and, for host-visible ones, a mapping.
struct vk_buffer {
    VkBuffer buf = VK_NULL_HANDLE;
    VkDeviceMemory mem = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    uint64_t addr = 0;
    void *map = nullptr;
};

// The push-constant block of every shader (kernels-vulkan/shaders/common.glsl).
struct vk_push {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    uint32_t n[6] = {};
    float f[2] = {};
};

class vk_device {
  public:
    // Opens device `index` (-1: the first discrete GPU, else the first usable device; $TERN_VK_DEVICE
    // overrides -1).
    static status open(int index, std::unique_ptr<vk_device> *out);
    ~vk_device();

    const std::string &name() const { return name_; }
    int index() const { return index_; }

    status alloc(VkDeviceSize size, bool host_visible, vk_buffer *out);
    void free(vk_buffer *b);

    // Recording: begin(), then copies and dispatches (each followed by a barrier), then submit()
    // runs it and waits.
    status begin();
    void copy(const vk_buffer &src, VkDeviceSize src_off, const vk_buffer &dst, VkDeviceSize dst_off, VkDeviceSize n);
    status dispatch(const char *shader, const vk_push &pc, uint32_t gx, uint32_t gy, uint32_t gz);
    status submit();
    int n_dispatches() const { return n_dispatch_; }

  private:
    vk_device() = default;
    status pipeline(const char *shader, VkPipeline *out);
    void barrier();

    int index_ = -1;
    std::string name_;
    VkInstance inst_ = VK_NULL_HANDLE;
    VkPhysicalDevice phys_ = VK_NULL_HANDLE;
    VkDevice dev_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkPipelineLayout layout_ = VK_NULL_HANDLE;
    VkPipelineCache cache_ = VK_NULL_HANDLE;
    std::map<std::string, VkPipeline> pipelines_;
    VkPhysicalDeviceMemoryProperties memprops_{};
    int n_dispatch_ = 0;
};

} // namespace tern
