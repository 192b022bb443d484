// plan.h — memory planner: gives every op node of a graph a place in one arena, reusing the
// memory of intermediates whose last reader has run. Views and kv_store nodes alias their source.
#pragma once

#include "status.h"
#include "tensor.h"

#include <cstdint>
#include <vector>

namespace tern {

// A growable 64-byte-aligned buffer that keeps its memory between graph runs.
class arena {
  public:
    arena() = default;
    arena(const arena &) = delete;
    arena &operator=(const arena &) = delete;
    ~arena();
    status reserve(size_t bytes);
    uint8_t *data() const { return data_; }
    size_t capacity() const { return cap_; }

  private:
    uint8_t *data_ = nullptr;
    size_t cap_ = 0;
};

struct plan_stats {
    size_t arena_bytes = 0; // what the plan needs
    size_t naive_bytes = 0; // what one buffer per node would need
};

// Assign offsets, grow `mem` if needed and set node->data for every op node and view.
status plan_memory(graph &g, arena &mem, plan_stats *stats = nullptr);

} // namespace tern
