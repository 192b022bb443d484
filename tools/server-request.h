// server-request.h — parsing and type-checking of `tern serve`'s request bodies, apart from the
// routes (server-http.cpp) so that it needs no model or socket and can be fuzzed on its own
// (tests/fuzz/fuzz-request.cpp). Every function either fills its output or fills an http_error
// (status 400, an OpenAI-style message naming the offending field) and returns false.
#pragma once

#include "server-engine.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tern_cli {

using json = nlohmann::ordered_json;

struct http_error {
    int status = 400;
    std::string message, type, param, code;
};

// {"error": {"message", "type", "param", "code"}}
json error_body(const http_error &e);
http_error bad_request(const std::string &msg, const std::string &param = "");

// A JSON object, nesting at most 32 deep (checked before parsing).
bool parse_json_body(const std::string &body, json *out, http_error *err);

// Typed optional fields of an object: absent or null leaves *v alone; a wrong type or a value out
// of range is an error naming the field (the first one wins).
struct fields {
    const json &j;
    http_error *err;
    bool ok = true;
    const json *get(const char *k) const;
    void fail(const char *k, const char *what);
    void num(const char *k, float *v, float lo, float hi);
    void integer(const char *k, int32_t *v, int64_t lo, int64_t hi);
    void boolean(const char *k, bool *v);
    void seed(const char *k, uint64_t *v);
    void stops(const char *k, std::vector<std::string> *v); // a string or at most 16 strings
};

// Sampling and length options of /v1/chat/completions (chat) and /v1/completions.
bool read_gen_params(const json &j, bool chat, gen_params *g, http_error *err);

// "messages" of a chat request: at most 4096 objects with a string role ("developer" read as
// "system") and a content that is a string, null, or a list of {"type": "text", "text": ...}.
struct chat_message {
    std::string role, content;
};
bool read_chat_messages(const json &j, std::vector<chat_message> *out, http_error *err);

// A JSON array of integer token ids in [0, n_vocab); false (out partly filled) otherwise.
bool read_token_ids(const json &a, int32_t n_vocab, std::vector<tern_token> *out);

} // namespace tern_cli
