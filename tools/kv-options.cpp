// kv-options.cpp — see kv-options.h.
#include "kv-options.h"

#include <cstdio>

namespace tern_cli {

void add_kv_options(CLI::App *c, kv_opts *o) {
    c->add_option("--kv-type", o->type, "KV cache format: f16, f32, q8_0, q4_0, kivi4, kivi2")->capture_default_str();
    c->add_option("--kv-policy", o->policy, "which tokens the KV cache keeps: all, window (sinks + recent), h2o, snapkv")
        ->capture_default_str();
    c->add_option("--kv-budget", o->budget, "tokens kept per head with a policy (0: half the context)")->check(CLI::Range(0, 1 << 24));
    c->add_option("--kv-sinks", o->sinks, "window policy: first tokens always kept")->check(CLI::Range(0, 1 << 20))->capture_default_str();
    c->add_option("--kv-residual", o->residual, "KIVI: recent tokens kept in f16 (>= 32)")->check(CLI::Range(32, 4096))->capture_default_str();
}

bool apply_kv_options(const kv_opts &o, tern_context_params *p) {
    if (!tern_kv_type_parse(o.type.c_str(), &p->kv_type)) {
        std::fprintf(stderr, "tern: error: unknown --kv-type '%s' (f16, f32, q8_0, q4_0, kivi4, kivi2)\n", o.type.c_str());
        return false;
    }
    if (!tern_kv_policy_parse(o.policy.c_str(), &p->kv_policy)) {
        std::fprintf(stderr, "tern: error: unknown --kv-policy '%s' (all, window, h2o, snapkv)\n", o.policy.c_str());
        return false;
    }
    p->kv_budget = o.budget;
    p->kv_sinks = o.sinks;
    p->kv_residual = o.residual;
    return true;
}

std::string kv_label(const kv_opts &o) {
    if (o.policy == "all") return o.type;
    return o.type + "+" + o.policy + (o.budget ? "/" + std::to_string(o.budget) : "");
}

} // namespace tern_cli
