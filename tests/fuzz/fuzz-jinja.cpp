// fuzz-jinja.cpp — libFuzzer target: chat templates come from model files, so any bytes must
// parse and render to a result or an error, within the interpreter's limits, without crashing.
#include "jinja.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace tern::jinja;
    const std::string src((const char *)data, size);
    template_ t;
    if (!t.parse(src).is_ok()) return 0;
    value g;
    if (!value_from_json(R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi ✓"},
                                         {"role": "assistant", "content": "<think>x</think>Hello"}, {"role": "user", "content": "Bye"}],
                             "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
                             "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})",
                         &g)
             .is_ok())
        return 0;
    std::string out;
    (void)t.render(g, &out, 1 << 20);
    return 0;
}
