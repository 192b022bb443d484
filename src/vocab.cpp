// vocab.cpp — vocabulary loading, special-token partitioning, pieces and detokenization.
// The per-algorithm parts are in vocab-spm.cpp and vocab-bpe.cpp.
#include "vocab.h"

#include "unicode.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace tern {

status pretok_create(const std::string &pre_name, std::unique_ptr<pretok> *out, bool *ignore_merges,
                     bool *clean_spaces);



token_id vocab::find(const std::string &text) const {
    auto it = index_.find(text);
    return it == index_.end() ? -1 : it->second;
}

status vocab::load(const gguf_file &f) {
    std::string model;
    TERN_CHECK_OR_RETURN(f.get_str("tokenizer.ggml.model", &model), code::bad_format,
                         "model has no tokenizer (tokenizer.ggml.model missing)");
    if (model == "llama") kind_ = vocab_kind::spm;
    else if (model == "gpt2") kind_ = vocab_kind::bpe;
    else return make_status(code::unsupported, "tokenizer '%s' is not supported (llama and gpt2 are)", model.c_str());

    const gguf_kv *toks = f.find("tokenizer.ggml.tokens");
    TERN_CHECK_OR_RETURN(toks && toks->type == gguf_vtype::array && toks->arr_type == gguf_vtype::string &&
                             toks->arr_n > 0 && toks->arr_n < (1u << 31),
                         code::bad_format, "tokenizer.ggml.tokens is missing or not a list of strings");
    texts_ = toks->arr_str;
    const size_t n = texts_.size();
    scores_.assign(n, 0.0f);
    types_.assign(n, token_type_normal);
    if (const gguf_kv *s = f.find("tokenizer.ggml.scores")) {
        TERN_CHECK_OR_RETURN(s->type == gguf_vtype::array && s->arr_type == gguf_vtype::f32 && s->arr_n == n,
                             code::bad_format, "tokenizer.ggml.scores must be %zu f32 values", n);
        for (size_t i = 0; i < n; i++) scores_[i] = s->arr_at<float>(i);
    }
    if (const gguf_kv *t = f.find("tokenizer.ggml.token_type")) {
        TERN_CHECK_OR_RETURN(t->type == gguf_vtype::array && t->arr_type == gguf_vtype::i32 && t->arr_n == n,
                             code::bad_format, "tokenizer.ggml.token_type must be %zu i32 values", n);
        for (size_t i = 0; i < n; i++) types_[i] = t->arr_at<int32_t>(i);
    }
    for (size_t i = 0; i < n; i++) index_.emplace(texts_[i], (token_id)i); // first wins on duplicates

    auto tok_key = [&](const char *key, token_id *out) -> status {
        int64_t v;
        if (!f.get_i64(key, &v)) return status::ok();
        TERN_CHECK_OR_RETURN(v >= -1 && v < (int64_t)n, code::bad_format, "%s = %lld is outside the vocabulary of %zu",
                             key, (long long)v, n);
        *out = (token_id)v;
        return status::ok();
    };
    if (kind_ == vocab_kind::spm) {
        bos = 1, eos = 2, unk = 0;
        add_bos = true;
        clean_spaces_ = false; // SentencePiece detokenization keeps spaces as written
    } else {
        bos = eos = find("<|endoftext|>");
        add_bos = true; // as llama.cpp: files that do not want BOS say add_bos_token = false
        add_space_prefix_ = false;
    }
    TERN_RETURN_IF_ERROR(tok_key("tokenizer.ggml.bos_token_id", &bos));
    TERN_RETURN_IF_ERROR(tok_key("tokenizer.ggml.eos_token_id", &eos));
    TERN_RETURN_IF_ERROR(tok_key("tokenizer.ggml.unknown_token_id", &unk));
    TERN_RETURN_IF_ERROR(tok_key("tokenizer.ggml.eot_token_id", &eot));
    f.get_bool("tokenizer.ggml.add_bos_token", &add_bos);
    f.get_bool("tokenizer.ggml.add_eos_token", &add_eos);
    f.get_bool("tokenizer.ggml.add_space_prefix", &add_space_prefix_);

    if (kind_ == vocab_kind::spm) {
        for (int b = 0; b < 256; b++) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "<0x%02X>", b);
            byte_tokens_[b] = find(buf);
        }
    } else {
        const gguf_kv *m = f.find("tokenizer.ggml.merges");
        TERN_CHECK_OR_RETURN(m && m->type == gguf_vtype::array && m->arr_type == gguf_vtype::string, code::bad_format,
                             "BPE tokenizer without tokenizer.ggml.merges");
        merges_.reserve(m->arr_n);
        for (size_t i = 0; i < m->arr_str.size(); i++) merges_.emplace(m->arr_str[i], (int)i);
        // single-byte tokens for the rare symbol that is not in the vocabulary
        for (int b = 0; b < 256; b++) byte_tokens_[b] = find(bytes_to_bpe_unicode(std::string(1, (char)b)));
        std::string pre = "default";
        f.get_str("tokenizer.ggml.pre", &pre);
        TERN_RETURN_IF_ERROR(pretok_create(pre, &pre_, &ignore_merges_, &clean_spaces_));
    }

    for (size_t i = 0; i < n; i++) {
        const int32_t t = types_[i];
        if ((t == token_type_control || t == token_type_user_defined || t == token_type_unknown) && !texts_[i].empty())
            specials_.push_back((token_id)i);
    }
    // Phi-3 vocabularies: special tokens swallow the whitespace that follows them (the
    // tokenizer.json of those models marks them rstrip), except <unk>, <s> and <|endoftext|>.
    rstrip_.assign(n, 0);
    std::string name;
    f.get_str("general.name", &name);
    for (auto &ch : name) ch = (char)std::tolower((unsigned char)ch);
    if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
        for (token_id id : specials_) rstrip_[id] = 1;
        if (token_id id = find("</s>"); id >= 0) rstrip_[id] = 1;
        for (const char *t : {"<unk>", "<s>", "<|endoftext|>"})
            if (token_id id = find(t); id >= 0) rstrip_[id] = 0;
    }
    std::stable_sort(specials_.begin(), specials_.end(),
                     [&](token_id a, token_id b) { return texts_[a].size() > texts_[b].size(); });

    // End-of-generation tokens: EOS, EOT and the turn-end markers chat models use.
    static const char *k_eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<|end_of_text|>", "<EOT>", "<|eom_id|>"};
    if (eos >= 0) eog_.push_back(eos);
    if (eot >= 0) eog_.push_back(eot);
    for (const char *t : k_eog_texts) {
        const token_id id = find(t);
        if (id >= 0 && (types_[id] == token_type_control || types_[id] == token_type_user_defined)) eog_.push_back(id);
    }
    return status::ok();
}

