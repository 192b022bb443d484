// log.cpp — logging (the only global state: the callback) and per-thread last-error text.
#include "runtime.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace tern {

namespace {
std::mutex g_log_mutex;
tern_log_callback g_log_cb = nullptr;
void *g_log_data = nullptr;
thread_local std::string t_last_error;
} // namespace

tern_status set_error(const status &st) {
    t_last_error = st.message();
    return (tern_status)st.err();
}

void log_msg(tern_log_level level, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    std::lock_guard<std::mutex> lock(g_log_mutex);
    if (g_log_cb) g_log_cb(level, buf, g_log_data);
    else if (level <= TERN_LOG_WARN) std::fprintf(stderr, "tern: %s\n", buf);
}

const char *last_error_text() { return t_last_error.c_str(); }

void log_set(tern_log_callback cb, void *data) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_cb = cb;
    g_log_data = data;
}

} // namespace tern
