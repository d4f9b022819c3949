/* r1 generate: prompt in, continuation out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/session.h"

static const char *USAGE =
    "usage: r1 generate -m MODEL (-p TEXT | --ids \"1 2 3\") [--chat] [-n N] [--stop STR]...\n"
    "                   [--temp T] [--top-p P] [--top-k K] [--min-p P] [--seed S] [--threads N]\n"
    "  Generates up to N tokens (default 128) after the prompt and prints the text\n"
    "  (or the ids, for --ids or a model without tokenizer.json).\n"
    "  --chat      wrap TEXT as one user turn of the model's chat format (R1, V3 or\n"
    "              R1-Zero, from its chat_template); reasoning shown dimmed on a terminal\n"
    "  --stop STR  end when STR appears (repeatable); the model's EOS always ends\n"
    "  Sampling defaults to the R1 recommendation (temperature 0.6, top-p 0.95);\n"
    "  --temp 0 is greedy. Timing goes to stderr.\n";

enum { MAX_STOPS = 8 };

static bool print_id(void *ctx, int32_t tok) {
    int *first = ctx;
    printf(*first ? "%d" : " %d", tok);
    *first = 0;
    fflush(stdout);
    return true;
}

/* The prompt as ids: --ids as given; text encoded plainly (with BOS as the
 * tokenizer config says) or rendered as a chat turn in the model's format. */
static r1_status prompt_ids(const cli_session *s, const cli_common *o, bool chat, int32_t **ids, int64_t *n) {
    if (o->ids_text) {
        if (cli_parse_ids(o->ids_text, ids, n) || *n == 0) return r1_fail(R1_INVALID, "bad --ids '%s'", o->ids_text);
        return R1_OK;
    }
    if (!s->tok) return r1_fail(R1_INVALID, "%s has no tokenizer.json: give --ids", o->model);
    if (!chat) return r1_tok_encode(s->tok, o->prompt, strlen(o->prompt), 1, ids, n);
    r1_chat_msg msg = {R1_ROLE_USER, o->prompt};
    char *text;
    size_t len;
    R1_TRY(r1_chat_render(&msg, 1, 1, r1_chat_style_of(r1_tok_chat_template(s->tok)), &text, &len));
    r1_status st = r1_tok_encode(s->tok, text, len, 0, ids, n);
    free(text);
    return st;
}

int cmd_generate(int argc, char **argv) {
    cli_common o;
    cli_common_defaults(&o);
    bool chat = false;
    const char *stops[MAX_STOPS];
    int n_stops = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) return printf("%s", USAGE), 0;
        if (cli_is(argv[i], "--chat")) {
            chat = true;
            continue;
        }
        if (cli_is(argv[i], "--stop")) {
            if (i + 1 >= argc || n_stops == MAX_STOPS) return cli_usage("generate", "--stop needs a value (at most %d)", MAX_STOPS);
            stops[n_stops++] = argv[++i];
            continue;
        }
        int r = cli_common_opt(&o, argc, argv, &i, "generate");
        if (r < 0) return 2;
        if (r == 0) return cli_usage("generate", "unknown option '%s'", argv[i]);
    }
    if (!o.model) return cli_usage("generate", "missing -m MODEL");
    if (!o.prompt == !o.ids_text) return cli_usage("generate", "give exactly one of -p TEXT and --ids");
    cli_session s;
    r1_status st = cli_session_open(&s, o.model, o.threads);
    if (st != R1_OK) return cli_fail("generate", st);
    int32_t *ids = NULL, *out = NULL;
    int64_t n = 0, n_out = 0;
    st = prompt_ids(&s, &o, chat, &ids, &n);
    int32_t eos = s.tok && r1_tok_eos(s.tok) >= 0 ? r1_tok_eos(s.tok) : (int32_t)s.m->cfg.eos_id;
    bool text_out = s.tok && !o.ids_text;
    cli_printer pr;
    int first = 1;
    r1_think_start think = chat && s.tok ? r1_chat_think_start(r1_chat_style_of(r1_tok_chat_template(s.tok))) : R1_THINK_NONE;
    cli_printer_init(&pr, s.tok, stdout, think, stops, n_stops);
    r1_gen_params gp = {.max_new = o.max_new, .sampling = o.sampling, .stop_ids = &eos, .n_stop_ids = eos >= 0,
                        .on_token = text_out ? cli_printer_on_token : print_id, .ctx = text_out ? (void *)&pr : &first};
    r1_gen_stats gs;
    if (st == R1_OK && !(out = malloc((size_t)(o.max_new + 1) * sizeof(int32_t)))) st = r1_fail(R1_NOMEM, "out of memory");
    if (st == R1_OK) st = r1_generate(s.m, ids, n, &gp, out, &n_out, &gs);
    if (text_out)
        cli_printer_finish(&pr);
    else
        printf("\n");
    if (st == R1_OK)
        fprintf(stderr, "r1: prompt %lld tokens in %.3f s (%.1f tok/s), generated %lld in %.3f s (%.1f tok/s)\n",
                (long long)gs.n_prompt, gs.prefill_s, gs.n_prompt / (gs.prefill_s + 1e-12), (long long)gs.n_gen,
                gs.decode_s, gs.n_gen > 1 ? (gs.n_gen - 1) / (gs.decode_s + 1e-12) : 0.0);
    cli_printer_free(&pr);
    free(out);
    free(ids);
    cli_session_close(&s);
    return st == R1_OK ? 0 : cli_fail("generate", st);
}
