// weight-store.h — where a model's weight bytes live under a memory budget, and how they get there.
//
// Without a budget the weights stay in the file's read-only mapping (resident mode; the store is
// not used). With one (`--mem-budget`), the store plans residency once at load:
//   - pinned tensors are read into RAM with large preads (O_DIRECT where the file system allows)
//     and stay there: 1-D tensors always, then matrices, largest first, spread over the layers;
//   - the others are streamed: a background I/O thread reads them, in the order a forward pass
//     uses them, into a ring buffer of 3x the largest streamed tensor, running ahead of the
//     computation (into the next pass too). Because every pass uses the same tensors in the same
//     order, a fixed pinned set plus a FIFO ring is the best a cache can do here; LRU would miss on
//     every tensor of a cyclic scan.
//   - an embedding table that is not pinned is never streamed for a lookup: the rows a pass needs
//     are read on their own.
// The graph calls back (compute_options hooks) before the first node that uses a streamed tensor
// (wait until it is loaded, point the tensor at it) and after its last use (free its ring space).
// Results are bit-identical to resident mode: the same bytes reach the same kernels.
#pragma once

#include "ggml/backend.h"
#include "ggml/gguf.h"
#include "ggml/status.h"
#include "ggml/tensor.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tern {

struct store_config {
    uint64_t budget = 0;   // bytes of weight memory (pinned + ring + neuron windows)
    bool direct_io = true; // O_DIRECT reads where the file system supports them
    // Sparse mode: neurons per bundle table kept in its window (0: all of them). With window_grow,
    // budget left over once every dense weight is resident widens the windows too.
    int64_t window = 0;
    bool window_grow = false;
    // The layout each weight is computed in (backend_iface::weight_layout); null or the tensor's
    // own type: as in the file. Converted in RAM after every read, so passes see what resident
    // mode's repacked weights hold.
    std::function<type(const tensor *)> layout;
    // Called after each resident tensor is read with the fraction of resident bytes read so far;
    // false stops loading (aborted).
    std::function<bool(float)> progress;
};

struct store_stats {
    bool streaming = false, direct_io = false;
    uint64_t budget = 0, bytes_weights = 0;  // the budget; all weight bytes of the model
    uint64_t bytes_pinned = 0, bytes_ring = 0; // RAM the store holds
    uint64_t bytes_streamed_per_pass = 0;    // read per forward pass (decode: per token)
    int n_pinned = 0, n_streamed = 0;        // tensors
    uint64_t n_passes = 0, bytes_read = 0, n_reads = 0;
    uint64_t bytes_used = 0, bytes_used_in_ram = 0; // weight bytes the passes used; of those, pinned
    double read_ms = 0, io_wait_ms = 0;             // I/O thread reading; compute waiting for it
    // Sparse mode: neurons used by the passes, of those found in the window; bytes read for the rest.
    uint64_t neurons_used = 0, neurons_cached = 0, bytes_read_neurons = 0, bytes_window = 0;
};

class weight_store {
  public:
    // Plans residency for `weights` (data pointing into f's mapping of `path`) and reads the
    // pinned ones. Afterwards pinned tensors point into RAM and streamed ones are null outside a
    // pass. `lookup_only`: a table only ever used by embedding lookups (pinned last, if room).
    // `bundles`: sparse FFN bundle tables (read per neuron into a window, never streamed whole).
    static status open(const std::string &path, const gguf_file &f, std::deque<tensor> &weights,
                       const tensor *lookup_only, const std::vector<const tensor *> &bundles, const store_config &cfg,
                       std::unique_ptr<weight_store> *out);
    ~weight_store();
    weight_store(const weight_store &) = delete;
    weight_store &operator=(const weight_store &) = delete;

    // Before planning and computing g: lookups in tables not in RAM get the rows read now, and
    // opt gets the hooks for streamed tensors. One pass at a time per model: on success the store
    // is held until end_pass, which must follow; on error it is not held. With every tensor in
    // RAM both do nothing (and passes are not counted).
    status begin_pass(graph &g, compute_options *opt);
    // After compute. completed=false when the graph stopped early: the read-ahead restarts.
    void end_pass(bool completed);
    // The error a failed hook recorded (compute only says that a hook failed).
    status hook_error() const;
    store_stats stats() const;