bool vocab::is_eog(token_id id) const { return std::find(eog_.begin(), eog_.end(), id) != eog_.end(); }

void vocab::byte_fallback(const std::string &piece, std::vector<token_id> &out) const {
    for (unsigned char c : piece) {
        if (byte_tokens_[c] >= 0) out.push_back(byte_tokens_[c]);
        else if (unk >= 0) out.push_back(unk);
    }
}

std::vector<token_id> vocab::tokenize(const std::string &text, bool add_special, bool parse_special) const {
    // 1. Split the raw text around special tokens (longest first).
    struct frag {
        token_id id; // -1: raw text
        std::string text;
    };
    std::vector<frag> frags;
    if (!text.empty()) frags.push_back({-1, text});
    for (token_id sid : specials_) {
        const int32_t t = types_[sid];
        if (!parse_special && (t == token_type_control || t == token_type_unknown)) continue;
        const std::string &st = texts_[sid];
        std::vector<frag> next;
        for (auto &fr : frags) {
            if (fr.id >= 0 || fr.text.find(st) == std::string::npos) {
                next.push_back(std::move(fr));
                continue;
            }
            size_t pos = 0;
            while (true) {
                const size_t hit = fr.text.find(st, pos);
                if (hit == std::string::npos) break;
                if (hit > pos) next.push_back({-1, fr.text.substr(pos, hit - pos)});
                next.push_back({sid, ""});
                pos = hit + st.size();
                if (rstrip_[sid])
                    while (pos < fr.text.size() && std::isspace((unsigned char)fr.text[pos])) pos++;
            }
            if (pos < fr.text.size()) next.push_back({-1, fr.text.substr(pos)});
        }
        frags = std::move(next);
    }

    // 2. Tokenize each raw fragment.
    std::vector<token_id> out;
    if (add_special && add_bos && bos >= 0) out.push_back(bos);
    bool prev_special = true; // SPM: a space prefix goes before the first fragment and after specials
    for (const auto &fr : frags) {
        if (fr.id >= 0) {
            out.push_back(fr.id);
            prev_special = true;
            continue;
        }
        if (kind_ == vocab_kind::spm) {
            std::string t = (add_space_prefix_ && prev_special) ? " " + fr.text : fr.text;
            tokenize_spm(t, out);
        } else {
            tokenize_bpe(fr.text, out);
        }
        prev_special = false;
    }
    if (add_special && add_eos && eos >= 0) out.push_back(eos);
    return out;
}

