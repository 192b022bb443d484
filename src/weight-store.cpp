// weight-store.cpp — residency plan, pinned reads, the streaming ring and its I/O thread, and
// row reads for embedding lookups (see weight-store.h).
#include "weight-store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>

namespace tern {

namespace {

constexpr uint64_t k_page = 4096;          // O_DIRECT alignment of offsets, lengths and buffers
constexpr uint64_t k_chunk = 8ull << 20;   // bytes per pread
constexpr uint64_t k_ring_tensors = 3;     // ring capacity in largest streamed tensors
constexpr int k_readers = 15;              // sparse mode: threads reading neuron runs (besides the caller)

uint64_t round_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string mib(uint64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
    return buf;
}

// Reverses the low `bits` bits of i: visiting 0..2^bits-1 in this order spreads picks evenly.
uint32_t bit_reverse(uint32_t i, int bits) {
    uint32_t r = 0;
    for (int b = 0; b < bits; b++) r |= ((i >> b) & 1u) << (bits - 1 - b);
    return r;
}

} // namespace

status weight_store::open(const std::string &path, const gguf_file &f, std::deque<tensor> &weights,
                          const tensor *lookup_only, const std::vector<const tensor *> &bundles, const store_config &cfg,
                          std::unique_ptr<weight_store> *out) {
    TERN_CHECK_OR_RETURN(cfg.budget > 0, code::invalid_argument, "a weight store needs a memory budget");
    std::unique_ptr<weight_store> s(new weight_store());
    s->path_ = path;
    s->budget_ = cfg.budget;
    s->fd_rows_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    TERN_CHECK_OR_RETURN(s->fd_rows_ >= 0, code::io, "%s: cannot open for reading: %s", path.c_str(), std::strerror(errno));
    s->fd_ = s->fd_rows_;
    if (cfg.direct_io) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
        if (fd >= 0) s->fd_ = fd, s->direct_ = true;
    }
    for (tensor &t : weights) {
        entry e;
        e.t = &t;
        e.off = (uint64_t)((const uint8_t *)t.data - f.base());
        e.n = tensor_nbytes(&t);
        TERN_CHECK_OR_RETURN(e.off + e.n <= f.file_size(), code::internal, "tensor '%s' lies outside the file", t.name.c_str());
        e.a0 = e.off / k_page * k_page;
        e.span = round_up(e.off + e.n, k_page) - e.a0;
        // Repack only what is multiplied: neither a lookup table nor a bundle table.
        const bool bundle = std::find(bundles.begin(), bundles.end(), &t) != bundles.end();
        if (cfg.layout && &t != lookup_only && !bundle) {
            const type to = cfg.layout(&t);
            if (to != t.ttype && rows_repack(t.ttype, to, nullptr, nullptr, t.ne[0], 0)) e.from = t.ttype, e.to = to;
        }
        s->index_[&t] = (int)s->entries_.size();
        s->entries_.push_back(e);
        s->st_.bytes_weights += e.n;
    }
    uint64_t total = 0;
    for (const entry &e : s->entries_) total += e.span;
    uint64_t reserved = 0;
    if (total > cfg.budget && !bundles.empty()) TERN_RETURN_IF_ERROR(s->plan_windows(bundles, cfg, &reserved));
    TERN_RETURN_IF_ERROR(s->plan(lookup_only, cfg.budget, reserved));
    if (cfg.window_grow && !s->windows_.empty() && !s->streaming_ && reserved + s->st_.bytes_pinned < cfg.budget)
        s->grow_windows(cfg.budget - reserved - s->st_.bytes_pinned);

