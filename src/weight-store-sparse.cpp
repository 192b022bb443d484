// weight-store-sparse.cpp — flash sparse mode in the weight store: for each bundled FFN table
// (flash-prepare.h), a window of recently used neurons in RAM; before a sparse_ffn node runs, the
// neurons its coefficients select are looked up there and the missing ones read from the file in
// runs of adjacent neurons (one pread per run, several runs at once), least recently used ones
// evicted to make room. The node then reads the table through a row-pointer array.
#include "weight-store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace tern {

namespace {
constexpr size_t k_stage_bytes = 8u << 20; // staging for one batch of runs
constexpr uint64_t k_direct_align = 512;
}

status weight_store::plan_windows(const std::vector<const tensor *> &bundles, const store_config &cfg, uint64_t *bytes) {
    size_t max_stride = 0, max_table = 0;
    for (const tensor *b : bundles) {
        auto it = index_.find(b);
        TERN_CHECK_OR_RETURN(it != index_.end(), code::internal, "bundle table '%s' is not a weight", b->name.c_str());
        neuron_window w;
        w.entry = it->second;
        w.n_rows = b->ne[1];
        w.stride = b->nb[1];
        w.cap = cfg.window > 0 ? std::min<int64_t>(cfg.window, w.n_rows) : w.n_rows;
        w.slot_of.assign((size_t)w.n_rows, -1);
        w.neuron_in.assign((size_t)w.cap, -1);
        w.stamp.assign((size_t)w.cap, 0);
        w.rows.assign((size_t)w.n_rows, nullptr);
        entries_[(size_t)w.entry].window = (int)windows_.size();
        *bytes += (uint64_t)w.cap * w.stride;
        max_stride = std::max(max_stride, w.stride);
        max_table = std::max(max_table, (size_t)w.n_rows * w.stride);
        windows_.push_back(std::move(w));
    }
    // A quarter of a table at a time, at most 8 MiB, at least one bundle.
    stage_cap_ = (std::max(max_stride, std::min(k_stage_bytes, max_table / 4)) + 4095) / 4096 * 4096;
    *bytes += stage_cap_;
    st_.bytes_window = *bytes;
    return status::ok();
}

// Every dense weight is resident and `spare` bytes of the budget are unused: give each window the
// same number of extra neurons (a larger window means fewer neurons read per token).
void weight_store::grow_windows(uint64_t spare) {
    uint64_t per_neuron = 0; // one more neuron in every window
    for (const neuron_window &w : windows_)
        if (w.cap < w.n_rows) per_neuron += w.stride;
    if (per_neuron == 0) return;
    const int64_t extra = (int64_t)(spare / per_neuron);
    for (neuron_window &w : windows_) {
        const int64_t cap = std::min<int64_t>(w.n_rows, w.cap + extra);
        st_.bytes_window += (uint64_t)(cap - w.cap) * w.stride;
        w.cap = cap;
        w.neuron_in.assign((size_t)cap, -1);
        w.stamp.assign((size_t)cap, 0);
    }
}

