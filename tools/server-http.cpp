// server-http.cpp — routes of `tern serve`. Every request body is parsed and type-checked (by
// server-request.h) before anything reaches the engine; each failure is a 4xx with an OpenAI-style error object
// ({"error": {"message", "type", "param", "code"}}), and nothing a client sends can stop the
// server or touch another request. Generation responses (streamed or not) are written through a
// chunked content provider so that a client that goes away cancels its request: SSE streams get
// comment keep-alives, JSON bodies leading spaces (valid JSON whitespace) while they wait.
#include "server-http.h"
#include "prompt.h"
#include "server-request.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>

namespace tern_cli {

namespace {

void send_error(httplib::Response &res, const http_error &e) {
    res.status = e.status;
    res.set_content(error_body(e).dump(), "application/json");
}

std::string random_id(const char *prefix) {
    static std::atomic<uint64_t> n{0};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%llx%04llx", prefix, (unsigned long long)std::time(nullptr),
                  (unsigned long long)(n++ & 0xffff));
    return buf;
}

json bytes_of(const std::string &s) {
    json a = json::array();
    for (unsigned char c : s) a.push_back((int)c);
    return a;
}

// ---- server state -------------------------------------------------------------------------
struct route_counter {
    std::mutex mu;
    std::map<std::pair<std::string, int>, uint64_t> n;
};

struct server {
    tern_model *model;
    serve_opts o;
    engine eng;
    std::string name;
    std::mutex embd_mu;
    tern_context *embd_ctx = nullptr;
    route_counter counts;
    std::chrono::steady_clock::time_point t_start = std::chrono::steady_clock::now();

