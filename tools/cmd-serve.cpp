// cmd-serve.cpp — `tern serve`: load a model and run the OpenAI-compatible server on it.
#include "commands.h"
#include "mem-options.h"
#include "server-http.h"

#include "tern.h"

#include <fstream>
#include <memory>

namespace tern_cli {

namespace {

struct serve_cli {
    std::string model, kv_type = "f16", chat_template_file;
    mem_opts mem;
    serve_opts o;
    int64_t max_body_kib = 1024;
};

int run_serve(serve_cli &c) {
#ifndef TERN_HAVE_HTTPLIB
    (void)c;
    std::fprintf(stderr, "tern: error: this tern was built without cpp-httplib; install libcpp-httplib-dev and rebuild\n");
    return 1;
#else
    if (!c.chat_template_file.empty()) {
        std::ifstream f(c.chat_template_file, std::ios::binary);
        if (!f) {
            std::fprintf(stderr, "tern: error: cannot read %s\n", c.chat_template_file.c_str());
            return 1;
        }
        c.o.chat_template.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    if (!tern_kv_type_parse(c.kv_type.c_str(), &c.o.eng.kv_type)) {
        std::fprintf(stderr, "tern: error: unknown KV cache type '%s'\n", c.kv_type.c_str());
        return 1;
    }
    tern_model *m = load_model_or_report(c.model, c.mem);
    if (!m) return 1;
    std::unique_ptr<tern_model, void (*)(tern_model *)> model(m, tern_model_free);
    if (!c.o.chat_template.empty()) { // a template that cannot render is a start-up error, not a per-request one
        const tern_chat_message probe = {"user", "hi"};
        if (tern_chat_apply_template(m, c.o.chat_template.c_str(), &probe, 1, true, nullptr, 0) < 0) {
            std::fprintf(stderr, "tern: error: --chat-template: %s\n", tern_last_error());
            return 1;
        }
    }
    if (c.o.model_name.empty()) {
        const std::string path = c.model.empty() ? default_model_path() : c.model;
        const size_t s = path.find_last_of('/');
        c.o.model_name = s == std::string::npos ? path : path.substr(s + 1);
    }
    c.o.max_body = (size_t)c.max_body_kib * 1024;
    return serve(m, c.o);
#endif
}

} // namespace

runner add_serve(CLI::App &app) {
    auto c = std::make_shared<serve_cli>();
    CLI::App *s = app.add_subcommand("serve", "OpenAI-compatible HTTP server with a web chat page");
    s->add_option("-m,--model", c->model, "GGUF model file (default: SmolLM2-135M-Instruct in ~/.cache/tern)");
    s->add_option("--host", c->o.host, "address to listen on")->capture_default_str();
    s->add_option("--port", c->o.port, "port (0: any free port, printed at start)")->check(CLI::Range(0, 65535))->capture_default_str();
    s->add_option("-P,--parallel", c->o.eng.n_parallel, "sequences decoded together (slots)")->check(CLI::Range(1, 64))->capture_default_str();
    s->add_option("-c,--ctx-size", c->o.eng.n_ctx, "context per slot (0: model's, at most 4096)")->check(CLI::Range(0, 1 << 20));
    s->add_option("-b,--batch-size", c->o.eng.n_batch, "tokens per forward pass")->check(CLI::Range(1, 1 << 16))->capture_default_str();
    s->add_option("-t,--threads", c->o.eng.n_threads, "threads (0: physical cores)")->check(CLI::Range(0, 1024));
    s->add_option("--queue", c->o.eng.queue_max, "requests that may wait for a slot before 503")->check(CLI::Range(0, 1 << 16))->capture_default_str();
    s->add_option("--kv-type", c->kv_type, "KV cache format: f16, f32, q8_0, q4_0, kivi4, kivi2")->capture_default_str();
    s->add_option("--api-key", c->o.api_key, "require 'Authorization: Bearer KEY' on the API");
    s->add_option("--chat-template", c->o.chat_template, "chat template: a family (chatml, llama2, llama3, mistral, gemma, phi3) or Jinja text");
    s->add_option("--chat-template-file", c->chat_template_file, "read the chat template (Jinja) from a file");
    s->add_option("--alias", c->o.model_name, "model name reported by the API (default: the file name)");
    s->add_option("--max-body", c->max_body_kib, "largest request body in KiB (413 above)")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    s->add_option("--timeout", c->o.timeout_s, "seconds a client may take to send or receive")->check(CLI::Range(1, 3600))->capture_default_str();
    s->add_flag_callback("--no-batch-invariant", [c] { c->o.eng.batch_invariant = false; },
                         "faster prompt processing (GEMM), but an answer may then depend on what it was batched with");
    add_mem_options(s, &c->mem);
    return [c] { return run_serve(*c); };
}

} // namespace tern_cli
