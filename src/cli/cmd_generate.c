/* r1 generate: prompt in, continuation out (ids until the tokenizer lands). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "infer/generate.h"

static const char *USAGE =
    "usage: r1 generate -m MODEL --ids \"1 2 3\" [-n N] [--temp T] [--top-p P] [--top-k K]\n"
    "                   [--min-p P] [--seed S] [--threads N]\n"
    "  Generates up to N tokens (default 128) after the prompt and prints their ids.\n"
    "  Sampling defaults to the R1 recommendation (temperature 0.6, top-p 0.95);\n"
    "  --temp 0 is greedy. Stops at the model's eos_token_id. Timing goes to stderr.\n";

static bool print_token(void *ctx, int32_t tok) {
    int *first = ctx;
    printf(*first ? "%d" : " %d", tok);
    *first = 0;
    fflush(stdout);
    return true;
}

int cmd_generate(int argc, char **argv) {
    cli_common o;
    cli_common_defaults(&o);
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) return printf("%s", USAGE), 0;
        int r = cli_common_opt(&o, argc, argv, &i, "generate");
        if (r < 0) return 2;
        if (r == 0) return cli_usage("generate", "unknown option '%s'", argv[i]);
    }
    if (!o.model) return cli_usage("generate", "missing -m MODEL");
    if (o.prompt) return cli_usage("generate", "-p TEXT needs the tokenizer; give --ids");
    if (!o.ids_text) return cli_usage("generate", "missing --ids");
    int32_t *ids = NULL;
    int64_t n = 0;
    if (cli_parse_ids(o.ids_text, &ids, &n) || n == 0) return cli_usage("generate", "bad --ids '%s'", o.ids_text);
    r1_model *m = NULL;
    r1_status s = r1_model_load(&m, o.model, o.threads);
    if (s != R1_OK) {
        free(ids);
        return cli_fail("generate", s);
    }
    int32_t eos = (int32_t)m->cfg.eos_id, *out = malloc((size_t)(o.max_new + 1) * sizeof(int32_t));
    int first = 1;
    r1_gen_params gp = {.max_new = o.max_new, .sampling = o.sampling, .stop_ids = &eos,
                        .n_stop_ids = m->cfg.eos_id >= 0, .on_token = print_token, .ctx = &first};
    r1_gen_stats st;
    int64_t n_out = 0;
    s = out ? r1_generate(m, ids, n, &gp, out, &n_out, &st) : r1_fail(R1_NOMEM, "out of memory");
    printf("\n");
    if (s == R1_OK)
        fprintf(stderr, "r1: prompt %lld tokens in %.3f s (%.1f tok/s), generated %lld in %.3f s (%.1f tok/s)\n",
                (long long)st.n_prompt, st.prefill_s, st.n_prompt / (st.prefill_s + 1e-12), (long long)st.n_gen,
                st.decode_s, st.n_gen > 1 ? (st.n_gen - 1) / (st.decode_s + 1e-12) : 0.0);
    free(out);
    free(ids);
    r1_model_destroy(m);
    return s == R1_OK ? 0 : cli_fail("generate", s);
}
