// paths.cpp — where tern keeps downloaded models.
#include "commands.h"

#include <cstdlib>

namespace tern_cli {

std::string default_model_path() {
    std::string base;
    if (const char *c = std::getenv("TERN_CACHE"); c && *c) base = c;
    else if (const char *h = std::getenv("HOME"); h && *h) base = std::string(h) + "/.cache/tern";
    else base = ".cache/tern";
    return base + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

} // namespace tern_cli
