// cmd-run.cpp — `tern run`: load a model, process a prompt, stream a continuation to stdout,
// and report load time and speeds on stderr. Uses only the public C API.
#include "commands.h"
#include "kv-options.h"
#include "mem-options.h"
#include "prompt.h"

#include "tern.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace tern_cli {

namespace {

struct run_opts {
    std::string model, prompt, file, system, chat_template;
    kv_opts kv;
    mem_opts mem;
    int n_predict = 128, n_ctx = 0, n_threads = 0, top_k = 40, n_batch = 512;
    float temp = 0.8f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f;
    int64_t seed = -1;
    bool chat = false, verbose = false, ignore_eos = false;
};

int error(const char *what, const char *detail = nullptr) {
    std::fprintf(stderr, "tern: error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

// Prints only complete UTF-8 characters; holds back a partial sequence until it completes.
class utf8_stream {
  public:
    void put(const std::string &s) {
        buf_ += s;
        size_t keep = 0;
        for (size_t back = 1; back <= 4 && back <= buf_.size(); back++) {
            const unsigned char c = (unsigned char)buf_[buf_.size() - back];
            if ((c & 0xC0) == 0x80) continue;
            const size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            keep = need > back ? back : 0;
            break;
        }
        std::fwrite(buf_.data(), 1, buf_.size() - keep, stdout);
        std::fflush(stdout);
        buf_.erase(0, buf_.size() - keep);
    }
    void flush() {
        std::fwrite(buf_.data(), 1, buf_.size(), stdout);
        buf_.clear();
        std::fflush(stdout);
    }

  private:
    std::string buf_;
};

struct model_del {
    void operator()(tern_model *m) const { tern_model_free(m); }
};
struct ctx_del {
    void operator()(tern_context *c) const { tern_context_free(c); }
};
struct smpl_del {
    void operator()(tern_sampler *s) const { tern_sampler_free(s); }
};

int run(const run_opts &o) {
    std::string prompt = o.prompt;
    if (!o.file.empty()) {
        std::ifstream f(o.file, std::ios::binary);
        if (!f) return error("cannot read prompt file", o.file.c_str());
        std::stringstream ss;
        ss << f.rdbuf();
        prompt = ss.str();
    }
    const std::string path = o.model.empty() ? default_model_path() : o.model;
    if (o.model.empty()) {
        std::ifstream probe(path);
        if (!probe)
            return error("no model given and the default model is not downloaded",
                         ("run scripts/fetch-model.sh (or `make model`) or pass -m FILE; looked for " + path).c_str());
    }

    const auto t0 = std::chrono::steady_clock::now();
    tern_model *mp = nullptr;
    tern_model_params mparams = tern_model_default_params();
    if (!apply_mem_options(o.mem, &mparams)) return 1;
    if (tern_model_load(path.c_str(), &mparams, &mp) != TERN_OK) return error("cannot load model", tern_last_error());
    std::unique_ptr<tern_model, model_del> model(mp);

    tern_context_params cparams = tern_context_default_params();
    cparams.n_ctx = (uint32_t)o.n_ctx;
    cparams.n_threads = o.n_threads;
    cparams.n_batch = (uint32_t)o.n_batch;
    if (!apply_kv_options(o.kv, &cparams)) return 1;
    const bool kv_policy = cparams.kv_policy != TERN_KV_ALL; // generation may run past n_ctx
    tern_context *cp = nullptr;
    if (tern_context_init(model.get(), &cparams, &cp) != TERN_OK) return error("cannot create context", tern_last_error());
    std::unique_ptr<tern_context, ctx_del> ctx(cp);
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    bool parse_special = false;
    if (o.chat) {
        std::vector<tern_chat_message> msgs;
        if (!o.system.empty()) msgs.push_back({"system", o.system.c_str()});
        msgs.push_back({"user", prompt.c_str()});
        const int32_t n = tern_chat_apply_template(model.get(), o.chat_template.empty() ? nullptr : o.chat_template.c_str(), msgs.data(), msgs.size(), true, nullptr, 0);
        if (n < 0) return error("cannot apply chat template", tern_last_error());
        std::string buf(n + 1, '\0');
        tern_chat_apply_template(model.get(), o.chat_template.empty() ? nullptr : o.chat_template.c_str(), msgs.data(), msgs.size(), true, buf.data(), n + 1);
        buf.resize(n);
        prompt = buf;
        parse_special = true;
    }

    const std::vector<tern_token> toks = tokenize_prompt(model.get(), prompt, parse_special);
    if (toks.empty()) return error("the prompt is empty and the model adds no BOS token; give -p TEXT");
    const uint32_t n_ctx = tern_n_ctx(ctx.get());
    if (!kv_policy && toks.size() >= n_ctx) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "the prompt is %zu tokens, the context only %u (raise -c)", toks.size(), n_ctx);
        return error(msg);
    }
    if (o.verbose) {
        char desc[128];
        tern_model_desc(model.get(), desc, sizeof desc);
        std::fprintf(stderr, "tern: model %s, %u ctx, %zu prompt tokens\n", desc, n_ctx, toks.size());
        std::vector<char> kern((size_t)tern_model_kernels(model.get(), nullptr, 0) + 1);
        tern_model_kernels(model.get(), kern.data(), kern.size());
        std::fprintf(stderr, "tern: kernels by weight type:\n%s", kern.data());
        const tern_kv_stats ks = tern_context_kv_stats(ctx.get(), 0);
        std::fprintf(stderr, "tern: KV cache %s: %.0f bytes/token (%.3fx f16) at %u tokens, %.1f MiB allocated\n",
                     kv_label(o.kv).c_str(), ks.bytes_per_token, ks.bytes_per_token / ks.f16_bytes_per_token, n_ctx,
                     ks.bytes_allocated / 1048576.0);
        print_io_plan(stderr, model.get());
    }

    tern_sampler_params sp = tern_sampler_default_params();
    sp.temperature = o.temp;
    sp.top_k = o.top_k;
    sp.top_p = o.top_p;
    sp.min_p = o.min_p;
    sp.repeat_penalty = o.repeat_penalty;
    sp.seed = o.seed < 0 ? (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count() : (uint64_t)o.seed;
    tern_sampler *spp = nullptr;
    tern_sampler_init(&sp, &spp);
    std::unique_ptr<tern_sampler, smpl_del> smpl(spp);
    for (tern_token t : toks) tern_sampler_accept(smpl.get(), t);

    if (!o.chat) std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    if (tern_decode(ctx.get(), toks.data(), (int32_t)toks.size(), false) != TERN_OK)
        return error("prompt processing failed", tern_last_error());

    utf8_stream out;
    const int32_t n_vocab = tern_model_n_vocab(model.get());
    int n_gen = 0;
    for (; n_gen < o.n_predict; n_gen++) {
        const tern_token t = tern_sampler_sample(smpl.get(), tern_get_logits(ctx.get(), -1), n_vocab);
        if (!o.ignore_eos && tern_token_is_eog(model.get(), t)) break;
        tern_sampler_accept(smpl.get(), t);
        char piece[256];
        const int32_t n = tern_token_to_piece(model.get(), t, piece, sizeof piece, false);
        if (n > 0) out.put(std::string(piece, n));
        if (!kv_policy && (uint32_t)tern_context_pos(ctx.get()) >= n_ctx) {
            out.flush();
            std::fprintf(stderr, "\ntern: context full (%u tokens); stopping\n", n_ctx);
            break;
        }
        if (tern_decode(ctx.get(), &t, 1, false) != TERN_OK) {
            out.flush();
            return error("decode failed", tern_last_error());
        }
    }
    out.flush();
    std::printf("\n");
    const tern_perf p = tern_context_perf(ctx.get());
    std::fprintf(stderr, "\ntern: load %.0f ms | prompt %d tokens %.1f tok/s | generation %d tokens %.1f tok/s\n",
                 load_ms, p.n_prompt_tokens + (toks.size() == 1 ? 1 : 0),
                 p.t_prompt_ms > 0 ? 1000.0 * p.n_prompt_tokens / p.t_prompt_ms : 0.0, p.n_gen_tokens,
                 p.t_gen_ms > 0 ? 1000.0 * p.n_gen_tokens / p.t_gen_ms : 0.0);
    if (o.verbose) print_io_stats(stderr, model.get(), p.n_prompt_tokens + p.n_gen_tokens);
    return 0;
}

} // namespace

runner add_run(CLI::App &app) {
    auto o = std::make_shared<run_opts>();
    CLI::App *c = app.add_subcommand("run", "generate text from a prompt");
    c->add_option("-m,--model", o->model, "GGUF model file (default: SmolLM2-135M-Instruct in ~/.cache/tern)");
    auto *p = c->add_option("-p,--prompt", o->prompt, "prompt text");
    c->add_option("-f,--file", o->file, "read the prompt from a file")->excludes(p);
    c->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->check(CLI::Range(0, 1 << 24));
    c->add_option("-c,--ctx-size", o->n_ctx, "context size (0: model's, at most 4096)")->check(CLI::Range(0, 1 << 24));
    c->add_option("-b,--batch-size", o->n_batch,
                  "tokens per forward pass (with --kv-policy snapkv, a prompt in one pass is compressed as SnapKV does)")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    c->add_option("-t,--threads", o->n_threads, "threads (0: physical cores)")->check(CLI::Range(0, 1024));
    c->add_option("--temp", o->temp, "temperature (0: greedy)");
    c->add_option("--top-k", o->top_k, "top-k (0: off)");
    c->add_option("--top-p", o->top_p, "top-p (1: off)");
    c->add_option("--min-p", o->min_p, "min-p (0: off)");
    c->add_option("--seed", o->seed, "RNG seed (-1: random)");
    c->add_option("--repeat-penalty", o->repeat_penalty, "repetition penalty (1: off)");
    add_kv_options(c, &o->kv);
    add_mem_options(c, &o->mem);
    c->add_flag("--chat", o->chat, "wrap the prompt in the model's chat template as a user turn");
    c->add_option("--system", o->system, "system prompt (with --chat)");
    c->add_option("--chat-template", o->chat_template, "with --chat: a template family (chatml, llama2, llama3, mistral, gemma, phi3) or Jinja text");
    c->add_flag("--ignore-eos", o->ignore_eos, "keep generating past end-of-generation tokens");
    c->add_flag("-v,--verbose", o->verbose, "print model details");
    return [o] { return run(*o); };
}

} // namespace tern_cli
