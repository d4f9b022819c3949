/* session: what generate and chat share — a model with its tokenizer, the
 * prompt turned into ids (plain text, or the R1 chat format), and streaming
 * the generated tokens as UTF-8-safe text with stop strings and the
 * reasoning/answer split shown (reasoning dimmed on a terminal). */
#ifndef R1_CLI_SESSION_H
#define R1_CLI_SESSION_H

#include <stdbool.h>
#include <stdio.h>

#include "infer/generate.h"
#include "infer/stop.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"

typedef struct {
    r1_model *m;
    r1_tok *tok; /* NULL when the model folder has no tokenizer.json */
} cli_session;

/* Loads MODEL and, if present, its tokenizer.json. */
r1_status cli_session_open(cli_session *s, const char *model, int threads);
void cli_session_close(cli_session *s);

/* Streams generated tokens to out: decodes them, holds back stop strings,
 * and (unless think is R1_THINK_NONE) splits reasoning from answer
 * with tok/chat's stream splitter, printing the reasoning dimmed if out is a
 * terminal and a blank line before the answer. The full generated text
 * (</think> included, as chat history needs it) is kept in `text`. */
typedef struct {
    const r1_tok *tok;
    FILE *out;
    bool tty;
    r1_tok_stream ts;
    r1_stopper stop;
    r1_chat_stream split;
    int part; /* the part printed last (R1_CHAT_REASONING or R1_CHAT_ANSWER; -1 none yet) */
    char *text;
    size_t len, cap;
    r1_status err;
} cli_printer;

void cli_printer_init(cli_printer *p, const r1_tok *tok, FILE *out, r1_think_start think,
                      const char *const *stops, int n_stops);
/* r1_gen_params.on_token callback (ctx = the printer). */
bool cli_printer_on_token(void *ctx, int32_t tok);
/* Flushes what is held back and ends the line. */
void cli_printer_finish(cli_printer *p);
void cli_printer_free(cli_printer *p);

#endif
