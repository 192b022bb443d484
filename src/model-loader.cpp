// model-loader.cpp — GGUF file -> tern_model: architecture, hyperparameters, vocabulary, and
// weight tensors that point into the read-only mapping (checked for shape and type).
#include "runtime.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

namespace tern {

namespace {

std::string shape_str(int n_dims, const int64_t *ne) {
    std::string s = "[";
    for (int d = 0; d < n_dims; d++) s += (d ? ", " : "") + std::to_string(ne[d]);
    return s + "]";
}

class gguf_lookup : public tensor_lookup {
  public:
    explicit gguf_lookup(tern_model &m) : m_(m) {}

    tensor *get(const std::string &name, int n_dims, const int64_t *ne, bool required) override {
        if (!error.is_ok()) return nullptr;
        if (auto it = made_.find(name); it != made_.end()) return it->second;
        const gguf_tensor_info *ti = m_.file->find_tensor(name);
        if (!ti) {
            if (required) error = make_status(code::bad_format, "model is missing tensor '%s'", name.c_str());
            return nullptr;
        }
        bool ok = (int)ti->n_dims <= std::max(n_dims, 1);
        for (int d = 0; d < 4; d++) ok = ok && ti->ne[d] == (d < n_dims ? ne[d] : 1);
        if (!ok) {
            error = make_status(code::bad_format, "tensor '%s' has shape %s, expected %s", name.c_str(),
                                shape_str((int)ti->n_dims, ti->ne).c_str(), shape_str(n_dims, ne).c_str());
            return nullptr;
        }
        const type_traits *tr = type_get(ti->ttype);
        if (!type_can_dequantize(ti->ttype)) {
            error = make_status(code::unsupported, "tensor '%s' has type %s, which tern cannot compute with yet",
                                name.c_str(), tr->name);
            return nullptr;
        }
        if (n_dims == 1 && ti->ttype != type::f32) {
            error = make_status(code::unsupported, "vector tensor '%s' must be f32, is %s", name.c_str(), tr->name);
            return nullptr;
        }
        return make(name, *ti);
    }

    tensor *get_raw(const std::string &name, int64_t rows, int64_t min_row_bytes) override {
        if (!error.is_ok()) return nullptr;
        if (auto it = made_.find(name); it != made_.end()) return it->second;
        const gguf_tensor_info *ti = m_.file->find_tensor(name);
        if (!ti) {
            error = make_status(code::bad_format, "model is missing tensor '%s'", name.c_str());
            return nullptr;
        }
        if (ti->ttype != type::i8 || ti->n_dims != 2 || ti->ne[1] != rows || ti->ne[0] < min_row_bytes) {
            error = make_status(code::bad_format, "tensor '%s' is %s %s, expected i8 [>= %lld, %lld]", name.c_str(),
                                type_name(ti->ttype), shape_str((int)ti->n_dims, ti->ne).c_str(), (long long)min_row_bytes,
                                (long long)rows);
            return nullptr;
        }
        return make(name, *ti);
    }

    bool has(const std::string &name) const override { return m_.file->find_tensor(name) != nullptr; }

