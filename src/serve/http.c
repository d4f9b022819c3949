/* http: libmicrohttpd glue for r1_serve (see serve.h). Thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION): a handler may block while its request
 * generates, and the streamed body is a content-reader callback that blocks
 * until the next tokens arrive, so there is no suspend/resume bookkeeping.
 * Each blocked wait wakes every 250 ms to peek at the socket: a client that
 * went away is noticed without waiting for a write to fail, and its engine
 * slot is freed before the next step. Bodies are limited while they arrive;
 * /v1/ endpoints check the API key with a constant-time compare. */
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve/reply.h"
#include "serve/serve.h"

struct r1_server {
    struct MHD_Daemon *d;
    r1_serve_ctx c;
    r1_serve_opts o;
    char model_id[256];
    int port;
    int64_t created;
};

enum { DRAIN_LIMIT = 64 << 20 };

typedef enum { R_NONE = 0, R_HEALTH, R_MODELS, R_CHAT, R_COMPLETIONS } route;

typedef struct {
    route rt;
    bool post_ok, too_big;
    size_t seen; /* body bytes received, kept or not */
    r1_openai_buf body;
    r1_serve_reply *reply;
    int fd;
} conn;

void r1_serve_opts_default(r1_serve_opts *o) {
    *o = (r1_serve_opts){.host = "127.0.0.1", .port = 8080, .model_id = "r1", .parallel = 8, .queue = 128,
                         .ctx = 4096, .step_rows = 512, .max_body = 1 << 20};
}

static enum MHD_Result send_buf(struct MHD_Connection *con, unsigned status, const char *type, char *data,
                                size_t len) {
    struct MHD_Response *res = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!res) return free(data), MHD_NO;
    MHD_add_response_header(res, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(con, status, res);
    MHD_destroy_response(res);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *con, unsigned status, r1_openai_buf *b) {
    if (b->oom) {
        r1_openai_buf_free(b);
        return MHD_NO;
    }
    if (!b->data) r1_openai_buf_put(b, "", 0);
    return send_buf(con, status, "application/json", b->data, b->len);
}

static enum MHD_Result send_err(struct MHD_Connection *con, const r1_openai_err *e) {
    r1_openai_buf b = {0};
    r1_openai_err_json(&b, e);
    if (e->status >= 500) fprintf(stderr, "r1 serve: %d %s\n", e->status, e->message);
    return send_json(con, (unsigned)e->status, &b);
}

static enum MHD_Result fail(struct MHD_Connection *con, int status, const char *type, const char *code,
                            const char *msg) {
    r1_openai_err e;
    r1_openai_err_set(&e, status, type, NULL, code, "%s", msg);
    return send_err(con, &e);
}

/* Constant time in the key's length: no early exit on the first mismatch. */
static bool key_ok(const char *got, const char *want) {
    size_t g = strlen(got), w = strlen(want);
    unsigned diff = g != w;
    for (size_t i = 0; i < w; i++) diff |= (unsigned char)want[i] ^ (unsigned char)(i < g ? got[i] : 0);
    return diff == 0;
}

static bool authorized(const r1_server *s, struct MHD_Connection *con) {
    if (!s->o.api_key) return true;
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return false;
    return key_ok(h + 7, s->o.api_key);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    conn *c = cls;
    ssize_t k = r1_serve_reply_read(c->reply, buf, max, c->fd);
    return k > 0 ? k : k == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result generate(r1_server *s, struct MHD_Connection *con, conn *c) {
    r1_openai_err e;
    r1_openai_kind kind = c->rt == R_CHAT ? R1_OPENAI_CHAT : R1_OPENAI_COMPLETION;
    if (r1_serve_reply_create(&c->reply, &s->c, kind, c->body.data ? c->body.data : "", c->body.len, &e) != R1_OK)
        return send_err(con, &e);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    if (r1_serve_reply_streams(c->reply)) {
        struct MHD_Response *res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, c, NULL);
        if (!res) return MHD_NO;
        MHD_add_response_header(res, "Content-Type", "text/event-stream");
        MHD_add_response_header(res, "Cache-Control", "no-cache");
        enum MHD_Result ok = MHD_queue_response(con, MHD_HTTP_OK, res);
        MHD_destroy_response(res);
        return ok;
    }
    char *body;
    size_t len;
    int status = r1_serve_reply_wait(c->reply, c->fd, &body, &len);
    if (status < 0) return MHD_NO; /* the client left: close */
    return send_buf(con, (unsigned)status, "application/json", body, len);
}

static route route_of(const char *url) {
    if (!strcmp(url, "/health")) return R_HEALTH;
    if (!strcmp(url, "/v1/models")) return R_MODELS;
    if (!strcmp(url, "/v1/chat/completions")) return R_CHAT;
    if (!strcmp(url, "/v1/completions")) return R_COMPLETIONS;
    return R_NONE;
}

