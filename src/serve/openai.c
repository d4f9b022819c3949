/* openai: request parsing and response formatting (see openai.h). JSON is
 * read with cJSON and written by hand: a streamed chunk is a few hundred
 * bytes built per token, and writing it directly keeps the escaping (and the
 * UTF-8 repair) in one audited function. */
#include "serve/openai.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

/* ---- buffer ---------------------------------------------------------------- */

void r1_openai_buf_free(r1_openai_buf *b) {
    free(b->data);
    *b = (r1_openai_buf){0};
}

static bool reserve(r1_openai_buf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > SIZE_MAX / 2 - b->len) return b->oom = true, false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return b->oom = true, false;
    b->data = p;
    b->cap = cap;
    return true;
}

void r1_openai_buf_put(r1_openai_buf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void r1_openai_buf_puts(r1_openai_buf *b, const char *s) { r1_openai_buf_put(b, s, strlen(s)); }

void r1_openai_buf_printf(r1_openai_buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) return r1_openai_buf_put(b, tmp, (size_t)n);
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one
 * (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (!k || c > 0xF4 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
    return k;
}

void r1_openai_buf_json_str(r1_openai_buf *b, const char *s, size_t n) {
    if (!reserve(b, n + 2)) return;
    const unsigned char *u = (const unsigned char *)s;
    r1_openai_buf_put(b, "\"", 1);
    size_t run = 0; /* bytes copied verbatim in one put */
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        const char *esc = NULL;
        char hex[8];
        size_t k = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20 || c == 0x7F) snprintf(hex, sizeof hex, "\\u%04x", c), esc = hex;
        else if (c >= 0x80 && !(k = utf8_len(u + i, n - i))) esc = "\xEF\xBF\xBD", k = 1; /* U+FFFD */
        if (!esc) {
            i += k;
            run += k;
            continue;
        }
        r1_openai_buf_put(b, (const char *)u + i - run, run);
        run = 0;
        r1_openai_buf_puts(b, esc);
        i += k;
    }
    r1_openai_buf_put(b, (const char *)u + n - run, run);
    r1_openai_buf_put(b, "\"", 1);
}

static void json_str0(r1_openai_buf *b, const char *s) {
    if (s) r1_openai_buf_json_str(b, s, strlen(s));
    else r1_openai_buf_puts(b, "null");
}

/* ---- errors ---------------------------------------------------------------- */

void r1_openai_err_set(r1_openai_err *e, int status, const char *type, const char *param, const char *code,
                       const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->param = param;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

void r1_openai_err_json(r1_openai_buf *b, const r1_openai_err *e) {
    r1_openai_buf_puts(b, "{\"error\":{\"message\":");
    json_str0(b, e->message);
    r1_openai_buf_puts(b, ",\"type\":");
    json_str0(b, e->type);
    r1_openai_buf_puts(b, ",\"param\":");
    json_str0(b, e->param);
    r1_openai_buf_puts(b, ",\"code\":");
    json_str0(b, e->code);
    r1_openai_buf_puts(b, "}}");
}

/* ---- request parsing ------------------------------------------------------- */

#define BAD(param, ...) (r1_openai_err_set(err, 400, "invalid_request_error", param, NULL, __VA_ARGS__), false)

static const char *kind_of(const cJSON *v) { return r1_json_type_name(v); }

static const cJSON *field(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static bool get_num(const cJSON *o, const char *key, double lo, double hi, double *out, r1_openai_err *err) {
    const cJSON *v = field(o, key);
    if (!v) return true;
    if (!cJSON_IsNumber(v)) return BAD(key, "Invalid type for '%s': expected a number, but got %s.", key, kind_of(v));
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi)
        return BAD(key, "Invalid '%s': %g is outside [%g, %g].", key, d, lo, hi);
    *out = d;
    return true;
}

static bool get_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out, r1_openai_err *err) {
    const cJSON *v = field(o, key);
    if (!v) return true;
    int64_t x;
    if (!cJSON_IsNumber(v) || !r1_json_as_int(v, &x))
        return BAD(key, "Invalid type for '%s': expected an integer, but got %s.", key,
                   cJSON_IsNumber(v) ? "a decimal" : kind_of(v));
    if (x < lo || x > hi)
        return BAD(key, "Invalid '%s': %lld is outside [%lld, %lld].", key, (long long)x, (long long)lo,
                   (long long)hi);
    *out = x;
    return true;
}

