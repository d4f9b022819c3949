/* reply: request -> job -> text (see reply.h). Text flows, per choice:
 * ids -> r1_tok_stream (whole UTF-8 characters) -> r1_stopper (stop strings,
 * over reasoning and answer alike, as llama.cpp does) -> r1_chat_stream
 * (reasoning_content vs content). A stop string ends the choice at once for
 * the client and asks the engine to end the sequence after its next token. */
#include "serve/reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "infer/stop.h"

enum { KEEPALIVE_S = 10 };
static const double POLL_S = 0.25;

typedef struct {
    r1_tok_stream ts;
    r1_stopper stop;
    r1_chat_stream think;
    r1_openai_buf reasoning, content; /* streamed: this round's delta; else all */
    int64_t n_tokens;
    const char *finish; /* set when the choice has ended for the client */
    bool finish_sent;
} choice;

/* r1_chat_stream sink: reasoning and answer text of one choice. */
static void to_choice(void *ctx, int part, const char *s, size_t n) {
    choice *ch = ctx;
    r1_openai_buf_put(part == R1_CHAT_REASONING ? &ch->reasoning : &ch->content, s, n);
}

struct r1_serve_reply {
    r1_serve_ctx *c;
    r1_openai_req req;
    r1_serve_job *job;
    r1_serve_news news;
    choice ch[R1_OPENAI_MAX_N];
    char id[48];
    r1_openai_meta meta;
    int64_t n_prompt;
    r1_openai_buf out; /* streamed bytes not yet handed out */
    size_t out_pos;
    bool started, ended;
    double last_write;
};

bool r1_serve_reply_streams(const r1_serve_reply *r) { return r->req.stream; }

static uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27, x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Tokenizes the request into *ids (n of them), or fills err. */
static bool encode(r1_serve_reply *r, int32_t **ids, int64_t *n, r1_openai_err *err) {
    r1_serve_ctx *c = r->c;
    if (r->req.ids) {
        for (int64_t i = 0; i < r->req.n_ids; i++)
            if (r->req.ids[i] >= c->vocab) {
                r1_openai_err_set(err, 400, "invalid_request_error", "prompt", NULL,
                                  "Invalid 'prompt[%lld]': token id %d is outside the vocabulary (%lld).",
                                  (long long)i, r->req.ids[i], (long long)c->vocab);
                return false;
            }
        *ids = r->req.ids, *n = r->req.n_ids;
        r->req.ids = NULL;
        return true;
    }
    /* Chat text already holds the BOS; a completion prompt gets the
     * tokenizer's usual specials, as HF's encode does. */
    int add_special = r->req.kind == R1_OPENAI_COMPLETION;
    if (r1_tok_encode(c->tok, r->req.text, r->req.text_len, add_special, ids, n) != R1_OK) {
        r1_openai_err_set(err, 500, "server_error", NULL, NULL, "tokenizer: %s", r1_errmsg());
        return false;
    }
    for (int64_t i = 0; i < *n; i++)
        if ((*ids)[i] >= c->vocab) {
            r1_openai_err_set(err, 500, "server_error", NULL, NULL, "the tokenizer has more ids than the model");
            return false;
        }
    return true;
}

