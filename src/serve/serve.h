/* serve: r1's OpenAI-compatible HTTP server (`r1 serve`). libmicrohttpd runs
 * one thread per connection; one engine thread owns the model and decodes
 * every request in one continuous batch (serve/sched.h). Endpoints:
 * POST /v1/chat/completions, POST /v1/completions, GET /v1/models,
 * GET /health. See docs/SERVER.md. */
#ifndef R1_SERVE_H
#define R1_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "model/model.h"
#include "tok/tokenizer.h"

typedef struct {
    const char *host;     /* bind address (default 127.0.0.1) */
    int port;             /* 0: any free port (see r1_serve_port) */
    const char *api_key;  /* NULL: no auth; else "Authorization: Bearer KEY" on /v1/ */
    const char *model_id; /* the name clients pass as "model" */
    int parallel;         /* sequences decoded together (engine slots) */
    int queue;            /* requests waiting for a slot before 503 */
    int64_t ctx;          /* tokens per sequence (prompt + completion) */
    int64_t max_tokens;   /* cap on max_tokens (0: ctx) */
    int64_t step_rows;    /* rows per engine step (decode rows + prefill chunk) */
    size_t max_body;      /* request body limit in bytes */
    int max_conn;         /* open connections (0: parallel + queue + 64) */
} r1_serve_opts;

void r1_serve_opts_default(r1_serve_opts *o);

typedef struct r1_server r1_server;

/* Starts serving m with tok (both borrowed, must outlive the server). */
r1_status r1_serve_start(r1_server **out, r1_model *m, const r1_tok *tok, const r1_serve_opts *o);
/* The bound port (useful after port 0). */
int r1_serve_port(const r1_server *s);
/* Ends open requests, stops the threads and frees the server. */
void r1_serve_stop(r1_server *s);

#endif
