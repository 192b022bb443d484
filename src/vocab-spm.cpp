// vocab-spm.cpp — SentencePiece-style tokenization: start from UTF-8 characters, repeatedly
// merge the adjacent pair whose concatenation is the highest-scoring vocabulary entry (ties:
// leftmost first), then emit each symbol's token, or its bytes as <0xXX> tokens.
#include "unicode.h"
#include "vocab.h"

#include <queue>

namespace tern {

namespace {
struct symbol {
    int prev, next;
    size_t off, n; // bytes of the text this symbol covers; n = 0 once merged away
};
struct bigram {
    int left, right;
    float score;
    size_t size;
    bool operator<(const bigram &o) const { // max-heap: best score, then leftmost
        return score < o.score || (score == o.score && left > o.left);
    }
};
} // namespace

void vocab::tokenize_spm(const std::string &raw, std::vector<token_id> &out) const {
    // Spaces are written as U+2581.
    std::string text;
    text.reserve(raw.size() + 8);
    for (char c : raw) {
        if (c == ' ') text += "\xe2\x96\x81";
        else text += c;
    }
    std::vector<symbol> sym;
    for (size_t off = 0; off < text.size();) {
        const size_t n = std::min(utf8_len((uint8_t)text[off]), text.size() - off);
        sym.push_back({(int)sym.size() - 1, -1, off, n});
        off += n;
        if (off < text.size()) sym.back().next = (int)sym.size();
    }
    std::priority_queue<bigram> q;
    auto try_add = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        const std::string s = text.substr(sym[l].off, sym[l].n + sym[r].n);
        const token_id id = find(s);
        if (id < 0) return;
        q.push({l, r, scores_[id], s.size()});
    };
    for (int i = 1; i < (int)sym.size(); i++) try_add(i - 1, i);
    while (!q.empty()) {
        const bigram b = q.top();
        q.pop();
        symbol &l = sym[b.left], &r = sym[b.right];
        if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue; // stale
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
        const std::string piece = text.substr(sym[i].off, sym[i].n);
        const token_id id = find(piece);
        if (id >= 0) out.push_back(id);
        else byte_fallback(piece, out);
    }
}

} // namespace tern
