// server-http.h — `tern serve`: the OpenAI-compatible HTTP front end (cpp-httplib, nlohmann-json)
// over the batching engine (server-engine.h).
#pragma once

#include "server-engine.h"

#include <string>

namespace tern_cli {

struct serve_opts {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string api_key;          // empty: no authentication
    std::string chat_template;    // empty: the model's
    std::string model_name;       // reported by /v1/models (default: the file name)
    size_t max_body = 1u << 20;   // request bodies above this get 413
    int timeout_s = 30;           // socket read/write timeout (slow clients)
    int http_threads = 64;
    engine_params eng;
};

// Runs until SIGINT/SIGTERM. The model must outlive the call. Returns the process exit code.
int serve(tern_model *model, const serve_opts &o);

// The web chat page served at "/" (server-page.cpp).
extern const char *const k_chat_page;

} // namespace tern_cli