status weight_store::gather(neuron_window &w, const tensor *coef) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t F = w.n_rows, M = coef->ne[1];
    const float *cf = (const float *)coef->data;
    std::vector<int32_t> active, miss;
    for (int64_t j = 0; j < F; j++) {
        bool any = false;
        for (int64_t m = 0; m < M && !any; m++) any = cf[m * F + j] != 0.0f;
        if (any) active.push_back((int32_t)j);
    }
    const uint64_t clock = sparse_clock_;
    for (int32_t j : active) {
        const int32_t s = w.slot_of[(size_t)j];
        if (s >= 0) {
            w.stamp[(size_t)s] = clock;
            w.rows[(size_t)j] = w.slots + (size_t)s * w.stride;
        } else {
            miss.push_back(j);
        }
    }
    // Slots to fill: free ones first, then the least recently used of those this pass does not use.
    std::vector<int32_t> cand;
    for (int64_t s = 0; s < w.cap; s++)
        if (w.neuron_in[(size_t)s] < 0 || w.stamp[(size_t)s] < clock) cand.push_back((int32_t)s);
    const size_t n_slot = std::min(miss.size(), cand.size());
    auto age = [&](int32_t s) { return w.neuron_in[(size_t)s] < 0 ? 0 : w.stamp[(size_t)s] + 1; };
    if (cand.size() > n_slot)
        std::nth_element(cand.begin(), cand.begin() + (long)n_slot, cand.end(), [&](int32_t a, int32_t b) { return age(a) < age(b); });
    overflow_.resize((miss.size() - n_slot) * w.stride); // a prefill batch may use more neurons than the window holds
    std::vector<uint8_t *> dest(miss.size());
    for (size_t i = 0; i < miss.size(); i++) {
        const int32_t j = miss[i];
        if (i < n_slot) {
            const int32_t s = cand[i];
            if (w.neuron_in[(size_t)s] >= 0) w.slot_of[(size_t)w.neuron_in[(size_t)s]] = -1;
            w.neuron_in[(size_t)s] = j;
            w.slot_of[(size_t)j] = s;
            w.stamp[(size_t)s] = clock;
            dest[i] = w.slots + (size_t)s * w.stride;
        } else {
            dest[i] = overflow_.data() + (i - n_slot) * w.stride;
        }
        w.rows[(size_t)j] = dest[i];
    }
    // Read the misses in runs of adjacent neurons, a staging buffer's worth at a time.
    const size_t per_stage = std::max<size_t>(1, stage_cap_ / w.stride);
    uint64_t n_runs = 0;
    status st;
    for (size_t i = 0; i < miss.size() && st.is_ok();) {
        std::vector<read_run> runs;
        size_t used = 0, first_i = i;
        while (i < miss.size() && used < per_stage) {
            read_run r{miss[i], 1, used * w.stride};
            i++, used++;
            while (i < miss.size() && used < per_stage && miss[i] == r.first + r.count) i++, used++, r.count++;
            runs.push_back(r);
        }
        n_runs += runs.size();
        st = read_runs(w, runs);
        if (!st) break;
        for (size_t k = first_i; k < i; k++) std::memcpy(dest[k], stage_ + (k - first_i) * w.stride, w.stride);
    }
    if (!st) { // what was assigned but not read must not be found later
        for (size_t i = 0; i < n_slot; i++) {
            w.slot_of[(size_t)miss[i]] = -1;
            w.neuron_in[(size_t)cand[i]] = -1;
        }
        return st;
    }
    w.set = active;
    tensor *t = entries_[(size_t)w.entry].t;
    t->data = w.rows.data();
    t->flags |= tensor_flag_indirect;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lk(mu_);
    st_.neurons_used += active.size();
    st_.neurons_cached += active.size() - miss.size();
    st_.bytes_read_neurons += miss.size() * w.stride;
    st_.bytes_read += miss.size() * w.stride;
    st_.n_reads += n_runs;
    st_.read_ms += ms;
    st_.io_wait_ms += ms; // the computation waits for all of it
    st_.bytes_used += active.size() * w.stride;
    st_.bytes_used_in_ram += (active.size() - miss.size()) * w.stride;
    return status::ok();
}

namespace {
status read_run_into(int fd_direct, int fd_buffered, bool direct, uint8_t *dst, uint64_t off, size_t len,
                     const std::string &path) {
    const bool aligned = direct && off % k_direct_align == 0 && len % k_direct_align == 0 &&
                         (uintptr_t)dst % k_direct_align == 0;
    const int fd = aligned ? fd_direct : fd_buffered;
    size_t got = 0;
    while (got < len) {
        const ssize_t r = ::pread(fd, dst + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return make_status(code::io, "%s: reading FFN neurons at offset %llu failed: %s", path.c_str(),
                               (unsigned long long)(off + got), r < 0 ? std::strerror(errno) : "file is shorter than expected");
        got += (size_t)r;
    }
    if (fd == fd_buffered) posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
    return status::ok();
}
} // namespace

// Hands the runs to the reader threads and reads along with them until all are done.
status weight_store::read_runs(const neuron_window &w, const std::vector<read_run> &runs) {
    if (runs.empty()) return status::ok();
    const uint64_t base = entries_[(size_t)w.entry].off;
    std::unique_lock<std::mutex> lk(rd_mu_);
    rd_runs_ = &runs;
    rd_win_ = &w;
    rd_next_ = 0;
    rd_done_ = 0;
    rd_error_ = status::ok();
    rd_cv_.notify_all();
    while (rd_next_ < runs.size()) {
        const read_run r = runs[rd_next_++];
        lk.unlock();
        status st = read_run_into(fd_, fd_rows_, direct_, stage_ + r.stage, base + (uint64_t)r.first * w.stride,
                                  (size_t)r.count * w.stride, path_);
        lk.lock();
        if (!st && rd_error_.is_ok()) rd_error_ = st;
        rd_done_++;
    }
    rd_done_cv_.wait(lk, [&] { return rd_done_ == runs.size(); });
    rd_runs_ = nullptr;
    rd_win_ = nullptr;
    return rd_error_;
}

void weight_store::reader_loop() {
    std::unique_lock<std::mutex> lk(rd_mu_);
    for (;;) {
        rd_cv_.wait(lk, [&] { return rd_stop_ || (rd_runs_ && rd_next_ < rd_runs_->size()); });
        if (rd_stop_) return;
        const std::vector<read_run> *runs = rd_runs_;
        const neuron_window *w = rd_win_;
        const read_run r = (*runs)[rd_next_++];
        lk.unlock();
        status st = read_run_into(fd_, fd_rows_, direct_, stage_ + r.stage, entries_[(size_t)w->entry].off + (uint64_t)r.first * w->stride,
                                  (size_t)r.count * w->stride, path_);
        lk.lock();
        if (!st && rd_error_.is_ok()) rd_error_ = st;
        if (++rd_done_ == runs->size()) rd_done_cv_.notify_all();
    }
}

} // namespace tern