    std::vector<tensor *> get_split(const std::string &name, int64_t ne0, const std::vector<int64_t> &rows) override {
        if (!error.is_ok()) return {};
        int64_t total = 0;
        for (int64_t r : rows) total += r;
        const int64_t ne[2] = {ne0, total};
        const gguf_tensor_info *ti = m_.file->find_tensor(name);
        if (!ti) {
            error = make_status(code::bad_format, "model is missing tensor '%s'", name.c_str());
            return {};
        }
        if (ti->n_dims != 2 || ti->ne[0] != ne0 || ti->ne[1] != total) {
            error = make_status(code::bad_format, "tensor '%s' has shape %s, expected %s", name.c_str(),
                                shape_str((int)ti->n_dims, ti->ne).c_str(), shape_str(2, ne).c_str());
            return {};
        }
        if (!type_can_dequantize(ti->ttype)) {
            error = make_status(code::unsupported, "tensor '%s' has type %s, which tern cannot compute with yet", name.c_str(),
                                type_name(ti->ttype));
            return {};
        }
        std::vector<tensor *> parts;
        const size_t rb = row_size(ti->ttype, ne0);
        const uint8_t *base = m_.file->tensor_data(*ti);
        int64_t at = 0;
        for (size_t i = 0; i < rows.size(); i++) {
            m_.weights.emplace_back();
            tensor *t = &m_.weights.back();
            const int64_t pne[2] = {ne0, rows[i]};
            tensor_set_shape(t, ti->ttype, 2, pne);
            t->data = const_cast<uint8_t *>(base + (size_t)at * rb);
            t->name = name + "[" + std::to_string(i) + "]";
            at += rows[i];
            parts.push_back(t);
        }
        return parts;
    }

  private:
    tensor *make(const std::string &name, const gguf_tensor_info &ti) {
        m_.weights.emplace_back();
        tensor *t = &m_.weights.back();
        tensor_set_shape(t, ti.ttype, (int)ti.n_dims, ti.ne);
        t->data = const_cast<uint8_t *>(m_.file->tensor_data(ti));
        t->name = name;
        made_[name] = t;
        return t;
    }