    // Read the pinned tensors into one arena, in file order.
    for (const entry &e : s->entries_)
        if (e.pinned) s->arena_size_ += e.span;
    if (s->arena_size_) {
        s->arena_ = (uint8_t *)std::aligned_alloc(k_page, s->arena_size_);
        TERN_CHECK_OR_RETURN(s->arena_, code::out_of_memory, "cannot allocate %s for resident weights", mib(s->arena_size_).c_str());
    }
    std::vector<int> by_file;
    for (int i = 0; i < (int)s->entries_.size(); i++)
        if (s->entries_[i].pinned) by_file.push_back(i);
    std::sort(by_file.begin(), by_file.end(), [&](int a, int b) { return s->entries_[a].off < s->entries_[b].off; });
    size_t at = 0;
    for (int i : by_file) {
        entry &e = s->entries_[i];
        TERN_RETURN_IF_ERROR(s->read_span(s->fd_, s->arena_ + at, e));
        TERN_RETURN_IF_ERROR(s->convert(e, s->arena_ + at));
        e.t->data = s->arena_ + at + (e.off - e.a0);
        at += e.span;
        TERN_CHECK_OR_RETURN(!cfg.progress || cfg.progress((float)at / (float)s->arena_size_), code::aborted,
                             "loading was cancelled by the progress callback");
    }
    s->all_in_ram_ = true;
    for (entry &e : s->entries_) {
        if (!e.pinned) e.t->data = nullptr, s->all_in_ram_ = false;
        if (e.from != type::count_) e.t->ttype = e.to;
    }
    if (s->streaming_) {
        s->ring_ = (uint8_t *)std::aligned_alloc(k_page, s->ring_cap_);
        TERN_CHECK_OR_RETURN(s->ring_, code::out_of_memory, "cannot allocate the %s streaming buffer", mib(s->ring_cap_).c_str());
    }
    if (!s->windows_.empty()) {
        size_t bytes = 0;
        for (const neuron_window &w : s->windows_) bytes += (size_t)w.cap * w.stride;
        s->window_mem_ = (uint8_t *)std::aligned_alloc(k_page, round_up(bytes, k_page));
        s->stage_ = (uint8_t *)std::aligned_alloc(k_page, s->stage_cap_);
        TERN_CHECK_OR_RETURN(s->window_mem_ && s->stage_, code::out_of_memory, "cannot allocate %s of neuron windows", mib(bytes).c_str());
        size_t at = 0;
        for (neuron_window &w : s->windows_) w.slots = s->window_mem_ + at, at += (size_t)w.cap * w.stride;
        for (int i = 0; i < k_readers; i++) s->readers_.emplace_back([p = s.get()] { p->reader_loop(); });
    }
    *out = std::move(s);
    return status::ok();
}

weight_store::~weight_store() {
    stop_io();
    {
        std::lock_guard<std::mutex> lk(rd_mu_);
        rd_stop_ = true;
    }
    rd_cv_.notify_all();
    for (std::thread &t : readers_) t.join();
    std::free(window_mem_);
    std::free(stage_);
    if (fd_ >= 0 && fd_ != fd_rows_) ::close(fd_);
    if (fd_rows_ >= 0) ::close(fd_rows_);
    std::free(arena_);
    std::free(ring_);
}

