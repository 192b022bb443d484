// kv-layout.h — the memory layout of one layer's key/value cache, shared by the runtime (which
// owns the memory and decides what is kept: src/kv-cache.*) and the backends' kv_store and
// attention kernels (which read and append). See docs/kv-cache.md.
//
// Each KV head keeps its own list of cached tokens ("slots"), in position order. A slot lives
// either in the head's main store, in the cache format, or in its residual, an f16 staging area
// used by the KIVI formats: new tokens enter the residual and the runtime quantizes the oldest
// KIVI_GROUP of them into the main store whenever it holds `residual` tokens or more. For the
// per-token formats (f32, f16, q8_0, q4_0) tokens go straight into the main store.
//
// Formats of the main store (D = head size, multiple of 32):
//  - f32 / f16 / q8_0 / q4_0: one row of D elements per slot, for K and V alike (ggml blocks).
//  - kivi4 / kivi2 (KIVI: asymmetric, scale and zero point, b = 4 or 2 bits):
//    keys per channel over groups of KIVI_GROUP slots: group = fp16 scale[D], fp16 zero[D],
//      then for each channel c its 32 codes: b=4: 16 bytes, byte i = token i (low nibble),
//      token i+16 (high); b=2: 8 bytes, byte i = tokens i, i+8, i+16, i+24 (bits 0-1 .. 6-7).
//      k[t][c] = scale[c] * code + zero[c].
//    values per token over blocks of 32 channels: block = fp16 scale, fp16 zero, then codes of
//      its 32 channels: b=4: byte i = channel i (low), i+16 (high); b=2: byte i = channels
//      i, i+8, i+16, i+24.
#pragma once

#include "fp16.h"
#include "type-table.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern {

enum class kv_format : uint8_t { f32, f16, q8_0, q4_0, kivi4, kivi2, count_ };
const char *kv_format_name(kv_format f);
bool kv_format_parse(const char *name, kv_format *out); // case-insensitive; false if unknown

// The row type of a per-token format (f16 for the KIVI formats' residual).
inline type kv_row_type(kv_format f) {
    return f == kv_format::f32 ? type::f32 : f == kv_format::q8_0 ? type::q8_0 : f == kv_format::q4_0 ? type::q4_0 : type::f16;
}
// Index of `name` in names[0..n) ignoring case, or -1 (format and policy names).
int kv_name_index(const char *name, const char *const *names, int n);

constexpr int KIVI_GROUP = 32; // tokens per key group (KIVI's G); also channels per value block
inline bool kv_is_kivi(kv_format f) { return f == kv_format::kivi4 || f == kv_format::kivi2; }
inline int kivi_bits(kv_format f) { return f == kv_format::kivi2 ? 2 : 4; }

// Bytes of the main store: keys per KIVI group (kivi) or per slot row (others); values per slot.
size_t kv_key_group_bytes(kv_format f, int64_t D); // kivi only
size_t kv_key_row_bytes(kv_format f, int64_t D);   // per-token formats only
size_t kv_value_row_bytes(kv_format f, int64_t D);
// Average bytes per cached token and KV head of the main store (keys and values together).
double kv_bytes_per_token_head(kv_format f, int64_t D);

// KIVI reference quantizers (scalar; also used when the runtime compacts or re-positions).
// kivi_quantize_keys: x[t*ld + c] for t < 32 tokens, c < D -> one key group.
void kivi_quantize_keys(kv_format f, int64_t D, const float *x, size_t ld, uint8_t *group);
void kivi_dequantize_keys(kv_format f, int64_t D, const uint8_t *group, float *x, size_t ld);
void kivi_quantize_value(kv_format f, int64_t D, const float *x, uint8_t *row);
void kivi_dequantize_value(kv_format f, int64_t D, const uint8_t *row, float *x);

// One KV head of one layer. Slot i of the head (0 <= i < n_main + n_res) is main slot i or
// residual slot i - n_main; `pos` and `score` are indexed the same way (main part has capacity
// cap_main, the residual part follows at offset cap_main).
struct kv_head {
    uint8_t *k = nullptr, *v = nullptr;   // main store
    fp16_t *rk = nullptr, *rv = nullptr;  // residual rows [cap_res][D] (kivi only)
    int32_t *pos = nullptr;               // position of each slot; -1: evicted, masked out of attention
    float *score = nullptr;               // attention mass accumulated by the attention op (may be null)
    int64_t n_main = 0, n_res = 0;        // committed slots
    int64_t n_dead = 0;                   // evicted slots not yet reclaimed (attention must mask them)
};

struct kv_layer {
    kv_format fmt = kv_format::f16;
    int64_t D = 0, n_head_kv = 0;
    int64_t cap_main = 0, cap_res = 0;
    kv_head *heads = nullptr;             // [n_head_kv]
    // Set by the runtime for each forward pass:
    int64_t n_new = 0;                    // tokens the pass appends (after the committed ones)
    bool track = false;                   // accumulate attention probabilities into heads[].score
    int64_t track_from = 0;               // ... only for query tokens m >= track_from of the pass
    // For backends that mirror the cache in their own memory: uid names this layer's cache for
    // its lifetime (never reused); epoch changes whenever the runtime rewrites or drops rows
    // already stored (truncation, eviction, compaction, a restored state), so a mirror of rows
    // [0, n_main) must be read again. Appending new rows (kv_store, then commit) does not change it.
    uint64_t uid = 0, epoch = 0;
    // Where kv_store puts new tokens: the residual for kivi, the main store otherwise.
    bool staged() const { return kv_is_kivi(fmt); }
};

// What a graph's KV cache leaf points at (graph::kv_cache_leaf): for one layer, the sequences a
// forward pass covers. Tokens [first, first + n) of the pass (columns of its q/k/v) belong to the
// sequence whose cache for this layer is `layer`; spans are in column order and cover the pass.
// A single-sequence pass has one span. Sequences never attend to each other.
struct kv_span {
    kv_layer *layer = nullptr;
    int64_t first = 0, n = 0;
};
struct kv_batch {
    std::vector<kv_span> spans;
};

} // namespace tern
