// unicode.cpp — UTF-8 helpers and the GPT-2 byte <-> code point map.
#include "unicode.h"

#include <array>

namespace tern {

void utf8_append(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
        out += (char)cp;
    } else if (cp < 0x800) {
        out += (char)(0xC0 | (cp >> 6));
        out += (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += (char)(0xE0 | (cp >> 12));
        out += (char)(0x80 | ((cp >> 6) & 0x3F));
        out += (char)(0x80 | (cp & 0x3F));
    } else {
        out += (char)(0xF0 | (cp >> 18));
        out += (char)(0x80 | ((cp >> 12) & 0x3F));
        out += (char)(0x80 | ((cp >> 6) & 0x3F));
        out += (char)(0x80 | (cp & 0x3F));
    }
}

namespace {
struct byte_map {
    std::array<uint32_t, 256> to_cp{};
    std::array<int, 512> from_cp{}; // code points used are < 324
    byte_map() {
        from_cp.fill(-1);
        uint32_t extra = 256;
        for (int b = 0; b < 256; b++) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            to_cp[b] = printable ? (uint32_t)b : extra++;
            from_cp[to_cp[b]] = b;
        }
    }
};
const byte_map &bmap() {
    static const byte_map m;
    return m;
}
} // namespace

std::string bytes_to_bpe_unicode(const std::string &text) {
    std::string out;
    out.reserve(text.size() * 2);
    for (unsigned char c : text) utf8_append(out, bmap().to_cp[c]);
    return out;
}

bool bpe_unicode_to_bytes(const std::string &text, std::string *out) {
    size_t i = 0;
    while (i < text.size()) {
        const uint8_t c = (uint8_t)text[i];
        uint32_t cp;
        size_t n = utf8_len(c);
        if (i + n > text.size()) return false;
        if (n == 1) cp = c;
        else if (n == 2) cp = ((c & 0x1F) << 6) | (text[i + 1] & 0x3F);
        else if (n == 3) cp = ((c & 0x0F) << 12) | ((text[i + 1] & 0x3F) << 6) | (text[i + 2] & 0x3F);
        else cp = ((c & 0x07) << 18) | ((text[i + 1] & 0x3F) << 12) | ((text[i + 2] & 0x3F) << 6) | (text[i + 3] & 0x3F);
        if (cp >= 512 || bmap().from_cp[cp] < 0) return false;
        *out += (char)bmap().from_cp[cp];
        i += n;
    }
    return true;
}

size_t utf8_incomplete_tail(const std::string &s) {
    // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
    for (size_t back = 1; back <= 4 && back <= s.size(); back++) {
        const uint8_t c = (uint8_t)s[s.size() - back];
        if ((c & 0xC0) == 0x80) continue; // continuation byte
        const size_t need = utf8_len(c);
        return need > back ? back : 0;
    }
    return 0;
}

} // namespace tern