    tern_model &m_;
    std::map<std::string, tensor *> made_;
};

} // namespace

// Flag the weights of the last n_gpu_layers layers (and, past the layer count, the output
// matrix and norm) as offloadable to a GPU backend (tensor_flag_offload).
void mark_offloaded(tern_model *m, int32_t n_gpu_layers) {
    const int64_t L = m->hp.n_layer, first = std::max<int64_t>(0, L - n_gpu_layers);
    m->n_gpu_layers = (int32_t)std::min<int64_t>(n_gpu_layers, L + 1);
    if (n_gpu_layers <= 0) return;
    for (tensor &t : m->weights) {
        long long il = -1;
        if (std::sscanf(t.name.c_str(), "blk.%lld.", &il) == 1) {
            if (il >= first) t.flags |= tensor_flag_offload;
        } else if (n_gpu_layers > L && (&t == m->w.output || &t == m->w.output_norm)) {
            t.flags |= tensor_flag_offload;
        }
    }
}

// Resident weights the CPU computes faster in another layout (backend_iface::weight_layout) are
// repacked into RAM of their own, and the file pages they came from are let go (the RSS stays
// about the model's size). Not for GPU-offloaded weights or the embedding table (its rows are
// looked up; with a memory budget read one at a time from the file), even when the output shares
// it. With a budget the weight store repacks after each read instead (store_config::layout).
status repack_weights(tern_model *m) {
    backends_init();
    const backend_iface *cpu = backend_find("cpu");
    if (!cpu || !cpu->weight_layout) return status::ok();
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (tensor &t : m->weights) {
        if (t.flags & tensor_flag_offload) continue;
        if (&t == m->w.tok_embd) continue; // looked up (streamed mode reads its rows from the file)
        const type to = cpu->weight_layout(&t);
        if (to == t.ttype) continue;
        const size_t n = tensor_nbytes(&t);
        uint8_t *dst = (uint8_t *)std::aligned_alloc(64, (n + 63) / 64 * 64);
        TERN_CHECK_OR_RETURN(dst != nullptr, code::out_of_memory, "tensor '%s': no memory to repack %zu bytes",
                             t.name.c_str(), n);
        m->repacked.emplace_back(dst, std::free);
        if (!rows_repack(t.ttype, to, t.data, dst, t.ne[0], t.ne[1])) {
            m->repacked.pop_back();
            continue;
        }
        // The mapping's whole pages inside the tensor (an mlock'ed mapping keeps them: harmless).
        const uintptr_t a = ((uintptr_t)t.data + page - 1) / page * page, b = ((uintptr_t)t.data + n) / page * page;
        if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
        t.data = dst;
        t.ttype = to;
    }
    return status::ok();
}

status model_load(const char *path, const tern_model_params &params, std::unique_ptr<tern_model> *out) {
    TERN_CHECK_OR_RETURN(path && *path, code::invalid_argument, "no model path given");
    auto m = std::make_unique<tern_model>();
    TERN_RETURN_IF_ERROR(gguf_file::open(path, &m->file));
    const gguf_file &f = *m->file;

    std::string arch;
    TERN_CHECK_OR_RETURN(f.get_str("general.architecture", &arch), code::bad_format,
                         "%s: no general.architecture key: not a model file", path);
    TERN_RETURN_IF_ERROR(m->voc.load(f));
    m->vocab_only = params.vocab_only;
    if (params.vocab_only) {
        m->hp.arch = arch;
        m->hp.n_vocab = m->voc.n_tokens();
        m->desc = arch + " (vocabulary only)";
        *out = std::move(m);
        return status::ok();
    }

    m->arch = arch_find(arch);
    if (!m->arch) {
        std::string known;
        for (const auto &a : arch_names()) known += (known.empty() ? "" : ", ") + a;
        return make_status(code::unsupported, "%s: architecture '%s' is not supported (known: %s)", path, arch.c_str(),
                           known.c_str());
    }
    TERN_RETURN_IF_ERROR(m->arch->load_hparams(f, &m->hp));
    const gguf_tensor_info *emb = f.find_tensor("token_embd.weight");
    TERN_CHECK_OR_RETURN(emb != nullptr, code::bad_format, "%s: model is missing tensor 'token_embd.weight'", path);
    m->hp.n_vocab = emb->ne[1];
    TERN_CHECK_OR_RETURN(m->voc.n_tokens() <= m->hp.n_vocab, code::bad_format,
                         "%s: tokenizer has %d tokens but the embedding only %lld rows", path, m->voc.n_tokens(),
                         (long long)m->hp.n_vocab);

    gguf_lookup lookup(*m);
    status st = m->arch->load_weights(m->hp, lookup, &m->w);
    if (!st) return status(st.err(), std::string(path) + ": " + st.message());

    std::map<std::string, uint64_t> bytes_by_type;
    for (const tensor &t : m->weights) {
        // Bundled FFN tables are raw bytes holding an up row and a down column per neuron.
        const bool bundle = t.ttype == type::i8 && m->hp.ffn_bundle_type >= 0;
        m->n_params += bundle ? (uint64_t)(2 * t.ne[1] * m->hp.n_embd) : (uint64_t)tensor_nelements(&t);
        m->n_bytes += tensor_nbytes(&t);
        bytes_by_type[type_name(bundle ? (type)m->hp.ffn_bundle_type : t.ttype)] += tensor_nbytes(&t);
    }
    std::string main_type;
    uint64_t best = 0;
    for (const auto &kv : bytes_by_type)
        if (kv.second > best) best = kv.second, main_type = kv.first;
    char buf[128];
    if (m->n_params >= 1000000000ull) std::snprintf(buf, sizeof buf, "%s %.1fB %s", arch.c_str(), m->n_params / 1e9, main_type.c_str());
    else if (m->n_params >= 1000000ull) std::snprintf(buf, sizeof buf, "%s %.0fM %s", arch.c_str(), m->n_params / 1e6, main_type.c_str());
    else std::snprintf(buf, sizeof buf, "%s %.0fK %s", arch.c_str(), m->n_params / 1e3, main_type.c_str());
    m->desc = buf;
    const float keep = params.flash_keep;
    TERN_CHECK_OR_RETURN(keep >= 0.0f && keep <= 1.0f, code::invalid_argument,
                         "flash_keep %g is outside [0, 1] (the fraction of FFN neurons each token uses)", (double)keep);
    TERN_CHECK_OR_RETURN(params.flash_window >= 0, code::invalid_argument, "flash_window must be >= 0");
    std::vector<const tensor *> bundles;
    for (const layer_weights &l : m->w.layers)
        if (l.ffn_bundle) bundles.push_back(l.ffn_bundle);
    m->hp.ffn_keep = keep > 0.0f ? keep : 1.0f;
    if (keep > 0.0f && keep < 1.0f && bundles.empty())
        log_msg(TERN_LOG_WARN, "%s: flash_keep applies to bundled models only (tern flash-prepare); ignored", path);
    TERN_CHECK_OR_RETURN(params.n_gpu_layers >= 0, code::invalid_argument, "n_gpu_layers must be >= 0");
    mark_offloaded(m.get(), params.n_gpu_layers);
    m->gpu_device = params.gpu_device;
    if (params.mem_budget > 0) {
        if (m->n_gpu_layers > 0) log_msg(TERN_LOG_WARN, "%s: with a memory budget the weights are streamed: they stay on the CPU", path);
        m->n_gpu_layers = 0;
        store_config sc;
        sc.budget = params.mem_budget;
        sc.direct_io = params.direct_io;
        backends_init();
        if (const backend_iface *cpu = backend_find("cpu"); cpu && cpu->weight_layout) // as repack_weights chooses
            sc.layout = [cpu, emb = m->w.tok_embd](const tensor *t) { return t == emb ? t->ttype : cpu->weight_layout(t); };
        // Default window: two tokens' worth of neurons (on the llama-1b shape at keep 0.1 under a
        // 560 MiB cap: 27% hits and 6.8 tokens/s with one token's worth, 46% and 7.5 with two, 65%
        // and 6.5 with four, whose memory then pushes dense weights out).
        // Budget left once every dense weight is resident widens the default window further.
        sc.window = params.flash_window > 0 ? params.flash_window
                                            : std::max<int64_t>(1, (int64_t)std::llround(2.0 * m->hp.ffn_keep * (double)m->hp.n_ff));
        sc.window_grow = params.flash_window == 0;
        const tensor *lookup_only = m->w.tok_embd != m->w.output ? m->w.tok_embd : nullptr;
        if (params.progress_callback)
            sc.progress = [&params](float p) { return params.progress_callback(p, params.progress_user_data); };
        st = weight_store::open(path, f, m->weights, lookup_only, bundles, sc, &m->store);
        if (!st) return status(st.err(), std::string(path) + ": " + st.message());
        TERN_CHECK_OR_RETURN(!params.progress_callback || params.progress_callback(1.0f, params.progress_user_data), code::aborted,
                             "%s: loading was cancelled by the progress callback", path);
        *out = std::move(m);
        return status::ok();
    }
    if (params.progress_callback) {
        // Read the mapping in (one byte per page, 16 MiB per step) so that the progress is real.
        const volatile uint8_t *base = (const uint8_t *)f.base();
        const size_t size = f.file_size(), step = 16u << 20, page = 4096;
        uint8_t sink = 0;
        for (size_t at = 0; at < size; at += step) {
            const size_t end = std::min(size, at + step);
            for (size_t p = at; p < end; p += page) sink ^= base[p];
            TERN_CHECK_OR_RETURN(params.progress_callback((float)end / (float)size, params.progress_user_data), code::aborted,
                                 "%s: loading was cancelled by the progress callback", path);
        }
        (void)sink;
    }
    TERN_RETURN_IF_ERROR(repack_weights(m.get())); // after the read-in: it lets go of the pages it copies
    if (params.use_mlock) { // the weights where they now are (repacked ones in their own RAM)
        size_t locked = 0, failed = 0;
        for (const tensor &t : m->weights) (mlock(t.data, tensor_nbytes(&t)) == 0 ? locked : failed) += tensor_nbytes(&t);
        if (failed) log_msg(TERN_LOG_WARN, "mlock of %zu of %zu weight bytes failed (raise RLIMIT_MEMLOCK); continuing", failed, locked + failed);
    }
    *out = std::move(m);
    return status::ok();
}

} // namespace tern
