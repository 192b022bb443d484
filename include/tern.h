/* tern.h — the public C API of libtern (C99). The only header an embedding program needs.
 *
 * Conventions
 *  - Opaque handles: tern_model, tern_context, tern_sampler. Every init or load function has a matching free;
 *    the caller owns what it created and frees it (free functions accept NULL).
 *  - Errors: functions return tern_status (TERN_OK = 0) or a documented sentinel; the text of the
 *    last error on the calling thread is tern_last_error(). No exceptions cross this API and
 *    nothing aborts the process on bad input.
 *  - Thread-safety: a tern_model is immutable after loading and may be shared by any number of
 *    threads and contexts. A tern_context or tern_sampler must be used by one thread at a time.
 *    Functions taking only a model are thread-safe.
 */
#ifndef TERN_H
#define TERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TERN_API __declspec(dllexport)
#elif defined(__GNUC__)
#define TERN_API __attribute__((visibility("default")))
#else
#define TERN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_ABI_VERSION 0

typedef int32_t tern_token;
#define TERN_TOKEN_NULL (-1)

typedef enum tern_status {
    TERN_OK = 0,
    TERN_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, a bad parameter, a token id out of range */
    TERN_ERR_IO = 2,               /* the file cannot be opened, read or mapped */
    TERN_ERR_BAD_FORMAT = 3,       /* the file is not a valid GGUF, is truncated or inconsistent */
    TERN_ERR_UNSUPPORTED = 4,      /* valid but unknown architecture, tensor type or tokenizer */
    TERN_ERR_OUT_OF_MEMORY = 5,
    TERN_ERR_CONTEXT_FULL = 6,     /* the batch does not fit in the remaining context */
    TERN_ERR_ABORTED = 7,          /* the abort callback asked to stop */
    TERN_ERR_INTERNAL = 8
} tern_status;

/* Text of the last error raised on this thread ("" if none). Valid until the next tern call on
 * this thread. */
TERN_API const char *tern_last_error(void);
/* Short name of a status code ("ok", "invalid argument", ...). Static storage. */
TERN_API const char *tern_status_str(tern_status s);
/* Library version string, e.g. "0.1.0". */
TERN_API const char *tern_version(void);

typedef enum tern_log_level { TERN_LOG_ERROR = 0, TERN_LOG_WARN = 1, TERN_LOG_INFO = 2, TERN_LOG_DEBUG = 3 } tern_log_level;
typedef void (*tern_log_callback)(tern_log_level level, const char *text, void *user_data);
/* Route tern's log lines (default: warnings and errors to stderr). NULL restores the default.
 * Global; set it before loading models. */
TERN_API void tern_log_set(tern_log_callback cb, void *user_data);

/* ---- model ------------------------------------------------------------------------------ */
typedef struct tern_model tern_model;

typedef struct tern_model_params {
    bool vocab_only; /* load only the tokenizer (tensors are not validated) */
    bool use_mlock;  /* lock the mapped weights in RAM (ignored with a mem_budget) */
    /* Bytes of RAM for weights; 0 (default): the file is mapped and the OS pages it in. With a
     * budget, tensors are read into RAM up to it and the rest are streamed from the file on every
     * forward pass by a background I/O thread, ahead of use (results are identical). A budget too
     * small to stream with is TERN_ERR_INVALID_ARGUMENT, and the message says the minimum. */
    uint64_t mem_budget;
    bool direct_io; /* with a budget: O_DIRECT reads where the file system allows (default true) */
    /* Bundled models (tern_flash_prepare) only. flash_keep: the fraction of FFN neurons each token
     * uses, those with the largest |silu(gate)| (0 or 1: all, which matches the original model up
     * to the bundles' requantized down columns). flash_window: with a mem_budget, how many
     * neurons per layer stay cached after use, least recently used evicted (0: 2 x flash_keep x
     * the FFN width, two tokens' worth, widened into any budget left once every dense weight is
     * resident). */
    float flash_keep;
    int32_t flash_window;
    /* Called while weights are loaded, from the loading thread, with progress from 0 to 1 (the
     * last call is 1); return false to cancel: tern_model_load then fails with TERN_ERR_ABORTED.
     * With a callback, a mapped model's pages are read in during the load (as they would be by the
     * first forward pass), so the progress is real. NULL (default): no calls. */
    bool (*progress_callback)(float progress, void *user_data);
    void *progress_user_data;
    /* GPU offload (builds with the Vulkan backend; see tern_devices). n_gpu_layers: how many of
     * the last layers' weight matrices live and are multiplied on the GPU; more than the layer
     * count also moves the output matrix (999: everything). 0 (default): CPU only. Without a
     * usable GPU the model runs on the CPU and a warning is logged. gpu_device: which device
     * (-1, default: the first discrete GPU, else the first usable one; $TERN_VK_DEVICE). */
    int32_t n_gpu_layers;
    int32_t gpu_device;
} tern_model_params;

