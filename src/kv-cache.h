// kv-cache.h — the context's key/value memory: a format (ggml/kv-layout.h: f32, f16, q8_0, q4_0,
// kivi4, kivi2) and a policy that decides which tokens stay (docs/kv-cache.md):
//   all     keep everything (the context is n_ctx positions);
//   window  attention sinks + sliding window (StreamingLLM): the first `sinks` tokens and the
//           most recent budget - sinks;
//   h2o     heavy hitters (H2O): the most recent budget/2 tokens and, of the older ones, those
//           with the largest accumulated attention;
//   snapkv  SnapKV: when a pass leaves more than `budget` tokens, each head keeps those its last
//           `obs_window` queries attended to most (scores max-pooled over `pool` neighbours),
//           plus the observation window itself.
// Eviction is per KV head and happens after each forward pass, so a pass of n tokens briefly
// holds budget + n. Evicted slots are first masked (position -1) and their memory is reclaimed
// once enough have died; KIVI keys (quantized per channel over 32-token groups) are requantized
// only when a partly dead group must be compacted. With a policy, positions never run past n_ctx:
// when they would, the kept tokens are renumbered 0..n-1 and their keys re-rotated (RoPE).
#pragma once

#include "ggml/kv-layout.h"
#include "ggml/status.h"
#include "ggml/tensor.h"
#include "models/model.h"

#include <vector>

namespace tern {

enum class kv_policy : uint8_t { all, window, h2o, snapkv, count_ };
const char *kv_policy_name(kv_policy p);
bool kv_policy_parse(const char *name, kv_policy *out);

struct kv_config {
    kv_format fmt = kv_format::f16;
    kv_policy policy = kv_policy::all;
    int64_t n_ctx = 0;       // positions of the sequence
    int64_t n_batch = 512;   // most tokens in one forward pass
    int64_t budget = 0;      // tokens kept per head with a policy (0: n_ctx / 2)
    int64_t sinks = 4;       // window: tokens kept from the start
    int64_t residual = 32;   // kivi: recent tokens kept in f16 (at least 32)
    int64_t obs_window = 32; // snapkv
    int64_t pool = 7;        // snapkv: max-pool width (odd)
};

// Bytes per cached token over all layers for format f at n_tokens of context (the KIVI residual
// of `residual` f16 tokens spread over them).
double kv_bytes_per_token(const hparams &hp, kv_format f, int64_t n_tokens, int64_t residual);

class kv_cache {
  public:
    status init(const hparams &hp, const kv_config &cfg);
    const kv_config &config() const { return cfg_; }

    // Layer il's cache (a graph's kv_batch spans point at these) and the pass size begin_pass set.
    kv_layer *layer(int64_t il) { return &layers_[(size_t)il]; }
    int64_t n_layer() const { return n_layer_; }
    int64_t pass_n() const { return pass_n_; }
    // The cache's contents as bytes (kv-cache-state.cpp), and back: load_state checks the state
    // against this cache's configuration and leaves the cache unchanged when it does not fit.
    void save_state(std::vector<uint8_t> *out) const;
    status load_state(const uint8_t *data, size_t size);
    // One cache leaf per layer for the graph of a single-sequence pass begun by begin_pass (the
    // one-span kv_batch objects live in the cache until the next bind).
    void bind(graph &g, std::vector<tensor *> *leaves);
    // Before a forward pass of n tokens: makes room (renumbering positions when a policy would
    // run past n_ctx), sets the positions of the new tokens in *positions (n entries) and tells
    // the kernels what to append and track. Fails with context_full when they cannot fit.
    status begin_pass(int64_t n, std::vector<int32_t> *positions);
    // After the pass ran: the new tokens become cached, KIVI residuals are quantized, the policy evicts.
    void commit_pass();
    // The pass failed: forget its tokens.
    void abort_pass();

    // Next position (tokens decoded so far, less what a renumbering removed).
    int64_t n_past() const { return next_pos_; }
    // Append n tokens of pseudo-random keys and values (uniform in [-2, 2], stored in the cache
    // format like real ones), pass by pass with the policy applied: decode benchmarks at a depth
    // without running the model over it.
    status fill_synthetic(int64_t n, uint64_t seed);
    // Drop tokens at positions >= pos (0 clears).
    void truncate(int64_t pos);
    int64_t n_cached() const; // tokens kept by each head
    size_t bytes() const { return mem_.size(); }
    // Bytes per cached token over all layers in steady state at `n_tokens` of context: the main
    // store plus the KIVI residual (R f16 rows) spread over n_tokens.
    double bytes_per_token(int64_t n_tokens) const;
    // The same for F16 (the reference the ratios are given against).
    double f16_bytes_per_token() const;
    // What head h of layer il holds, dequantized to f32 ([n][D] keys and values), with positions
    // and accumulated attention scores, in position order (for tests and tools).
    void dump_head(int64_t il, int64_t h, std::vector<float> *k, std::vector<float> *v, std::vector<int32_t> *pos,
                   std::vector<float> *score) const;

  private:
    void rows_changed() { // stored rows rewritten or dropped: mirrors must re-read (kv_layer::epoch)
        for (kv_layer &L : layers_) L.epoch++;
    }
    kv_head &head(int64_t il, int64_t h) { return heads_[(size_t)(il * n_head_kv_ + h)]; }
    void flush_residual(kv_head &hd);
    void evict(kv_head &hd);
    void compact(kv_head &hd, bool full);
    void reposition();
    void gather(const kv_head &hd, std::vector<float> *k, std::vector<float> *v, std::vector<int32_t> *pos,
                std::vector<float> *score, std::vector<uint8_t> *from_res) const;
    void rewrite(kv_head &hd, const std::vector<float> &k, const std::vector<float> &v, const std::vector<int32_t> &pos,
                 const std::vector<float> &score, int64_t n_from_res);
    int64_t slack() const;
    size_t state_key_bytes(int64_t n_main) const;

    kv_config cfg_;
    int64_t n_layer_ = 0, n_head_kv_ = 0, D_ = 0, n_rot_ = 0;
    float rope_base_ = 10000.0f;
    std::vector<float> rope_base_layer_; // per layer (sliding-window layers may differ)
    int rope_mode_ = 0;
    int64_t next_pos_ = 0, pass_n_ = 0;
    std::vector<kv_layer> layers_;
    std::vector<kv_head> heads_;
    std::vector<kv_batch> batches_; // bind's
    std::vector<uint8_t> mem_;
};

} // namespace tern
