// sampling.cpp — the sampler chain: penalties -> (greedy | top-k -> top-p -> min-p ->
// temperature -> seeded draw). The RNG is our own splitmix64 so a seed gives the same tokens on
// every platform and standard library.
#include "runtime.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace tern {

namespace {

uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

struct cand {
    int32_t id;
    float logit;
    float p;
};

} // namespace

tern_token sampler_sample(tern_sampler *s, const float *logits, int32_t n_vocab) {
    const tern_sampler_params &p = s->params;
    std::vector<cand> c(n_vocab);
    for (int32_t i = 0; i < n_vocab; i++) c[i] = {i, logits[i], 0.0f};

    // Penalties over the last penalty_last_n accepted tokens.
    if (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
        std::unordered_map<int32_t, int> count;
        const size_t n_last = p.penalty_last_n < 0 ? s->history.size()
                                                   : std::min<size_t>(s->history.size(), (size_t)p.penalty_last_n);
        for (size_t i = s->history.size() - n_last; i < s->history.size(); i++) count[s->history[i]]++;
        for (const auto &kv : count) {
            if (kv.first < 0 || kv.first >= n_vocab) continue;
            float &l = c[kv.first].logit;
            if (p.repeat_penalty != 1.0f && p.repeat_penalty > 0.0f) l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
            l -= (float)kv.second * p.frequency_penalty + (kv.second > 0 ? p.presence_penalty : 0.0f);
        }
    }

    if (p.temperature <= 0.0f) {
        // Greedy: highest logit, lowest id on ties.
        return std::max_element(c.begin(), c.end(), [](const cand &a, const cand &b) { return a.logit < b.logit; })->id;
    }

    auto by_logit = [](const cand &a, const cand &b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
    size_t n = c.size();
    if (p.top_k > 0 && (size_t)p.top_k < n) {
        std::partial_sort(c.begin(), c.begin() + p.top_k, c.end(), by_logit);
        n = (size_t)p.top_k;
    } else {
        std::sort(c.begin(), c.end(), by_logit);
    }
    c.resize(n);
    auto softmax = [&](float temp) {
        const float mx = c[0].logit;
        double sum = 0.0;
        for (auto &x : c) sum += (x.p = std::exp((x.logit - mx) / temp));
        for (auto &x : c) x.p = (float)(x.p / sum);
    };
    softmax(1.0f);
    if (p.top_p < 1.0f) {
        double cum = 0.0;
        size_t keep = c.size();
        for (size_t i = 0; i < c.size(); i++) {
            cum += c[i].p;
            if (cum >= p.top_p) {
                keep = i + 1;
                break;
            }
        }
        c.resize(std::max<size_t>(1, keep));
    }
    if (p.min_p > 0.0f) {
        const float thresh = c[0].p * p.min_p;
        size_t keep = 1;
        while (keep < c.size() && c[keep].p >= thresh) keep++;
        c.resize(keep);
    }
    softmax(p.temperature);
    double r = uniform01(&s->rng_state);
    for (const auto &x : c) {
        r -= x.p;
        if (r <= 0.0) return x.id;
    }
    return c.back().id;
}

} // namespace tern