TERN_API tern_model_params tern_model_default_params(void);

/* The GPU devices of the backends built in, one line each ("vulkan0: NAME (discrete, 79.6 GiB)"),
 * into buf (at most buf_size bytes incl. the NUL); returns the full length (0: no GPU backend or
 * no device). */
TERN_API int32_t tern_devices(char *buf, size_t buf_size);

/* Load a GGUF model. On success *out owns the model (free with tern_model_free).
 * Errors: TERN_ERR_IO, TERN_ERR_BAD_FORMAT, TERN_ERR_UNSUPPORTED, TERN_ERR_INVALID_ARGUMENT. */
TERN_API tern_status tern_model_load(const char *path, const tern_model_params *params, tern_model **out);
TERN_API void tern_model_free(tern_model *model);

TERN_API int32_t tern_model_n_vocab(const tern_model *model);
TERN_API int32_t tern_model_n_ctx_train(const tern_model *model);
TERN_API int32_t tern_model_n_embd(const tern_model *model);
TERN_API int32_t tern_model_n_layer(const tern_model *model);
TERN_API uint64_t tern_model_size_bytes(const tern_model *model);   /* bytes of weight data */
TERN_API uint64_t tern_model_n_params(const tern_model *model);
/* One-line description, e.g. "llama 135M q4_1". Writes at most buf_size bytes incl. the NUL;
 * returns the full length. */
TERN_API int32_t tern_model_desc(const tern_model *model, char *buf, size_t buf_size);
/* Which compute kernels the model's weight matrices use on the CPU, one line per weight type:
 * tensor count, bytes, and the kernel for one token (decode) and for a batch (prefill), e.g.
 * "tl2: 112 tensors, 276.4 MiB; decode: avx2 table lookup (LUT); prefill: avx2 table lookup (LUT)".
 * Returns the full length (as tern_model_desc). */
TERN_API int32_t tern_model_kernels(const tern_model *model, char *buf, size_t buf_size);
/* Metadata value of `key` as text. Returns the full length, or -1 if the key is absent. */
TERN_API int32_t tern_model_meta_str(const tern_model *model, const char *key, char *buf, size_t buf_size);

/* ---- vocabulary ------------------------------------------------------------------------ */
TERN_API tern_token tern_token_bos(const tern_model *model);  /* TERN_TOKEN_NULL if none */
TERN_API tern_token tern_token_eos(const tern_model *model);
/* True for end-of-generation tokens (EOS, EOT, <|im_end|>, <end_of_turn>, ...). */
TERN_API bool tern_token_is_eog(const tern_model *model, tern_token token);
TERN_API bool tern_add_bos(const tern_model *model); /* whether prompts start with BOS */

/* Tokenize `text` (`text_len` bytes), as llama.cpp does. add_special: add BOS/EOS as the model
 * wants (even when, with parse_special, the text starts with the BOS token's text: a rendered chat
 * template usually does, and callers should then drop the doubled BOS, as tern's tools do).
 * parse_special: turn special-token text like "<|im_start|>" into its token.
 * Returns the number of tokens written; if n_tokens_max is too small returns -(needed) and
 * writes nothing useful. */
