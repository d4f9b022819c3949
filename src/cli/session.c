/* session: model + tokenizer loading and the streaming printer (see session.h).
 * The printer keeps the generated text and prints it in two phases: the
 * reasoning (before </think>) and the answer; a tail that could still be the
 * start of "</think>" is held back so the tag is never printed half. */
#include "cli/session.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"

r1_status cli_session_open(cli_session *s, const char *model, int threads) {
    *s = (cli_session){0};
    R1_TRY(r1_model_load(&s->m, model, threads));
    char *path = r1_path_join(model, "tokenizer.json");
    r1_status st = R1_OK;
    if (!path)
        st = r1_fail(R1_NOMEM, "out of memory");
    else if (r1_file_exists(path))
        st = r1_tok_load(&s->tok, model);
    free(path);
    if (st != R1_OK) {
        cli_session_close(s);
        return st;
    }
    return R1_OK;
}

void cli_session_close(cli_session *s) {
    r1_tok_free(s->tok);
    r1_model_destroy(s->m);
    *s = (cli_session){0};
}

void cli_printer_init(cli_printer *p, const r1_tok *tok, FILE *out, r1_think_start think,
                      const char *const *stops, int n_stops) {
    *p = (cli_printer){.tok = tok, .out = out, .tty = isatty(fileno(out))};
    p->part = think == R1_THINK_OPENED ? R1_CHAT_REASONING : think == R1_THINK_NONE ? R1_CHAT_ANSWER : -1;
    r1_tok_stream_init(&p->ts, tok);
    r1_stopper_init(&p->stop, stops, n_stops);
    r1_chat_stream_init(&p->split, think);
    if (p->part == R1_CHAT_REASONING && p->tty) fputs("\033[2m", out);
}

static void append(cli_printer *p, const char *s, size_t n) {
    if (p->len + n + 1 > p->cap) {
        size_t cap = (p->len + n + 1) * 2;
        char *t = realloc(p->text, cap);
        if (!t) {
            p->err = r1_fail(R1_NOMEM, "out of memory");
            return;
        }
        p->text = t;
        p->cap = cap;
    }
    memcpy(p->text + p->len, s, n);
    p->len += n;
    p->text[p->len] = '\0';
}

/* r1_chat_stream sink: reasoning dimmed, then a blank line and the answer. */
static void print_part(void *ctx, int part, const char *s, size_t n) {
    cli_printer *p = ctx;
    if (part != p->part) {
        if (p->part == R1_CHAT_REASONING && p->tty) fputs("\033[0m", p->out);
        if (p->part >= 0) fputs("\n\n", p->out);
        if (part == R1_CHAT_REASONING && p->tty) fputs("\033[2m", p->out);
        p->part = part;
    }
    fwrite(s, 1, n, p->out);
}

/* Text that passed the stop filter: kept, then split and printed. */
static void take(cli_printer *p, const char *s, size_t n) {
    append(p, s, n);
    if (n && r1_chat_stream_feed(&p->split, s, n, print_part, p) != R1_OK) p->err = R1_NOMEM;
}

bool cli_printer_on_token(void *ctx, int32_t tok) {
    cli_printer *p = ctx;
    const char *txt, *emit;
    size_t n, en;
    if (r1_tok_stream_push(&p->ts, tok, &txt, &n) != R1_OK ||
        r1_stopper_feed(&p->stop, txt, n, &emit, &en) != R1_OK) {
        p->err = R1_NOMEM;
        return false;
    }
    take(p, emit, en);
    fflush(p->out);
    return !p->stop.stopped && p->err == R1_OK;
}

void cli_printer_finish(cli_printer *p) {
    const char *txt, *emit;
    size_t n, en;
    if (!p->stop.stopped && r1_tok_stream_flush(&p->ts, &txt, &n) == R1_OK &&
        r1_stopper_feed(&p->stop, txt, n, &emit, &en) == R1_OK)
        take(p, emit, en);
    r1_stopper_flush(&p->stop, &emit, &en);
    take(p, emit, en);
    r1_chat_stream_flush(&p->split, print_part, p);
    if (p->part == R1_CHAT_REASONING && p->tty) fputs("\033[0m", p->out);
    fputc('\n', p->out);
    fflush(p->out);
}

void cli_printer_free(cli_printer *p) {
    r1_tok_stream_free(&p->ts);
    r1_stopper_free(&p->stop);
    free(p->text);
    p->text = NULL;
}