static bool get_bool(const cJSON *o, const char *key, bool *out, r1_openai_err *err) {
    const cJSON *v = field(o, key);
    if (!v) return true;
    if (!cJSON_IsBool(v)) return BAD(key, "Invalid type for '%s': expected a boolean, but got %s.", key, kind_of(v));
    *out = cJSON_IsTrue(v);
    return true;
}

static char *dup_str(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n), d[n] = '\0';
    return d;
}

static bool parse_stop(r1_openai_req *req, const cJSON *root, r1_openai_err *err) {
    const cJSON *v = field(root, "stop");
    if (!v) return true;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return BAD("stop", "Invalid type for 'stop': expected a string or an array of strings, but got %s.",
                   kind_of(v));
    int n = cJSON_IsString(v) ? 1 : cJSON_GetArraySize(v);
    if (n > R1_OPENAI_MAX_STOP) return BAD("stop", "Invalid 'stop': at most %d stop sequences.", R1_OPENAI_MAX_STOP);
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_IsString(v) ? v : cJSON_GetArrayItem(v, i);
        if (!cJSON_IsString(s))
            return BAD("stop", "Invalid type for 'stop[%d]': expected a string, but got %s.", i, kind_of(s));
        size_t len = strlen(s->valuestring);
        if (len > R1_OPENAI_MAX_STOP_LEN)
            return BAD("stop", "Invalid 'stop[%d]': longer than %d bytes.", i, R1_OPENAI_MAX_STOP_LEN);
        if (!len) continue; /* an empty stop string would end every generation at once */
        if (!(req->stop[req->n_stop++] = dup_str(s->valuestring, len)))
            return r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory"), false;
    }
    return true;
}

/* A message's content: a string, or an array of {"type":"text","text":...}
 * parts joined. *owned is set when the result was allocated. */
static bool message_text(const cJSON *c, int i, const char **out, char **owned, r1_openai_err *err) {
    *owned = NULL;
    if (cJSON_IsString(c)) return *out = c->valuestring, true;
    if (!cJSON_IsArray(c))
        return BAD("messages", "Invalid type for 'messages[%d].content': expected a string or an array of parts, "
                               "but got %s.", i, kind_of(c));
    r1_openai_buf b = {0};
    r1_openai_buf_put(&b, "", 0);
    int k = 0;
    for (const cJSON *p = c->child; p; p = p->next, k++) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsObject(p) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text)) {
            r1_openai_buf_free(&b);
            return BAD("messages", "Invalid 'messages[%d].content[%d]': only {\"type\": \"text\", \"text\": ...} "
                                   "parts are supported.", i, k);
        }
        r1_openai_buf_puts(&b, text->valuestring);
    }
    if (b.oom) {
        r1_openai_buf_free(&b);
        return r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory"), false;
    }
    *out = *owned = b.data;
    return true;
}

