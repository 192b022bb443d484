// cmd-chat.cpp — `tern chat`: a conversation in the terminal. Each turn renders the whole
// conversation with the model's chat template and decodes only what the KV cache does not already
// hold (the longest common prefix with the cached tokens is kept), so earlier turns are never
// processed twice. Ctrl-C stops the answer being written (and a long prompt being read); Ctrl-D
// or /exit leaves. With stdin not a terminal, each line is a user turn (a line ending in '\'
// continues on the next) and only the answers are printed, one per turn.
#include "commands.h"
#include "kv-options.h"
#include "mem-options.h"
#include "prompt.h"
#include "text-stream.h"

#include "tern.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace tern_cli {

namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }
bool abort_cb(void *) { return g_interrupted.load(); }

struct chat_opts {
    std::string model, system, chat_template;
    kv_opts kv;
    mem_opts mem;
    int n_predict = 512, n_ctx = 0, n_threads = 0, top_k = 40;
    float temp = 0.7f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f;
    int64_t seed = -1;
    bool ignore_eos = false;
};

struct message {
    std::string role, content;
};

class chat_session {
  public:
    chat_session(tern_model *m, tern_context *c, const chat_opts &o) : m_(m), c_(c), o_(o) {
        if (!o.system.empty()) msgs_.push_back({"system", o.system});
    }

