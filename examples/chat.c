/* chat.c — a streaming chat with libtern, in C99.
 *
 *   cc chat.c $(pkg-config --cflags --libs tern) -o chat
 *   ./chat MODEL.gguf            (one user turn per line on stdin; answers stream to stdout)
 *
 * Every turn renders the whole conversation with the model's chat template, keeps the tokens the
 * KV cache already holds (the common prefix) and decodes only the rest. */
#include <tern.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSGS 64

static char *dup_str(const char *s) {
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf < conversation.txt\n", argv[0]);
        return 2;
    }
    tern_model *model = NULL;
    if (tern_model_load(argv[1], NULL, &model) != TERN_OK) {
        fprintf(stderr, "chat: %s\n", tern_last_error());
        return 1;
    }
    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 2048;
    tern_context *ctx = NULL;
    if (tern_context_init(model, &cp, &ctx) != TERN_OK) {
        fprintf(stderr, "chat: %s\n", tern_last_error());
        tern_model_free(model);
        return 1;
    }
    tern_sampler_params sp = tern_sampler_default_params();
    sp.temperature = 0.0f;
    tern_sampler *smpl = NULL;
    tern_sampler_init(&sp, &smpl);

    tern_chat_message msgs[MAX_MSGS];
    size_t n_msgs = 0;
    msgs[n_msgs].role = "system";
    msgs[n_msgs++].content = dup_str("You are a helpful assistant.");
    tern_token *cached = malloc(sizeof(tern_token) * cp.n_ctx);
    int32_t n_cached = 0;
    char line[4096];
    int status = 0;
    while (n_msgs + 2 <= MAX_MSGS && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        msgs[n_msgs].role = "user";
        msgs[n_msgs++].content = dup_str(line);

        /* Render the conversation and tokenize it. */
        const int32_t plen = tern_chat_apply_template(model, NULL, msgs, n_msgs, true, NULL, 0);
        char *prompt = malloc((size_t)plen + 1);
        tern_chat_apply_template(model, NULL, msgs, n_msgs, true, prompt, plen + 1);
        tern_token *toks = malloc(sizeof(tern_token) * ((size_t)plen + 8));
        int32_t n = tern_tokenize(model, prompt, plen, toks, plen + 8, true, true);
        free(prompt);
        /* The rendered template may start with the BOS text itself: keep a single BOS. */
        if (n >= 2 && toks[0] == tern_token_bos(model) && toks[1] == toks[0]) memmove(toks, toks + 1, sizeof(tern_token) * (size_t)--n);
        if (n <= 0 || n + 1 >= (int32_t)cp.n_ctx) {
            fprintf(stderr, "chat: the conversation does not fit the context\n");
            free(toks);
            status = 1;
            break;
        }
        /* Keep what the cache already holds; decode the rest. */
        int32_t keep = 0;
        while (keep < n_cached && keep < n && cached[keep] == toks[keep]) keep++;
        if (keep == n) keep--;
        tern_context_truncate(ctx, keep);
        if (tern_decode(ctx, toks + keep, n - keep, false) != TERN_OK) {
            fprintf(stderr, "chat: %s\n", tern_last_error());
            free(toks);
            status = 1;
            break;
        }
        memcpy(cached, toks, sizeof(tern_token) * (size_t)n);
        n_cached = n;
        free(toks);

        /* Stream the answer. */
        char *answer = calloc(1, 1);
        size_t alen = 0;
        for (int i = 0; i < 200 && n_cached + 1 < (int32_t)cp.n_ctx; i++) {
            const tern_token t = tern_sampler_sample(smpl, tern_get_logits(ctx, -1), tern_model_n_vocab(model));
            if (tern_token_is_eog(model, t)) break;
            char piece[128];
            const int32_t k = tern_token_to_piece(model, t, piece, sizeof piece, false);
            if (k > 0) {
                fwrite(piece, 1, (size_t)k, stdout);
                fflush(stdout);
                answer = realloc(answer, alen + (size_t)k + 1);
                memcpy(answer + alen, piece, (size_t)k);
                alen += (size_t)k;
                answer[alen] = '\0';
            }
            if (tern_decode(ctx, &t, 1, false) != TERN_OK) break;
            cached[n_cached++] = t;
        }
        printf("\n");
        msgs[n_msgs].role = "assistant";
        msgs[n_msgs++].content = answer;
    }
    for (size_t i = 0; i < n_msgs; i++) free((char *)msgs[i].content);
    free(cached);
    tern_sampler_free(smpl);
    tern_context_free(ctx);
    tern_model_free(model);
    return status;
}