static bool parse_messages(r1_openai_req *req, const cJSON *root, r1_chat_style style, r1_openai_err *err) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!msgs) return BAD("messages", "Missing required parameter: 'messages'.");
    if (!cJSON_IsArray(msgs))
        return BAD("messages", "Invalid type for 'messages': expected an array, but got %s.", kind_of(msgs));
    int n = cJSON_GetArraySize(msgs);
    if (n < 1) return BAD("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1.");
    if (n > R1_OPENAI_MAX_MESSAGES) return BAD("messages", "Invalid 'messages': more than %d messages.", R1_OPENAI_MAX_MESSAGES);
    r1_chat_msg *cm = calloc((size_t)n, sizeof *cm);
    char **owned = calloc((size_t)n, sizeof *owned);
    bool ok = cm && owned;
    if (!ok) r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory");
    int i = 0;
    for (const cJSON *m = msgs->child; ok && m; m = m->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m)) {
            ok = BAD("messages", "Invalid type for 'messages[%d]': expected an object, but got %s.", i, kind_of(m));
        } else if (!cJSON_IsString(role)) {
            ok = BAD("messages", "Invalid 'messages[%d].role': expected a string.", i);
        } else if (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer")) {
            cm[i].role = R1_ROLE_SYSTEM;
        } else if (!strcmp(role->valuestring, "user")) {
            cm[i].role = R1_ROLE_USER;
        } else if (!strcmp(role->valuestring, "assistant")) {
            cm[i].role = R1_ROLE_ASSISTANT;
        } else {
            ok = BAD("messages", "Invalid 'messages[%d].role': '%.40s' is not supported (system, developer, user, "
                                 "assistant).", i, role->valuestring);
        }
        if (!ok) break;
        if (!content || (cJSON_IsNull(content) && cm[i].role == R1_ROLE_ASSISTANT)) {
            if (!content && cm[i].role != R1_ROLE_ASSISTANT)
                ok = BAD("messages", "Missing required parameter: 'messages[%d].content'.", i);
            cm[i].content = "";
            continue;
        }
        ok = message_text(content, i, &cm[i].content, &owned[i], err);
    }
    if (ok) {
        r1_status s = r1_chat_render(cm, n, 1, style, &req->text, &req->text_len);
        if (s != R1_OK) ok = BAD("messages", "Invalid 'messages': %s.", r1_errmsg());
    }
    for (int k = 0; owned && k < n; k++) free(owned[k]);
    free(owned);
    free(cm);
    req->think = r1_chat_think_start(style);
    return ok;
}

static bool parse_prompt(r1_openai_req *req, const cJSON *root, r1_openai_err *err) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!p) return BAD("prompt", "Missing required parameter: 'prompt'.");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(p->child)) p = p->child;
    if (cJSON_IsString(p)) {
        req->text_len = strlen(p->valuestring);
        if (!(req->text = dup_str(p->valuestring, req->text_len)))
            return r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory"), false;
        return true;
    }
    if (!cJSON_IsArray(p))
        return BAD("prompt", "Invalid type for 'prompt': expected a string or an array of token ids, but got %s.",
                   kind_of(p));
    int n = cJSON_GetArraySize(p);
    if (n < 1 || n > R1_OPENAI_MAX_PROMPT_IDS)
        return BAD("prompt", "Invalid 'prompt': expected 1 to %d token ids (a batch of prompts is not supported).",
                   R1_OPENAI_MAX_PROMPT_IDS);
    if (!(req->ids = malloc((size_t)n * sizeof *req->ids)))
        return r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory"), false;
    int i = 0;
    for (const cJSON *v = p->child; v; v = v->next, i++) {
        int64_t id;
        if (!cJSON_IsNumber(v) || !r1_json_as_int(v, &id) || id < 0 || id > INT32_MAX)
            return BAD("prompt", "Invalid 'prompt[%d]': expected a token id.", i);
        req->ids[i] = (int32_t)id;
    }
    req->n_ids = n;
    return true;
}

void r1_openai_req_free(r1_openai_req *req) {
    free(req->model);
    free(req->text);
    free(req->ids);
    for (int i = 0; i < req->n_stop; i++) free(req->stop[i]);
    *req = (r1_openai_req){0};
}