    // Tokenizes a prompt; errors for an empty prompt or one that does not fit the context.
    bool prompt_tokens(const std::string &text, bool parse_special, std::vector<tern_token> *out, http_error *err) {
        *out = tokenize_prompt(model, text, parse_special);
        return check_len(out->size(), err);
    }
    bool check_len(size_t n, http_error *err) {
        if (n == 0) {
            *err = bad_request("the prompt is empty", "prompt");
            return false;
        }
        if ((int64_t)n >= eng.n_ctx()) {
            *err = {400,
                    "the prompt has " + std::to_string(n) + " tokens; the context holds " + std::to_string(eng.n_ctx()) +
                        " (prompt and answer together)",
                    "invalid_request_error", "messages", "context_length_exceeded"};
            return false;
        }
        return true;
    }
};

// Queues a generation request (its answer capped by what is left of the context); a full queue is
// 503 with Retry-After.
bool submit(server &sv, const std::shared_ptr<request> &r, gen_params g, httplib::Response &res) {
    g.max_tokens = std::min<int32_t>(g.max_tokens, sv.eng.n_ctx() - (int32_t)r->prompt.size());
    r->params = g;
    if (sv.eng.submit(r)) return true;
    res.set_header("Retry-After", "1");
    send_error(res, {503, "the server is busy: the request queue is full", "server_error", "", "queue_full"});
    return false;
}

// Streams a request's events to the client. `on_event` turns one event into the bytes to send
// (SSE chunk or nothing), `on_done` the closing bytes.
void respond_generation(httplib::Response &res, std::shared_ptr<request> r, bool stream,
                        std::function<std::string(const gen_event &)> on_event,
                        std::function<std::string(request &)> on_done) {
    res.set_header("Cache-Control", "no-cache");
    auto provider = [r, stream, on_event, on_done](size_t, httplib::DataSink &sink) -> bool {
        std::deque<gen_event> evs;
        bool done;
        {
            std::unique_lock<std::mutex> lk(r->mu);
            // Streams send each token as it comes; a JSON body waits for the end (a space per idle
            // second keeps the connection checked).
            r->cv.wait_for(lk, std::chrono::seconds(1), [&] { return r->done || (stream && !r->events.empty()); });
            evs.swap(r->events);
            done = r->done;
        }
        std::string out;
        for (const gen_event &e : evs) out += on_event(e);
        if (done) out += on_done(*r);
        if (out.empty()) out = stream ? ": keep-alive\n\n" : " "; // also detects a client that left
        if (!sink.write(out.data(), out.size())) {
            r->cancelled = true;
            return false;
        }
        if (done) sink.done();
        return true;
    };
    res.set_chunked_content_provider(stream ? "text/event-stream" : "application/json", provider,
                                     [r](bool ok) {
                                         if (!ok) r->cancelled = true;
                                     });
}

json usage_of(const request &r) {
    return {{"prompt_tokens", r.n_prompt},
            {"completion_tokens", r.n_gen},
            {"total_tokens", r.n_prompt + r.n_gen},
            {"prompt_tokens_details", {{"cached_tokens", r.n_cached}}}};
}

json finish_reason_of(const request &r) {
    if (r.finish_reason == "stop" || r.finish_reason == "length") return r.finish_reason;
    return r.finish_reason.empty() ? json(nullptr) : json(r.finish_reason);
}

// ---- /v1/chat/completions ------------------------------------------------------------------
void handle_chat(server &sv, const httplib::Request &req, httplib::Response &res) {
    json j;
    http_error err;
    if (!parse_json_body(req.body, &j, &err)) return send_error(res, err);
    std::vector<chat_message> chat;
    if (!read_chat_messages(j, &chat, &err)) return send_error(res, err);
    gen_params g;
    if (!read_gen_params(j, true, &g, &err)) return send_error(res, err);
    const bool stream = j.value("stream", false);
    bool include_usage = false;
    if (auto so = j.find("stream_options"); so != j.end() && so->is_object()) include_usage = so->value("include_usage", false);
    std::vector<tern_chat_message> msgs;
    for (const chat_message &m : chat) msgs.push_back({m.role.c_str(), m.content.c_str()});
    const char *tmpl = sv.o.chat_template.empty() ? nullptr : sv.o.chat_template.c_str();
    const int32_t len = tern_chat_apply_template(sv.model, tmpl, msgs.data(), msgs.size(), true, nullptr, 0);
    if (len < 0) return send_error(res, bad_request(std::string("cannot apply the chat template: ") + tern_last_error(), "messages"));
    std::string prompt((size_t)len + 1, '\0');
    tern_chat_apply_template(sv.model, tmpl, msgs.data(), msgs.size(), true, prompt.data(), len + 1);
    prompt.resize((size_t)len);
    auto r = std::make_shared<request>();
    if (!sv.prompt_tokens(prompt, true, &r->prompt, &err)) return send_error(res, err);
    if (!submit(sv, r, g, res)) return;
    const std::string id = random_id("chatcmpl-"), model = sv.name;
    const long created = (long)std::time(nullptr);
    if (stream) {
        auto sent_role = std::make_shared<bool>(false);
        auto chunk = [id, model, created](json delta, json finish, json logprobs) {
            json c = {{"id", id},
                      {"object", "chat.completion.chunk"},
                      {"created", created},
                      {"model", model},
                      {"choices", json::array({{{"index", 0}, {"delta", delta}, {"logprobs", logprobs}, {"finish_reason", finish}}})}};
            return "data: " + c.dump() + "\n\n";
        };
        respond_generation(
            res, r, true,
            [chunk, sent_role, g](const gen_event &e) {
                std::string out;
                if (!*sent_role) out += chunk({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr), *sent_role = true;
                json lp = nullptr;
                if (g.want_logprobs && !e.tok.text.empty()) {
                    json top = json::array();
                    for (const auto &t : e.top) top.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", bytes_of(t.text)}});
                    lp = {{"content", json::array({{{"token", e.tok.text}, {"logprob", e.tok.logprob}, {"bytes", bytes_of(e.tok.text)}, {"top_logprobs", top}}})}};
                }
                if (!e.text.empty() || !lp.is_null()) out += chunk({{"content", e.text}}, nullptr, lp);
                return out;
            },
            [chunk, sent_role, include_usage, id, model, created](request &rq) {
                std::string out;
                if (!rq.error.empty() && rq.finish_reason == "error")
                    out += "data: " + error_body({500, rq.error, "server_error", "", ""}).dump() + "\n\n";
                if (!*sent_role) out += chunk({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr), *sent_role = true;
                out += chunk(json::object(), finish_reason_of(rq), nullptr);
                if (include_usage) {
                    json u = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                              {"choices", json::array()}, {"usage", usage_of(rq)}};
                    out += "data: " + u.dump() + "\n\n";
                }
                return out + "data: [DONE]\n\n";
            });
        return;
    }
    auto text = std::make_shared<std::string>();
    auto lps = std::make_shared<json>(json::array());
    respond_generation(
        res, r, false,
        [text, lps, g](const gen_event &e) {
            *text += e.text;
            if (g.want_logprobs && !e.tok.text.empty()) {
                json top = json::array();
                for (const auto &t : e.top) top.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", bytes_of(t.text)}});
                lps->push_back({{"token", e.tok.text}, {"logprob", e.tok.logprob}, {"bytes", bytes_of(e.tok.text)}, {"top_logprobs", top}});
            }
            return std::string();
        },
        [text, lps, g, id, model, created](request &rq) {
            if (rq.finish_reason == "error") return error_body({500, rq.error, "server_error", "", ""}).dump();
            json c = {{"id", id},
                      {"object", "chat.completion"},
                      {"created", created},
                      {"model", model},
                      {"choices", json::array({{{"index", 0},
                                                {"message", {{"role", "assistant"}, {"content", *text}}},
                                                {"logprobs", g.want_logprobs ? json{{"content", *lps}} : json(nullptr)},
                                                {"finish_reason", finish_reason_of(rq)}}})},
                      {"usage", usage_of(rq)}};
            return c.dump();
        });
}

// ---- /v1/completions -----------------------------------------------------------------------
void handle_completions(server &sv, const httplib::Request &req, httplib::Response &res) {
    json j;
    http_error err;
    if (!parse_json_body(req.body, &j, &err)) return send_error(res, err);
    auto r = std::make_shared<request>();
    auto p = j.find("prompt");
    if (p == j.end() || p->is_null()) return send_error(res, bad_request("'prompt' is required", "prompt"));
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = p->begin(); // ["text"]
    if (p->is_string()) {
        if (!sv.prompt_tokens(p->get<std::string>(), false, &r->prompt, &err)) return send_error(res, err);
    } else if (p->is_array()) {
        if (!read_token_ids(*p, tern_model_n_vocab(sv.model), &r->prompt))
            return send_error(res, bad_request("'prompt' must be a string or a list of token ids in the vocabulary", "prompt"));
        if (!sv.check_len(r->prompt.size(), &err)) return send_error(res, err);
    } else return send_error(res, bad_request("'prompt' must be a string or a list of token ids", "prompt"));
    gen_params g;
    if (!read_gen_params(j, false, &g, &err)) return send_error(res, err);
    const bool stream = j.value("stream", false);
    if (!submit(sv, r, g, res)) return;
    const std::string id = random_id("cmpl-"), model = sv.name;
    const long created = (long)std::time(nullptr);
    auto lp_entry = [](const gen_event &e, size_t offset) {
        json top = json::object();
        for (const auto &t : e.top) top[t.text] = t.logprob;
        return json{{"tokens", json::array({e.tok.text})},
                    {"token_logprobs", json::array({e.tok.logprob})},
                    {"top_logprobs", json::array({top})},
                    {"text_offset", json::array({offset})}};
    };
    if (stream) {
        auto offset = std::make_shared<size_t>(0);
        auto chunk = [id, model, created](const std::string &text, json finish, json lp) {
            json c = {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                      {"choices", json::array({{{"text", text}, {"index", 0}, {"logprobs", lp}, {"finish_reason", finish}}})}};
            return "data: " + c.dump() + "\n\n";
        };
        respond_generation(
            res, r, true,
            [chunk, g, lp_entry, offset](const gen_event &e) {
                if (e.text.empty() && !(g.want_logprobs && !e.tok.text.empty())) return std::string();
                json lp = g.want_logprobs && !e.tok.text.empty() ? lp_entry(e, *offset) : json(nullptr);
                *offset += e.text.size();
                return chunk(e.text, nullptr, lp);
            },
            [chunk](request &rq) {
                std::string out;
                if (rq.finish_reason == "error") out += "data: " + error_body({500, rq.error, "server_error", "", ""}).dump() + "\n\n";
                return out + chunk("", finish_reason_of(rq), nullptr) + "data: [DONE]\n\n";
            });
        return;
    }
    auto text = std::make_shared<std::string>();
    auto lps = std::make_shared<json>(json{{"tokens", json::array()}, {"token_logprobs", json::array()},
                                           {"top_logprobs", json::array()}, {"text_offset", json::array()}});
    respond_generation(
        res, r, false,
        [text, lps, g, lp_entry](const gen_event &e) {
            if (g.want_logprobs && !e.tok.text.empty()) {
                json one = lp_entry(e, text->size());
                for (const char *k : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) (*lps)[k].push_back(one[k][0]);
            }
            *text += e.text;
            return std::string();
        },
        [text, lps, g, id, model, created](request &rq) {
            if (rq.finish_reason == "error") return error_body({500, rq.error, "server_error", "", ""}).dump();
            json c = {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                      {"choices", json::array({{{"text", *text}, {"index", 0},
                                                {"logprobs", g.want_logprobs ? *lps : json(nullptr)},
                                                {"finish_reason", finish_reason_of(rq)}}})},
                      {"usage", usage_of(rq)}};
            return c.dump();
        });
}

// ---- /v1/embeddings ------------------------------------------------------------------------
std::string base64(const uint8_t *p, size_t n) {
    static const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out += i + 2 < n ? tbl[v & 63] : '=';
    }
    return out;
}

void handle_embeddings(server &sv, const httplib::Request &req, httplib::Response &res) {
    json j;
    http_error err;
    if (!parse_json_body(req.body, &j, &err)) return send_error(res, err);
    auto in = j.find("input");
    if (in == j.end()) return send_error(res, bad_request("'input' is required", "input"));
    std::vector<std::vector<tern_token>> inputs;
    const int32_t V = tern_model_n_vocab(sv.model);
    auto token_list = [&](const json &a, std::vector<tern_token> *out) { return read_token_ids(a, V, out); };
    const char *shape = "'input' must be a string, a list of strings, a list of token ids or a list of those";
    if (in->is_string()) {
        inputs.emplace_back();
        if (!sv.prompt_tokens(in->get<std::string>(), false, &inputs.back(), &err)) return send_error(res, err);
    } else if (in->is_array() && !in->empty() && in->size() <= 256) {
        if ((*in)[0].is_number_integer()) {
            inputs.emplace_back();
            if (!token_list(*in, &inputs.back())) return send_error(res, bad_request(shape, "input"));
        } else
            for (const auto &e : *in) {
                inputs.emplace_back();
                if (e.is_string()) {
                    if (!sv.prompt_tokens(e.get<std::string>(), false, &inputs.back(), &err)) return send_error(res, err);
                } else if (!e.is_array() || !token_list(e, &inputs.back())) return send_error(res, bad_request(shape, "input"));
            }
    } else return send_error(res, bad_request(shape, "input"));
    for (auto &t : inputs)
        if (!sv.check_len(t.size(), &err)) return send_error(res, err);
    std::string fmt = "float";
    if (auto f = j.find("encoding_format"); f != j.end() && !f->is_null()) {
        if (!f->is_string() || (*f != "float" && *f != "base64"))
            return send_error(res, bad_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format"));
        fmt = f->get<std::string>();
    }
    const int32_t E = tern_model_n_embd(sv.model);
    json data = json::array();
    int64_t n_tok = 0;
    {
        std::lock_guard<std::mutex> lk(sv.embd_mu);
        if (!sv.embd_ctx) {
            tern_context_params cp = tern_context_default_params();
            cp.n_ctx = (uint32_t)sv.eng.n_ctx();
            cp.n_threads = sv.o.eng.n_threads;
            if (tern_context_init(sv.model, &cp, &sv.embd_ctx) != TERN_OK)
                return send_error(res, {500, tern_last_error(), "server_error", "", ""});
        }
        std::vector<float> v((size_t)E);
        for (size_t i = 0; i < inputs.size(); i++) {
            if (tern_embed(sv.embd_ctx, 0, inputs[i].data(), (int32_t)inputs[i].size(), v.data()) != TERN_OK)
                return send_error(res, {500, tern_last_error(), "server_error", "", ""});
            n_tok += (int64_t)inputs[i].size();
            json emb = fmt == "base64" ? json(base64((const uint8_t *)v.data(), v.size() * sizeof(float))) : json(v);
            data.push_back({{"object", "embedding"}, {"embedding", emb}, {"index", i}});
        }
    }
    json out = {{"object", "list"}, {"data", data}, {"model", sv.name}, {"usage", {{"prompt_tokens", n_tok}, {"total_tokens", n_tok}}}};
    res.set_content(out.dump(), "application/json");
}

// ---- small endpoints -----------------------------------------------------------------------
void handle_tokenize(server &sv, const httplib::Request &req, httplib::Response &res) {
    json j;
    http_error err;
    if (!parse_json_body(req.body, &j, &err)) return send_error(res, err);
    auto c = j.find("content");
    if (c == j.end() || !c->is_string()) return send_error(res, bad_request("'content' must be a string", "content"));
    fields f{j, &err};
    bool add_special = false, parse_special = true, with_pieces = false;
    f.boolean("add_special", &add_special);
    f.boolean("parse_special", &parse_special);
    f.boolean("with_pieces", &with_pieces);
    if (!f.ok) return send_error(res, err);
    const std::string text = c->get<std::string>();
    std::vector<tern_token> t(text.size() + 16);
    const int32_t n = tern_tokenize(sv.model, text.data(), (int32_t)text.size(), t.data(), (int32_t)t.size(), add_special, parse_special);
    t.resize((size_t)std::max(0, n));
    json toks = json::array();
    for (tern_token x : t) {
        if (!with_pieces) {
            toks.push_back(x);
            continue;
        }
        char buf[256];
        const int32_t k = tern_token_to_piece(sv.model, x, buf, sizeof buf, true);
        toks.push_back({{"id", x}, {"piece", std::string(buf, (size_t)std::max(0, k))}});
    }
    res.set_content(json{{"tokens", toks}}.dump(), "application/json");
}

void handle_detokenize(server &sv, const httplib::Request &req, httplib::Response &res) {
    json j;
    http_error err;
    if (!parse_json_body(req.body, &j, &err)) return send_error(res, err);
    auto t = j.find("tokens");
    if (t == j.end() || !t->is_array() || t->size() > (1u << 20))
        return send_error(res, bad_request("'tokens' must be a list of token ids", "tokens"));
    std::vector<tern_token> toks;
    const int32_t V = tern_model_n_vocab(sv.model);
    if (!read_token_ids(*t, V, &toks))
        return send_error(res, bad_request("'tokens' must hold token ids in 0.." + std::to_string(V - 1), "tokens"));
    std::string out(toks.size() * 8 + 16, '\0');
    int32_t n = tern_detokenize(sv.model, toks.data(), (int32_t)toks.size(), out.data(), (int32_t)out.size(), false, true);
    if (n < 0) {
        out.resize((size_t)-n + 1);
        n = tern_detokenize(sv.model, toks.data(), (int32_t)toks.size(), out.data(), (int32_t)out.size(), false, true);
    }
    out.resize((size_t)std::max(0, n));
    res.set_content(json{{"content", out}}.dump(), "application/json");
}

void handle_metrics(server &sv, httplib::Response &res) {
    const engine_stats s = sv.eng.stats();
    const double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - sv.t_start).count();
    std::string o;
    auto metric = [&](const char *name, const char *type, const char *help, double v) {
        char buf[512];
        std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %.6g\n", name, help, name, type, name, v);
        o += buf;
    };
    o += "# HELP tern_http_requests_total HTTP requests by route and status.\n# TYPE tern_http_requests_total counter\n";
    {
        std::lock_guard<std::mutex> lk(sv.counts.mu);
        for (const auto &kv : sv.counts.n)
            o += "tern_http_requests_total{route=\"" + kv.first.first + "\",status=\"" + std::to_string(kv.first.second) +
                 "\"} " + std::to_string(kv.second) + "\n";
    }
    metric("tern_requests_completed_total", "counter", "Generation requests finished.", (double)s.requests_done);
    metric("tern_prompt_tokens_total", "counter", "Prompt tokens processed (excluding reused cache).", (double)s.prompt_tokens);
    metric("tern_prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.", (double)s.cached_tokens);
    metric("tern_generated_tokens_total", "counter", "Tokens generated.", (double)s.gen_tokens);
    metric("tern_forward_passes_total", "counter", "Batched forward passes.", (double)s.passes);
    metric("tern_decode_seconds_total", "counter", "Seconds spent in forward passes.", s.decode_seconds);
    metric("tern_tokens_per_second", "gauge", "Tokens (prompt and generated) per second of forward passes.",
           s.decode_seconds > 0 ? (double)(s.prompt_tokens + s.gen_tokens) / s.decode_seconds : 0.0);
    metric("tern_generated_tokens_per_second", "gauge", "Generated tokens per second of forward passes.",
           s.decode_seconds > 0 ? (double)s.gen_tokens / s.decode_seconds : 0.0);
    metric("tern_queue_depth", "gauge", "Requests waiting for a slot.", s.queue_depth);
    metric("tern_slots_active", "gauge", "Slots generating or reading a prompt.", s.active);
    metric("tern_slots_total", "gauge", "Slots (--parallel).", sv.o.eng.n_parallel);
    metric("tern_kv_cache_tokens", "gauge", "Tokens held in the KV caches of all slots.", s.kv_tokens);
    metric("tern_kv_cache_capacity_tokens", "gauge", "Token capacity of all slots' KV caches.", s.kv_capacity);
    metric("tern_kv_cache_usage_ratio", "gauge", "KV cache use.", s.kv_capacity ? (double)s.kv_tokens / s.kv_capacity : 0.0);
    metric("tern_uptime_seconds", "counter", "Seconds since the server started.", up);
    res.set_content(o, "text/plain; version=0.0.4");
}

std::atomic<httplib::Server *> g_server{nullptr};
void on_signal(int) {
    if (httplib::Server *s = g_server.load()) s->stop();
}

} // namespace

