// test-batch.cpp — several sequences in one context: tern_decode_batch must give each sequence
// what it would get alone (same greedy tokens, logits within the prefill-vs-decode kernel
// tolerance), keep sequences apart, reject bad batches without changing anything, and
// tern_embed must give unit-length, input-dependent, batch-independent embeddings.
#include "test-util.h"

#include "tern.h"

#include <cmath>
#include <random>
#include <thread>
#include <string>
#include <vector>

namespace {

std::vector<int32_t> tokenize(tern_model *m, const std::string &s) {
    std::vector<int32_t> t(s.size() + 8);
    const int32_t n = tern_tokenize(m, s.c_str(), (int32_t)s.size(), t.data(), (int32_t)t.size(), true, false);
    REQUIRE(n > 0);
    t.resize((size_t)n);
    return t;
}

int argmax(const float *l, int V) {
    int b = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

// Greedy continuation of each prompt, one context per prompt (the reference).
std::vector<std::vector<int>> alone(tern_model *m, const std::vector<std::vector<int32_t>> &prompts, int steps,
                                    std::vector<std::vector<float>> *first_logits, bool invariant = false) {
    std::vector<std::vector<int>> out;
    const int V = tern_model_n_vocab(m);
    for (const auto &p : prompts) {
        tern_context_params cp = tern_context_default_params();
        cp.n_ctx = 256;
        cp.n_threads = 2;
        cp.batch_invariant = invariant;
        tern_context *c = nullptr;
        REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
        REQUIRE(tern_decode(c, p.data(), (int32_t)p.size(), false) == TERN_OK);
        first_logits->emplace_back(tern_get_logits(c, -1), tern_get_logits(c, -1) + V);
        std::vector<int> toks;
        for (int s = 0; s < steps; s++) {
            int32_t t = argmax(tern_get_logits(c, -1), V);
            toks.push_back(t);
            REQUIRE(tern_decode(c, &t, 1, false) == TERN_OK);
        }
        out.push_back(toks);
        tern_context_free(c);
    }
    return out;
}

// Sequence 1 gets the same tokens in two contexts whose other sequences get different ones (and
// sit at other columns of the pass): its logits must not depend on its neighbours (1e-4: the
// 2x2-tile kernels pair it with different columns).
void check_isolation(const std::string &path) {
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    const int V = tern_model_n_vocab(m);
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 2;
    cp.n_seq_max = 3;
    tern_context *a = nullptr, *b = nullptr;
    REQUIRE(tern_context_init(m, &cp, &a) == TERN_OK);
    REQUIRE(tern_context_init(m, &cp, &b) == TERN_OK);
    const auto mine = tokenize(m, "The dog ran to the"), x = tokenize(m, "Once upon a time, in a land far away,"),
               y = tokenize(m, "Hello"), z = tokenize(m, "Numbers: 1 2 3 4 5 6 7 8 9 10 11 12");
    auto feed = [&](tern_context *c, std::vector<std::pair<int, std::vector<int32_t>>> parts) {
        std::vector<int32_t> toks, ids;
        for (auto &p : parts)
            for (int32_t t : p.second) toks.push_back(t), ids.push_back(p.first);
        REQUIRE(tern_decode_batch(c, toks.data(), ids.data(), (int32_t)toks.size()) == TERN_OK);
    };
    feed(a, {{0, x}, {1, mine}, {2, y}});
    feed(b, {{1, mine}, {2, z}});
    for (int step = 0; step < 8; step++) {
        const float *la = tern_get_logits_seq(a, 1), *lb = tern_get_logits_seq(b, 1);
        REQUIRE(la);
        REQUIRE(lb);
        double d = 0;
        for (int i = 0; i < V; i++) d = std::max(d, (double)std::fabs(la[i] - lb[i]));
        CAPTURE(step);
        CHECK(d < 1e-4);
        const int32_t t = argmax(la, V);
        feed(a, {{0, {(int32_t)(step + 7)}}, {1, {t}}, {2, {(int32_t)(step + 9)}}});
        // Always two or more tokens per pass: a pass of one token takes the single-column kernels,
        // whose rounding differs (checked against each other in the kernels suite).
        if (step % 2) feed(b, {{2, {(int32_t)(step + 11)}}, {1, {t}}});
        else feed(b, {{1, {t}}, {0, {(int32_t)(step + 3)}}});
    }
    tern_context_free(a);
    tern_context_free(b);
    tern_model_free(m);
}

void check_batched_matches(const std::string &path, double tol, bool same_tokens = true, bool invariant = false) {
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), nullptr, &m) == TERN_OK);
    const int V = tern_model_n_vocab(m);
    const std::vector<std::string> texts = {"Once upon a time, there was a little", "The dog ran to the",
                                            "She liked to play with her ball in the park and"};
    std::vector<std::vector<int32_t>> prompts;
    for (auto &t : texts) prompts.push_back(tokenize(m, t));
    const int steps = 12;
    std::vector<std::vector<float>> ref_logits;
    const auto ref = alone(m, prompts, steps, &ref_logits, invariant);

    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 2;
    cp.batch_invariant = invariant;
    cp.n_seq_max = 4; // one sequence stays unused
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
    CHECK(tern_n_seq(c) == 4);
    // Prompts of sequences 2, 0, 1 in one pass (in that order: runs need not be sorted).
    std::vector<int32_t> toks, ids;
    for (int s : {2, 0, 1})
        for (int32_t t : prompts[(size_t)s]) toks.push_back(t), ids.push_back(s);
    REQUIRE(tern_decode_batch(c, toks.data(), ids.data(), (int32_t)toks.size()) == TERN_OK);
    CHECK(tern_get_logits_seq(c, 3) == nullptr);
    std::vector<std::vector<int>> got(3);
    for (int s = 0; s < 3; s++) {
        const float *l = tern_get_logits_seq(c, s);
        REQUIRE(l);
        double d = 0;
        for (int i = 0; i < V; i++) d = std::max(d, (double)std::fabs(l[i] - ref_logits[(size_t)s][(size_t)i]));
        CAPTURE(s);
        CHECK(d <= tol);
        CHECK(tern_seq_pos(c, s) == (int32_t)prompts[(size_t)s].size());
    }
    // Then all three decode together, one token each per pass.
    for (int step = 0; step < steps; step++) {
        toks.clear(), ids.clear();
        for (int s = 0; s < 3; s++) {
            const int32_t t = argmax(tern_get_logits_seq(c, s), V);
            got[(size_t)s].push_back(t);
            toks.push_back(t), ids.push_back(s);
        }
        REQUIRE(tern_decode_batch(c, toks.data(), ids.data(), 3) == TERN_OK);
    }
    for (int s = 0; s < 3; s++) {
        // The first token comes from the prompt's logits, compared above: a different choice is
        // only allowed where the alone run's logits made it a near tie (within tol).
        const std::vector<float> &rl = ref_logits[(size_t)s];
        CAPTURE(s);
        CHECK(rl[(size_t)got[(size_t)s][0]] >= rl[(size_t)ref[(size_t)s][0]] - tol);
        if (same_tokens) CHECK(got[(size_t)s] == ref[(size_t)s]);
    }
    CHECK(tern_seq_pos(c, 3) == 0);

    // Bad batches change nothing.
    const int32_t before = tern_seq_pos(c, 0);
    int32_t t2[2] = {1, 1}, bad_ids[2] = {0, 7};
    CHECK(tern_decode_batch(c, t2, bad_ids, 2) == TERN_ERR_INVALID_ARGUMENT);
    int32_t t3[3] = {1, 1, 1}, split_ids[3] = {0, 1, 0};
    CHECK(tern_decode_batch(c, t3, split_ids, 3) == TERN_ERR_INVALID_ARGUMENT);
    CHECK(std::string(tern_last_error()).find("not consecutive") != std::string::npos);
    CHECK(tern_seq_pos(c, 0) == before);
    // A sequence truncated and re-fed reproduces its logits.
    REQUIRE(tern_seq_truncate(c, 1, 0) == TERN_OK);
    std::vector<int32_t> ids1(prompts[1].size(), 1);
    REQUIRE(tern_decode_batch(c, prompts[1].data(), ids1.data(), (int32_t)ids1.size()) == TERN_OK);
    CHECK(argmax(tern_get_logits_seq(c, 1), V) == ref[1][0]);
    tern_context_free(c);
    tern_model_free(m);
}

} // namespace