static bool parse_fields(r1_openai_req *req, const cJSON *root, r1_openai_kind kind, r1_chat_style style,
                         r1_openai_err *err) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!model) return BAD("model", "Missing required parameter: 'model'.");
    if (!cJSON_IsString(model))
        return BAD("model", "Invalid type for 'model': expected a string, but got %s.", kind_of(model));
    if (!(req->model = dup_str(model->valuestring, strlen(model->valuestring))))
        return r1_openai_err_set(err, 500, "server_error", NULL, NULL, "out of memory"), false;
    if (!get_bool(root, "stream", &req->stream, err)) return false;
    const cJSON *so = field(root, "stream_options");
    if (so && !cJSON_IsObject(so))
        return BAD("stream_options", "Invalid type for 'stream_options': expected an object, but got %s.", kind_of(so));
    if (so && !get_bool(so, "include_usage", &req->include_usage, err)) return false;
    int64_t n = 1, seed = 0;
    if (!get_int(root, "max_tokens", 1, INT32_MAX, &req->max_tokens, err)) return false;
    if (!get_int(root, "max_completion_tokens", 1, INT32_MAX, &req->max_tokens, err)) return false;
    if (!get_num(root, "temperature", 0, 2, &req->temperature, err)) return false;
    if (!get_num(root, "top_p", 0, 1, &req->top_p, err)) return false;
    if (!get_num(root, "min_p", 0, 1, &req->min_p, err)) return false;
    if (!get_int(root, "top_k", 0, INT32_MAX, &req->top_k, err)) return false;
    if (!get_int(root, "n", 1, R1_OPENAI_MAX_N, &n, err)) return false;
    if (field(root, "seed")) {
        if (!get_int(root, "seed", INT64_MIN, INT64_MAX, &seed, err)) return false;
        req->has_seed = true;
        req->seed = (uint64_t)seed;
    }
    req->n = (int)n;
    double pen = 0;
    if (!get_num(root, "frequency_penalty", -2, 2, &pen, err)) return false;
    if (!get_num(root, "presence_penalty", -2, 2, &pen, err)) return false;
    const cJSON *lp = field(root, "logprobs");
    if (lp && !(cJSON_IsFalse(lp) || (kind == R1_OPENAI_COMPLETION && cJSON_IsNumber(lp) && lp->valuedouble == 0)))
        return BAD("logprobs", "'logprobs' is not supported by this server.");
    if (field(root, "tools") && cJSON_GetArraySize(field(root, "tools")) > 0)
        return BAD("tools", "'tools' is not supported by this server.");
    if (!parse_stop(req, root, err)) return false;
    return kind == R1_OPENAI_CHAT ? parse_messages(req, root, style, err) : parse_prompt(req, root, err);
}

r1_status r1_openai_parse(r1_openai_req *req, r1_openai_kind kind, r1_chat_style style, const char *body,
                          size_t len, r1_openai_err *err) {
    *req = (r1_openai_req){.kind = kind, .temperature = 0.6, .top_p = 0.95, .n = 1};
    cJSON *root = NULL;
    if (r1_json_parse(&root, body, len, "request body") != R1_OK) {
        r1_openai_err_set(err, 400, "invalid_request_error", NULL, NULL,
                          "We could not parse the JSON body of your request (%s).", r1_errmsg());
        return R1_INVALID;
    }
    bool ok = cJSON_IsObject(root) ? parse_fields(req, root, kind, style, err)
                                   : BAD(NULL, "The request body must be a JSON object, not %s.", kind_of(root));
    cJSON_Delete(root);
    if (ok) return R1_OK;
    r1_openai_req_free(req);
    return R1_INVALID;
}

/* ---- responses ------------------------------------------------------------- */

static void head(r1_openai_buf *b, const r1_openai_meta *m, const char *object) {
    r1_openai_buf_puts(b, "{\"id\":");
    json_str0(b, m->id);
    r1_openai_buf_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":", object, (long long)m->created);
    json_str0(b, m->model);
    r1_openai_buf_puts(b, ",\"system_fingerprint\":\"r1\"");
}

static void usage(r1_openai_buf *b, int64_t prompt, int64_t completion) {
    r1_openai_buf_printf(b, "\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld}",
                         (long long)prompt, (long long)completion, (long long)(prompt + completion));
}