int serve(tern_model *model, const serve_opts &o) {
    server sv;
    sv.model = model;
    sv.o = o;
    sv.name = o.model_name;
    std::string err;
    if (!sv.eng.start(model, o.eng, &err)) {
        std::fprintf(stderr, "tern: error: cannot create the context: %s\n", err.c_str());
        return 1;
    }
    httplib::Server http;
    const int n_threads = std::max(4, o.http_threads);
    http.new_task_queue = [n_threads] { return new httplib::ThreadPool((size_t)n_threads); };
    http.set_payload_max_length(o.max_body);
    http.set_read_timeout(o.timeout_s);
    http.set_write_timeout(o.timeout_s);
    http.set_keep_alive_timeout(5);
    http.set_pre_routing_handler([&](const httplib::Request &req, httplib::Response &res) {
        if (req.method == "OPTIONS") { // CORS preflight for browser clients on other origins
            res.set_header("Access-Control-Allow-Origin", "*");
            res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
            res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            res.status = 204;
            return httplib::Server::HandlerResponse::Handled;
        }
        res.set_header("Access-Control-Allow-Origin", "*");
        if (o.api_key.empty() || req.path == "/" || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
        const std::string auth = req.get_header_value("Authorization");
        if (auth != "Bearer " + o.api_key) {
            send_error(res, {401, "invalid or missing API key (Authorization: Bearer ...)", "invalid_request_error", "", "invalid_api_key"});
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
        if (!res.body.empty()) return;
        const char *msg = res.status == 404   ? "no such endpoint"
                          : res.status == 413 ? "request body too large"
                          : res.status == 405 ? "method not allowed"
                                              : "bad request";
        send_error(res, {res.status, std::string(msg) + ": " + req.method + " " + req.path,
                         res.status >= 500 ? "server_error" : "invalid_request_error", "", ""});
    });
    http.set_exception_handler([](const httplib::Request &, httplib::Response &res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception &e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res, {500, what, "server_error", "", ""});
    });
    http.set_logger([&](const httplib::Request &req, const httplib::Response &res) {
        std::lock_guard<std::mutex> lk(sv.counts.mu);
        const bool known = req.path == "/" || req.path == "/health" || req.path == "/metrics" || req.path.rfind("/v1/", 0) == 0 ||
                           req.path == "/tokenize" || req.path == "/detokenize";
        sv.counts.n[{known ? req.path.substr(0, 64) : "other", res.status}]++;
    });
    auto wrap = [&](void (*h)(server &, const httplib::Request &, httplib::Response &)) {
        return [&sv, h](const httplib::Request &req, httplib::Response &res) { h(sv, req, res); };
    };
    http.Post("/v1/chat/completions", wrap(handle_chat));
    http.Post("/chat/completions", wrap(handle_chat));
    http.Post("/v1/completions", wrap(handle_completions));
    http.Post("/completions", wrap(handle_completions));
    http.Post("/v1/embeddings", wrap(handle_embeddings));
    http.Post("/embeddings", wrap(handle_embeddings));
    http.Post("/tokenize", wrap(handle_tokenize));
    http.Post("/detokenize", wrap(handle_detokenize));
    http.Get("/health", [](const httplib::Request &, httplib::Response &res) { res.set_content("{\"status\":\"ok\"}", "application/json"); });
    http.Get("/metrics", [&](const httplib::Request &, httplib::Response &res) { handle_metrics(sv, res); });
    http.Get("/v1/models", [&](const httplib::Request &, httplib::Response &res) {
        char desc[256];
        tern_model_desc(model, desc, sizeof desc);
        json m = {{"id", sv.name}, {"object", "model"}, {"created", (long)std::time(nullptr)}, {"owned_by", "tern"},
                  {"meta", {{"description", desc}, {"n_ctx", sv.eng.n_ctx()}, {"n_vocab", tern_model_n_vocab(model)},
                            {"n_embd", tern_model_n_embd(model)}, {"n_params", tern_model_n_params(model)},
                            {"size", tern_model_size_bytes(model)}, {"parallel", o.eng.n_parallel}}}};
        res.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(), "application/json");
    });
    http.Get("/", [](const httplib::Request &, httplib::Response &res) { res.set_content(k_chat_page, "text/html; charset=utf-8"); });

    int port = o.port;
    if (port == 0) port = http.bind_to_any_port(o.host);
    else if (!http.bind_to_port(o.host, port)) port = -1;
    if (port < 0) {
        std::fprintf(stderr, "tern: error: cannot listen on %s:%d\n", o.host.c_str(), o.port);
        return 1;
    }
    g_server = &http;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    std::fprintf(stderr, "tern: serving %s on http://%s:%d (%d parallel slots of %d tokens)\n", sv.name.c_str(), o.host.c_str(),
                 port, o.eng.n_parallel, sv.eng.n_ctx());
    std::fflush(stderr);
    std::printf("listening on http://%s:%d\n", o.host.c_str(), port);
    std::fflush(stdout);
    http.listen_after_bind();
    g_server = nullptr;
    sv.eng.stop();
    if (sv.embd_ctx) tern_context_free(sv.embd_ctx);
    std::fprintf(stderr, "tern: server stopped\n");
    return 0;
}

} // namespace tern_cli