TERN_API int32_t tern_tokenize(const tern_model *model, const char *text, int32_t text_len, tern_token *tokens,
                               int32_t n_tokens_max, bool add_special, bool parse_special);
/* Bytes of one token (may be a partial UTF-8 sequence). special: render control tokens.
 * Returns bytes written, or -(needed) if buf is too small, or INT32_MIN for a bad id. */
TERN_API int32_t tern_token_to_piece(const tern_model *model, tern_token token, char *buf, int32_t buf_size,
                                     bool special);
/* Decode tokens to text. remove_special drops BOS/EOS; unparse_special renders control tokens.
 * Returns bytes written, or -(needed) if buf is too small. */
TERN_API int32_t tern_detokenize(const tern_model *model, const tern_token *tokens, int32_t n_tokens, char *text,
                                 int32_t text_size, bool remove_special, bool unparse_special);

/* ---- chat template --------------------------------------------------------------------- */
typedef struct tern_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content;
} tern_chat_message;

/* Render messages with the model's chat template (recognised families: ChatML, Llama 2/3,
 * Gemma, Phi-3, Mistral; others fall back to ChatML). tmpl overrides the model's template
 * (a family name like "chatml" or a template text); NULL uses the model's.
 * Returns the full length (write at most buf_size bytes incl. NUL) or -1 on error. */
TERN_API int32_t tern_chat_apply_template(const tern_model *model, const char *tmpl, const tern_chat_message *msgs,
                                          size_t n_msgs, bool add_assistant, char *buf, int32_t buf_size);

/* ---- context --------------------------------------------------------------------------- */
/* ---- quantization ------------------------------------------------------------------------------
 * Rewrites the GGUF at in_path with its weight matrices in another format and writes out_path
 * (via out_path.part, renamed at the end; out_path is untouched on error). `type` is a format or
 * recipe name, case-insensitive: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q4_K_S
 * Q4_K_M Q5_K_S Q5_K_M Q6_K TQ1_0 TQ2_0. Recipes keep output (and for _M the embedding, attn_v
 * and some ffn_down) tensors at higher precision; norms stay F32. n_threads <= 0: all cores.
 * progress (may be NULL) is called before each tensor from the calling thread.
 * Returns TERN_ERR_INVALID_ARGUMENT for an unknown type, TERN_ERR_IO / TERN_ERR_BAD_FORMAT /
 * TERN_ERR_UNSUPPORTED for files it cannot read or write. Thread-safe. */
typedef void (*tern_quantize_progress)(int32_t done, int32_t total, const char *tensor, const char *from_type,
                                       const char *to_type, void *user_data);
TERN_API tern_status tern_model_quantize(const char *in_path, const char *out_path, const char *type, int32_t n_threads,
                                         tern_quantize_progress progress, void *user_data);

/* Rewrite a llama-architecture model for flash sparse mode (docs/weights-memory.md): each layer's
 * ffn_up and ffn_down become one table of per-neuron bundles (up row + down column, padded to a
 * multiple of 512 bytes), so one read brings all a neuron needs. progress (may be NULL) is called
 * before each layer with (layer, n_layer). Errors as tern_model_quantize; TERN_ERR_UNSUPPORTED for
 * other architectures. */
typedef void (*tern_layer_progress)(int32_t layer, int32_t n_layer, void *user_data);
TERN_API tern_status tern_flash_prepare(const char *in_path, const char *out_path, int32_t n_threads,
                                        tern_layer_progress progress, void *user_data);
/* The same, with the gate projections (sparse mode's resident predictor) requantized to
 * gate_type (a type name as for tern_model_quantize, e.g. "q4_0"; NULL keeps theirs), so a
 * memory budget holds the predictor in less RAM and keeps more neurons. TERN_ERR_INVALID_ARGUMENT
 * for an unknown type name. */
TERN_API tern_status tern_flash_prepare_gate(const char *in_path, const char *out_path, const char *gate_type,
                                             int32_t n_threads, tern_layer_progress progress, void *user_data);

typedef struct tern_context tern_context;