TEST_SUITE("batch") {

TEST_CASE("several sequences in one pass match each sequence alone (stories260K)") {
    const std::string p = test_util::model_path("stories260K.gguf");
    SKIP_IF_MISSING(p);
    check_batched_matches(p, 1e-3);
    check_isolation(p);
}

TEST_CASE("several sequences in one pass match each sequence alone (SmolLM2 Q4_1)") {
    const std::string p = test_util::default_model();
    SKIP_IF_MISSING(p);
    // A pass of several tokens runs matmuls on the prefill path (f32 activations) and one token
    // alone on the decode path (q8 activations); on this 4-bit model the two differ by up to ~1
    // logit (as prefilling with n_batch 1 or 512 does), enough to flip near-tied greedy choices.
    // So sequences must be exactly independent of their neighbours in a pass...
    check_isolation(p);
    // ...and agree with a sequence decoded alone within that kernel difference.
    check_batched_matches(p, 2.0, false);
}

TEST_CASE("batch_invariant: a sequence's logits do not depend on batching or prompt splitting (SmolLM2 Q4_1)") {
    const std::string p = test_util::default_model();
    SKIP_IF_MISSING(p);
    // Alone (prompt in one pass, then one token per pass) and batched with two others (prompts
    // together, then three tokens per pass): identical greedy tokens, logits equal to rounding.
    check_batched_matches(p, 0.0, true, true);
    // A prompt decoded in one pass, or one token per pass, gives the same last logits.
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(p.c_str(), nullptr, &m) == TERN_OK);
    const auto toks = tokenize(m, "The dog ran to the park and then it");
    std::vector<std::vector<float>> out;
    for (uint32_t nb : {512u, 1u, 3u}) {
        tern_context_params cp = tern_context_default_params();
        cp.n_ctx = 64;
        cp.n_batch = nb;
        cp.batch_invariant = true;
        tern_context *c = nullptr;
        REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
        REQUIRE(tern_decode(c, toks.data(), (int32_t)toks.size(), false) == TERN_OK);
        out.emplace_back(tern_get_logits(c, -1), tern_get_logits(c, -1) + tern_model_n_vocab(m));
        tern_context_free(c);
    }
    for (size_t k = 1; k < out.size(); k++) {
        double d = 0;
        for (size_t i = 0; i < out[0].size(); i++) d = std::max(d, (double)std::fabs(out[0][i] - out[k][i]));
        CHECK(d == 0.0);
    }
    tern_model_free(m);
}

