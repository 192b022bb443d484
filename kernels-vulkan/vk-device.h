// vk-device.h — one Vulkan device as the backend uses it: instance and device selection, buffers
// reached by device address (no descriptor sets: shaders take addresses in push constants), a
// pipeline per embedded shader, and a command buffer recorded and submitted per graph segment.
#pragma once

#include "ggml/status.h"

#include <vulkan/vulkan.h>

#include <chrono>
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
// Where the pipeline cache of a device of this name is kept.
std::string pipeline_cache_path(const std::string &device);

// A buffer with its memory, its device address and, for host-visible ones, a mapping.
struct vk_buffer {
    VkBuffer buf = VK_NULL_HANDLE;
    VkDeviceMemory mem = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    uint64_t addr = 0;
    void *map = nullptr;
};

// The push-constant block of every shader (kernels-vulkan/shaders/common.glsl): 80 bytes, no
// padding (command lists compare it word by word). dyn points at values that change between
// recordings of the same commands (a KV cache's length), read by the shader at run time, so a
// recorded command buffer stays valid when only they change.
struct vk_push {
    uint64_t a = 0, b = 0, c = 0, d = 0, e = 0, dyn = 0;
    uint32_t n[6] = {};
    float f[2] = {};
};
static_assert(sizeof(vk_push) == 80, "vk_push must match common.glsl's push constants, without padding");

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

    // Recording: begin(), then copies and dispatches (with barriers where they are ordered), then submit()
    // runs it and waits. The commands are collected as a list first. With reusable, submit()
    // looks the list up among the command buffers recorded before and submits the one recorded
    // from an identical list (a decode step repeats the last one's commands exactly), recording
    // a new one only when none matches; the least recently used of k_max_recorded is dropped.
    // Freeing a buffer drops them all (they may name it).
    status begin(bool reusable = false);
    void copy(const vk_buffer &src, VkDeviceSize src_off, const vk_buffer &dst, VkDeviceSize dst_off, VkDeviceSize n);
    // ordered: a barrier before it (it reads or overwrites what an earlier dispatch since the last
    // barrier wrote or read); without, it may run alongside those. Copies are always ordered, and
    // so is the dispatch after a copy.
    status dispatch(const char *shader, const vk_push &pc, uint32_t gx, uint32_t gy, uint32_t gz, bool ordered = true);
    status submit();
    int n_dispatches() const { return n_dispatch_; }
    int64_t n_recorded() const { return n_recorded_; } // command buffers recorded for reuse
    int64_t n_reused() const { return n_reused_; }     // submissions that reused one
    // Subgroup size when the device's compute shaders have clustered subgroup adds over at least
    // 32 lanes (the reductions of the *_sg shaders); 0 otherwise.
    uint32_t subgroup_size() const { return subgroup_size_; }
    // Whether the mul_mm_cm shaders (VK_NV_cooperative_matrix, f16 tensor-core products) can run.
    bool coopmat() const { return coopmat_; }

    // Profiling ($TERN_VK_PROFILE=1): GPU time per shader from timestamps around each dispatch,
    // plus submissions and their wall time (recording to fence); printed by the backend at exit.
    bool profiling() const { return qpool_ != VK_NULL_HANDLE; }
    struct prof_entry {
        double gpu_ms = 0;
        int64_t count = 0;
    };
    const std::map<std::string, prof_entry> &profile() const { return prof_; }
    int64_t n_submits() const { return n_submit_; }
    double submit_wall_ms() const { return submit_ms_; }

  private:
    vk_device() = default;
    status pipeline(const char *shader, VkPipeline *out);
    void barrier(VkCommandBuffer cb);
    void record(VkCommandBuffer cb, bool one_time, std::vector<std::string> *qnames);
    void drop_recorded();

    // One collected command: a copy (pipe == VK_NULL_HANDLE) or a dispatch.
    struct command {
        VkPipeline pipe = VK_NULL_HANDLE;
        const std::string *shader = nullptr; // pipelines_' key
        VkBuffer src = VK_NULL_HANDLE, dst = VK_NULL_HANDLE;
        VkDeviceSize src_off = 0, dst_off = 0, n = 0;
        vk_push pc;
        uint32_t groups[3] = {};
        bool ordered = true;
    };
    struct recorded {
        std::vector<uint64_t> key; // the command list, word by word
        VkCommandBuffer cb = VK_NULL_HANDLE;
        std::vector<std::string> qnames;
        uint64_t last_use = 0;
    };
    static constexpr size_t k_max_recorded = 16;
    std::vector<command> cmds_;
    std::vector<uint64_t> key_;
    bool reusable_ = false;
    std::vector<recorded> recorded_;
    uint64_t use_clock_ = 0;
    int64_t n_recorded_ = 0, n_reused_ = 0;
    uint32_t subgroup_size_ = 0;
    bool coopmat_ = false;

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
    std::string cache_path_;
    bool pipelines_dirty_ = false;
    void save_pipeline_cache();
    VkPhysicalDeviceMemoryProperties memprops_{};
    int n_dispatch_ = 0;
    VkQueryPool qpool_ = VK_NULL_HANDLE;
    static constexpr uint32_t k_max_queries = 8192;
    float ts_period_ns_ = 1.0f;
    std::vector<std::string> query_names_; // per pair of queries
    std::map<std::string, prof_entry> prof_;
    int64_t n_submit_ = 0;
    double submit_ms_ = 0;
    std::chrono::steady_clock::time_point begin_time_;
};

} // namespace tern