/* KV cache formats (docs/kv-cache.md). Bytes per token and KV head of size D, keys and values
 * together: F32 8D, F16 4D, Q8_0 2.125D, Q4_0 1.125D, KIVI4 1.25D and KIVI2 0.75D (KIVI: keys
 * quantized per channel over 32-token groups, values per token, fp16 scale and zero point).
 * The KIVI formats keep the most recent kv_residual tokens in F16 until a whole group can be
 * quantized. Formats other than F32/F16 need a head size that is a multiple of 32. */
typedef enum tern_kv_type {
    TERN_KV_F16 = 0,
    TERN_KV_F32 = 1,
    TERN_KV_Q8_0 = 2,
    TERN_KV_Q4_0 = 3,
    TERN_KV_KIVI4 = 4,
    TERN_KV_KIVI2 = 5
} tern_kv_type;

/* Which tokens the KV cache keeps (per KV head, decided after every forward pass):
 * ALL keeps every token (the context holds n_ctx tokens); WINDOW keeps kv_sinks first tokens and
 * the most recent ones (StreamingLLM); H2O keeps the most recent kv_budget/2 and the older ones
 * with the most accumulated attention; SNAPKV compresses each pass's cache to the tokens its last
 * 32 queries attended to most. With a policy, generation never runs out of context: positions are
 * renumbered when they would pass n_ctx. */
typedef enum tern_kv_policy { TERN_KV_ALL = 0, TERN_KV_WINDOW = 1, TERN_KV_H2O = 2, TERN_KV_SNAPKV = 3 } tern_kv_policy;

/* Parse "f16", "q8_0", "kivi2", ... / "all", "window", "h2o", "snapkv" (case-insensitive).
 * Returns false (and leaves *out alone) for an unknown name. */
TERN_API bool tern_kv_type_parse(const char *name, tern_kv_type *out);
TERN_API bool tern_kv_policy_parse(const char *name, tern_kv_policy *out);

/* Abort callback: return true to stop the current decode (checked between graph nodes). */
typedef bool (*tern_abort_callback)(void *user_data);

typedef struct tern_context_params {
    uint32_t n_ctx;        /* context length in tokens; 0 = min(model's training context, 4096) */
    uint32_t n_batch;      /* max tokens per internal forward pass (default 512) */
    int32_t n_threads;     /* 0 = $TERN_THREADS if set, else the physical cores */
    tern_kv_type kv_type;  /* KV cache format (default F16) */
    tern_kv_policy kv_policy; /* default ALL */
    int32_t kv_budget;     /* tokens kept per head with a policy; 0 = n_ctx / 2 */
    int32_t kv_sinks;      /* WINDOW: first tokens always kept (default 4) */
    int32_t kv_residual;   /* KIVI: recent tokens kept in F16, >= 32 (default 32) */
    tern_abort_callback abort_callback;
    void *abort_user_data;
    /* Independent sequences the context holds (default 1), each with its own KV cache of n_ctx
     * positions, decoded together by tern_decode_batch. The single-sequence calls (tern_decode,
     * tern_context_pos, tern_context_truncate, tern_get_logits) work on sequence 0. */
    uint32_t n_seq_max;
    /* Compute every token the same way whatever else is in the forward pass, so a sequence's
     * logits do not depend on the other sequences batched with it or on how its prompt was split
     * into passes (greedy answers are then reproducible under any load). Costs prefill speed (no
     * GEMM). Default false. */
    bool batch_invariant;
} tern_context_params;

TERN_API tern_context_params tern_context_default_params(void);

/* Create a context (KV cache + activations) on a loaded model. The model must outlive it. */
TERN_API tern_status tern_context_init(tern_model *model, const tern_context_params *params, tern_context **out);
TERN_API void tern_context_free(tern_context *ctx);

TERN_API uint32_t tern_n_ctx(const tern_context *ctx);
/* Number of tokens in the KV cache (the position the next decoded token gets). */
TERN_API int32_t tern_context_pos(const tern_context *ctx);
/* Drop cached tokens at positions >= pos (pos = 0 clears the context). */
TERN_API tern_status tern_context_truncate(tern_context *ctx, int32_t pos);
TERN_API void tern_context_set_threads(tern_context *ctx, int32_t n_threads);