r1_status r1_serve_reply_create(r1_serve_reply **out, r1_serve_ctx *c, r1_openai_kind kind, const char *body,
                                size_t len, r1_openai_err *err) {
    *out = NULL;
    r1_serve_reply *r = calloc(1, sizeof *r);
    if (!r) return r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory"), R1_INVALID;
    r->c = c;
    int32_t *ids = NULL;
    int64_t n = 0, ctx = r1_serve_sched_ctx(c->sched);
    if (r1_openai_parse(&r->req, kind, c->style, body, len, err) != R1_OK) goto fail;
    if (strcmp(r->req.model, c->model_id)) {
        r1_openai_err_set(err, 404, "invalid_request_error", "model", "model_not_found",
                          "The model '%.100s' does not exist; this server has '%.100s'.", r->req.model, c->model_id);
        goto fail;
    }
    if (r->req.max_tokens > c->max_tokens) {
        r1_openai_err_set(err, 400, "invalid_request_error", "max_tokens", NULL,
                          "max_tokens is too large: %lld. This server supports at most %lld completion tokens.",
                          (long long)r->req.max_tokens, (long long)c->max_tokens);
        goto fail;
    }
    if (!encode(r, &ids, &n, err)) goto fail;
    if (n < 1 || n + 1 > ctx) {
        r1_openai_err_set(err, 400, "invalid_request_error", n < 1 ? "prompt" : "messages",
                          n < 1 ? NULL : "context_length_exceeded",
                          n < 1 ? "The prompt is empty."
                                : "This model's maximum context length is %lld tokens. However, your prompt has "
                                  "%lld tokens (plus 1 to generate).",
                          (long long)ctx, (long long)n);
        goto fail;
    }
    r->n_prompt = n;
    uint64_t k = atomic_fetch_add(&c->counter, 1);
    uint64_t seed = r->req.has_seed ? r->req.seed : mix(k ^ (uint64_t)time(NULL) << 20);
    r1_seq_params p[R1_OPENAI_MAX_N];
    for (int i = 0; i < r->req.n; i++)
        p[i] = (r1_seq_params){
            .max_new = r->req.max_tokens ? r->req.max_tokens : c->max_tokens,
            .sampling = {.temp = (float)r->req.temperature, .top_k = r->req.top_k, .top_p = (float)r->req.top_p,
                         .min_p = (float)r->req.min_p, .seed = seed + (uint64_t)i},
            .stop_ids = c->stop_ids,
            .n_stop_ids = c->n_stop_ids,
        };
    r1_status st = r1_serve_submit(c->sched, ids, n, p, r->req.n, &r->job);
    if (st == R1_LIMIT || st == R1_CANCELLED) {
        r1_openai_err_set(err, 503, "server_error", NULL, st == R1_LIMIT ? "queue_full" : "shutting_down",
                          "The server is overloaded (%s); please retry later.", r1_errmsg());
        goto fail;
    }
    if (st != R1_OK) {
        r1_openai_err_set(err, 500, "server_error", NULL, NULL, "%s", r1_errmsg());
        goto fail;
    }
    free(ids);
    bool chat = kind == R1_OPENAI_CHAT;
    snprintf(r->id, sizeof r->id, "%s-%016llx", chat ? "chatcmpl" : "cmpl", (unsigned long long)mix(k + 1));
    r->meta = (r1_openai_meta){.kind = kind, .id = r->id, .model = c->model_id, .created = (int64_t)time(NULL)};
    for (int i = 0; i < r->req.n; i++) {
        r1_tok_stream_init(&r->ch[i].ts, c->tok);
        r1_stopper_init(&r->ch[i].stop, (const char *const *)r->req.stop, r->req.n_stop);
        r1_chat_stream_init(&r->ch[i].think, chat ? r->req.think : R1_THINK_NONE);
    }
    r->last_write = r1_now();
    *out = r;
    return R1_OK;
fail:
    free(ids);
    r1_openai_req_free(&r->req);
    free(r);
    return R1_INVALID;
}

void r1_serve_reply_destroy(r1_serve_reply *r) {
    if (!r) return;
    r1_serve_job_release(r->job);
    for (int i = 0; i < r->req.n; i++) {
        r1_tok_stream_free(&r->ch[i].ts);
        r1_stopper_free(&r->ch[i].stop);
        r1_openai_buf_free(&r->ch[i].reasoning);
        r1_openai_buf_free(&r->ch[i].content);
    }
    r1_serve_news_free(&r->news);
    r1_openai_buf_free(&r->out);
    r1_openai_req_free(&r->req);
    free(r);
}

/* Routes text that passed the stop filter to the choice's parts. */
static void route(r1_serve_reply *r, choice *ch, const char *text, size_t len) {
    if (!len) return;
    if (r->req.kind != R1_OPENAI_CHAT)
        r1_openai_buf_put(&ch->content, text, len);
    else if (r1_chat_stream_feed(&ch->think, text, len, to_choice, ch) != R1_OK)
        ch->content.oom = true;
}

/* Text from the token stream into the stop filter; true when a stop string ended the choice. */
static bool feed(r1_serve_reply *r, int i, const char *text, size_t len) {
    choice *ch = &r->ch[i];
    const char *emit;
    size_t n;
    if (r1_stopper_feed(&ch->stop, text, len, &emit, &n) != R1_OK) {
        ch->content.oom = true;
        return false;
    }
    route(r, ch, emit, n);
    if (!ch->stop.stopped) return false;
    ch->finish = "stop";
    r1_serve_job_stop(r->job, i);
    return true;
}

/* Pulls news from the engine and runs it through each choice. Returns true
 * when something happened. */
static bool pump(r1_serve_reply *r, double timeout_s) {
    r1_serve_news *nw = &r->news;
    if (r1_serve_job_poll(r->job, timeout_s, nw) != R1_OK) nw->failed = true;
    bool any = false;
    for (int i = 0; i < r->req.n; i++) {
        choice *ch = &r->ch[i];
        for (int64_t k = 0; k < nw->n[i] && !ch->finish; k++) {
            const char *text;
            size_t len;
            ch->n_tokens++;
            if (r1_tok_stream_push(&ch->ts, nw->ids[i][k], &text, &len) != R1_OK) continue;
            feed(r, i, text, len);
        }
        any |= nw->n[i] > 0;
        nw->n[i] = 0;
        if (nw->done[i] && !ch->finish) {
            const char *text;
            size_t len;
            if (r1_tok_stream_flush(&ch->ts, &text, &len) == R1_OK && !feed(r, i, text, len)) {
                r1_stopper_flush(&ch->stop, &text, &len);
                route(r, ch, text, len);
            }
            if (r->req.kind == R1_OPENAI_CHAT) r1_chat_stream_flush(&ch->think, to_choice, ch);
            if (!ch->finish) ch->finish = nw->reason[i] == R1_STOP_LENGTH ? "length" : "stop";
            any = true;
        }
    }
    return any || nw->failed;
}