// Which tensors stay in RAM. Streaming needs a ring of k_ring_tensors x the largest streamed
// tensor, so tensors larger than a threshold s must be pinned; for each candidate s, pin what is
// forced, then fill the rest of the budget largest first (equal sizes in bit-reversed order, so
// pinned tensors are spread over the layers and reads keep overlapping compute); keep the s that
// streams the fewest bytes.
status weight_store::plan(const tensor *lookup_only, uint64_t budget, uint64_t reserved) {
    uint64_t small = 0, total = 0;
    std::vector<int> mats;
    int lookup = -1;
    st_.budget = budget;
    TERN_CHECK_OR_RETURN(reserved < budget, code::invalid_argument,
                         "memory budget %s is too small for this model: its neuron windows alone need %s", mib(budget).c_str(),
                         mib(reserved).c_str());
    const uint64_t full_budget = budget;
    budget -= reserved;
    for (int i = 0; i < (int)entries_.size(); i++) {
        entry &e = entries_[i];
        if (e.window >= 0) continue;
        total += e.span;
        if (e.t == lookup_only) lookup = i;
        else if (e.t->ne[1] == 1 && e.t->ne[2] == 1) e.pinned = true, small += e.span;
        else mats.push_back(i);
    }
    if (total <= budget) { // everything else fits: pin it, no streaming
        for (entry &e : entries_)
            if (e.window < 0) e.pinned = true, st_.n_pinned++;
        st_.bytes_pinned = total;
        return status::ok();
    }
    // Fill order: size descending; equal sizes spread by bit-reversing their index.
    std::map<uint64_t, std::vector<int>> by_size;
    for (int i : mats) by_size[entries_[i].span].push_back(i);
    std::vector<int> fill;
    for (auto it = by_size.rbegin(); it != by_size.rend(); ++it) {
        const std::vector<int> &grp = it->second;
        int bits = 0;
        while ((1u << bits) < grp.size()) bits++;
        std::vector<std::pair<uint32_t, int>> keyed;
        for (uint32_t j = 0; j < grp.size(); j++) keyed.push_back({bit_reverse(j, bits), grp[j]});
        std::sort(keyed.begin(), keyed.end());
        for (const auto &k : keyed) fill.push_back(k.second);
    }
    uint64_t best_streamed = UINT64_MAX, best_s = 0, min_need = UINT64_MAX;
    for (const auto &kv : by_size) {
        const uint64_t s = kv.first, ring = k_ring_tensors * s;
        uint64_t forced = 0, mats_total = 0;
        for (int i : mats) {
            mats_total += entries_[i].span;
            if (entries_[i].span > s) forced += entries_[i].span;
        }
        min_need = std::min(min_need, small + ring + forced);
        if (small + ring + forced > budget) continue;
        uint64_t room = budget - small - ring - forced, pinned = forced;
        for (int i : fill)
            if (entries_[i].span <= s && entries_[i].span <= room) room -= entries_[i].span, pinned += entries_[i].span;
        if (mats_total - pinned < best_streamed) best_streamed = mats_total - pinned, best_s = s;
    }
    if (best_streamed == UINT64_MAX)
        return make_status(code::invalid_argument,
                           "memory budget %s is too small for this model: streaming its %s of weights needs at "
                           "least %s (small tensors, a buffer of %d times the largest streamed tensor, and %s of neuron windows)",
                           mib(full_budget).c_str(), mib(total + reserved).c_str(), mib(min_need + reserved).c_str(),
                           (int)k_ring_tensors, mib(reserved).c_str());
    // Apply the best plan.
    uint64_t room = budget - small - k_ring_tensors * best_s;
    for (int i : mats)
        if (entries_[i].span > best_s) entries_[i].pinned = true, room -= entries_[i].span;
    for (int i : fill)
        if (!entries_[i].pinned && entries_[i].span <= room) entries_[i].pinned = true, room -= entries_[i].span;
    if (lookup >= 0 && entries_[lookup].span <= room) entries_[lookup].pinned = true, room -= entries_[lookup].span;
    uint64_t max_streamed = 0;
    for (int i : mats)
        if (!entries_[i].pinned) max_streamed = std::max(max_streamed, entries_[i].span);
    streaming_ = max_streamed > 0;
    ring_cap_ = (size_t)(k_ring_tensors * max_streamed);
    for (const entry &e : entries_) {
        if (e.pinned) st_.bytes_pinned += e.span, st_.n_pinned++;
        else if (&e - entries_.data() != lookup && e.window < 0) st_.bytes_streamed_per_pass += e.span, st_.n_streamed++;
    }
    st_.bytes_ring = ring_cap_;
    st_.streaming = streaming_;
    st_.direct_io = direct_;
    return status::ok();
}

