/* r1 chat: an interactive conversation in the model's chat format (R1, V3 or
 * the R1-Zero plain form, as its chat_template says; see tok/chat.h). Each
 * turn renders the whole conversation (past answers without their reasoning,
 * as the R1 template does) and generates; the reasoning is shown dimmed on a
 * terminal, the answer plain. Commands:
 * /reset clears the history, /quit (or end of input) leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/session.h"

static const char *USAGE =
    "usage: r1 chat -m MODEL [--system TEXT] [-n N] [--temp T] [--top-p P] [--top-k K] [--seed S] [--threads N]\n"
    "  Reads user turns from stdin, one per line; /reset clears the history, /quit leaves.\n"
    "  N (default 1024) caps each reply.\n";

enum { MAX_TURNS = 256 };

typedef struct {
    r1_chat_msg msg[MAX_TURNS];
    int n;
} history;

static void history_clear(history *h, const char *system) {
    for (int i = 0; i < h->n; i++)
        if (h->msg[i].content != system) free((char *)h->msg[i].content);
    h->n = 0;
    if (system) h->msg[h->n++] = (r1_chat_msg){R1_ROLE_SYSTEM, system};
}

static r1_status reply(cli_session *s, history *h, const cli_common *o, int32_t eos) {
    char *text;
    size_t len;
    int32_t *ids = NULL, *out = NULL;
    int64_t n = 0, n_out = 0;
    r1_chat_style style = r1_chat_style_of(r1_tok_chat_template(s->tok));
    R1_TRY(r1_chat_render(h->msg, h->n, 1, style, &text, &len));
    r1_status st = r1_tok_encode(s->tok, text, len, 0, &ids, &n);
    free(text);
    if (st == R1_OK && n + o->max_new > s->m->cfg.max_pos)
        st = r1_fail(R1_LIMIT, "the conversation (%lld tokens) leaves no room in the context of %lld; /reset",
                     (long long)n, (long long)s->m->cfg.max_pos);
    if (st == R1_OK && !(out = malloc((size_t)(o->max_new + 1) * sizeof(int32_t)))) st = r1_fail(R1_NOMEM, "out of memory");
    cli_printer pr;
    cli_printer_init(&pr, s->tok, stdout, r1_chat_think_start(style), NULL, 0);
    r1_gen_params gp = {.max_new = o->max_new, .sampling = o->sampling, .stop_ids = &eos, .n_stop_ids = eos >= 0,
                        .on_token = cli_printer_on_token, .ctx = &pr};
    if (st == R1_OK) st = r1_generate(s->m, ids, n, &gp, out, &n_out, NULL);
    cli_printer_finish(&pr);
    if (st == R1_OK && h->n < MAX_TURNS) {
        char *copy = strdup(pr.text ? pr.text : "");
        if (copy) h->msg[h->n++] = (r1_chat_msg){R1_ROLE_ASSISTANT, copy};
    }
    cli_printer_free(&pr);
    free(ids);
    free(out);
    return st;
}

int cmd_chat(int argc, char **argv) {
    cli_common o;
    cli_common_defaults(&o);
    o.max_new = 1024;
    const char *system = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) return printf("%s", USAGE), 0;
        if (cli_is(argv[i], "--system") && i + 1 < argc) {
            system = argv[++i];
            continue;
        }
        int r = cli_common_opt(&o, argc, argv, &i, "chat");
        if (r < 0) return 2;
        if (r == 0) return cli_usage("chat", "unknown option '%s'", argv[i]);
    }
    if (!o.model) return cli_usage("chat", "missing -m MODEL");
    cli_session s;
    r1_status st = cli_session_open(&s, o.model, o.threads);
    if (st != R1_OK) return cli_fail("chat", st);
    if (!s.tok) {
        cli_session_close(&s);
        return cli_fail("chat", r1_fail(R1_INVALID, "%s has no tokenizer.json", o.model));
    }
    int32_t eos = r1_tok_eos(s.tok) >= 0 ? r1_tok_eos(s.tok) : (int32_t)s.m->cfg.eos_id;
    bool tty = isatty(0);
    history h = {0};
    history_clear(&h, system);
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (tty) fputs("\n> ", stdout), fflush(stdout);
        ssize_t got = getline(&line, &cap, stdin);
        if (got < 0) break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (!strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            history_clear(&h, system);
            continue;
        }
        if (got == 0) continue;
        if (h.n + 2 > MAX_TURNS) history_clear(&h, system);
        char *u = strdup(line);
        if (!u) break;
        h.msg[h.n++] = (r1_chat_msg){R1_ROLE_USER, u};
        st = reply(&s, &h, &o, eos);
        if (st != R1_OK) {
            cli_fail("chat", st);
            if (!tty) break;
        }
    }
    free(line);
    history_clear(&h, system);
    cli_session_close(&s);
    return st == R1_OK ? 0 : 1;
}