    // One user turn: returns false on an error that leaves the conversation unchanged.
    bool turn(const std::string &user, bool tty) {
        msgs_.push_back({"user", user});
        std::vector<tern_token> toks;
        if (!render(&toks)) {
            msgs_.pop_back();
            return false;
        }
        if ((int64_t)toks.size() + 1 >= (int64_t)tern_n_ctx(c_)) {
            std::fprintf(stderr, "tern: the conversation (%zu tokens) no longer fits the context of %u; /clear starts over\n",
                         toks.size(), tern_n_ctx(c_));
            msgs_.pop_back();
            return false;
        }
        // Keep the cached prefix; decode the rest (at least the last token, for its logits).
        size_t keep = 0;
        while (keep < cached_.size() && keep < toks.size() && cached_[keep] == toks[keep]) keep++;
        keep = std::min(keep, toks.size() - 1);
        tern_context_truncate(c_, (int32_t)keep);
        cached_.resize(keep);
        last_reused_ = keep, last_prompt_ = toks.size();
        g_interrupted = false;
        const auto t0 = std::chrono::steady_clock::now();
        if (tern_decode(c_, toks.data() + keep, (int32_t)(toks.size() - keep), false) != TERN_OK) {
            std::fprintf(stderr, "\ntern: %s\n", g_interrupted ? "interrupted" : tern_last_error());
            tern_context_truncate(c_, (int32_t)keep);
            msgs_.pop_back();
            return false;
        }
        prompt_ms_ += ms_since(t0), prompt_tokens_ += (int64_t)(toks.size() - keep);
        cached_ = toks;
        // Generate.
        tern_sampler_params sp = tern_sampler_default_params();
        sp.temperature = o_.temp, sp.top_k = o_.top_k, sp.top_p = o_.top_p, sp.min_p = o_.min_p;
        sp.repeat_penalty = o_.repeat_penalty;
        sp.seed = o_.seed < 0 ? (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count() : (uint64_t)o_.seed + turns_;
        tern_sampler *s = nullptr;
        tern_sampler_init(&sp, &s);
        std::unique_ptr<tern_sampler, void (*)(tern_sampler *)> smpl(s, tern_sampler_free);
        text_stream ts;
        const int32_t V = tern_model_n_vocab(m_);
        const auto t1 = std::chrono::steady_clock::now();
        int n = 0;
        bool stopped_by_user = false;
        for (; n < o_.n_predict; n++) {
            if (g_interrupted) {
                stopped_by_user = true;
                break;
            }
            const tern_token t = tern_sampler_sample(s, tern_get_logits(c_, -1), V);
            if (!o_.ignore_eos && tern_token_is_eog(m_, t)) break;
            tern_sampler_accept(s, t);
            char piece[256];
            const int32_t k = tern_token_to_piece(m_, t, piece, sizeof piece, false);
            bool stop = false;
            const std::string out = ts.put(std::string(piece, (size_t)std::max(0, k)), &stop);
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
            if ((int64_t)cached_.size() + 1 >= (int64_t)tern_n_ctx(c_)) break;
            if (tern_decode(c_, &t, 1, false) != TERN_OK) {
                stopped_by_user = g_interrupted;
                break;
            }
            cached_.push_back(t);
        }
        const std::string rest = ts.flush();
        std::fwrite(rest.data(), 1, rest.size(), stdout);
        std::printf("\n");
        if (stopped_by_user && tty) std::fprintf(stderr, "[stopped]\n");
        std::fflush(stdout);
        gen_ms_ += ms_since(t1), gen_tokens_ += n;
        msgs_.push_back({"assistant", ts.text()});
        turns_++;
        g_interrupted = false;
        return true;
    }

    void clear() {
        msgs_.clear();
        if (!o_.system.empty()) msgs_.push_back({"system", o_.system});
        tern_context_truncate(c_, 0);
        cached_.clear();
    }

    bool save(const std::string &path) const {
        nlohmann::json j = nlohmann::json::array();
        for (const auto &m : msgs_) j.push_back({{"role", m.role}, {"content", m.content}});
        std::ofstream f(path);
        if (!(f << j.dump(2) << "\n")) return false;
        return true;
    }

    bool load(const std::string &path) {
        std::ifstream f(path);
        if (!f) return false;
        const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
        if (!j.is_array()) return false;
        std::vector<message> ms;
        for (const auto &e : j) {
            if (!e.is_object() || !e.contains("role") || !e.contains("content") || !e["role"].is_string() ||
                !e["content"].is_string())
                return false;
            ms.push_back({e["role"], e["content"]});
        }
        msgs_ = ms; // the cache keeps what still matches: the next turn reuses the common prefix
        return true;
    }

    void stats() const {
        const tern_kv_stats ks = tern_context_kv_stats(c_, 0);
        std::fprintf(stderr,
                     "turns %d, %zu messages, %d of %u context tokens used\n"
                     "last prompt: %zu tokens, %zu reused from the cache, %zu decoded\n"
                     "prompt: %lld tokens, %.1f tok/s | generation: %lld tokens, %.1f tok/s\n"
                     "KV cache: %.1f MiB allocated, %.0f bytes/token\n",
                     turns_, msgs_.size(), tern_context_pos(c_), tern_n_ctx(c_), last_prompt_, last_reused_,
                     last_prompt_ - last_reused_, (long long)prompt_tokens_,
                     prompt_ms_ > 0 ? 1000.0 * prompt_tokens_ / prompt_ms_ : 0.0, (long long)gen_tokens_,
                     gen_ms_ > 0 ? 1000.0 * gen_tokens_ / gen_ms_ : 0.0, ks.bytes_allocated / 1048576.0, ks.bytes_per_token);
    }

    size_t n_messages() const { return msgs_.size(); }

  private:
    static double ms_since(std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    }
    bool render(std::vector<tern_token> *toks) const {
        std::vector<tern_chat_message> cm;
        for (const auto &m : msgs_) cm.push_back({m.role.c_str(), m.content.c_str()});
        const char *tmpl = o_.chat_template.empty() ? nullptr : o_.chat_template.c_str();
        const int32_t n = tern_chat_apply_template(m_, tmpl, cm.data(), cm.size(), true, nullptr, 0);
        if (n < 0) {
            std::fprintf(stderr, "tern: chat template: %s\n", tern_last_error());
            return false;
        }
        std::string p((size_t)n + 1, '\0');
        tern_chat_apply_template(m_, tmpl, cm.data(), cm.size(), true, p.data(), n + 1);
        p.resize((size_t)n);
        *toks = tokenize_prompt(m_, p, true);
        return !toks->empty();
    }

    tern_model *m_;
    tern_context *c_;
    const chat_opts &o_;
    std::vector<message> msgs_;
    std::vector<tern_token> cached_;
    int turns_ = 0;
    size_t last_reused_ = 0, last_prompt_ = 0;
    double prompt_ms_ = 0, gen_ms_ = 0;
    int64_t prompt_tokens_ = 0, gen_tokens_ = 0;
};

// Reads one user message: lines ending in '\' continue; a line of """ opens and closes a block.
// Returns false at end of input. Ctrl-C while waiting for input just asks again.
bool read_message(bool tty, std::string *out) {
    out->clear();
    bool block = false, more = true;
    while (more) {
        if (tty) std::fprintf(stderr, out->empty() && !block ? "\n> " : ". ");
        std::string line;
        int ch;
        for (;;) {
            ch = std::fgetc(stdin);
            if (ch == EOF) {
                if (ferror(stdin) && errno == EINTR) {
                    clearerr(stdin);
                    g_interrupted = false;
                    if (tty) std::fprintf(stderr, "\n(Ctrl-D or /exit to quit)\n> ");
                    line.clear();
                    continue;
                }
                break;
            }
            if (ch == '\n') break;
            line += (char)ch;
        }
        if (ch == EOF && line.empty()) return !out->empty();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "\"\"\"") {
            if (block) break;
            block = true;
            continue;
        }
        if (block) {
            *out += line + "\n";
            continue;
        }
        if (!line.empty() && line.back() == '\\') {
            line.pop_back();
            *out += line + "\n";
            continue;
        }
        *out += line;
        more = false;
        if (ch == EOF) break;
    }
    if (block && !out->empty() && out->back() == '\n') out->pop_back();
    return true;
}