void r1_openai_sse_chunk(r1_openai_buf *b, const r1_openai_meta *m, int index, bool role, const char *field,
                         const char *text, size_t len, const char *finish) {
    r1_openai_buf_puts(b, "data: ");
    bool chat = m->kind == R1_OPENAI_CHAT;
    head(b, m, chat ? "chat.completion.chunk" : "text_completion");
    r1_openai_buf_printf(b, ",\"choices\":[{\"index\":%d,", index);
    if (chat) {
        r1_openai_buf_puts(b, "\"delta\":{");
        if (role) r1_openai_buf_puts(b, "\"role\":\"assistant\"");
        if (field) {
            r1_openai_buf_printf(b, "%s\"%s\":", role ? "," : "", field);
            r1_openai_buf_json_str(b, text, len);
        } else if (role) {
            r1_openai_buf_puts(b, ",\"content\":\"\"");
        }
        r1_openai_buf_puts(b, "},");
    } else {
        r1_openai_buf_puts(b, "\"text\":");
        r1_openai_buf_json_str(b, field ? text : "", field ? len : 0);
        r1_openai_buf_puts(b, ",");
    }
    r1_openai_buf_puts(b, "\"logprobs\":null,\"finish_reason\":");
    json_str0(b, finish);
    r1_openai_buf_puts(b, "}]}\n\n");
}

void r1_openai_sse_usage(r1_openai_buf *b, const r1_openai_meta *m, int64_t prompt_tokens,
                         int64_t completion_tokens) {
    r1_openai_buf_puts(b, "data: ");
    head(b, m, m->kind == R1_OPENAI_CHAT ? "chat.completion.chunk" : "text_completion");
    r1_openai_buf_puts(b, ",\"choices\":[],");
    usage(b, prompt_tokens, completion_tokens);
    r1_openai_buf_puts(b, "}\n\n");
}

void r1_openai_sse_error(r1_openai_buf *b, const r1_openai_err *e) {
    r1_openai_buf_puts(b, "data: ");
    r1_openai_err_json(b, e);
    r1_openai_buf_puts(b, "\n\n");
}

void r1_openai_sse_done(r1_openai_buf *b) { r1_openai_buf_puts(b, "data: [DONE]\n\n"); }

static void str_or_empty(r1_openai_buf *b, const r1_openai_buf *s) {
    r1_openai_buf_json_str(b, s->data ? s->data : "", s->len);
}

void r1_openai_response(r1_openai_buf *b, const r1_openai_meta *m, const r1_openai_choice *choices, int n,
                        bool think, int64_t prompt_tokens, int64_t completion_tokens) {
    bool chat = m->kind == R1_OPENAI_CHAT;
    head(b, m, chat ? "chat.completion" : "text_completion");
    r1_openai_buf_puts(b, ",\"choices\":[");
    for (int i = 0; i < n; i++) {
        r1_openai_buf_printf(b, "%s{\"index\":%d,", i ? "," : "", i);
        if (chat) {
            r1_openai_buf_puts(b, "\"message\":{\"role\":\"assistant\",\"content\":");
            str_or_empty(b, &choices[i].content);
            if (think) {
                r1_openai_buf_puts(b, ",\"reasoning_content\":");
                str_or_empty(b, &choices[i].reasoning);
            }
            r1_openai_buf_puts(b, "},");
        } else {
            r1_openai_buf_puts(b, "\"text\":");
            str_or_empty(b, &choices[i].content);
            r1_openai_buf_puts(b, ",");
        }
        r1_openai_buf_puts(b, "\"logprobs\":null,\"finish_reason\":");
        json_str0(b, choices[i].finish);
        r1_openai_buf_puts(b, "}");
    }
    r1_openai_buf_puts(b, "],");
    usage(b, prompt_tokens, completion_tokens);
    r1_openai_buf_puts(b, "}");
}

void r1_openai_models(r1_openai_buf *b, const char *id, int64_t created) {
    r1_openai_buf_puts(b, "{\"object\":\"list\",\"data\":[{\"id\":");
    json_str0(b, id);
    r1_openai_buf_printf(b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"r1\"}]}", (long long)created);
}

/* ---- reasoning splitter ---------------------------------------------------- */

