// status.h — errors as values inside tern.
//
// Every fallible internal function returns `status` (a code plus a message). TERN_CHECK_OR_RETURN
// turns a failed condition into an early return with a formatted message. Asserts are kept for
// internal invariants only; anything that comes from a file or a user goes through here.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>

namespace tern {

enum class code : int {
    ok = 0,
    invalid_argument = 1, // caller passed something wrong
    io = 2,               // open/read/mmap failed
    bad_format = 3,       // file contents malformed, truncated or hostile
    unsupported = 4,      // valid but not implemented (unknown arch or type)
    out_of_memory = 5,
    context_full = 6,     // prompt or generation does not fit the context
    aborted = 7,
    internal = 8,
};

class status {
  public:
    status() = default;
    status(code c, std::string msg) : code_(c), msg_(std::move(msg)) {}
    static status ok() { return {}; }
    bool is_ok() const { return code_ == code::ok; }
    explicit operator bool() const { return is_ok(); }
    code err() const { return code_; }
    const std::string &message() const { return msg_; }

  private:
    code code_ = code::ok;
    std::string msg_;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
inline status make_status(code c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return status(c, buf);
}

} // namespace tern

#define TERN_CHECK_OR_RETURN(cond, c, ...)                                                         \
    do {                                                                                           \
        if (!(cond)) return ::tern::make_status((c), __VA_ARGS__);                                 \
    } while (0)

#define TERN_RETURN_IF_ERROR(expr)                                                                 \
    do {                                                                                           \
        ::tern::status _st = (expr);                                                               \
        if (!_st.is_ok()) return _st;                                                              \
    } while (0)