TEST_CASE("a sequence filling its context is an error naming it; the context full of one does not block others") {
    const std::string p = test_util::model_path("stories260K.gguf");
    SKIP_IF_MISSING(p);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(p.c_str(), nullptr, &m) == TERN_OK);
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 8;
    cp.n_seq_max = 2;
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
    std::vector<int32_t> toks(8, 5), ids(8, 1);
    REQUIRE(tern_decode_batch(c, toks.data(), ids.data(), 8) == TERN_OK);
    int32_t t[2] = {5, 5}, id[2] = {0, 1};
    CHECK(tern_decode_batch(c, t, id, 2) == TERN_ERR_CONTEXT_FULL);
    CHECK(std::string(tern_last_error()).find("sequence 1") != std::string::npos);
    CHECK(tern_seq_pos(c, 0) == 0);
    CHECK(tern_decode_batch(c, t, id, 1) == TERN_OK);
    CHECK(tern_seq_pos(c, 0) == 1);
    tern_context_free(c);
    tern_model_free(m);
}

TEST_CASE("embeddings: unit length, different for different texts, same in any sequence") {
    const std::string p = test_util::default_model();
    SKIP_IF_MISSING(p);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(p.c_str(), nullptr, &m) == TERN_OK);
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 128;
    cp.n_seq_max = 2;
    cp.n_batch = 4; // several passes per text
    tern_context *c = nullptr;
    REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
    const int E = tern_model_n_embd(m);
    auto embed = [&](const std::string &s, int seq) {
        std::vector<float> e((size_t)E);
        const auto t = tokenize(m, s);
        REQUIRE(tern_embed(c, seq, t.data(), (int32_t)t.size(), e.data()) == TERN_OK);
        return e;
    };
    auto dot = [](const std::vector<float> &a, const std::vector<float> &b) {
        double d = 0;
        for (size_t i = 0; i < a.size(); i++) d += (double)a[i] * b[i];
        return d;
    };
    const auto a = embed("The cat sat on the mat.", 0), a1 = embed("The cat sat on the mat.", 1);
    const auto b = embed("Quarterly revenue grew by eight percent.", 0);
    CHECK(std::fabs(dot(a, a) - 1.0) < 1e-4);
    CHECK(dot(a, a1) > 0.9999);
    CHECK(dot(a, b) < 0.99);
    CHECK(tern_seq_pos(c, 0) == 0);
    tern_context_free(c);
    tern_model_free(m);
}

} // TEST_SUITE

