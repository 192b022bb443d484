// thread-barrier.h — the barrier between graph nodes (and between the phases of one op). Threads
// that arrive early spin for a short, bounded time (a node's threads usually finish within
// microseconds of each other), then sleep on a futex until the last one arrives.
//
// Why not `#pragma omp barrier`: libgomp spins for GOMP_SPINCOUNT (300000 pauses, milliseconds)
// before it sleeps. When the cores are shared — two tern processes, a compiler, a phone's other
// apps — a spinning thread burns the time slice the thread it waits for needs, and decode slowed
// ~9x with two 2-thread processes on 2 cores. Sleeping after ~30 µs keeps a loaded machine usable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>

#if defined(__linux__)
#include <climits>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <thread>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tern {

class thread_barrier {
  public:
    explicit thread_barrier(int n) : n_(n) {}
    thread_barrier(const thread_barrier &) = delete;
    thread_barrier &operator=(const thread_barrier &) = delete;

    // Every one of the n threads calls wait(); all return once the last has arrived. Memory
    // written before wait() by any thread is visible to every thread after it.
    void wait() {
        if (n_ <= 1) return;
        const uint32_t gen = gen_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
            arrived_.store(0, std::memory_order_relaxed);
            gen_.store(gen + 1, std::memory_order_seq_cst); // ordered before the sleepers_ load
            if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_all();
            return;
        }
        // Spin: check the clock only every 64 pauses (a pause is 10-150 cycles).
        static const int spin_us = spin_time_us();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
        for (;;) {
            for (int i = 0; i < 64; i++) {
                if (gen_.load(std::memory_order_acquire) != gen) return;
                pause();
            }
            if (std::chrono::steady_clock::now() >= deadline) break;
        }
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while (gen_.load(std::memory_order_seq_cst) == gen) sleep_while(gen);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }

    // How long an early thread spins before it sleeps: 30 µs, or $TERN_SPIN_US (0-10000) to tune a
    // device. Measured on 2 Zen 5 cores, SmolLM2-135M decode with two 2-thread processes at once:
    // 2 µs 36 t/s, 30 µs 40 t/s, 100 µs 10 t/s, 1000 µs 1.3 t/s; alone, 80-87 t/s for all.
    static int spin_time_us() {
        const char *e = std::getenv("TERN_SPIN_US");
        const int v = e && *e ? std::atoi(e) : 30;
        return v < 0 ? 0 : v > 10000 ? 10000 : v;
    }

  private:
    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }
#if defined(__linux__)
    // The futex word is gen_; sleep only while it still holds the generation we wait on.
    void sleep_while(uint32_t gen) {
        syscall(SYS_futex, reinterpret_cast<uint32_t *>(&gen_), FUTEX_WAIT_PRIVATE, gen, nullptr, nullptr, 0);
    }
    void wake_all() { syscall(SYS_futex, reinterpret_cast<uint32_t *>(&gen_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0); }
#else
    void sleep_while(uint32_t) { std::this_thread::yield(); }
    void wake_all() {}
#endif
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "the futex word is the atomic itself");

    const int n_;
    alignas(64) std::atomic<uint32_t> gen_{0};
    alignas(64) std::atomic<int> arrived_{0};
    alignas(64) std::atomic<int> sleepers_{0};
};

} // namespace tern