// Reads e's page-aligned span into dst (page-aligned), in chunks; the bytes past the end of the
// file (the last tensor's alignment tail) are not needed.
status weight_store::read_span(int fd, uint8_t *dst, const entry &e) {
    const uint64_t need = e.off + e.n - e.a0;
    uint64_t got = 0;
    while (got < need) {
        const size_t want = (size_t)std::min<uint64_t>(k_chunk, e.span - got);
        const ssize_t r = ::pread(fd, dst + got, want, (off_t)(e.a0 + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EINVAL && fd == fd_ && direct_ && fd_ != fd_rows_) {
            fd = fd_rows_; // the file system refused O_DIRECT after all: read through the page cache
            continue;
        }
        if (r <= 0)
            return make_status(code::io, "%s: reading weights of '%s' at offset %llu failed: %s", path_.c_str(),
                               e.t->name.c_str(), (unsigned long long)(e.a0 + got), r < 0 ? std::strerror(errno) : "file is shorter than expected");
        got += (uint64_t)r;
    }
    if (fd == fd_rows_) posix_fadvise(fd, (off_t)e.a0, (off_t)e.span, POSIX_FADV_DONTNEED); // keep the page cache small
    return status::ok();
}

status weight_store::convert(const entry &e, uint8_t *span) const {
    if (e.from == type::count_) return status::ok();
    const tensor &t = *e.t;
    TERN_CHECK_OR_RETURN(rows_repack_inplace(e.from, e.to, span + (e.off - e.a0), t.ne[0], t.ne[1]), code::internal,
                         "tensor '%s': cannot repack %s into %s", t.name.c_str(), type_name(e.from), type_name(e.to));
    return status::ok();
}

// An embedding lookup in a table that is not in RAM: read the distinct rows the ids name into a
// buffer, and point the node at a small table of just those rows.
status weight_store::fetch_rows(graph &g, tensor *node, const entry &e) {
    tensor *table = node->src[0], *ids = node->src[1];
    const int64_t n = ids->ne[0], n_rows = table->ne[1];
    const size_t row_bytes = table->nb[1];
    std::vector<int32_t> uniq;
    std::unordered_map<int32_t, int32_t> where;
    tensor *new_ids = g.new_tensor_1d(type::i32, n, "ids (fetched rows)");
    row_bufs_.emplace_back((size_t)n * sizeof(int32_t));
    int32_t *remap = (int32_t *)row_bufs_.back().data();
    for (int64_t i = 0; i < n; i++) {
        int32_t id = ((const int32_t *)ids->data)[i];
        if (id < 0 || id >= n_rows) id = 0; // ids are validated by the runtime; never read out of bounds
        auto it = where.find(id);
        if (it == where.end()) it = where.emplace(id, (int32_t)uniq.size()).first, uniq.push_back(id);
        remap[i] = it->second;
    }
    new_ids->data = remap;
    tensor *rows = g.new_tensor_2d(table->ttype, table->ne[0], (int64_t)uniq.size(), "rows (fetched)");
    row_bufs_.emplace_back(uniq.size() * row_bytes);
    uint8_t *dst = row_bufs_.back().data();
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t j = 0; j < uniq.size(); j++) {
        const uint64_t off = e.off + (uint64_t)uniq[j] * row_bytes;
        size_t got = 0;
        while (got < row_bytes) {
            const ssize_t r = ::pread(fd_rows_, dst + j * row_bytes + got, row_bytes - got, (off_t)(off + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0)
                return make_status(code::io, "%s: reading row %d of '%s' failed: %s", path_.c_str(), uniq[j],
                                   table->name.c_str(), r < 0 ? std::strerror(errno) : "file is shorter than expected");
            got += (size_t)r;
        }
    }
    rows->data = dst;
    node->src[0] = rows;
    node->src[1] = new_ids;
    std::lock_guard<std::mutex> lk(mu_);
    st_.read_ms += ms_since(t0);
    st_.bytes_read += uniq.size() * row_bytes;
    st_.n_reads += uniq.size();
    st_.bytes_used += uniq.size() * row_bytes;
    return status::ok();
}

status weight_store::begin_pass(graph &g, compute_options *opt) {
    if (all_in_ram_) return status::ok(); // nothing to read, nothing to hold
    pass_mu_.lock();
    row_bufs_.clear();
    pass_streams_ = false;
    status st = prepare(g, opt);
    if (!st) {
        row_bufs_.clear();
        pass_mu_.unlock();
    }
    return st;
}

status weight_store::prepare(graph &g, compute_options *opt) {
    const std::vector<tensor *> &nodes = g.nodes();
    std::vector<int> order;
    std::vector<int64_t> last_use(entries_.size(), -1);
    std::vector<int64_t> first_use(entries_.size(), -1);
    std::vector<std::pair<size_t, int>> sparse_nodes; // node, window
    uint64_t used = 0, used_ram = 0;
    for (size_t i = 0; i < nodes.size(); i++) {
        tensor *node = nodes[i];
        if (node->kind == op::view && node->view_src) {
            auto it = index_.find(node->view_src);
            if (it != index_.end() && !entries_[it->second].pinned)
                return make_status(code::unsupported, "a view of the streamed weight '%s' cannot be computed", node->view_src->name.c_str());
        }
        if (node->kind == op::sparse_ffn) {
            auto it = index_.find(node->src[2]);
            if (it != index_.end() && entries_[it->second].window >= 0) {
                sparse_nodes.push_back({i, entries_[it->second].window});
                for (int k = 0; k < 2; k++) { // coefficients and activations are not weights
                    auto jt = index_.find(node->src[k]);
                    TERN_CHECK_OR_RETURN(jt == index_.end(), code::internal, "sparse_ffn reads a weight as activations");
                }
                continue;
            }
        }
        if (node->kind == op::get_rows) {
            auto it = index_.find(node->src[0]);
            if (it != index_.end() && !entries_[it->second].pinned) {
                TERN_RETURN_IF_ERROR(fetch_rows(g, node, entries_[it->second]));
                continue;
            }
        }
        for (tensor *src : node->src) {
            if (!src) continue;
            auto it = index_.find(src);
            if (it == index_.end()) continue;
            const int e = it->second;
            if (first_use[e] < 0) {
                first_use[e] = (int64_t)i;
                used += entries_[e].n;
                if (entries_[e].pinned) used_ram += entries_[e].n;
                else order.push_back(e);
            }
            last_use[e] = (int64_t)i;
        }
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        st_.bytes_used += used;
        st_.bytes_used_in_ram += used_ram;
        st_.n_passes++;
    }
    sparse_at_.clear();
    for (const auto &sn : sparse_nodes) sparse_at_[sn.first] = sn.second;
    if (order.empty() && sparse_nodes.empty()) return status::ok();
    if (order.empty() && !order_.empty()) {
        stop_io();
        order_.clear();
    }
    // Every tensor read while one is in use must fit in the ring at once.
    uint64_t live = 0, max_live = 0;
    for (size_t p = 0; p < order.size(); p++) {
        live = 0;
        for (size_t q = 0; q <= p; q++)
            if (last_use[order[q]] >= first_use[order[p]]) live += entries_[order[q]].span;
        max_live = std::max(max_live, live);
    }
    if (max_live > ring_cap_)
        return make_status(code::unsupported, "this graph keeps %s of streamed weights in use at once, more than the %s buffer",
                           mib(max_live).c_str(), mib(ring_cap_).c_str());
    if (!order.empty() && order != order_) { // a new sequence of reads: restart the read-ahead with it
        stop_io();
        order_ = order;
    }
    last_use_.resize(order_.size());
    waits_at_.clear();
    hook_at_.assign(nodes.size(), 0);
    for (size_t p = 0; p < order_.size(); p++) {
        const int e = order_[p];
        last_use_[p] = last_use[e];
        waits_at_[(size_t)first_use[e]].push_back((int)p);
        hook_at_[(size_t)first_use[e]] = 1;
        if ((size_t)last_use[e] + 1 < nodes.size()) hook_at_[(size_t)last_use[e] + 1] = 1;
    }
    for (const auto &sn : sparse_nodes) hook_at_[sn.first] = 1;
    pass_nodes_ = &nodes;
    sparse_clock_++;
    if (!order_.empty() && !io_.joinable()) {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = false;
        io_ = std::thread([this] { io_loop(); });
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        hook_error_ = status::ok();
    }
    pass_streams_ = true;
    opt->before_node = &weight_store::hook;
    opt->hook_data = this;
    opt->hook_at = hook_at_.data();
    return status::ok();
}

void weight_store::end_pass(bool completed) {
    if (all_in_ram_) return;
    if (pass_streams_) {
        for (neuron_window &w : windows_) {
            for (int32_t j : w.set) w.rows[(size_t)j] = nullptr;
            w.set.clear();
            entries_[w.entry].t->data = nullptr;
        }
        overflow_.clear();
        overflow_.shrink_to_fit();
    }
    if (pass_streams_ && !order_.empty()) {
        if (completed) {
            std::lock_guard<std::mutex> lk(mu_);
            const uint64_t end = pass_base_ + order_.size();
            while (!slots_.empty() && slots_.front().seq < end && slots_.front().ready) {
                entries_[slots_.front().entry].t->data = nullptr;
                slots_.pop_front();
            }
            if (!slots_.empty() && slots_.front().seq < end) completed = false; // not all were waited for
            else pass_base_ = end;
            cv_.notify_all();
        }
        if (!completed) stop_io();
    }
    row_bufs_.clear();
    pass_mu_.unlock();
}

// Runs on one thread between nodes (the others wait): free ring space of tensors whose last
// reader has run, then wait for the tensors this node reads first.
bool weight_store::on_node(size_t node) {
    std::unique_lock<std::mutex> lk(mu_);
    bool freed = false;
    while (!slots_.empty()) {
        const slot &s = slots_.front();
        const uint64_t p = s.seq - pass_base_;
        if (s.seq < pass_base_ || p >= order_.size() || !s.ready || last_use_[p] >= (int64_t)node) break;
        entries_[s.entry].t->data = nullptr;
        slots_.pop_front();
        freed = true;
    }
    if (freed) cv_.notify_all();
    auto sp = sparse_at_.find(node);
    if (sp != sparse_at_.end()) {
        lk.unlock();
        status st = gather(windows_[(size_t)sp->second], (*pass_nodes_)[node]->src[0]);
        lk.lock();
        if (!st) {
            hook_error_ = st;
            return false;
        }
    }
    auto it = waits_at_.find(node);
    if (it == waits_at_.end()) return true;
    for (int p : it->second) {
        const uint64_t seq = pass_base_ + (uint64_t)p;
        const auto t0 = std::chrono::steady_clock::now();
        const slot *found = nullptr;
        cv_.wait(lk, [&] {
            found = nullptr;
            if (!io_error_.is_ok() || stop_) return true;
            if (slots_.empty() || seq < slots_.front().seq || seq - slots_.front().seq >= slots_.size()) return false;
            const slot &s = slots_[(size_t)(seq - slots_.front().seq)];
            if (s.ready) found = &s;
            return found != nullptr;
        });
        st_.io_wait_ms += ms_since(t0);
        if (!found) {
            hook_error_ = io_error_.is_ok() ? make_status(code::internal, "weight streaming stopped") : io_error_;
            return false;
        }
        const entry &e = entries_[found->entry];
        e.t->data = ring_ + found->buf + (e.off - e.a0);
    }
    return true;
}

bool weight_store::ring_alloc(size_t len, size_t *at) const {
    if (len > ring_cap_) return false;
    if (slots_.empty()) return *at = 0, true;
    const size_t tail = slots_.front().buf;
    if (head_ > tail) {
        if (head_ + len <= ring_cap_) return *at = head_, true;
        if (len <= tail) return *at = 0, true;
        return false;
    }
    if (head_ + len <= tail) return *at = head_, true;
    return false;
}

void weight_store::io_loop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        size_t at = 0;
        cv_.wait(lk, [&] {
            return stop_ || (io_error_.is_ok() && !order_.empty() &&
                             ring_alloc((size_t)entries_[order_[next_seq_ % order_.size()]].span, &at));
        });
        if (stop_) return;
        const int e = order_[next_seq_ % order_.size()];
        const uint64_t seq = next_seq_++;
        slots_.push_back({e, seq, at, (size_t)entries_[e].span, false});
        head_ = at + (size_t)entries_[e].span;
        lk.unlock();
        const auto t0 = std::chrono::steady_clock::now();
        status rs = read_span(fd_, ring_ + at, entries_[e]);
        if (rs) rs = convert(entries_[e], ring_ + at);
        const double ms = ms_since(t0);
        lk.lock();
        st_.read_ms += ms;
        st_.bytes_read += entries_[e].span;
        st_.n_reads++;
        if (!rs) io_error_ = rs;
        else slots_[(size_t)(seq - slots_.front().seq)].ready = true;
        cv_.notify_all();
    }
}

void weight_store::stop_io() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (io_.joinable()) io_.join();
    std::lock_guard<std::mutex> lk(mu_);
    for (const slot &s : slots_) entries_[s.entry].t->data = nullptr;
    slots_.clear();
    head_ = 0;
    next_seq_ = 0;
    pass_base_ = 0;
    io_error_ = status::ok();
    stop_ = false;
}

status weight_store::hook_error() const {
    std::lock_guard<std::mutex> lk(mu_);
    return hook_error_;
}

store_stats weight_store::stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    return st_;
}

} // namespace tern
