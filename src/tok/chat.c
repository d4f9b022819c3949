/* chat: renders the R1 / V3 conversation text (see chat.h for the exact
 * form, taken from the models' tokenizer_config.json chat_template) and splits
 * responses at </think>. Plain string building: no Jinja interpreter. */
#include "tok/chat.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static const char *memrmem(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn > hn) return NULL;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (!memcmp(h + i, nd, nn)) return h + i;
    return NULL;
}

r1_status r1_chat_render(const r1_chat_msg *msgs, int n, int add_generation_prompt, r1_chat_style style,
                         char **out, size_t *len) {
    *out = NULL, *len = 0;
    if (n < 0 || (n > 0 && !msgs)) return r1_fail(R1_INVALID, "chat: bad message list");
    buf b = {0};
    puts_(&b, R1_CHAT_BOS);
    int first_sys = 1;
    for (int i = 0; i < n; i++) {
        if (!msgs[i].content) return free(b.p), r1_fail(R1_INVALID, "chat: message %d has no content", i);
        if (msgs[i].role != R1_ROLE_SYSTEM) continue;
        if (!first_sys) puts_(&b, "\n\n");
        puts_(&b, msgs[i].content);
        first_sys = 0;
    }
    for (int i = 0; i < n; i++) {
        const char *c = msgs[i].content;
        if (msgs[i].role == R1_ROLE_USER) {
            puts_(&b, R1_CHAT_USER);
            puts_(&b, c);
        } else if (msgs[i].role == R1_ROLE_ASSISTANT) {
            size_t cl = strlen(c);
            if (style == R1_CHAT_R1) {
                const char *end = memrmem(c, cl, "</think>", 8);
                if (end) cl -= (size_t)(end + 8 - c), c = end + 8;
            }
            puts_(&b, R1_CHAT_ASSISTANT);
            put(&b, c, cl);
            puts_(&b, R1_CHAT_EOS);
        } else if (msgs[i].role != R1_ROLE_SYSTEM) {
            free(b.p);
            return r1_fail(R1_INVALID, "chat: message %d has an unknown role %d", i, (int)msgs[i].role);
        }
    }
    if (add_generation_prompt) puts_(&b, style == R1_CHAT_R1 ? R1_CHAT_ASSISTANT "<think>\n" : R1_CHAT_ASSISTANT);
    if (b.oom) return free(b.p), r1_fail(R1_NOMEM, "chat: out of memory");
    *out = b.p, *len = b.n;
    return R1_OK;
}

void r1_chat_split(const char *text, size_t len, int prompt_opened_think, r1_chat_split_t *out) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) i++;
    int opened = len - i >= 7 && !memcmp(text + i, "<think>", 7);
    size_t start = opened ? i + 7 : 0;
    const char *close = NULL;
    for (size_t k = start; k + 8 <= len; k++)
        if (text[k] == '<' && !memcmp(text + k, "</think>", 8)) {
            close = text + k;
            break;
        }
    memset(out, 0, sizeof *out);
    out->reasoning = out->answer = text + len;
    if (close) {
        out->closed = 1;
        out->reasoning = text + start, out->reasoning_len = (size_t)(close - (text + start));
        out->answer = close + 8, out->answer_len = len - (size_t)(close + 8 - text);
    } else if (opened || prompt_opened_think) {
        out->reasoning = text + start, out->reasoning_len = len - start;
    } else {
        out->answer = text, out->answer_len = len;
    }
}
