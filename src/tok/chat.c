/* chat: renders the R1 / V3 conversation text (see chat.h for the exact
 * form, taken from the models' tokenizer_config.json chat_template) and splits
 * responses at </think>. Plain string building: no Jinja interpreter. */
#include "tok/chat.h"

#include <stdbool.h>
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

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static const char *memrmem(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn > hn) return NULL;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (!memcmp(h + i, nd, nn)) return h + i;
    return NULL;
}

const char R1_CHAT_TEMPLATE_R1[] =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(system_prompt='', is_first_sp=true) %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}"
    "{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}"
    "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
    "{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}"
    "{% if add_generation_prompt %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";

const char R1_CHAT_TEMPLATE_ZERO[] =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{% set ns.system_prompt = ns.system_prompt + ('\\n\\n' if ns.system_prompt else '') + message['content'] %}"
    "{%- endif %}{%- endfor %}{{ bos_token }}{% if ns.system_prompt %}{{ ns.system_prompt + ' ' }}{% endif %}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{{'User: ' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{' Assistant:' + content + eos_token}}{%- endif %}{%- endfor %}"
    "{% if add_generation_prompt %}{{' Assistant:'}}{% endif %}";

r1_chat_style r1_chat_style_of(const char *chat_template) {
    if (!chat_template) return R1_CHAT_R1;
    if (strstr(chat_template, R1_CHAT_ASSISTANT)) return strstr(chat_template, "<think>") ? R1_CHAT_R1 : R1_CHAT_V3;
    return strstr(chat_template, "Assistant:") ? R1_CHAT_ZERO : R1_CHAT_R1;
}

r1_status r1_chat_render(const r1_chat_msg *msgs, int n, int add_generation_prompt, r1_chat_style style,
                         char **out, size_t *len) {
    *out = NULL, *len = 0;
    if (n < 0 || (n > 0 && !msgs)) return r1_fail(R1_INVALID, "chat: bad message list");
    bool zero = style == R1_CHAT_ZERO;
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
    if (zero && !first_sys) puts_(&b, " ");
    for (int i = 0; i < n; i++) {
        const char *c = msgs[i].content;
        if (msgs[i].role == R1_ROLE_USER) {
            puts_(&b, zero ? "User: " : R1_CHAT_USER);
            puts_(&b, c);
        } else if (msgs[i].role == R1_ROLE_ASSISTANT) {
            size_t cl = strlen(c);
            if (style != R1_CHAT_V3) {
                const char *end = memrmem(c, cl, "</think>", 8);
                if (end) cl -= (size_t)(end + 8 - c), c = end + 8;
            }
            puts_(&b, zero ? " Assistant:" : R1_CHAT_ASSISTANT);
            put(&b, c, cl);
            puts_(&b, R1_CHAT_EOS);
        } else if (msgs[i].role != R1_ROLE_SYSTEM) {
            free(b.p);
            return r1_fail(R1_INVALID, "chat: message %d has an unknown role %d", i, (int)msgs[i].role);
        }
    }
    if (add_generation_prompt)
        puts_(&b, zero ? " Assistant:" : style == R1_CHAT_R1 ? R1_CHAT_ASSISTANT "<think>\n" : R1_CHAT_ASSISTANT);
    if (b.oom) return free(b.p), r1_fail(R1_NOMEM, "chat: out of memory");
    *out = b.p, *len = b.n;
    return R1_OK;
}

void r1_chat_split(const char *text, size_t len, int prompt_opened_think, r1_chat_split_t *out) {
    size_t i = 0;
    while (i < len && is_space(text[i])) i++;
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

static const char THINK_END[] = "</think>", THINK_OPEN[] = "<think>";
enum { THINK_END_LEN = sizeof THINK_END - 1, THINK_OPEN_LEN = sizeof THINK_OPEN - 1 };

r1_think_start r1_chat_think_start(r1_chat_style style) {
    return style == R1_CHAT_R1 ? R1_THINK_OPENED : style == R1_CHAT_ZERO ? R1_THINK_MAYBE : R1_THINK_NONE;
}

void r1_chat_stream_init(r1_chat_stream *t, r1_think_start start) {
    *t = (r1_chat_stream){.state = start == R1_THINK_OPENED ? 0 : start == R1_THINK_MAYBE ? 3 : 2};
}

/* Routes s[0..n) and returns how many trailing bytes to hold back. */
static size_t route(r1_chat_stream *t, const char *s, size_t n, r1_chat_sink sink, void *ctx) {
    size_t i = 0;
    while (i < n) {
        if (t->state == 0) {
            const char *at = memmem(s + i, n - i, THINK_END, THINK_END_LEN);
            if (!at) {
                size_t hold = 0; /* longest tail that is a proper prefix of the tag */
                for (size_t k = THINK_END_LEN - 1; k > 0 && !hold; k--)
                    if (k <= n - i && !memcmp(s + n - k, THINK_END, k)) hold = k;
                if (n - i > hold) sink(ctx, R1_CHAT_REASONING, s + i, n - i - hold);
                return hold;
            }
            if (at > s + i) sink(ctx, R1_CHAT_REASONING, s + i, (size_t)(at - (s + i)));
            i = (size_t)(at - s) + THINK_END_LEN;
            t->state = 1;
        } else if (t->state == 1) {
            while (i < n && is_space(s[i])) i++;
            if (i < n) t->state = 2;
        } else if (t->state == 3) {
            while (i < n && is_space(s[i])) i++;
            size_t k = n - i < THINK_OPEN_LEN ? n - i : THINK_OPEN_LEN;
            if (k == 0) return 0;
            if (memcmp(s + i, THINK_OPEN, k)) {
                t->state = 2;
            } else {
                if (k < THINK_OPEN_LEN) return k; /* could still become <think> */
                i += THINK_OPEN_LEN;
                t->state = 0;
            }
        } else {
            sink(ctx, R1_CHAT_ANSWER, s + i, n - i);
            i = n;
        }
    }
    return 0;
}

r1_status r1_chat_stream_feed(r1_chat_stream *t, const char *text, size_t len, r1_chat_sink sink, void *ctx) {
    if (!t->n_held) {
        size_t hold = route(t, text, len, sink, ctx);
        memcpy(t->held, text + len - hold, hold);
        t->n_held = hold;
        return R1_OK;
    }
    /* A held tag prefix: join it with the new text (tokens are short, so the
     * stack buffer is the usual case). */
    char small[256], *tmp = small;
    size_t n = t->n_held + len;
    if (n > sizeof small && !(tmp = malloc(n))) return r1_fail(R1_NOMEM, "chat: out of memory");
    memcpy(tmp, t->held, t->n_held);
    memcpy(tmp + t->n_held, text, len);
    size_t hold = route(t, tmp, n, sink, ctx);
    memcpy(t->held, tmp + n - hold, hold);
    t->n_held = hold;
    if (tmp != small) free(tmp);
    return R1_OK;
}

void r1_chat_stream_flush(r1_chat_stream *t, r1_chat_sink sink, void *ctx) {
    if (t->n_held && (t->state == 0 || t->state == 3))
        sink(ctx, t->state == 0 ? R1_CHAT_REASONING : R1_CHAT_ANSWER, t->held, t->n_held);
    t->n_held = 0;
}