static enum MHD_Result answer(r1_server *s, struct MHD_Connection *con, conn *c) {
    r1_openai_buf b = {0};
    if (c->rt == R_HEALTH) {
        r1_serve_stats st;
        r1_serve_sched_stats(s->c.sched, &st);
        r1_openai_buf_printf(&b,
                             "{\"status\":\"ok\",\"slots\":%d,\"active\":%d,\"queued\":%d,"
                             "\"requests\":%lld,\"rejected\":%lld,\"tokens\":%lld,\"steps\":%lld,"
                             "\"first_token_ms_mean\":%.1f}",
                             s->o.parallel, st.active, st.queued, (long long)st.submitted,
                             (long long)st.rejected, (long long)st.tokens, (long long)st.steps,
                             st.n_first ? 1e3 * st.first_s / (double)st.n_first : 0.0);
        return send_json(con, MHD_HTTP_OK, &b);
    }
    if (!authorized(s, con))
        return fail(con, 401, "invalid_request_error", "invalid_api_key",
                    "Incorrect API key provided (expected \"Authorization: Bearer <key>\").");
    if (c->rt == R_MODELS) {
        r1_openai_models(&b, s->model_id, s->created);
        return send_json(con, MHD_HTTP_OK, &b);
    }
    if (c->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "Request body larger than %zu bytes.", s->o.max_body);
        return fail(con, 413, "invalid_request_error", "request_too_large", msg);
    }
    return generate(s, con, c);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    r1_server *s = cls;
    conn *c = *con_cls;
    if (!c) { /* first call: headers only */
        if (!(c = calloc(1, sizeof *c))) return MHD_NO;
        c->fd = -1;
        *con_cls = c;
        c->rt = route_of(url);
        bool post = c->rt == R_CHAT || c->rt == R_COMPLETIONS;
        bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
        if (c->rt == R_NONE) return fail(con, 404, "invalid_request_error", "unknown_url", "Unknown request URL.");
        if (post ? strcmp(method, "POST") : !get)
            return fail(con, 405, "invalid_request_error", "method_not_allowed", "Method not allowed.");
        /* An oversized body is read and dropped, then answered 413: answering
         * before the client has sent it makes clients see a reset instead of
         * the error. Past DRAIN_LIMIT the connection is simply closed. */
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;
        if (want > s->o.max_body) c->too_big = true;
        if (want > DRAIN_LIMIT) return answer(s, con, c);
        c->post_ok = post;
        return MHD_YES;
    }
    if (*upload_size) {
        c->seen += *upload_size;
        if (c->body.len + *upload_size > s->o.max_body) c->too_big = true;
        if (c->seen > DRAIN_LIMIT) return MHD_NO;
        if (!c->too_big) r1_openai_buf_put(&c->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->body.oom) return fail(con, 500, "server_error", NULL, "out of memory");
    return answer(s, con, c);
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)cls, (void)con, (void)why;
    conn *c = *con_cls;
    if (!c) return;
    r1_serve_reply_destroy(c->reply);
    r1_openai_buf_free(&c->body);
    free(c);
    *con_cls = NULL;
}

r1_status r1_serve_start(r1_server **out, r1_model *m, const r1_tok *tok, const r1_serve_opts *o) {
    *out = NULL;
    if (o->parallel < 1 || o->queue < 0 || o->ctx < 2 || o->max_body < 16 || o->port < 0 || o->port > 65535)
        return r1_fail(R1_INVALID, "serve: bad options (parallel %d, queue %d, ctx %lld, port %d)", o->parallel,
                       o->queue, (long long)o->ctx, o->port);
    if (r1_tok_n_vocab(tok) > m->cfg.vocab)
        return r1_fail(R1_INVALID, "serve: the tokenizer has %d ids but the model only %lld", r1_tok_n_vocab(tok),
                       (long long)m->cfg.vocab);
    r1_server *s = calloc(1, sizeof *s);
    if (!s) return r1_fail(R1_NOMEM, "serve: out of memory");
    s->o = *o;
    s->o.api_key = o->api_key && o->api_key[0] ? o->api_key : NULL;
    if (!s->o.max_tokens || s->o.max_tokens > o->ctx) s->o.max_tokens = o->ctx;
    if (!s->o.max_conn) s->o.max_conn = o->parallel + o->queue + 64;
    snprintf(s->model_id, sizeof s->model_id, "%s", o->model_id ? o->model_id : "r1");
    s->created = (int64_t)time(NULL);
    const char *tmpl = r1_tok_chat_template(tok);
    s->c = (r1_serve_ctx){.tok = tok, .model_id = s->model_id, .max_tokens = s->o.max_tokens, .vocab = m->cfg.vocab,
                          .style = r1_chat_style_of(tmpl)};
    int32_t eos = r1_tok_eos(tok);
    if (eos >= 0) s->c.stop_ids[s->c.n_stop_ids++] = eos;
    if (m->cfg.eos_id >= 0 && m->cfg.eos_id < m->cfg.vocab && m->cfg.eos_id != eos)
        s->c.stop_ids[s->c.n_stop_ids++] = (int32_t)m->cfg.eos_id;
    int64_t rows = o->step_rows > o->parallel ? o->step_rows : o->parallel;
    r1_status st = r1_serve_sched_start(&s->c.sched, m, o->parallel, o->ctx, rows, o->queue);
    if (st != R1_OK) {
        free(s);
        return st;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    int gai = getaddrinfo(o->host ? o->host : "127.0.0.1", port, &hints, &ai);
    if (gai != 0) {
        r1_serve_stop(s);
        return r1_fail(R1_INVALID, "serve: cannot resolve host '%s': %s", o->host, gai_strerror(gai));
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)s->o.max_conn, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)1 << 20, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        r1_serve_stop(s);
        return r1_fail(R1_IO, "serve: cannot listen on %s:%d (in use, or not an address of this machine?)",
                       o->host, o->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return R1_OK;
}

int r1_serve_port(const r1_server *s) { return s->port; }

void r1_serve_stop(r1_server *s) {
    if (!s) return;
    atomic_store(&s->c.stopping, 1); /* blocked handlers return within one poll */
    if (s->d) MHD_stop_daemon(s->d);
    r1_serve_sched_stop(s->c.sched);
    free(s);
}