TEST_SUITE("batch") {

TEST_CASE("sequence state: save, restore in another context or sequence, continue identically; bad states refused") {
    const std::string p = test_util::default_model();
    SKIP_IF_MISSING(p);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(p.c_str(), nullptr, &m) == TERN_OK);
    const int V = tern_model_n_vocab(m);
    for (tern_kv_type kt : {TERN_KV_F16, TERN_KV_KIVI2}) {
        CAPTURE((int)kt);
        tern_context_params cp = tern_context_default_params();
        cp.n_ctx = 256;
        cp.n_seq_max = 2;
        cp.kv_type = kt;
        cp.batch_invariant = true;
        tern_context *a = nullptr, *b = nullptr;
        REQUIRE(tern_context_init(m, &cp, &a) == TERN_OK);
        REQUIRE(tern_context_init(m, &cp, &b) == TERN_OK);
        // 70 tokens: with kivi2, some are quantized into the main store, some still in the residual.
        std::string text = "The dog ran to the park. ";
        for (int i = 0; i < 3; i++) text += text;
        const auto toks = tokenize(m, text);
        REQUIRE(toks.size() > 40);
        REQUIRE(tern_decode(a, toks.data(), (int32_t)toks.size(), false) == TERN_OK);
        const size_t n = tern_seq_state_get(a, 0, nullptr, 0);
        REQUIRE(n > 0);
        std::vector<uint8_t> st(n);
        REQUIRE(tern_seq_state_get(a, 0, st.data(), n) == n);
        auto greedy = [&](tern_context *c, int seq, int steps) {
            std::vector<int> out;
            for (int i = 0; i < steps; i++) {
                const float *l = seq == 0 ? tern_get_logits(c, -1) : tern_get_logits_seq(c, seq);
                REQUIRE(l);
                int32_t t = argmax(l, V);
                out.push_back(t);
                if (seq == 0) REQUIRE(tern_decode(c, &t, 1, false) == TERN_OK);
                else REQUIRE(tern_decode_batch(c, &t, &seq, 1) == TERN_OK);
            }
            return out;
        };
        const auto ref = greedy(a, 0, 10);
        REQUIRE(tern_seq_state_set(b, 0, st.data(), st.size()) == TERN_OK); // another context
        CHECK(tern_context_pos(b) == (int32_t)toks.size());
        CHECK(greedy(b, 0, 10) == ref);
        REQUIRE(tern_seq_state_set(b, 1, st.data(), st.size()) == TERN_OK); // another sequence
        CHECK(greedy(b, 1, 10) == ref);
        REQUIRE(tern_seq_state_set(a, 0, st.data(), st.size()) == TERN_OK); // back in time
        CHECK(greedy(a, 0, 10) == ref);
        // Damaged states are refused and change nothing.
        const int32_t before = tern_seq_pos(b, 1);
        CHECK(tern_seq_state_set(b, 1, st.data(), st.size() / 2) == TERN_ERR_INVALID_ARGUMENT);
        std::vector<uint8_t> bad = st;
        bad[3] ^= 0x55;
        CHECK(tern_seq_state_set(b, 1, bad.data(), bad.size()) == TERN_ERR_INVALID_ARGUMENT);
        bad = st;
        bad.push_back(0);
        CHECK(tern_seq_state_set(b, 1, bad.data(), bad.size()) == TERN_ERR_INVALID_ARGUMENT);
        std::mt19937 rng(3);
        for (int it = 0; it < 200; it++) { // random byte flips past the logits: refused or restored, never a crash
            bad = st;
            bad[bad.size() - 1 - rng() % std::min<size_t>(bad.size() - 1, 4096)] ^= (uint8_t)(1 + rng() % 255);
            (void)tern_seq_state_set(b, 1, bad.data(), bad.size());
        }
        REQUIRE(tern_seq_state_set(b, 1, st.data(), st.size()) == TERN_OK);
        CHECK(tern_seq_pos(b, 1) == (int32_t)toks.size());
        (void)before;
        // A context with another KV format cannot take it.
        tern_context_params cp2 = cp;
        cp2.kv_type = kt == TERN_KV_F16 ? TERN_KV_Q8_0 : TERN_KV_F16;
        tern_context *c2 = nullptr;
        REQUIRE(tern_context_init(m, &cp2, &c2) == TERN_OK);
        CHECK(tern_seq_state_set(c2, 0, st.data(), st.size()) == TERN_ERR_INVALID_ARGUMENT);
        CHECK(std::string(tern_last_error()).find("KV format") != std::string::npos);
        tern_context_free(c2);
        tern_context_free(a);
        tern_context_free(b);
    }
    tern_model_free(m);
}

