/* fuzz_openai_request: the input's first byte picks the endpoint (chat or
 * completions) and the chat style; the rest is a request body. A body that
 * parses must give sane fields, and every string the parser kept must survive
 * the response formatters as valid JSON (checked by parsing the output back
 * with cJSON); a rejected one must carry a 4xx/5xx error whose JSON parses. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "serve/openai.h"
#include "tok/chat.h"

static void must_parse(const r1_openai_buf *b) {
    R1_ASSERT(!b->oom);
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);
    R1_ASSERT(j != NULL);
    cJSON_Delete(j);
}

static void to_bufs(void *ctx, int part, const char *s, size_t n) {
    r1_openai_buf_put(((r1_openai_buf **)ctx)[part], s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    r1_openai_kind kind = data[0] & 1 ? R1_OPENAI_COMPLETION : R1_OPENAI_CHAT;
    r1_chat_style style = data[0] & 2 ? R1_CHAT_V3 : R1_CHAT_R1;
    r1_openai_req req;
    r1_openai_err err = {0};
    r1_openai_buf b = {0};
    if (r1_openai_parse(&req, kind, style, (const char *)data + 1, size - 1, &err) != R1_OK) {
        R1_ASSERT(err.status >= 400 && err.status < 600 && err.type);
        r1_openai_err_json(&b, &err);
        must_parse(&b);
        r1_openai_buf_free(&b);
        return 0;
    }
    R1_ASSERT(req.model && req.n >= 1 && req.n <= R1_OPENAI_MAX_N && req.n_stop <= R1_OPENAI_MAX_STOP);
    R1_ASSERT(req.temperature >= 0 && req.temperature <= 2 && req.top_p >= 0 && req.top_p <= 1);
    R1_ASSERT((req.text != NULL) != (req.ids != NULL) && req.max_tokens >= 0);
    /* Echo the request's own strings through every formatter. */
    r1_openai_meta m = {.kind = kind, .id = req.model, .model = req.model, .created = 1};
    const char *text = req.text ? req.text : "";
    size_t len = req.text ? req.text_len : 0;
    r1_openai_choice ch = {.finish = "stop"};
    r1_chat_stream t;
    r1_openai_buf *parts[2] = {&ch.reasoning, &ch.content};
    r1_chat_stream_init(&t, req.think);
    for (size_t i = 0; i < len; i += 7)
        R1_ASSERT(r1_chat_stream_feed(&t, text + i, len - i < 7 ? len - i : 7, to_bufs, parts) == R1_OK);
    r1_chat_stream_flush(&t, to_bufs, parts);
    R1_ASSERT(ch.reasoning.len + ch.content.len <= len);
    r1_openai_response(&b, &m, &ch, 1, req.think, 1, 2);
    must_parse(&b);
    for (int i = 0; i < req.n_stop; i++) {
        b.len = 0;
        r1_openai_sse_chunk(&b, &m, i, i == 0, "content", req.stop[i], strlen(req.stop[i]), NULL);
        R1_ASSERT(b.len > 8 && !memcmp(b.data, "data: ", 6));
        r1_openai_buf inner = {0};
        r1_openai_buf_put(&inner, b.data + 6, b.len - 8);
        must_parse(&inner);
        r1_openai_buf_free(&inner);
    }
    b.len = 0;
    r1_openai_models(&b, req.model, 0);
    must_parse(&b);
    r1_openai_buf_free(&b);
    r1_openai_buf_free(&ch.reasoning);
    r1_openai_buf_free(&ch.content);
    r1_openai_req_free(&req);
    return 0;
}
