// fuzz-request.cpp — libFuzzer target: the body of any request to `tern serve` comes from a
// client, so any bytes must end as a parsed request or a 400 with an error message naming what is
// wrong, without crashing, and an accepted request's values must lie within the documented ranges.
#include "server-request.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace tern_cli;

namespace {
void check(bool ok, const http_error &err) {
    if (ok) return;
    if (err.status != 400 || err.message.empty() || err.type != "invalid_request_error") std::abort();
    (void)error_body(err).dump(); // the error itself must serialize
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string body((const char *)data, size);
    json j;
    http_error err;
    bool ok = parse_json_body(body, &j, &err);
    check(ok, err);
    if (!ok) return 0;
    for (bool chat : {true, false}) {
        gen_params g;
        ok = read_gen_params(j, chat, &g, &err);
        check(ok, err);
        if (ok && (g.max_tokens < 1 || !(g.temperature >= 0 && g.temperature <= 2) || !(g.top_p >= 0 && g.top_p <= 1) ||
                   g.n_probs < 0 || g.n_probs > 20 || g.stop.size() > 16))
            std::abort();
    }
    std::vector<chat_message> msgs;
    ok = read_chat_messages(j, &msgs, &err);
    check(ok, err);
    if (ok && (msgs.empty() || msgs.size() > 4096)) std::abort();
    for (const char *k : {"prompt", "tokens", "input"}) {
        auto it = j.find(k);
        if (it == j.end()) continue;
        std::vector<tern_token> t;
        if (read_token_ids(*it, 49152, &t))
            for (tern_token x : t)
                if (x < 0 || x >= 49152) std::abort();
    }
    fields f{j, &err};
    bool b = false;
    f.boolean("with_pieces", &b);
    check(f.ok, err);
    return 0;
}