static bool all_finished(const r1_serve_reply *r) {
    for (int i = 0; i < r->req.n; i++)
        if (!r->ch[i].finish) return false;
    return true;
}

static int64_t completion_tokens(const r1_serve_reply *r) {
    int64_t t = 0;
    for (int i = 0; i < r->req.n; i++) t += r->ch[i].n_tokens;
    return t;
}

/* True when the peer closed its end (EOF or a socket error). */
static bool peer_gone(int fd) {
    if (fd < 0) return false;
    char c;
    ssize_t k = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Streamed: this round's deltas as SSE chunks into r->out. */
static void emit_chunks(r1_serve_reply *r) {
    r1_openai_buf *o = &r->out;
    for (int i = 0; i < r->req.n; i++) {
        choice *ch = &r->ch[i];
        if (ch->reasoning.len)
            r1_openai_sse_chunk(o, &r->meta, i, false, "reasoning_content", ch->reasoning.data, ch->reasoning.len, NULL);
        if (ch->content.len)
            r1_openai_sse_chunk(o, &r->meta, i, false, "content", ch->content.data, ch->content.len, NULL);
        if (ch->reasoning.oom || ch->content.oom) o->oom = true;
        ch->reasoning.len = ch->content.len = 0;
        if (ch->finish && !ch->finish_sent) {
            r1_openai_sse_chunk(o, &r->meta, i, false, NULL, NULL, 0, ch->finish);
            ch->finish_sent = true;
        }
    }
}

ssize_t r1_serve_reply_read(r1_serve_reply *r, char *buf, size_t max, int fd) {
    while (r->out_pos == r->out.len) {
        if (r->ended || r->out.oom) return r->out.oom ? -1 : 0;
        r->out.len = r->out_pos = 0;
        if (atomic_load(&r->c->stopping)) return -1;
        if (!r->started) { /* the role chunks go out before any token */
            r->started = true;
            for (int i = 0; i < r->req.n && r->req.kind == R1_OPENAI_CHAT; i++)
                r1_openai_sse_chunk(&r->out, &r->meta, i, true, NULL, NULL, 0, NULL);
            continue;
        }
        if (!pump(r, POLL_S)) {
            if (peer_gone(fd)) return -1;
            if (r1_now() - r->last_write > KEEPALIVE_S) r1_openai_buf_puts(&r->out, ": keep-alive\n\n");
            continue;
        }
        if (r->news.failed) {
            r1_openai_err e;
            r1_openai_err_set(&e, 500, "server_error", NULL, NULL, "%s", r->news.error);
            r1_openai_sse_error(&r->out, &e);
            r->ended = true;
            continue;
        }
        emit_chunks(r);
        if (all_finished(r)) {
            if (r->req.include_usage) r1_openai_sse_usage(&r->out, &r->meta, r->n_prompt, completion_tokens(r));
            r1_openai_sse_done(&r->out);
            r->ended = true;
        }
    }
    size_t k = r->out.len - r->out_pos < max ? r->out.len - r->out_pos : max;
    memcpy(buf, r->out.data + r->out_pos, k);
    r->out_pos += k;
    r->last_write = r1_now();
    return (ssize_t)k;
}

int r1_serve_reply_wait(r1_serve_reply *r, int fd, char **body, size_t *len) {
    *body = NULL, *len = 0;
    while (!all_finished(r) && !r->news.failed) {
        if (atomic_load(&r->c->stopping)) return -1;
        if (!pump(r, POLL_S) && peer_gone(fd)) return -1;
    }
    r1_openai_buf b = {0};
    int status = 200;
    bool oom = false;
    for (int i = 0; i < r->req.n; i++) oom |= r->ch[i].reasoning.oom || r->ch[i].content.oom;
    if (r->news.failed || oom) {
        r1_openai_err e;
        r1_openai_err_set(&e, 500, "server_error", NULL, NULL, "%s", oom ? "out of memory" : r->news.error);
        r1_openai_err_json(&b, &e);
        status = 500;
    } else {
        r1_openai_choice cs[R1_OPENAI_MAX_N];
        for (int i = 0; i < r->req.n; i++)
            cs[i] = (r1_openai_choice){r->ch[i].reasoning, r->ch[i].content, r->ch[i].finish};
        r1_openai_response(&b, &r->meta, cs, r->req.n, r->req.kind == R1_OPENAI_CHAT && r->req.think != R1_THINK_NONE, r->n_prompt,
                           completion_tokens(r));
    }
    if (b.oom) {
        r1_openai_buf_free(&b);
        return -1;
    }
    *body = b.data, *len = b.len;
    return status;
}
