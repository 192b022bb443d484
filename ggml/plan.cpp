// plan.cpp — lifetime analysis + best-fit free-list allocation over the node order.
#include "plan.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <unordered_map>

namespace tern {

namespace {
constexpr size_t k_align = 64;
size_t align_up(size_t n) { return (n + k_align - 1) / k_align * k_align; }

// The tensor that owns the memory `t` lives in.
const tensor *storage_root(const tensor *t) {
    while (t->view_src) t = t->view_src;
    return t;
}

struct free_list {
    struct block {
        size_t off, size;
    };
    std::vector<block> blocks; // sorted by offset, non-adjacent
    size_t end = 0;            // high-water mark

    size_t alloc(size_t size) {
        size_t best = blocks.size();
        for (size_t i = 0; i < blocks.size(); i++)
            if (blocks[i].size >= size && (best == blocks.size() || blocks[i].size < blocks[best].size)) best = i;
        if (best < blocks.size()) {
            const size_t off = blocks[best].off;
            blocks[best].off += size;
            blocks[best].size -= size;
            if (blocks[best].size == 0) blocks.erase(blocks.begin() + (long)best);
            return off;
        }
        // Grow: extend a free block that touches the end, if any.
        if (!blocks.empty() && blocks.back().off + blocks.back().size == end) {
            const size_t off = blocks.back().off;
            end = off + size;
            blocks.pop_back();
            return off;
        }
        const size_t off = end;
        end += size;
        return off;
    }

    void release(size_t off, size_t size) {
        auto it = std::lower_bound(blocks.begin(), blocks.end(), off,
                                   [](const block &b, size_t o) { return b.off < o; });
        it = blocks.insert(it, {off, size});
        // merge with next, then with previous
        if (it + 1 != blocks.end() && it->off + it->size == (it + 1)->off) {
            it->size += (it + 1)->size;
            blocks.erase(it + 1);
        }
        if (it != blocks.begin() && (it - 1)->off + (it - 1)->size == it->off) {
            (it - 1)->size += it->size;
            blocks.erase(it);
        }
    }
};
} // namespace

arena::~arena() { std::free(data_); }

status arena::reserve(size_t bytes) {
    if (bytes <= cap_) return status::ok();
    std::free(data_);
    cap_ = 0;
    data_ = (uint8_t *)std::aligned_alloc(k_align, align_up(std::max<size_t>(bytes, k_align)));
    TERN_CHECK_OR_RETURN(data_ != nullptr, code::out_of_memory, "cannot allocate %zu bytes of activations", bytes);
    cap_ = align_up(bytes);
    return status::ok();
}

status plan_memory(graph &g, arena &mem, plan_stats *stats) {
    const auto &nodes = g.nodes();
    const size_t n = nodes.size();
    constexpr size_t never = std::numeric_limits<size_t>::max();

    // Last reader of each allocated tensor (views extend their root's life).
    std::unordered_map<const tensor *, size_t> last_use;
    for (size_t i = 0; i < n; i++) {
        const tensor *t = nodes[i];
        if (t->flags & tensor_flag_output) last_use[storage_root(t)] = never;
        for (const tensor *s : t->src) {
            if (!s) continue;
            const tensor *r = storage_root(s);
            if (r->kind == op::none) continue;
            auto &lu = last_use[r];
            if (lu != never) lu = std::max(lu, i);
        }
    }

    free_list fl;
    std::unordered_map<const tensor *, size_t> offset;
    std::vector<std::vector<const tensor *>> dying(n);
    size_t naive = 0;
    for (size_t i = 0; i < n; i++) {
        const tensor *t = nodes[i];
        if (t->view_src) continue;
        const size_t size = align_up(tensor_nbytes(t));
        naive += size;
        offset[t] = fl.alloc(size);
        auto it = last_use.find(t);
        const size_t lu = it == last_use.end() ? i : it->second; // unread non-output: free at once
        if (lu != never) dying[lu].push_back(t);
        for (const tensor *d : dying[i]) fl.release(offset[d], align_up(tensor_nbytes(d)));
    }

    TERN_RETURN_IF_ERROR(mem.reserve(fl.end));
    for (tensor *t : nodes) {
        if (t->view_src) {
            t->data = t->view_src->data ? (uint8_t *)t->view_src->data + t->view_offset : nullptr;
        } else {
            t->data = mem.data() + offset[t];
        }
    }
    if (stats) {
        stats->arena_bytes = fl.end;
        stats->naive_bytes = naive;
    }
    return status::ok();
}

} // namespace tern