int run_chat(const chat_opts &o) {
    tern_model *m = load_model_or_report(o.model, o.mem);
    if (!m) return 1;
    std::unique_ptr<tern_model, void (*)(tern_model *)> model(m, tern_model_free);
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = (uint32_t)o.n_ctx;
    cp.n_threads = o.n_threads;
    cp.abort_callback = abort_cb;
    if (!apply_kv_options(o.kv, &cp)) return 1;
    tern_context *c = nullptr;
    if (tern_context_init(m, &cp, &c) != TERN_OK) {
        std::fprintf(stderr, "tern: error: cannot create the context: %s\n", tern_last_error());
        return 1;
    }
    std::unique_ptr<tern_context, void (*)(tern_context *)> ctx(c, tern_context_free);

    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: a read waiting for input returns so the prompt can be shown again
    sigaction(SIGINT, &sa, nullptr);

    const bool tty = isatty(0) && isatty(2);
    if (tty) {
        char desc[128];
        tern_model_desc(m, desc, sizeof desc);
        std::fprintf(stderr, "tern chat — %s, %u tokens of context. /help for commands, Ctrl-C stops an answer, Ctrl-D quits.\n",
                     desc, tern_n_ctx(c));
    }
    chat_session chat(m, c, o);
    std::string line;
    while (read_message(tty, &line)) {
        if (line.empty()) continue;
        if (line[0] == '/') {
            const size_t sp = line.find(' ');
            const std::string cmd = line.substr(0, sp), arg = sp == std::string::npos ? "" : line.substr(sp + 1);
            if (cmd == "/exit" || cmd == "/quit") break;
            if (cmd == "/clear") {
                chat.clear();
                std::fprintf(stderr, "(conversation cleared)\n");
            } else if (cmd == "/save") {
                if (arg.empty() || !chat.save(arg)) std::fprintf(stderr, "tern: cannot save to '%s'\n", arg.c_str());
                else std::fprintf(stderr, "(saved %zu messages to %s)\n", chat.n_messages(), arg.c_str());
            } else if (cmd == "/load") {
                if (arg.empty() || !chat.load(arg)) std::fprintf(stderr, "tern: cannot load '%s' (a JSON list of {role, content})\n", arg.c_str());
                else std::fprintf(stderr, "(loaded %zu messages from %s)\n", chat.n_messages(), arg.c_str());
            } else if (cmd == "/stats") {
                chat.stats();
            } else if (cmd == "/help") {
                std::fprintf(stderr, "/clear  start over\n/save FILE  write the conversation as JSON\n/load FILE  continue a saved conversation\n"
                                     "/stats  context use and speeds\n/exit  quit (or Ctrl-D)\n"
                                     "A line ending in \\ continues on the next; \"\"\" on its own line opens and closes a block.\n");
            } else {
                std::fprintf(stderr, "tern: unknown command %s (/help lists them)\n", cmd.c_str());
            }
            continue;
        }
        chat.turn(line, tty);
    }
    return 0;
}

} // namespace

runner add_chat(CLI::App &app) {
    auto o = std::make_shared<chat_opts>();
    CLI::App *c = app.add_subcommand("chat", "chat with a model in the terminal");
    c->add_option("-m,--model", o->model, "GGUF model file (default: SmolLM2-135M-Instruct in ~/.cache/tern)");
    c->add_option("-s,--system", o->system, "system prompt");
    c->add_option("--chat-template", o->chat_template, "chat template: a family (chatml, llama2, llama3, mistral, gemma, phi3) or Jinja text");
    c->add_option("-n,--n-predict", o->n_predict, "most tokens per answer")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    c->add_option("-c,--ctx-size", o->n_ctx, "context size (0: model's, at most 4096)")->check(CLI::Range(0, 1 << 24));
    c->add_option("-t,--threads", o->n_threads, "threads (0: physical cores)")->check(CLI::Range(0, 1024));
    c->add_option("--temp", o->temp, "temperature (0: greedy)")->capture_default_str();
    c->add_option("--top-k", o->top_k, "top-k (0: off)");
    c->add_option("--top-p", o->top_p, "top-p (1: off)");
    c->add_option("--min-p", o->min_p, "min-p (0: off)");
    c->add_option("--seed", o->seed, "RNG seed (-1: random)");
    c->add_option("--repeat-penalty", o->repeat_penalty, "repetition penalty (1: off)");
    c->add_flag("--ignore-eos", o->ignore_eos, "keep answering past end-of-generation tokens (up to -n)");
    add_kv_options(c, &o->kv);
    add_mem_options(c, &o->mem);
    return [o] { return run_chat(*o); };
}

} // namespace tern_cli
