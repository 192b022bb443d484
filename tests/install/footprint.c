/* footprint.c — what tern itself costs in memory beyond the weights and the KV cache.
 *
 *   footprint MODEL.gguf [N_CTX]
 *
 * Loads the model, creates a context, runs a 64-token prompt and 32 generated tokens, then reads
 * /proc/self/status: RssFile is the mapped weights the OS paged in, RssAnon the process's own
 * memory. tern's overhead = RssAnon - KV cache allocation - the same process's RssAnon before
 * loading (the C runtime). Prints one JSON line. */
#include <tern.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    const size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const long anon0 = status_kib("RssAnon");
    tern_model *m = NULL;
    if (tern_model_load(argv[1], NULL, &m) != TERN_OK) return 1;
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = argc > 2 ? (uint32_t)atoi(argv[2]) : 2048;
    tern_context *c = NULL;
    if (tern_context_init(m, &cp, &c) != TERN_OK) return 1;
    tern_token toks[64];
    for (int i = 0; i < 64; i++) toks[i] = 100 + i;
    if (tern_decode(c, toks, 64, false) != TERN_OK) return 1;
    for (int i = 0; i < 32; i++) {
        const float *l = tern_get_logits(c, -1);
        tern_token best = 0;
        for (int v = 1; v < tern_model_n_vocab(m); v++)
            if (l[v] > l[best]) best = v;
        if (tern_decode(c, &best, 1, false) != TERN_OK) return 1;
    }
    const long anon = status_kib("RssAnon"), file = status_kib("RssFile"), hwm = status_kib("VmHWM");
    const tern_kv_stats ks = tern_context_kv_stats(c, 0);
    const double kv_mib = ks.bytes_allocated / 1048576.0;
    const double logits_mib = 2.0 * tern_model_n_vocab(m) * 4 / 1048576.0;
    printf("{\"model_mib\": %.1f, \"n_ctx\": %u, \"rss_file_mib\": %.1f, \"rss_anon_mib\": %.1f, \"kv_cache_mib\": %.1f, "
           "\"crt_mib\": %.1f, \"tern_overhead_mib\": %.1f, \"logits_mib\": %.1f, \"peak_rss_mib\": %.1f}\n",
           tern_model_size_bytes(m) / 1048576.0, tern_n_ctx(c), file / 1024.0, anon / 1024.0, kv_mib, anon0 / 1024.0,
           (anon - anon0) / 1024.0 - kv_mib, logits_mib, hwm / 1024.0);
    tern_context_free(c);
    tern_model_free(m);
    return 0;
}
