// test-cli.cpp — the tern binary as a user runs it: output, exit codes and one-line errors.
#include "test-util.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>

namespace {
struct result {
    int code;
    std::string out; // stdout + stderr
};
result sh(const std::string &args) {
    const char *bin = std::getenv("TERN_BIN"); // a relocated build (e.g. on another machine) names its binary
    const std::string cmd = std::string(bin && *bin ? bin : TERN_BIN) + " " + args + " 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int st = pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
const std::string k_stories = test_util::model_path("stories260K.gguf");
} // namespace

TEST_SUITE("cli") {

TEST_CASE("tern run streams the greedy continuation and reports speed") {
    SKIP_IF_MISSING(k_stories);
    const result r = sh("run -m " + k_stories + " -p 'Once upon a time' -n 32 --temp 0 -t 2");
    CHECK(r.code == 0);
    CHECK(r.out.find("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One "
                     "day, she saw") != std::string::npos);
    CHECK(r.out.find("generation 32 tokens") != std::string::npos);
    CHECK(r.out.find("tok/s") != std::string::npos);
}

TEST_CASE("errors are one clear line and a non-zero exit") {
    result r = sh("run -m /nonexistent.gguf -p hi");
    CHECK(r.code != 0);
    CHECK(r.out.find("cannot open '/nonexistent.gguf'") != std::string::npos);
    r = sh("run --no-such-flag");
    CHECK(r.code != 0);
    CHECK(r.out.find("no-such-flag") != std::string::npos);
    r = sh("info /etc/passwd");
    CHECK(r.code != 0);
    CHECK(r.out.find("not a GGUF file") != std::string::npos);
    SKIP_IF_MISSING(k_stories);
    std::string long_prompt;
    for (int i = 0; i < 100; i++) long_prompt += "the cat sat on the mat ";
    r = sh("run -m " + k_stories + " -c 64 -p '" + long_prompt + "'");
    CHECK(r.code != 0);
    CHECK(r.out.find("the context only 64") != std::string::npos);
}

TEST_CASE("tern info prints metadata and the tensor table") {
    SKIP_IF_MISSING(k_stories);
    const result r = sh("info " + k_stories);
    CHECK(r.code == 0);
    CHECK(r.out.find("general.architecture") != std::string::npos);
    CHECK(r.out.find("[512 x string]") != std::string::npos);
    CHECK(r.out.find("token_embd.weight") != std::string::npos);
    CHECK(r.out.find("48 tensors") != std::string::npos);
}
}