/* Run n_tokens tokens through the model, appending them to the KV cache. Large inputs are split
 * into n_batch-sized passes. all_logits: keep logits for every token (perplexity); otherwise
 * only for the last token. Errors: TERN_ERR_CONTEXT_FULL (nothing is appended),
 * TERN_ERR_INVALID_ARGUMENT (token id out of range), TERN_ERR_ABORTED. */
TERN_API tern_status tern_decode(tern_context *ctx, const tern_token *tokens, int32_t n_tokens, bool all_logits);

/* Logits (n_vocab floats) of token i of the last tern_decode call; i = -1 means the last token.
 * NULL if i has no logits. Valid until the next decode. */
TERN_API const float *tern_get_logits(tern_context *ctx, int32_t i);

/* ---- several sequences ---------------------------------------------------------------------
 * A server decodes many conversations at once: one forward pass carries a few tokens of each, so
 * the weights are read once for all of them. Sequences are numbered 0 .. n_seq_max-1; each has its
 * own positions and KV cache and never sees the others' tokens. */
TERN_API uint32_t tern_n_seq(const tern_context *ctx);
/* Tokens in sequence seq's cache (the position its next token gets); -1 for a bad seq. */
TERN_API int32_t tern_seq_pos(const tern_context *ctx, int32_t seq);
/* Drop sequence seq's tokens at positions >= pos (0 clears it). */
TERN_API tern_status tern_seq_truncate(tern_context *ctx, int32_t seq, int32_t pos);
/* One forward pass over n tokens: token i is appended to sequence seq_ids[i]. Each sequence's
 * tokens must be consecutive in the batch (at most one run per sequence), and n <= n_batch.
 * Afterwards tern_get_logits_seq gives the logits of each sequence's last token in the batch.
 * Errors: TERN_ERR_INVALID_ARGUMENT (bad ids, runs, n), TERN_ERR_CONTEXT_FULL (a sequence would
 * pass n_ctx; the message names it), TERN_ERR_ABORTED. On error no sequence changes. */
TERN_API tern_status tern_decode_batch(tern_context *ctx, const tern_token *tokens, const int32_t *seq_ids, int32_t n);
/* n_vocab logits of sequence seq's last token in the last tern_decode_batch, or NULL if that batch
 * had none of its tokens. Valid until the next decode. */
TERN_API const float *tern_get_logits_seq(tern_context *ctx, int32_t seq);
/* Sentence embedding: clears sequence seq, runs the n tokens through it, and writes to out
 * (tern_model_n_embd floats) the mean over tokens of the final, normalized hidden states, scaled
 * to unit length. The sequence is left cleared. Errors as tern_decode. */
TERN_API tern_status tern_embed(tern_context *ctx, int32_t seq, const tern_token *tokens, int32_t n, float *out);

/* Sequence state (save a conversation, restore it later or in another context of the same model
 * and settings): the sequence's KV cache and the logits of its last decoded token. The bytes are
 * checked on restore (TERN_ERR_INVALID_ARGUMENT for a state from another model, KV format, policy
 * or context size, or one that is truncated or malformed; the sequence is then left unchanged).
 * tern_seq_state_get writes at most buf_size bytes and returns the state's full size (call it
 * with buf = NULL to ask), 0 for a bad seq. After tern_seq_state_set, the restored logits are
 * those of tern_get_logits_seq (and of tern_get_logits(ctx, -1) for sequence 0). */
TERN_API size_t tern_seq_state_get(tern_context *ctx, int32_t seq, uint8_t *buf, size_t buf_size);
TERN_API tern_status tern_seq_state_set(tern_context *ctx, int32_t seq, const uint8_t *buf, size_t size);

/* Timings of this context so far. */
typedef struct tern_perf {
    double t_prompt_ms; int32_t n_prompt_tokens; /* multi-token decodes */
    double t_gen_ms;    int32_t n_gen_tokens;    /* single-token decodes */
} tern_perf;
TERN_API tern_perf tern_context_perf(const tern_context *ctx);

