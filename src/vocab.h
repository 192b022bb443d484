// vocab.h — tokenizers as GGUF describes them.
//
// `tokenizer.ggml.model` = "llama": SentencePiece-style (score-driven bigram merges over UTF-8
// characters, spaces as U+2581, byte fallback to <0xXX>); "gpt2": byte-level BPE (text split
// by the pre-tokenizer regexes `tokenizer.ggml.pre` names, run through PCRE2, then merged by
// rank). Special tokens are matched in the raw text first (control tokens only when
// parse_special is set; user-defined tokens always), longest first.
#pragma once

#include "ggml/gguf.h"
#include "ggml/status.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tern {

using token_id = int32_t;

enum class vocab_kind { none, spm, bpe };

// GGUF token types.
enum token_type : int32_t {
    token_type_normal = 1, token_type_unknown = 2, token_type_control = 3,
    token_type_user_defined = 4, token_type_unused = 5, token_type_byte = 6,
};

struct pretok; // compiled pre-tokenizer regexes (vocab-bpe.cpp)

class vocab {
  public:
    vocab();
    ~vocab();
    status load(const gguf_file &f);

    std::vector<token_id> tokenize(const std::string &text, bool add_special, bool parse_special) const;
    // Bytes of one token; lstrip drops one leading space.
    std::string token_to_piece(token_id id, bool special, bool lstrip = false) const;
    std::string detokenize(const token_id *ids, size_t n, bool remove_special, bool unparse_special) const;

    int32_t n_tokens() const { return (int32_t)texts_.size(); }
    bool valid(token_id id) const { return id >= 0 && id < n_tokens(); }
    bool is_eog(token_id id) const;
    bool is_control(token_id id) const { return valid(id) && types_[id] == token_type_control; }
    vocab_kind kind() const { return kind_; }
    const std::string &text(token_id id) const { return texts_[id]; }
    token_id find(const std::string &text) const;

    token_id bos = -1, eos = -1, eot = -1, unk = -1;
    bool add_bos = false, add_eos = false;

  private:
    void tokenize_spm(const std::string &text, std::vector<token_id> &out) const;
    void tokenize_bpe(const std::string &text, std::vector<token_id> &out) const;
    void byte_fallback(const std::string &piece, std::vector<token_id> &out) const;
    int bpe_rank(const std::string &left, const std::string &right) const;

    vocab_kind kind_ = vocab_kind::none;
    std::vector<std::string> texts_;
    std::vector<float> scores_;
    std::vector<int32_t> types_;
    std::vector<uint8_t> rstrip_; // 1: whitespace after this special token is dropped
    std::unordered_map<std::string, token_id> index_;
    std::unordered_map<std::string, int> merges_; // "left right" -> rank
    std::vector<token_id> specials_;              // control/user-defined/unknown, longest text first
    std::vector<token_id> eog_;
    token_id byte_tokens_[256];
    bool add_space_prefix_ = true;
    bool ignore_merges_ = false;
    bool clean_spaces_ = true;
    std::unique_ptr<pretok> pre_;
};

} // namespace tern
