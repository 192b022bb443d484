// test-sampling.cpp — the sampler chain: greedy, filters, penalties, and seeded determinism.
#include "test-util.h"

#include "tern.h"

#include <cmath>
#include <map>
#include <vector>

namespace {
struct sampler {
    tern_sampler *s = nullptr;
    explicit sampler(const tern_sampler_params &p) { REQUIRE(tern_sampler_init(&p, &s) == TERN_OK); }
    ~sampler() { tern_sampler_free(s); }
};
tern_sampler_params greedy() {
    tern_sampler_params p = tern_sampler_default_params();
    p.temperature = 0;
    return p;
}
} // namespace

TEST_SUITE("sampling") {

TEST_CASE("greedy picks the argmax, lowest id on ties") {
    sampler s(greedy());
    std::vector<float> l = {0.1f, 3.0f, -2.0f, 3.0f, 1.0f};
    CHECK(tern_sampler_sample(s.s, l.data(), 5) == 1);
}

TEST_CASE("same seed, same tokens; different seed, different tokens") {
    std::vector<float> l(100);
    for (int i = 0; i < 100; i++) l[i] = std::sin(i * 0.7f) * 2.0f;
    auto draw = [&](uint64_t seed) {
        tern_sampler_params p = tern_sampler_default_params();
        p.seed = seed;
        p.temperature = 1.0f;
        p.top_k = 0;
        p.top_p = 1.0f;
        p.min_p = 0.0f;
        sampler s(p);
        std::vector<int> v;
        for (int i = 0; i < 200; i++) v.push_back(tern_sampler_sample(s.s, l.data(), 100));
        return v;
    };
    CHECK(draw(42) == draw(42));
    CHECK(draw(42) != draw(43));
}

TEST_CASE("draws follow softmax(logits / T)") {
    std::vector<float> l = {0.0f, 1.0f, 2.0f};
    tern_sampler_params p = tern_sampler_default_params();
    p.seed = 1;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    sampler s(p);
    std::map<int, int> count;
    const int N = 20000;
    for (int i = 0; i < N; i++) count[tern_sampler_sample(s.s, l.data(), 3)]++;
    const double z = 1 + std::exp(1.0) + std::exp(2.0);
    for (int k = 0; k < 3; k++) CHECK(count[k] / (double)N == doctest::Approx(std::exp((double)k) / z).epsilon(0.05));
}

TEST_CASE("top-k, top-p and min-p restrict the candidates") {
    std::vector<float> l = {5.0f, 4.9f, 4.8f, 0.0f, -1.0f, -3.0f};
    auto support = [&](tern_sampler_params p) {
        p.seed = 3;
        p.temperature = 1.0f;
        sampler s(p);
        std::map<int, int> c;
        for (int i = 0; i < 3000; i++) c[tern_sampler_sample(s.s, l.data(), 6)]++;
        return c;
    };
    tern_sampler_params p = tern_sampler_default_params();
    p.top_k = 2, p.top_p = 1.0f, p.min_p = 0.0f;
    auto c = support(p);
    CHECK(c.size() == 2);
    CHECK(c.count(0));
    CHECK(c.count(1));
    p.top_k = 0, p.top_p = 0.5f;
    c = support(p);
    CHECK(c.size() == 2); // 0.36 + 0.33 >= 0.5
    p.top_p = 1.0f, p.min_p = 0.5f;
    c = support(p);
    CHECK(c.size() == 3);
    CHECK(!c.count(3));
    p.top_k = 1, p.min_p = 0.0f;
    c = support(p);
    CHECK(c.size() == 1);
}

TEST_CASE("repetition, frequency and presence penalties") {
    std::vector<float> l = {2.0f, 1.9f, 0.0f};
    tern_sampler_params p = greedy();
    p.repeat_penalty = 1.2f;
    sampler s(p);
    CHECK(tern_sampler_sample(s.s, l.data(), 3) == 0);
    tern_sampler_accept(s.s, 0);
    CHECK(tern_sampler_sample(s.s, l.data(), 3) == 1); // 2.0/1.2 < 1.9
    tern_sampler_reset(s.s);
    CHECK(tern_sampler_sample(s.s, l.data(), 3) == 0);

    tern_sampler_params q = greedy();
    q.frequency_penalty = 0.06f;
    sampler f(q);
    tern_sampler_accept(f.s, 0);
    CHECK(tern_sampler_sample(f.s, l.data(), 3) == 0); // 2.0 - 0.06 > 1.9
    tern_sampler_accept(f.s, 0);
    CHECK(tern_sampler_sample(f.s, l.data(), 3) == 1); // 2.0 - 0.12 < 1.9

    tern_sampler_params r = greedy();
    r.presence_penalty = 0.5f;
    sampler pr(r);
    tern_sampler_accept(pr.s, 0);
    tern_sampler_accept(pr.s, 0);
    CHECK(tern_sampler_sample(pr.s, l.data(), 3) == 1);
}
}
