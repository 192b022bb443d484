// prompt.h — tokenizing a prompt for generation, shared by run, chat and serve.
#pragma once

#include "tern.h"

#include <string>
#include <vector>

namespace tern_cli {

// Tokens of `text` with the model's BOS. A rendered chat template usually starts with the BOS
// token's text already ("<bos>", "<s>"); the doubled BOS that tokenizing then gives is dropped
// (two BOS tokens make Gemma answer with noise).
inline std::vector<tern_token> tokenize_prompt(const tern_model *m, const std::string &text, bool parse_special) {
    std::vector<tern_token> t(text.size() + 16);
    int32_t n = tern_tokenize(m, text.data(), (int32_t)text.size(), t.data(), (int32_t)t.size(), true, parse_special);
    if (n < 0 && n != INT32_MIN) {
        t.resize((size_t)-n);
        n = tern_tokenize(m, text.data(), (int32_t)text.size(), t.data(), (int32_t)t.size(), true, parse_special);
    }
    t.resize((size_t)(n > 0 ? n : 0));
    const tern_token bos = tern_token_bos(m);
    if (parse_special && bos != TERN_TOKEN_NULL && t.size() >= 2 && t[0] == bos && t[1] == bos) t.erase(t.begin());
    return t;
}

} // namespace tern_cli
