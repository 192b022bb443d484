/* simple.c — generate text with libtern, in C99.
 *
 *   cc simple.c $(pkg-config --cflags --libs tern) -o simple
 *   ./simple MODEL.gguf "Once upon a time" [N_TOKENS]
 *
 * Loads a model, runs the prompt, and prints a greedy continuation as it is generated. */
#include <tern.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "simple: %s: %s\n", what, tern_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_TOKENS]\n", argv[0]);
        return 2;
    }
    const char *prompt = argv[2];
    const int n_predict = argc > 3 ? atoi(argv[3]) : 32;

    tern_model *model = NULL;
    tern_model_params mp = tern_model_default_params();
    if (tern_model_load(argv[1], &mp, &model) != TERN_OK) return fail("cannot load the model");

    tern_context_params cp = tern_context_default_params();
    cp.n_ctx = 512;
    tern_context *ctx = NULL;
    if (tern_context_init(model, &cp, &ctx) != TERN_OK) {
        tern_model_free(model);
        return fail("cannot create a context");
    }

    /* Tokenize: ask for the size first, then fill. */
    const int32_t len = (int32_t)strlen(prompt);
    int32_t n = tern_tokenize(model, prompt, len, NULL, 0, true, false);
    if (n < 0) n = -n;
    tern_token *tokens = malloc(sizeof(tern_token) * (size_t)(n > 0 ? n : 1));
    n = tern_tokenize(model, prompt, len, tokens, n, true, false);

    tern_sampler_params sp = tern_sampler_default_params();
    sp.temperature = 0.0f; /* greedy */
    tern_sampler *smpl = NULL;
    tern_sampler_init(&sp, &smpl);

    int status = 0;
    printf("%s", prompt);
    if (n <= 0 || tern_decode(ctx, tokens, n, false) != TERN_OK) {
        status = fail("cannot process the prompt");
    } else {
        for (int i = 0; i < n_predict; i++) {
            const tern_token t = tern_sampler_sample(smpl, tern_get_logits(ctx, -1), tern_model_n_vocab(model));
            if (tern_token_is_eog(model, t)) break;
            tern_sampler_accept(smpl, t);
            char piece[128];
            const int32_t k = tern_token_to_piece(model, t, piece, sizeof piece, false);
            if (k > 0) fwrite(piece, 1, (size_t)k, stdout);
            fflush(stdout);
            if (tern_decode(ctx, &t, 1, false) != TERN_OK) {
                status = fail("decode failed");
                break;
            }
        }
        printf("\n");
    }
    free(tokens);
    tern_sampler_free(smpl);
    tern_context_free(ctx);
    tern_model_free(model);
    return status;
}
