// progress.h — a one-line progress bar on stderr for long file jobs (quantize, synth). On a
// terminal it redraws in place; otherwise it prints a line per tenth of the work.
#pragma once

#include <cstdio>
#include <string>
#include <unistd.h>

namespace tern_cli {

struct progress_bar {
    bool tty = isatty(2);
    int last_decile = -1;
    void update(size_t done, size_t total, const std::string &what) {
        const int width = 30, filled = total ? (int)(width * done / total) : width;
        if (tty) {
            std::fprintf(stderr, "\r[%s%s] %zu/%zu %-60.60s", std::string(filled, '#').c_str(),
                         std::string(width - filled, '.').c_str(), done, total, what.c_str());
        } else {
            const int decile = total ? (int)(10 * done / total) : 10;
            if (decile != last_decile) std::fprintf(stderr, "  %3d%% %zu/%zu %s\n", decile * 10, done, total, what.c_str());
            last_decile = decile;
        }
        std::fflush(stderr);
    }
    void finish() {
        if (tty) std::fprintf(stderr, "\n");
    }
};

} // namespace tern_cli