std::string vocab::token_to_piece(token_id id, bool special, bool lstrip) const {
    if (!valid(id)) return "";
    const std::string &t = texts_[id];
    std::string out;
    switch (types_[id]) {
    case token_type_control:
        if (special) out = t;
        break;
    case token_type_unknown:
        if (special) out = t;
        break;
    case token_type_user_defined: out = t; break;
    case token_type_byte:
        if (t.size() == 6 && t.compare(0, 3, "<0x") == 0) {
            out = (char)std::strtol(t.substr(3, 2).c_str(), nullptr, 16);
            break;
        }
        [[fallthrough]];
    default:
        if (kind_ == vocab_kind::spm) {
            // U+2581 (e2 96 81) stands for a space.
            for (size_t i = 0; i < t.size(); i++) {
                if (i + 2 < t.size() && (uint8_t)t[i] == 0xE2 && (uint8_t)t[i + 1] == 0x96 && (uint8_t)t[i + 2] == 0x81) {
                    out += ' ';
                    i += 2;
                } else {
                    out += t[i];
                }
            }
        } else if (!bpe_unicode_to_bytes(t, &out)) {
            out = t; // not byte-level text: show it as it is
        }
    }
    if (lstrip && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
}

std::string vocab::detokenize(const token_id *ids, size_t n, bool remove_special, bool unparse_special) const {
    bool remove_space = add_space_prefix_;
    if (remove_special && add_bos && n > 0 && ids[0] == bos) {
        remove_space = false;
        ids++;
        n--;
    }
    if (remove_special && add_eos && n > 0 && ids[n - 1] == eos) n--;
    std::string text;
    for (size_t i = 0; i < n; i++) {
        text += token_to_piece(ids[i], unparse_special, remove_space);
        remove_space = false;
    }
    if (!clean_spaces_ || text.empty()) return text;
    // Clean-up of tokenizer artefacts, as Hugging Face's clean_up_tokenization does.
    std::string a;
    a += text[0];
    for (size_t i = 1; i < text.size(); i++) {
        const char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
        a += x;
    }
    std::string b;
    b += a[0];
    for (size_t i = 1; i < a.size(); i++) {
        const char x = a[i];
        if (x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
            b.pop_back(); // " ' " -> "'"
            b += x;
            i++;
            continue;
        }
        b += x;
    }
    std::string c;
    c += b[0];
    for (size_t i = 1; i < b.size(); i++) {
        const char x = b[i];
        if (b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
            const char x1 = b[i + 1];
            const char x2 = i + 2 < b.size() ? b[i + 2] : 0;
            if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) c.pop_back();
        }
        c += x;
    }
    return c;
}

} // namespace tern
