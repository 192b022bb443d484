// server-request.cpp — see server-request.h.
#include "server-request.h"

#include <chrono>

namespace tern_cli {

json error_body(const http_error &e) {
    return {{"error",
             {{"message", e.message}, {"type", e.type}, {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

http_error bad_request(const std::string &msg, const std::string &param) {
    return {400, msg, "invalid_request_error", param, ""};
}

namespace {
// Depth of nesting of a JSON text (bounded before parsing, so a hostile body cannot recurse deep).
bool nesting_ok(const std::string &s, int max_depth) {
    int d = 0;
    bool in_str = false;
    for (size_t i = 0; i < s.size(); i++) {
        const char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = false;
        } else if (c == '"') in_str = true;
        else if (c == '{' || c == '[') {
            if (++d > max_depth) return false;
        } else if (c == '}' || c == ']') d--;
    }
    return true;
}
} // namespace

bool parse_json_body(const std::string &body, json *out, http_error *err) {
    if (!nesting_ok(body, 32)) {
        *err = bad_request("request body nests too deeply");
        return false;
    }
    *out = json::parse(body, nullptr, false);
    if (out->is_discarded()) {
        *err = bad_request("request body is not valid JSON");
        return false;
    }
    if (!out->is_object()) {
        *err = bad_request("request body must be a JSON object");
        return false;
    }
    return true;
}

const json *fields::get(const char *k) const {
    auto it = j.find(k);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}

void fields::fail(const char *k, const char *what) {
    if (ok) *err = bad_request(std::string("'") + k + "' must be " + what, k);
    ok = false;
}

void fields::num(const char *k, float *v, float lo, float hi) {
    if (const json *x = get(k)) {
        if (!x->is_number()) return fail(k, "a number");
        const double d = x->get<double>();
        if (!(d >= lo && d <= hi)) return fail(k, ("between " + std::to_string(lo) + " and " + std::to_string(hi)).c_str());
        *v = (float)d;
    }
}

void fields::integer(const char *k, int32_t *v, int64_t lo, int64_t hi) {
    if (const json *x = get(k)) {
        if (!x->is_number_integer()) return fail(k, "an integer");
        // (an unsigned value above INT64_MAX must not wrap negative through get<int64_t>())
        const bool huge = x->is_number_unsigned() && x->get<uint64_t>() > (uint64_t)INT64_MAX;
        const int64_t i = huge ? INT64_MAX : x->get<int64_t>();
        if (i < lo || i > hi) return fail(k, ("between " + std::to_string(lo) + " and " + std::to_string(hi)).c_str());
        *v = (int32_t)i;
    }
}

void fields::boolean(const char *k, bool *v) {
    if (const json *x = get(k)) {
        if (!x->is_boolean()) return fail(k, "a boolean");
        *v = x->get<bool>();
    }
}

void fields::seed(const char *k, uint64_t *v) {
    if (const json *x = get(k)) {
        if (!x->is_number_integer()) return fail(k, "an integer");
        *v = x->is_number_unsigned() ? x->get<uint64_t>() : (uint64_t)x->get<int64_t>();
    }
}

void fields::stops(const char *k, std::vector<std::string> *v) {
    if (const json *x = get(k)) {
        if (x->is_string()) {
            if (!x->get<std::string>().empty()) v->push_back(x->get<std::string>());
        } else if (x->is_array() && x->size() <= 16) {
            for (const auto &e : *x) {
                if (!e.is_string() || e.get<std::string>().size() > 256) return fail(k, "a string or a list of at most 16 strings");
                if (!e.get<std::string>().empty()) v->push_back(e.get<std::string>());
            }
        } else return fail(k, "a string or a list of at most 16 strings");
    }
}

bool read_gen_params(const json &j, bool chat, gen_params *g, http_error *err) {
    fields f{j, err};
    g->max_tokens = chat ? 512 : 16; // OpenAI's completions default is 16
    f.integer("max_tokens", &g->max_tokens, 1, 1 << 20);
    if (chat) f.integer("max_completion_tokens", &g->max_tokens, 1, 1 << 20);
    f.num("temperature", &g->temperature, 0.0f, 2.0f);
    f.num("top_p", &g->top_p, 0.0f, 1.0f);
    f.num("min_p", &g->min_p, 0.0f, 1.0f);
    f.integer("top_k", &g->top_k, 0, 1 << 20);
    f.num("frequency_penalty", &g->frequency_penalty, -2.0f, 2.0f);
    f.num("presence_penalty", &g->presence_penalty, -2.0f, 2.0f);
    f.num("repeat_penalty", &g->repeat_penalty, 0.0f, 10.0f);
    g->seed = (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count();
    f.seed("seed", &g->seed);
    f.stops("stop", &g->stop);
    f.boolean("ignore_eos", &g->ignore_eos);
    int32_t n = 1;
    f.integer("n", &n, 1, 1);
    f.integer("n_probs", &g->n_probs, 0, 20);
    if (chat) {
        f.boolean("logprobs", &g->want_logprobs);
        f.integer("top_logprobs", &g->n_probs, 0, 20);
    } else if (const json *lp = f.get("logprobs")) {
        if (lp->is_boolean()) g->want_logprobs = lp->get<bool>();
        else f.integer("logprobs", &g->n_probs, 0, 5), g->want_logprobs = true;
    }
    if (g->n_probs > 0) g->want_logprobs = true;
    if (const json *s = f.get("stream"); s && !s->is_boolean()) f.fail("stream", "a boolean");
    return f.ok;
}

bool read_chat_messages(const json &j, std::vector<chat_message> *out, http_error *err) {
    auto mit = j.find("messages");
    if (mit == j.end() || !mit->is_array() || mit->empty() || mit->size() > 4096) {
        *err = bad_request("'messages' must be a non-empty list of messages", "messages");
        return false;
    }
    out->clear();
    for (size_t i = 0; i < mit->size(); i++) {
        const json &m = (*mit)[i];
        const std::string p = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) {
            *err = bad_request(p + " must be an object", p);
            return false;
        }
        auto role = m.find("role");
        if (role == m.end() || !role->is_string()) {
            *err = bad_request(p + ".role must be a string", p + ".role");
            return false;
        }
        chat_message msg;
        msg.role = role->get<std::string>();
        if (msg.role == "developer") msg.role = "system";
        auto c = m.find("content");
        if (c == m.end() || c->is_null()) {
        } else if (c->is_string()) msg.content = c->get<std::string>();
        else if (c->is_array()) {
            for (const auto &part : *c) {
                auto type = part.is_object() ? part.find("type") : part.end();
                auto text = part.is_object() ? part.find("text") : part.end();
                if (!part.is_object() || type == part.end() || *type != "text" || text == part.end() || !text->is_string()) {
                    *err = bad_request(p + ".content parts must be {\"type\": \"text\", \"text\": string}", p + ".content");
                    return false;
                }
                msg.content += text->get<std::string>();
            }
        } else {
            *err = bad_request(p + ".content must be a string or a list of text parts", p + ".content");
            return false;
        }
        out->push_back(std::move(msg));
    }
    return true;
}

bool read_token_ids(const json &a, int32_t n_vocab, std::vector<tern_token> *out) {
    if (!a.is_array()) return false;
    for (const auto &t : a) {
        if (!t.is_number_integer()) return false;
        if (t.is_number_unsigned() ? t.get<uint64_t>() >= (uint64_t)n_vocab : (t.get<int64_t>() < 0 || t.get<int64_t>() >= n_vocab))
            return false;
        out->push_back((tern_token)t.get<int64_t>());
    }
    return true;
}

} // namespace tern_cli
