// vocab-bpe.cpp — byte-level BPE: the text is split by the pre-tokenizer's regexes (PCRE2, UTF
// + Unicode properties), each word is mapped to GPT-2's byte alphabet and merged pair by pair
// in merge-rank order.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "unicode.h"
#include "vocab.h"

#include <algorithm>
#include <queue>

namespace tern {

struct pretok {
    std::vector<pcre2_code *> regexes;
    ~pretok() {
        for (auto *r : regexes) pcre2_code_free(r);
    }
};

namespace {

// Regexes per `tokenizer.ggml.pre` value (the same pre-tokenizers llama.cpp knows by name).
const char *const k_gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char *const k_llama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const k_qwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)";
const char *const k_digits = "\\p{N}";

struct pre_def {
    const char *name;
    std::vector<const char *> regexes;
    bool ignore_merges, clean_spaces;
};

const std::vector<pre_def> &pre_defs() {
    static const std::vector<pre_def> defs = {
        {"default", {k_gpt2}, false, true},
        {"gpt-2", {k_gpt2}, false, true},
        {"llama3", {k_llama3}, true, true},
        {"llama-bpe", {k_llama3}, true, true},
        {"qwen2", {k_qwen2}, false, false},
        {"smollm", {k_digits, k_gpt2}, false, false},
        {"starcoder", {k_digits, k_gpt2}, false, true},
        {"refact", {k_digits, k_gpt2}, false, true},
    };
    return defs;
}

} // namespace

status pretok_create(const std::string &pre_name, std::unique_ptr<pretok> *out, bool *ignore_merges,
                     bool *clean_spaces) {
    const pre_def *def = nullptr;
    for (const auto &d : pre_defs())
        if (pre_name == d.name) def = &d;
    TERN_CHECK_OR_RETURN(def != nullptr, code::unsupported,
                         "BPE pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported", pre_name.c_str());
    auto p = std::make_unique<pretok>();
    for (const char *re : def->regexes) {
        int err = 0;
        PCRE2_SIZE eoff = 0;
        pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &eoff, nullptr);
        TERN_CHECK_OR_RETURN(code != nullptr, code::internal, "pre-tokenizer regex failed to compile at %zu",
                             (size_t)eoff);
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); // optional speed-up; falls back to the interpreter
        p->regexes.push_back(code);
    }
    *ignore_merges = def->ignore_merges;
    *clean_spaces = def->clean_spaces;
    *out = std::move(p);
    return status::ok();
}

namespace {

// Split every piece by `re`: matches and the text between them both become pieces.
std::vector<std::string> regex_split(const std::vector<std::string> &pieces, pcre2_code *re) {
    std::vector<std::string> out;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, nullptr);
    for (const std::string &s : pieces) {
        size_t pos = 0, last = 0;
        while (pos <= s.size()) {
            const int rc = pcre2_match(re, (PCRE2_SPTR)s.data(), s.size(), pos, 0, md, nullptr);
            if (rc < 0) break;
            const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[1] == ov[0]) { // empty match: step one character
                pos = ov[0] + std::max<size_t>(1, utf8_len((uint8_t)s[std::min(ov[0], s.size() - 1)]));
                if (ov[0] >= s.size()) break;
                continue;
            }
            if (ov[0] > last) out.push_back(s.substr(last, ov[0] - last));
            out.push_back(s.substr(ov[0], ov[1] - ov[0]));
            last = pos = ov[1];
        }
        if (last < s.size()) out.push_back(s.substr(last));
    }
    pcre2_match_data_free(md);
    return out;
}

struct bpe_symbol {
    int prev, next;
    size_t off, n;
};
struct bpe_bigram {
    int left, right, rank;
    std::string text;
    bool operator<(const bpe_bigram &o) const { // min rank first, then leftmost
        return rank > o.rank || (rank == o.rank && left > o.left);
    }
};

} // namespace

int vocab::bpe_rank(const std::string &left, const std::string &right) const {
    auto it = merges_.find(left + " " + right);
    return it == merges_.end() ? -1 : it->second;
}

void vocab::tokenize_bpe(const std::string &text, std::vector<token_id> &out) const {
    std::vector<std::string> words{text};
    for (pcre2_code *re : pre_->regexes) words = regex_split(words, re);
    for (const std::string &raw : words) {
        const std::string word = bytes_to_bpe_unicode(raw);
        if (ignore_merges_) {
            const token_id id = find(word);
            if (id >= 0) {
                out.push_back(id);
                continue;
            }
        }
        std::vector<bpe_symbol> sym;
        for (size_t off = 0; off < word.size();) {
            const size_t n = std::min(utf8_len((uint8_t)word[off]), word.size() - off);
            sym.push_back({(int)sym.size() - 1, -1, off, n});
            off += n;
            if (off < word.size()) sym.back().next = (int)sym.size();
        }
        std::priority_queue<bpe_bigram> q;
        auto try_add = [&](int l, int r) {
            if (l < 0 || r < 0) return;
            const std::string a = word.substr(sym[l].off, sym[l].n), b = word.substr(sym[r].off, sym[r].n);
            const int rank = bpe_rank(a, b);
            if (rank >= 0) q.push({l, r, rank, a + b});
        };
        for (int i = 1; i < (int)sym.size(); i++) try_add(i - 1, i);
        while (!q.empty()) {
            const bpe_bigram b = q.top();
            q.pop();
            bpe_symbol &l = sym[b.left], &r = sym[b.right];
            if (l.n == 0 || r.n == 0 || word.compare(l.off, l.n + r.n, b.text) != 0 || l.n + r.n != b.text.size())
                continue; // stale
            l.n += r.n;
            r.n = 0;
            l.next = r.next;
            if (r.next >= 0) sym[r.next].prev = b.left;
            try_add(l.prev, b.left);
            try_add(b.left, l.next);
        }
        for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
            const std::string piece = word.substr(sym[i].off, sym[i].n);
            const token_id id = find(piece);
            if (id >= 0) {
                out.push_back(id);
                continue;
            }
            // Not in the vocabulary: emit each byte-level character that is.
            for (size_t k = 0; k < piece.size();) {
                const size_t n = utf8_len((uint8_t)piece[k]);
                const token_id bid = find(piece.substr(k, n));
                if (bid >= 0) out.push_back(bid);
                k += n;
            }
        }
    }
}

} // namespace tern

namespace tern {
vocab::vocab() { std::fill(std::begin(byte_tokens_), std::end(byte_tokens_), -1); }
vocab::~vocab() = default; // here, where pretok is complete
} // namespace tern
