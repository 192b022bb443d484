// unicode.h — the little UTF-8 and GPT-2 byte-level helpers the tokenizers need.
#pragma once

#include <cstdint>
#include <string>

namespace tern {

// Length of the UTF-8 sequence that starts with byte c (1 for invalid lead bytes).
inline size_t utf8_len(uint8_t c) {
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

void utf8_append(std::string &out, uint32_t cp);

// GPT-2 byte-level encoding: every byte maps to one printable code point (bytes that are
// printable map to themselves, the rest to 256 + n) — text -> vocab form, and back.
std::string bytes_to_bpe_unicode(const std::string &text);
// Returns false if a code point is not in the byte map (the text is then left partial).
bool bpe_unicode_to_bytes(const std::string &text, std::string *out);

// Bytes at the end of `s` that form an incomplete UTF-8 sequence (0 if complete).
size_t utf8_incomplete_tail(const std::string &s);

} // namespace tern
