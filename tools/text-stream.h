// text-stream.h — turns generated token pieces into text that is safe to show: only complete
// UTF-8 characters, and never the start of a stop string before it is known not to be one.
#pragma once

#include <string>
#include <vector>

namespace tern_cli {

class text_stream {
  public:
    explicit text_stream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}

    // Adds a token's bytes. Returns the text that can be shown now; *stopped is set when a stop
    // string appeared (the returned text then ends just before it and nothing more comes).
    std::string put(const std::string &piece, bool *stopped) {
        *stopped = false;
        if (done_) return "";
        text_ += piece;
        // A stop string may straddle pieces: search from where one could begin.
        size_t cut = std::string::npos;
        for (const std::string &s : stops_) {
            if (s.empty()) continue;
            const size_t from = shown_ >= s.size() ? shown_ - s.size() + 1 : 0;
            const size_t p = text_.find(s, from);
            if (p != std::string::npos && p < cut) cut = p;
        }
        if (cut != std::string::npos) {
            done_ = true;
            *stopped = true;
            std::string out = cut > shown_ ? text_.substr(shown_, cut - shown_) : "";
            text_.resize(std::max(cut, shown_));
            shown_ = text_.size();
            return out;
        }
        // Hold back a suffix that could still grow into a stop string, and a partial character.
        size_t hold = 0;
        for (const std::string &s : stops_)
            for (size_t k = std::min(s.size() - 1, text_.size() - shown_); k > hold; k--)
                if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
                    hold = k;
                    break;
                }
        size_t end = text_.size() - hold;
        end = complete_utf8(end);
        std::string out = end > shown_ ? text_.substr(shown_, end - shown_) : "";
        shown_ = std::max(shown_, end);
        return out;
    }
    // The rest at the end of generation (a partial character or a held-back prefix).
    std::string flush() {
        std::string out = done_ ? "" : text_.substr(shown_);
        shown_ = text_.size();
        return out;
    }
    // Everything generated, less a stop string and what followed it.
    const std::string &text() const { return text_; }

  private:
    // The largest e <= end that does not split a UTF-8 sequence.
    size_t complete_utf8(size_t end) const {
        for (size_t back = 1; back <= 4 && back <= end; back++) {
            const unsigned char c = (unsigned char)text_[end - back];
            if ((c & 0xC0) == 0x80) continue;
            const size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return need > back ? end - back : end;
        }
        return end;
    }
    std::vector<std::string> stops_;
    std::string text_;
    size_t shown_ = 0;
    bool done_ = false;
};

} // namespace tern_cli
