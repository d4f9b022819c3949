/* reply: one OpenAI request from body to answer. Validates and tokenizes the
 * request, submits it to the engine thread, and turns the ids that come back
 * into text: per choice a UTF-8-safe token stream, stop-string matching (text
 * that could still become a stop string is held back) and, for chat, the
 * reasoning/content split. Streamed replies come out as SSE bytes on demand;
 * non-streamed ones as one JSON body. HTTP-free: http.c only moves bytes. */
#ifndef R1_SERVE_REPLY_H
#define R1_SERVE_REPLY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "serve/openai.h"
#include "serve/sched.h"
#include "tok/tokenizer.h"

/* What every reply needs from the server (shared, read-only but for the
 * request counter and the stop flag). */
typedef struct {
    r1_serve_sched *sched;
    const r1_tok *tok;
    const char *model_id;
    r1_chat_style style;
    int64_t max_tokens; /* cap on max_tokens */
    int64_t vocab;      /* ids the model accepts */
    int32_t stop_ids[2];
    int n_stop_ids;
    atomic_uint_fast64_t counter; /* request ids and default seeds */
    atomic_int stopping;          /* the server is shutting down: readers end */
} r1_serve_ctx;

typedef struct r1_serve_reply r1_serve_reply;

/* Parses body as a request of `kind` and queues it. On failure returns
 * R1_INVALID with *err filled (4xx/5xx) and *out NULL. */
r1_status r1_serve_reply_create(r1_serve_reply **out, r1_serve_ctx *c, r1_openai_kind kind, const char *body,
                                size_t len, r1_openai_err *err);
bool r1_serve_reply_streams(const r1_serve_reply *r);
/* Streamed: writes up to max bytes of SSE into buf, waiting for tokens as
 * needed. Returns the byte count, 0 after "data: [DONE]", or -1 when the peer
 * on socket fd has gone (or the server stops): the caller drops the reply. */
ssize_t r1_serve_reply_read(r1_serve_reply *r, char *buf, size_t max, int fd);
/* Non-streamed: waits for every choice to finish and returns the HTTP status
 * with the JSON body in *body (malloc'd, *len bytes); -1 when the peer on fd
 * has gone first. */
int r1_serve_reply_wait(r1_serve_reply *r, int fd, char **body, size_t *len);
/* Frees the reply; a generation still running is cancelled. */
void r1_serve_reply_destroy(r1_serve_reply *r);

#endif