  private:
    struct entry {
        tensor *t = nullptr;
        uint64_t off = 0, n = 0;    // file offset of the data, bytes
        uint64_t a0 = 0, span = 0;  // page-aligned read: start and length
        bool pinned = false;
        int window = -1;            // a bundle table read per neuron: its index in windows_
        type from = type::count_, to = type::count_; // from != count_: repacked after each read
    };
    // The neuron window of one bundle table: `cap` slots of one bundle each, least recently used
    // evicted; rows[j] points at neuron j's bundle for the pass that gathered it.
    struct neuron_window {
        int entry = -1;
        int64_t n_rows = 0;
        size_t stride = 0;
        int64_t cap = 0;
        uint8_t *slots = nullptr;             // cap * stride bytes (inside window_mem_)
        std::vector<int32_t> slot_of;         // per neuron: its slot, or -1
        std::vector<int32_t> neuron_in;       // per slot: its neuron, or -1
        std::vector<uint64_t> stamp;          // per slot: the pass that last used it
        std::vector<const uint8_t *> rows;    // the row-pointer table the kernel reads
        std::vector<int32_t> set;             // neurons whose rows[] are set
    };
    struct read_run {
        int64_t first, count; // neurons [first, first + count) of the table
        size_t stage;         // where in the staging buffer
    };
    struct slot {
        int entry;
        uint64_t seq;  // load sequence number: order_[seq % order_.size()]
        size_t buf;    // offset in the ring
        size_t len;
        bool ready;
    };

    weight_store() = default;
    status plan(const tensor *lookup_only, uint64_t budget, uint64_t reserved);
    status plan_windows(const std::vector<const tensor *> &bundles, const store_config &cfg, uint64_t *bytes);
    void grow_windows(uint64_t spare);
    status gather(neuron_window &w, const tensor *coef);
    status read_runs(const neuron_window &w, const std::vector<read_run> &runs);
    void reader_loop();
    status prepare(graph &g, compute_options *opt);
    status read_span(int fd, uint8_t *dst, const entry &e);
    status convert(const entry &e, uint8_t *span) const; // repack after a read (entry::from)
    status fetch_rows(graph &g, tensor *node, const entry &e);
    bool on_node(size_t node);
    static bool hook(void *self, size_t node) { return static_cast<weight_store *>(self)->on_node(node); }
    void io_loop();
    bool ring_alloc(size_t len, size_t *at) const;
    void stop_io();  // join the I/O thread and empty the ring (caller holds no lock)

    std::string path_;
    int fd_ = -1, fd_rows_ = -1; // fd_ may be O_DIRECT; fd_rows_ is buffered (row lookups)
    bool direct_ = false, streaming_ = false;
    bool all_in_ram_ = false; // every tensor pinned: passes need no hooks, rows or lock
    uint64_t budget_ = 0;
    std::vector<entry> entries_;
    std::unordered_map<const tensor *, int> index_;
    uint8_t *arena_ = nullptr, *ring_ = nullptr;
    size_t arena_size_ = 0, ring_cap_ = 0;

    // One pass at a time: pass_mu_ is held from begin_pass to end_pass.
    std::mutex pass_mu_;
    std::vector<int> order_;           // streamed entries in the order a pass uses them
    std::vector<int64_t> last_use_;    // per position in order_: the last node that reads it
    std::unordered_map<size_t, std::vector<int>> waits_at_; // node -> positions first used there
    std::vector<uint8_t> hook_at_;
    uint64_t pass_base_ = 0;           // load sequence number of this pass's first tensor
    bool pass_streams_ = false;        // this pass has hooks
    std::deque<std::vector<uint8_t>> row_bufs_;

    // Ring state, shared with the I/O thread.
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<slot> slots_;
    size_t head_ = 0;
    uint64_t next_seq_ = 0;
    bool stop_ = false;
    status io_error_, hook_error_;
    std::thread io_;
    store_stats st_;

    // Sparse mode (weight-store-sparse.cpp).
    std::vector<neuron_window> windows_;
    std::unordered_map<size_t, int> sparse_at_; // node -> window gathered there
    const std::vector<tensor *> *pass_nodes_ = nullptr;
    uint8_t *window_mem_ = nullptr, *stage_ = nullptr;
    size_t stage_cap_ = 0;
    uint64_t sparse_clock_ = 0;
    std::vector<uint8_t> overflow_; // this pass's bundles that did not fit a window (prefill)
    // Reader threads: read_runs hands them runs through these (the caller reads too).
    std::mutex rd_mu_;
    std::condition_variable rd_cv_, rd_done_cv_;
    const std::vector<read_run> *rd_runs_ = nullptr;
    const neuron_window *rd_win_ = nullptr;
    size_t rd_next_ = 0, rd_done_ = 0;
    bool rd_stop_ = false;
    status rd_error_;
    std::vector<std::thread> readers_;
};

} // namespace tern
