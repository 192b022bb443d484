// test-util.h — shared helpers: where ../shared lives, JSON loading, visible skips, random values.
#pragma once

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <unistd.h>

namespace test_util {

inline std::string shared_dir() {
    if (const char *e = std::getenv("TERN_SHARED"); e && *e) return e;
    return TERN_SHARED_DIR;
}
inline bool file_exists(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}
inline std::string model_path(const std::string &name) { return shared_dir() + "/models/" + name; }
inline std::string golden_path(const std::string &name) { return shared_dir() + "/golden/" + name; }

inline nlohmann::json load_json(const std::string &p) {
    std::ifstream f(p);
    return nlohmann::json::parse(f);
}

inline std::string default_model() {
    std::string base;
    if (const char *c = std::getenv("TERN_CACHE"); c && *c) base = c;
    else base = std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.cache/tern";
    return base + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// A scratch file path unique to this process (tests remove what they write).
inline std::string temp_path(const std::string &name) {
    const char *t = std::getenv("TMPDIR");
    return std::string(t && *t ? t : "/tmp") + "/tern-test-" + std::to_string((long)getpid()) + "-" + name;
}

// n normally distributed values (mean, sd), the same for the same seed.
inline std::vector<float> randv(size_t n, uint32_t seed, float sd = 1.0f, float mean = 0.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(mean, sd);
    std::vector<float> v(n);
    for (auto &x : v) x = nd(rng);
    return v;
}

} // namespace test_util

// A test that needs a file that is absent says so, loudly, and passes nothing silently.
#define SKIP_IF_MISSING(path)                                                                      \
    if (!test_util::file_exists(path)) {                                                           \
        std::fprintf(stderr, "SKIPPED %s: %s is absent\n", doctest::getContextOptions() ? __func__ : "", \
                     std::string(path).c_str());                                                   \
        MESSAGE("SKIPPED: " << path << " is absent");                                              \
        return;                                                                                    \
    }