/* KV cache figures of a context. bytes_per_token: all layers, at n_tokens of context (the KIVI
 * residual is spread over them); f16_bytes_per_token: the same for an F16 cache. */
typedef struct tern_kv_stats {
    double bytes_per_token, f16_bytes_per_token;
    uint64_t bytes_allocated; /* the cache's memory, including slack for the largest pass */
    int32_t n_cached;         /* tokens currently kept (per KV head) */
} tern_kv_stats;
TERN_API tern_kv_stats tern_context_kv_stats(const tern_context *ctx, int32_t n_tokens);
/* For benchmarks: append n_tokens of pseudo-random keys and values to the KV cache (stored in its
 * format, the policy applied) as if the model had processed n_tokens tokens, without computing
 * anything. Logits are not produced. Errors as tern_decode. */
TERN_API tern_status tern_context_kv_fill_synthetic(tern_context *ctx, int32_t n_tokens, uint64_t seed);
/* Bytes per token of a KV cache of format t for this model (all layers) at n_tokens of context,
 * the KIVI residual of kv_residual tokens included; -1 if the format does not fit the model. */
TERN_API double tern_model_kv_bytes_per_token(const tern_model *model, tern_kv_type t, int32_t n_tokens, int32_t kv_residual);
TERN_API void tern_context_perf_reset(tern_context *ctx);

/* Weight I/O of a model loaded with a mem_budget (all zero without one). Counters are totals over
 * the model's life, from all its contexts. */
typedef struct tern_io_stats {
    bool streaming;                   /* some weights are read from the file on every pass */
    bool direct_io;                   /* reads bypass the page cache */
    uint64_t mem_budget;
    uint64_t bytes_weights;           /* all weight data of the model */
    uint64_t bytes_resident;          /* weights kept in RAM */
    uint64_t bytes_buffer;            /* the streaming buffer */
    uint64_t bytes_streamed_per_pass; /* read per forward pass (per token when decoding) */
    int32_t n_resident, n_streamed;   /* tensors */
    uint64_t n_passes, bytes_read, n_reads;
    uint64_t bytes_used, bytes_used_in_ram; /* weight bytes the passes computed with; of those, in RAM */
    double read_ms;                   /* the I/O thread reading */
    double io_wait_ms;                /* computation waiting for reads */
    /* flash sparse mode: FFN neurons the passes used, of those found in the neuron window, and the
     * bytes read for the others (included in bytes_read) */
    uint64_t neurons_used, neurons_cached, bytes_read_neurons;
    uint64_t bytes_window;            /* the neuron window's memory */
} tern_io_stats;
TERN_API tern_io_stats tern_model_io_stats(const tern_model *model);

/* ---- sampling -------------------------------------------------------------------------- */
typedef struct tern_sampler tern_sampler;

typedef struct tern_sampler_params {
    uint64_t seed;           /* same seed, same output */
    float temperature;       /* <= 0: greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* >= 1: off */
    float min_p;             /* <= 0: off */
    float repeat_penalty;    /* 1: off */
    float frequency_penalty; /* 0: off */
    float presence_penalty;  /* 0: off */
    int32_t penalty_last_n;  /* tokens considered by the penalties */
} tern_sampler_params;

TERN_API tern_sampler_params tern_sampler_default_params(void);
TERN_API tern_status tern_sampler_init(const tern_sampler_params *params, tern_sampler **out);
TERN_API void tern_sampler_free(tern_sampler *smpl);
/* Pick a token from n_vocab logits (penalties, then top-k, top-p, min-p, temperature, draw).
 * Does not record it: call tern_sampler_accept for tokens that join the sequence. */
TERN_API tern_token tern_sampler_sample(tern_sampler *smpl, const float *logits, int32_t n_vocab);
TERN_API void tern_sampler_accept(tern_sampler *smpl, tern_token token);
TERN_API void tern_sampler_reset(tern_sampler *smpl);

#ifdef __cplusplus
}
#endif

#endif /* TERN_H */
