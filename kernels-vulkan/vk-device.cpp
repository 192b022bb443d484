// vk-device.cpp — Vulkan instance, device, memory, pipelines and submission (vk-device.h).
#include "vk-device.h"
#include "vk-shaders.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// Vulkan structs are initialized the Vulkan way, {sType} and the rest zero.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace tern {

namespace {

const char *type_word(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

VkInstance make_instance() {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "tern";
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    VkInstance inst = VK_NULL_HANDLE;
    if (vkCreateInstance(&ci, nullptr, &inst) != VK_SUCCESS) return VK_NULL_HANDLE;
    return inst;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(inst, &n, nullptr);
    std::vector<VkPhysicalDevice> v(n);
    if (n) vkEnumeratePhysicalDevices(inst, &n, v.data());
    v.resize(n);
    return v;
}

vk_device_info describe(VkPhysicalDevice pd, int index) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    uint64_t vram = 0;
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        if (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) vram = std::max<uint64_t>(vram, mp.memoryHeaps[i].size);
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f2.pNext = &f12;
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    vk_device_info d{index, props.deviceName, type_word(props.deviceType), vram, true, ""};
    if (props.apiVersion < VK_API_VERSION_1_2) d.usable = false, d.why_not = "Vulkan 1.2 is needed";
    else if (!f12.bufferDeviceAddress) d.usable = false, d.why_not = "no buffer device address";
    else if (!f2.features.shaderInt64) d.usable = false, d.why_not = "no 64-bit integers in shaders";
    return d;
}

// Whether the device multiplies 16 x 16 x 16 f16 fragments into f32 ones per subgroup through
// VK_NV_cooperative_matrix (tensor cores on NVIDIA), with f16 arithmetic in shaders.
// $TERN_VK_COOPMAT=0: never.
bool has_coopmat(VkInstance inst, VkPhysicalDevice pd) {
    if (const char *e = std::getenv("TERN_VK_COOPMAT"); e && *e == '0') return false;
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
    std::vector<VkExtensionProperties> exts(n);
    if (n) vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
    bool ext = false;
    for (const VkExtensionProperties &e : exts) ext |= std::strcmp(e.extensionName, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) == 0;
    if (!ext) return false;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cmf{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f12.pNext = &cmf;
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f2.pNext = &f12;
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    if (!cmf.cooperativeMatrix || !f12.shaderFloat16) return false;
    auto props_fn = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
        inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    if (!props_fn) return false;
    uint32_t np = 0;
    props_fn(pd, &np, nullptr);
    std::vector<VkCooperativeMatrixPropertiesNV> props(np, VkCooperativeMatrixPropertiesNV{VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
    if (np) props_fn(pd, &np, props.data());
    for (const VkCooperativeMatrixPropertiesNV &p : props)
        if (p.MSize == 16 && p.NSize == 16 && p.KSize == 16 && p.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
            p.BType == VK_COMPONENT_TYPE_FLOAT16_NV && p.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
            p.DType == VK_COMPONENT_TYPE_FLOAT32_NV && p.scope == VK_SCOPE_SUBGROUP_NV)
            return true;
    return false;
}

} // namespace

// ~/.cache/tern/vk-pipelines-<device name>.bin ($TERN_CACHE replaces ~/.cache/tern); "" if no home.
std::string pipeline_cache_path(const std::string &device) {
    std::string base;
    if (const char *c = std::getenv("TERN_CACHE"); c && *c) base = c;
    else if (const char *h = std::getenv("HOME"); h && *h) base = std::string(h) + "/.cache/tern";
    else return "";
    std::string name;
    for (char ch : device) name += std::isalnum((unsigned char)ch) ? ch : '-';
    return base + "/vk-pipelines-" + name + ".bin";
}

void vk_device::save_pipeline_cache() {
    if (cache_path_.empty() || !pipelines_dirty_) return;
    size_t n = 0;
    if (vkGetPipelineCacheData(dev_, cache_, &n, nullptr) != VK_SUCCESS || n == 0) return;
    std::vector<char> blob(n);
    if (vkGetPipelineCacheData(dev_, cache_, &n, blob.data()) != VK_SUCCESS) return;
    const std::string tmp = cache_path_ + ".part";
    FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f) return; // no cache directory: nothing is kept, nothing fails
    const bool ok = std::fwrite(blob.data(), 1, n, f) == n;
    if (std::fclose(f) == 0 && ok) std::rename(tmp.c_str(), cache_path_.c_str());
    else std::remove(tmp.c_str());
}

std::vector<vk_device_info> vk_list_devices() {
    std::vector<vk_device_info> out;
    VkInstance inst = make_instance();
    if (!inst) return out;
    const auto pds = physical_devices(inst);
    for (size_t i = 0; i < pds.size(); i++) out.push_back(describe(pds[i], (int)i));
    vkDestroyInstance(inst, nullptr);
    return out;
}

status vk_device::open(int index, std::unique_ptr<vk_device> *out) {
    std::unique_ptr<vk_device> d(new vk_device());
    d->inst_ = make_instance();
    TERN_CHECK_OR_RETURN(d->inst_, code::unsupported, "no Vulkan driver (vkCreateInstance failed)");
    const auto pds = physical_devices(d->inst_);
    TERN_CHECK_OR_RETURN(!pds.empty(), code::unsupported, "Vulkan reports no device");
    if (index < 0)
        if (const char *e = std::getenv("TERN_VK_DEVICE"); e && *e) index = std::atoi(e);
    if (index < 0) { // the first discrete GPU, else the first usable device
        for (size_t i = 0; i < pds.size() && index < 0; i++) {
            const vk_device_info info = describe(pds[i], (int)i);
            if (info.usable && info.type == "discrete") index = (int)i;
        }
        for (size_t i = 0; i < pds.size() && index < 0; i++)
            if (describe(pds[i], (int)i).usable) index = (int)i;
        TERN_CHECK_OR_RETURN(index >= 0, code::unsupported, "no Vulkan device has what tern needs (tern info --devices)");
    }
    TERN_CHECK_OR_RETURN(index < (int)pds.size(), code::invalid_argument, "Vulkan device %d does not exist (%zu devices)", index,
                         pds.size());
    const vk_device_info info = describe(pds[(size_t)index], index);
    TERN_CHECK_OR_RETURN(info.usable, code::unsupported, "Vulkan device %d (%s): %s", index, info.name.c_str(), info.why_not.c_str());
    d->index_ = index;
    d->name_ = info.name;
    d->phys_ = pds[(size_t)index];
    {
        VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
        VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
        p2.pNext = &sg;
        vkGetPhysicalDeviceProperties2(d->phys_, &p2);
        TERN_CHECK_OR_RETURN(p2.properties.limits.maxPushConstantsSize >= sizeof(vk_push), code::unsupported,
                             "Vulkan device %s has %u bytes of push constants; tern needs %zu", d->name_.c_str(),
                             p2.properties.limits.maxPushConstantsSize, sizeof(vk_push));
        const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_ARITHMETIC_BIT | VK_SUBGROUP_FEATURE_CLUSTERED_BIT;
        const char *off = std::getenv("TERN_VK_SUBGROUPS"); // =0: the shared-memory reductions everywhere
        if ((sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) && (sg.supportedOperations & need) == need && sg.subgroupSize >= 32 &&
            sg.subgroupSize % 32 == 0 && !(off && *off == '0'))
            d->subgroup_size_ = sg.subgroupSize;
    }
    vkGetPhysicalDeviceMemoryProperties(d->phys_, &d->memprops_);
    d->coopmat_ = has_coopmat(d->inst_, d->phys_) && d->subgroup_size_ == 32;

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(d->phys_, &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qf(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(d->phys_, &nq, qf.data());
    bool found = false;
    for (uint32_t i = 0; i < nq && !found; i++)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) d->queue_family_ = i, found = true;
    TERN_CHECK_OR_RETURN(found, code::unsupported, "Vulkan device %s has no compute queue", d->name_.c_str());

    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = d->queue_family_;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f12.bufferDeviceAddress = VK_TRUE;
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f2.pNext = &f12;
    f2.features.shaderInt64 = VK_TRUE;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cmf{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    const char *cm_ext = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    if (d->coopmat_) {
        f12.shaderFloat16 = VK_TRUE;
        cmf.cooperativeMatrix = VK_TRUE;
        f12.pNext = &cmf;
        dci.enabledExtensionCount = 1;
        dci.ppEnabledExtensionNames = &cm_ext;
    }
    dci.pNext = &f2;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    TERN_CHECK_OR_RETURN(vkCreateDevice(d->phys_, &dci, nullptr, &d->dev_) == VK_SUCCESS, code::unsupported,
                         "cannot create a Vulkan device on %s", d->name_.c_str());
    vkGetDeviceQueue(d->dev_, d->queue_family_, 0, &d->queue_);

    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = d->queue_family_;
    TERN_CHECK_OR_RETURN(vkCreateCommandPool(d->dev_, &pci, nullptr, &d->pool_) == VK_SUCCESS, code::internal, "vkCreateCommandPool failed");
    VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cai.commandPool = d->pool_;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    TERN_CHECK_OR_RETURN(vkAllocateCommandBuffers(d->dev_, &cai, &d->cmd_) == VK_SUCCESS, code::internal, "vkAllocateCommandBuffers failed");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    TERN_CHECK_OR_RETURN(vkCreateFence(d->dev_, &fci, nullptr, &d->fence_) == VK_SUCCESS, code::internal, "vkCreateFence failed");

    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(vk_push)};
    VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    lci.pushConstantRangeCount = 1;
    lci.pPushConstantRanges = &range;
    TERN_CHECK_OR_RETURN(vkCreatePipelineLayout(d->dev_, &lci, nullptr, &d->layout_) == VK_SUCCESS, code::internal,
                         "vkCreatePipelineLayout failed");
    // The pipeline cache persists in $TERN_CACHE or ~/.cache/tern (drivers check that the data is
    // theirs and ignore it otherwise), so later runs skip the shader compilation.
    d->cache_path_ = pipeline_cache_path(info.name);
    std::vector<char> blob;
    if (!d->cache_path_.empty())
        if (FILE *f = std::fopen(d->cache_path_.c_str(), "rb")) {
            char buf[65536];
            size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && blob.size() < (64u << 20)) blob.insert(blob.end(), buf, buf + n);
            std::fclose(f);
        }
    VkPipelineCacheCreateInfo cci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    cci.initialDataSize = blob.size();
    cci.pInitialData = blob.empty() ? nullptr : blob.data();
    if (vkCreatePipelineCache(d->dev_, &cci, nullptr, &d->cache_) != VK_SUCCESS) {
        cci.initialDataSize = 0, cci.pInitialData = nullptr; // unusable data: start empty
        vkCreatePipelineCache(d->dev_, &cci, nullptr, &d->cache_);
    }
    if (const char *e = std::getenv("TERN_VK_PROFILE"); e && *e && *e != '0' && qf[d->queue_family_].timestampValidBits > 0) {
        VkPhysicalDeviceProperties props;
        vkGetPhysicalDeviceProperties(d->phys_, &props);
        d->ts_period_ns_ = props.limits.timestampPeriod;
        VkQueryPoolCreateInfo qpi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
        qpi.queryType = VK_QUERY_TYPE_TIMESTAMP;
        qpi.queryCount = k_max_queries;
        if (vkCreateQueryPool(d->dev_, &qpi, nullptr, &d->qpool_) != VK_SUCCESS) d->qpool_ = VK_NULL_HANDLE;
    }
    *out = std::move(d);
    return status::ok();
}

vk_device::~vk_device() {
    if (dev_) {
        vkDeviceWaitIdle(dev_);
        for (auto &kv : pipelines_) vkDestroyPipeline(dev_, kv.second, nullptr);
        if (cache_) {
            save_pipeline_cache();
            vkDestroyPipelineCache(dev_, cache_, nullptr);
        }
        if (layout_) vkDestroyPipelineLayout(dev_, layout_, nullptr);
        if (fence_) vkDestroyFence(dev_, fence_, nullptr);
        drop_recorded();
        if (qpool_) vkDestroyQueryPool(dev_, qpool_, nullptr);
        if (pool_) vkDestroyCommandPool(dev_, pool_, nullptr);
        vkDestroyDevice(dev_, nullptr);
    }
    if (inst_) vkDestroyInstance(inst_, nullptr);
}

status vk_device::alloc(VkDeviceSize size, bool host_visible, vk_buffer *out) {
    *out = vk_buffer{};
    size = std::max<VkDeviceSize>(size, 256);
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    TERN_CHECK_OR_RETURN(vkCreateBuffer(dev_, &bci, nullptr, &out->buf) == VK_SUCCESS, code::out_of_memory,
                         "cannot create a Vulkan buffer of %llu bytes", (unsigned long long)size);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev_, out->buf, &req);
    // Host-visible: coherent, cached if possible (downloads read it). Device: device-local.
    const VkMemoryPropertyFlags want = host_visible ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                                    : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    int type_index = -1;
    for (int pass = 0; pass < 2 && type_index < 0; pass++)
        for (uint32_t i = 0; i < memprops_.memoryTypeCount && type_index < 0; i++) {
            const VkMemoryPropertyFlags f = memprops_.memoryTypes[i].propertyFlags;
            const bool cached_ok = !host_visible || pass == 1 || (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
            if ((req.memoryTypeBits & (1u << i)) && (f & want) == want && cached_ok) type_index = (int)i;
        }
    if (type_index < 0) {
        vkDestroyBuffer(dev_, out->buf, nullptr);
        out->buf = VK_NULL_HANDLE;
        return status(code::unsupported, "no Vulkan memory type for a buffer");
    }
    VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
    flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.pNext = &flags;
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = (uint32_t)type_index;
    if (vkAllocateMemory(dev_, &mai, nullptr, &out->mem) != VK_SUCCESS) {
        vkDestroyBuffer(dev_, out->buf, nullptr);
        *out = vk_buffer{};
        return make_status(code::out_of_memory, "out of Vulkan device memory (%llu bytes wanted)", (unsigned long long)size);
    }
    vkBindBufferMemory(dev_, out->buf, out->mem, 0);
    if (host_visible && vkMapMemory(dev_, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map) != VK_SUCCESS) {
        free(out);
        return status(code::internal, "cannot map a Vulkan buffer");
    }
    VkBufferDeviceAddressInfo ai{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
    ai.buffer = out->buf;
    out->addr = vkGetBufferDeviceAddress(dev_, &ai);
    out->size = size;
    return status::ok();
}

void vk_device::free(vk_buffer *b) {
    if (b->buf) drop_recorded(); // recorded commands may name it (or a later buffer at its address)
    if (b->map) vkUnmapMemory(dev_, b->mem);
    if (b->buf) vkDestroyBuffer(dev_, b->buf, nullptr);
    if (b->mem) vkFreeMemory(dev_, b->mem, nullptr);
    *b = vk_buffer{};
}

status vk_device::pipeline(const char *shader, VkPipeline *out) {
    auto it = pipelines_.find(shader);
    if (it != pipelines_.end()) {
        *out = it->second;
        return status::ok();
    }
    const vk_shader *s = vk_shaders;
    while (s->name && std::strcmp(s->name, shader) != 0) s++;
    TERN_CHECK_OR_RETURN(s->name, code::internal, "no Vulkan shader named %s", shader);
    VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mci.codeSize = s->n_words * 4;
    mci.pCode = s->code;
    VkShaderModule mod;
    TERN_CHECK_OR_RETURN(vkCreateShaderModule(dev_, &mci, nullptr, &mod) == VK_SUCCESS, code::internal, "bad SPIR-V for %s", shader);
    VkComputePipelineCreateInfo pci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    pci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pci.stage.module = mod;
    pci.stage.pName = "main";
    pci.layout = layout_;
    VkPipeline p;
    const VkResult r = vkCreateComputePipelines(dev_, cache_, 1, &pci, nullptr, &p);
    vkDestroyShaderModule(dev_, mod, nullptr);
    TERN_CHECK_OR_RETURN(r == VK_SUCCESS, code::internal, "cannot create the Vulkan pipeline %s", shader);
    pipelines_[shader] = p;
    pipelines_dirty_ = true;
    *out = p;
    return status::ok();
}

status vk_device::begin(bool reusable) {
    static const bool reuse_off = [] { // $TERN_VK_REUSE=0: record every submission afresh (for measuring)
        const char *e = std::getenv("TERN_VK_REUSE");
        return e && *e == '0';
    }();
    cmds_.clear();
    key_.clear();
    reusable_ = reusable && !reuse_off;
    begin_time_ = std::chrono::steady_clock::now();
    return status::ok();
}

void vk_device::barrier(VkCommandBuffer cb) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void vk_device::copy(const vk_buffer &src, VkDeviceSize src_off, const vk_buffer &dst, VkDeviceSize dst_off, VkDeviceSize n) {
    command c;
    c.src = src.buf, c.dst = dst.buf, c.src_off = src_off, c.dst_off = dst_off, c.n = n;
    cmds_.push_back(c);
    key_.insert(key_.end(), {0, (uint64_t)c.src, (uint64_t)c.dst, src_off, dst_off, n});
}

status vk_device::dispatch(const char *shader, const vk_push &pc, uint32_t gx, uint32_t gy, uint32_t gz, bool ordered) {
    command c;
    c.ordered = ordered || cmds_.empty() || !cmds_.back().pipe;
    TERN_RETURN_IF_ERROR(pipeline(shader, &c.pipe));
    c.shader = &pipelines_.find(shader)->first;
    c.pc = pc;
    c.groups[0] = gx, c.groups[1] = gy, c.groups[2] = gz;
    cmds_.push_back(c);
    uint64_t w[sizeof(vk_push) / 8];
    std::memcpy(w, &pc, sizeof w);
    key_.insert(key_.end(), {1, (uint64_t)c.pipe, (uint64_t)gx | (uint64_t)gy << 32, gz | (uint64_t)c.ordered << 32});
    key_.insert(key_.end(), w, w + sizeof(vk_push) / 8);
    n_dispatch_++;
    return status::ok();
}

// Writes the collected commands into cb, a barrier after each, timestamps around dispatches
// when profiling (qnames gets the shader of each pair of queries).
void vk_device::record(VkCommandBuffer cb, bool one_time, std::vector<std::string> *qnames) {
    vkResetCommandBuffer(cb, 0);
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = one_time ? VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT : 0;
    vkBeginCommandBuffer(cb, &bi);
    if (qpool_) vkCmdResetQueryPool(cb, qpool_, 0, k_max_queries);
    qnames->clear();
    uint32_t nq = 0;
    VkPipeline bound = VK_NULL_HANDLE;
    for (size_t i = 0; i < cmds_.size(); i++) {
        const command &c = cmds_[i];
        if (i > 0 && c.ordered) barrier(cb); // (copies are ordered too)
        if (!c.pipe) {
            VkBufferCopy r{c.src_off, c.dst_off, c.n};
            vkCmdCopyBuffer(cb, c.src, c.dst, 1, &r);
        } else {
            if (c.pipe != bound) vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c.pipe), bound = c.pipe;
            vkCmdPushConstants(cb, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof c.pc, &c.pc);
            const bool timed = qpool_ && nq + 2 <= k_max_queries;
            if (timed) vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, qpool_, nq);
            vkCmdDispatch(cb, c.groups[0], c.groups[1], c.groups[2]);
            if (timed) {
                vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qpool_, nq + 1);
                nq += 2;
                qnames->push_back(*c.shader);
            }
        }
    }
    barrier(cb);
    vkEndCommandBuffer(cb);
}