TEST_CASE("two contexts on one model generate concurrently from two threads, as one at a time") {
    const std::string p = test_util::default_model();
    SKIP_IF_MISSING(p);
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(p.c_str(), nullptr, &m) == TERN_OK);
    const std::vector<std::string> prompts = {"Once upon a time, there was a little", "The capital of France is"};
    auto generate = [&](const std::string &prompt) {
        tern_context_params cp = tern_context_default_params();
        cp.n_ctx = 128;
        cp.n_threads = 1;
        tern_context *c = nullptr;
        REQUIRE(tern_context_init(m, &cp, &c) == TERN_OK);
        auto t = tokenize(m, prompt);
        REQUIRE(tern_decode(c, t.data(), (int32_t)t.size(), false) == TERN_OK);
        std::vector<int> out;
        for (int i = 0; i < 24; i++) {
            int32_t x = argmax(tern_get_logits(c, -1), tern_model_n_vocab(m));
            out.push_back(x);
            REQUIRE(tern_decode(c, &x, 1, false) == TERN_OK);
        }
        tern_context_free(c);
        return out;
    };
    const auto r0 = generate(prompts[0]), r1 = generate(prompts[1]);
    std::vector<int> c0, c1;
    std::thread t0([&] { c0 = generate(prompts[0]); });
    std::thread t1([&] { c1 = generate(prompts[1]); });
    t0.join();
    t1.join();
    CHECK(c0 == r0);
    CHECK(c1 == r1);
    tern_model_free(m);
}

} // TEST_SUITE
