/* reward: tag parsing and the three rule-based rewards (see reward.h). */
#include "tasks/reward.h"

#include <stdio.h>
#include <string.h>

static const char *find(const char *s, size_t len, const char *needle, size_t from) {
    size_t k = strlen(needle);
    for (size_t i = from; i + k <= len; i++)
        if (!memcmp(s + i, needle, k)) return s + i;
    return NULL;
}

static size_t count(const char *s, size_t len, const char *needle) {
    size_t n = 0, k = strlen(needle);
    for (const char *p = find(s, len, needle, 0); p; p = find(s, len, needle, (size_t)(p - s) + k)) n++;
    return n;
}

static size_t skip_ws(const char *s, size_t len, size_t i) {
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) i++;
    return i;
}

r1_parsed r1_reward_parse(const char *s, size_t len) {
    r1_parsed r = {0};
    /* last complete answer block, for accuracy even when the rest is malformed */
    for (const char *a = find(s, len, "<answer>", 0); a; a = find(s, len, "<answer>", (size_t)(a - s) + 1)) {
        const char *b = find(s, len, "</answer>", (size_t)(a - s) + 8);
        if (!b) break;
        r.answer = a + 8;
        r.answer_len = (size_t)(b - r.answer);
    }
    const char *t0 = find(s, len, "<think>", 0), *t1 = find(s, len, "</think>", 0);
    if (t0 && t1 && t1 > t0) {
        r.think = t0 + 7;
        r.think_len = (size_t)(t1 - r.think);
    }
    if (count(s, len, "<think>") != 1 || count(s, len, "</think>") != 1 || count(s, len, "<answer>") != 1 ||
        count(s, len, "</answer>") != 1 || !r.think || !r.answer)
        return r;
    size_t i = skip_ws(s, len, 0);
    if (s + i != t0) return r;
    i = skip_ws(s, len, (size_t)(t1 - s) + 8);
    if (s + i != r.answer - 8) return r;
    i = skip_ws(s, len, (size_t)(r.answer - s) + r.answer_len + 9);
    r.well_formed = i == len;
    return r;
}

static float ascii_share(const char *s, size_t len) {
    size_t words = 0, ascii = 0;
    for (size_t i = 0; i < len;) {
        i = skip_ws(s, len, i);
        if (i >= len) break;
        bool ok = true;
        for (; i < len && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r'; i++) ok &= (unsigned char)s[i] < 128;
        words++;
        ascii += ok;
    }
    return words ? (float)ascii / (float)words : 1.0f;
}

r1_reward r1_reward_score(const r1_task *t, const r1_problem *p, const char *text, size_t len,
                          const r1_reward_weights *w) {
    r1_parsed q = r1_reward_parse(text, len);
    r1_reward r = {0};
    r.accuracy = q.answer && t->check(p, q.answer, q.answer_len) ? 1.0f : 0.0f;
    r.format = q.well_formed ? 1.0f : 0.0f;
    r.language = q.think ? ascii_share(q.think, q.think_len) : 0.0f;
    r.total = w->w_acc * r.accuracy + w->w_fmt * r.format + w->w_lang * r.language;
    return r;
}

size_t r1_task_prompt(char *out, size_t cap, const r1_problem *p, int compact) {
    int n;
    if (compact)
        n = snprintf(out, cap, "User: %s Assistant:", p->question);
    else
        n = snprintf(out, cap,
                     "A conversation between User and Assistant. The user asks a question, and the Assistant solves "
                     "it. The assistant first thinks about the reasoning process in the mind and then provides the "
                     "user with the answer. The reasoning process and answer are enclosed within <think> </think> "
                     "and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
                     "<answer> answer here </answer>. User: %s Assistant:",
                     p->question);
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