void vk_device::drop_recorded() {
    for (recorded &r : recorded_) vkFreeCommandBuffers(dev_, pool_, 1, &r.cb);
    recorded_.clear();
}

status vk_device::submit() {
    VkCommandBuffer cb = cmd_;
    const std::vector<std::string> *qnames = &query_names_;
    if (reusable_) {
        recorded *hit = nullptr;
        for (recorded &r : recorded_)
            if (r.key == key_) hit = &r;
        if (hit) {
            n_reused_++;
        } else {
            if (recorded_.size() >= k_max_recorded) { // drop the least recently used
                auto lru = std::min_element(recorded_.begin(), recorded_.end(),
                                            [](const recorded &x, const recorded &y) { return x.last_use < y.last_use; });
                vkFreeCommandBuffers(dev_, pool_, 1, &lru->cb);
                recorded_.erase(lru);
            }
            recorded r;
            VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
            cai.commandPool = pool_;
            cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
            cai.commandBufferCount = 1;
            TERN_CHECK_OR_RETURN(vkAllocateCommandBuffers(dev_, &cai, &r.cb) == VK_SUCCESS, code::internal,
                                 "vkAllocateCommandBuffers failed");
            r.key = key_;
            recorded_.push_back(std::move(r));
            hit = &recorded_.back();
            record(hit->cb, false, &hit->qnames);
            n_recorded_++;
        }
        hit->last_use = ++use_clock_;
        cb = hit->cb;
        qnames = &hit->qnames;
    } else {
        record(cmd_, true, &query_names_);
    }
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    vkResetFences(dev_, 1, &fence_);
    TERN_CHECK_OR_RETURN(vkQueueSubmit(queue_, 1, &si, fence_) == VK_SUCCESS, code::internal, "vkQueueSubmit failed");
    const VkResult r = vkWaitForFences(dev_, 1, &fence_, VK_TRUE, UINT64_MAX);
    TERN_CHECK_OR_RETURN(r == VK_SUCCESS, code::internal, "the Vulkan device failed (%d)", (int)r);
    n_submit_++;
    submit_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin_time_).count();
    const uint32_t nq = (uint32_t)qnames->size() * 2;
    if (qpool_ && nq) {
        std::vector<uint64_t> ts(nq);
        if (vkGetQueryPoolResults(dev_, qpool_, 0, nq, ts.size() * 8, ts.data(), 8, VK_QUERY_RESULT_64_BIT) == VK_SUCCESS)
            for (size_t i = 0; i < qnames->size(); i++) {
                prof_entry &e = prof_[(*qnames)[i]];
                e.gpu_ms += (double)(ts[2 * i + 1] - ts[2 * i]) * ts_period_ns_ * 1e-6;
                e.count++;
            }
    }
    return status::ok();
}

} // namespace tern
