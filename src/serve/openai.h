/* openai: the OpenAI wire format, free of HTTP and of the engine, so the
 * parser can be fuzzed and the formatting unit-tested on their own.
 *
 * Requests: POST /v1/chat/completions and /v1/completions bodies are parsed
 * into r1_openai_req (the chat messages already rendered in the model's chat
 * format). Every problem becomes an r1_openai_err holding the HTTP status and
 * the fields of OpenAI's error object {"error": {message, type, param, code}};
 * a key of the wrong type names the key in `param`. Unknown keys are ignored,
 * as llama.cpp and vLLM do, so clients that send newer options still work.
 *
 * Responses: complete JSON bodies, SSE chunks ("data: {...}\n\n", closed by
 * "data: [DONE]\n\n"), and the reasoning splitter that routes generated text
 * inside <think>...</think> to reasoning_content and the rest to content, as
 * the DeepSeek API does (the R1 generation prompt has already opened <think>). */
#ifndef R1_SERVE_OPENAI_H
#define R1_SERVE_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "tok/chat.h"

enum {
    R1_OPENAI_MAX_STOP = 4,     /* OpenAI's limit on stop sequences */
    R1_OPENAI_MAX_STOP_LEN = 256,
    R1_OPENAI_MAX_N = 8,        /* choices per request */
    R1_OPENAI_MAX_MESSAGES = 4096,
    R1_OPENAI_MAX_PROMPT_IDS = 1 << 20,
};

/* A growable byte buffer. Appends never fail loudly: after an allocation
 * failure `oom` is set and further appends are dropped, so a formatter can
 * write a whole object and the caller checks once. */
typedef struct {
    char *data;
    size_t len, cap;
    bool oom;
} r1_openai_buf;

void r1_openai_buf_free(r1_openai_buf *b);
void r1_openai_buf_put(r1_openai_buf *b, const char *s, size_t n);
void r1_openai_buf_puts(r1_openai_buf *b, const char *s);
void r1_openai_buf_printf(r1_openai_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a quoted JSON string. Invalid UTF-8 becomes U+FFFD, so
 * the output is valid JSON whatever the bytes. */
void r1_openai_buf_json_str(r1_openai_buf *b, const char *s, size_t n);

typedef enum { R1_OPENAI_CHAT = 0, R1_OPENAI_COMPLETION } r1_openai_kind;

/* An error answer: HTTP status and OpenAI's error fields (param/code NULL
 * when they do not apply). */
typedef struct {
    int status;
    const char *type;  /* "invalid_request_error", "server_error", ... */
    const char *param; /* the request key at fault, or NULL */
    const char *code;  /* "invalid_api_key", "model_not_found", ... or NULL */
    char message[320];
} r1_openai_err;

void r1_openai_err_set(r1_openai_err *e, int status, const char *type, const char *param, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* {"error":{"message":...,"type":...,"param":...,"code":...}} */
void r1_openai_err_json(r1_openai_buf *b, const r1_openai_err *e);

typedef struct {
    r1_openai_kind kind;
    char *model;
    /* The text to encode (chat: rendered conversation; completion: the prompt),
     * or, for a completion given as token ids, ids[n_ids] with text NULL. */
    char *text;
    size_t text_len;
    int32_t *ids;
    int64_t n_ids;
    r1_think_start think; /* chat: OPENED by an R1 generation prompt, MAYBE for ZERO, NONE otherwise */
    bool stream, include_usage;
    int64_t max_tokens; /* 0: not given */
    double temperature, top_p, min_p;
    int64_t top_k;
    bool has_seed;
    uint64_t seed;
    int n;
    char *stop[R1_OPENAI_MAX_STOP];
    int n_stop;
} r1_openai_req;

/* Parses a request body of either kind. style picks the chat format (R1 opens
 * <think> in the generation prompt; V3 does not). On success req owns its
 * strings (r1_openai_req_free); on failure returns R1_INVALID with *err filled
 * and req freed. Defaults: R1's sampling recommendation (temperature 0.6,
 * top_p 0.95), n 1, no seed. */
r1_status r1_openai_parse(r1_openai_req *req, r1_openai_kind kind, r1_chat_style style, const char *body,
                          size_t len, r1_openai_err *err);
void r1_openai_req_free(r1_openai_req *req);

/* What every chunk or body of one response repeats. */
typedef struct {
    r1_openai_kind kind;
    const char *id;    /* "chatcmpl-..." / "cmpl-..." */
    const char *model;
    int64_t created;   /* unix seconds */
} r1_openai_meta;

/* One streamed chunk as an SSE event. For chat: delta {"role":"assistant"}
 * when role is set, plus {field: text} when field is set ("content" or
 * "reasoning_content"); for completions: {"text": text}. finish is NULL
 * (null in JSON) or "stop"/"length". */
void r1_openai_sse_chunk(r1_openai_buf *b, const r1_openai_meta *m, int index, bool role, const char *field,
                         const char *text, size_t len, const char *finish);
/* The usage-only chunk of stream_options.include_usage (choices: []). */
void r1_openai_sse_usage(r1_openai_buf *b, const r1_openai_meta *m, int64_t prompt_tokens,
                         int64_t completion_tokens);
/* An error as an SSE event (after headers were sent), then the caller ends. */
void r1_openai_sse_error(r1_openai_buf *b, const r1_openai_err *e);
void r1_openai_sse_done(r1_openai_buf *b);

/* One finished choice of a non-streamed response. */
typedef struct {
    r1_openai_buf reasoning, content; /* chat: the two parts; completion: content */
    const char *finish;               /* "stop" / "length" */
} r1_openai_choice;

/* The whole non-streamed body: chat.completion or text_completion. */
void r1_openai_response(r1_openai_buf *b, const r1_openai_meta *m, const r1_openai_choice *choices, int n,
                        bool think, int64_t prompt_tokens, int64_t completion_tokens);
/* GET /v1/models */
void r1_openai_models(r1_openai_buf *b, const char *id, int64_t created);


#endif
