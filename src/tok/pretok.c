/* pretok: the pre_tokenizer pipeline (a Sequence of Split regexes and a
 * ByteLevel step) run depth-first: each step splits its piece and hands every
 * sub-piece to the next step, the last step hands pieces to BPE. No piece list
 * is ever materialised for the common Isolated split.
 *
 * Regexes in tokenizer.json are written for Oniguruma (what HF tokenizers
 * uses). PCRE2 (UTF + UCP + MATCH_INVALID_UTF, JIT) reads them with three
 * translations: \s/\S become Unicode White_Space (PCRE2's UCP \s lacks U+0085,
 * which Oniguruma includes), Oniguruma's \h/\H (hex digit) become [0-9a-fA-F],
 * and JS-style \uXXXX becomes \x{XXXX}. (?i:...), possessive and atomic forms
 * and \p{..} are the same in both. Invalid UTF-8 never matches, so stray bytes
 * fall between matches and are encoded through the byte tokens. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "tok/utf8.h"

static const char WS_BODY[] =
    "\\t\\n\\x0B\\f\\r\\x20\\x85\\xA0\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) return -1;
        b->p = np, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Oniguruma/JS pattern -> PCRE2 pattern (see the file comment). */
static int translate(const char *s, size_t n, sbuf *o) {
    int in_class = 0;
    size_t class_start = 0; /* index just after '[' or '[^' */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            int r = 0;
            if (e == 's') {
                r = in_class ? sb_put(o, WS_BODY, strlen(WS_BODY))
                             : (sb_put(o, "[", 1) | sb_put(o, WS_BODY, strlen(WS_BODY)) | sb_put(o, "]", 1));
            } else if (e == 'S' && !in_class) {
                r = sb_put(o, "[^", 2) | sb_put(o, WS_BODY, strlen(WS_BODY)) | sb_put(o, "]", 1);
            } else if (e == 'h' || e == 'H') {
                if (in_class && e == 'h') r = sb_put(o, "0-9a-fA-F", 9);
                else if (in_class) r = sb_put(o, "\\H", 2); /* rare; PCRE2's meaning */
                else r = sb_put(o, e == 'h' ? "[0-9a-fA-F]" : "[^0-9a-fA-F]", e == 'h' ? 11 : 12);
            } else if (e == 'u' && i + 5 < n && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0 &&
                       hexval(s[i + 4]) >= 0 && hexval(s[i + 5]) >= 0) {
                r = sb_put(o, "\\x{", 3) | sb_put(o, s + i + 2, 4) | sb_put(o, "}", 1);
                i += 4;
            } else {
                r = sb_put(o, s + i, 2);
            }
            if (r) return -1;
            i++;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            if (sb_put(o, "[", 1)) return -1;
            if (i + 1 < n && s[i + 1] == '^') {
                if (sb_put(o, "^", 1)) return -1;
                i++;
            }
            class_start = i + 1;
            continue;
        }
        if (in_class && c == '[' && i + 1 < n && s[i + 1] == ':') {
            /* POSIX class [:name:] inside a class: copy through its closing ":]" */
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == ':' && s[k + 1] == ']') {
                    end = s + k + 2;
                    break;
                }
            if (end) {
                if (sb_put(o, s + i, (size_t)(end - (s + i)))) return -1;
                i = (size_t)(end - s) - 1;
                continue;
            }
        }
        if (in_class && c == ']' && i != class_start) in_class = 0;
        if (sb_put(o, &c, 1)) return -1;
    }
    return 0;
}

r1_status tok_regex_compile(pcre2_code **out, const char *pattern, size_t len) {
    *out = NULL;
    if (len == SIZE_MAX) len = strlen(pattern);
    sbuf b = {0};
    if (translate(pattern, len, &b) || sb_put(&b, "", 0)) {
        free(b.p);
        return r1_fail(R1_NOMEM, "out of memory");
    }
    int err;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)b.p, b.n, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
                                   &err, &at, NULL);
    free(b.p);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return r1_fail(R1_FORMAT, "regex \"%.60s\": %s at offset %zu", pattern, (const char *)msg, (size_t)at);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT pcre2_match interprets */
    *out = re;
    return R1_OK;
}

static r1_status scratch_regex(tok_scratch *sc) {
    if (sc->md) return R1_OK;
    sc->md = pcre2_match_data_create(1, NULL);
    sc->mctx = pcre2_match_context_create(NULL);
    sc->jstack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!sc->md || !sc->mctx || !sc->jstack) return r1_fail(R1_NOMEM, "out of memory");
    pcre2_jit_stack_assign(sc->mctx, NULL, sc->jstack);
    return R1_OK;
}

/* Next match at or after *pos; returns 1 with [*ms,*me) set, 0 when none. */
static r1_status next_match(const pcre2_code *re, tok_scratch *sc, const char *s, size_t n,
                            size_t *pos, size_t *ms, size_t *me, int *found) {
    *found = 0;
    while (*pos <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, *pos, 0, sc->md, sc->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) return R1_OK;
        if (rc < 0) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return r1_fail(R1_LIMIT, "pre-tokenizer regex: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
        if (ov[1] > ov[0]) {
            *ms = ov[0], *me = ov[1], *pos = ov[1], *found = 1;
            return R1_OK;
        }
        /* empty match: ignored, like JS matchAll / HF; step one character on */
        size_t at = ov[0] > *pos ? ov[0] : *pos;
        if (at >= n) return R1_OK;
        uint32_t cp;
        int k = r1_utf8_next((const unsigned char *)s + at, n - at, &cp);
        *pos = at + (size_t)(k > 0 ? k : 1);
    }
    return R1_OK;
}

static r1_status run(const r1_tok *t, tok_scratch *sc, tok_cache *c, int step, const char *s, size_t n);

static r1_status iv_push(tok_scratch *sc, int step, size_t *k, uint32_t a, uint32_t b, uint32_t m) {
    if (*k + 3 > sc->cap_iv[step]) {
        size_t cap = sc->cap_iv[step] ? sc->cap_iv[step] * 2 : 96;
        uint32_t *p = realloc(sc->iv[step], cap * sizeof *p);
        if (!p) return r1_fail(R1_NOMEM, "out of memory");
        sc->iv[step] = p, sc->cap_iv[step] = cap;
    }
    sc->iv[step][(*k)++] = a, sc->iv[step][(*k)++] = b, sc->iv[step][(*k)++] = m;
    return R1_OK;
}

static r1_status split_step(const r1_tok *t, tok_scratch *sc, tok_cache *c, int step, const char *s, size_t n) {
    const tok_pretok *p = &t->pretok[step];
    size_t pos = 0, last = 0, ms, me;
    int found;
    if (p->behavior == SB_ISOLATED && !p->invert) {
        for (;;) {
            R1_TRY(next_match(p->re, sc, s, n, &pos, &ms, &me, &found));
            if (!found) break;
            if (ms > last) R1_TRY(run(t, sc, c, step + 1, s + last, ms - last));
            R1_TRY(run(t, sc, c, step + 1, s + ms, me - ms));
            last = me;
        }
        return last < n ? run(t, sc, c, step + 1, s + last, n - last) : R1_OK;
    }
    if (n > UINT32_MAX) return r1_fail(R1_LIMIT, "text section over 4 GiB");
    /* general behaviours: list (start, end, is_match) intervals, then combine */
    size_t k = 0;
    for (;;) {
        R1_TRY(next_match(p->re, sc, s, n, &pos, &ms, &me, &found));
        if (!found) break;
        if (ms > last) R1_TRY(iv_push(sc, step, &k, (uint32_t)last, (uint32_t)ms, (uint32_t)p->invert));
        R1_TRY(iv_push(sc, step, &k, (uint32_t)ms, (uint32_t)me, (uint32_t)!p->invert));
        last = me;
    }
    if (last < n) R1_TRY(iv_push(sc, step, &k, (uint32_t)last, (uint32_t)n, (uint32_t)p->invert));
    size_t start = 0;
    for (size_t i = 0; i < k; i += 3) {
        /* deeper steps use their own interval arrays, so this one stays valid */
        uint32_t a = sc->iv[step][i], b = sc->iv[step][i + 1], m = sc->iv[step][i + 2];
        switch (p->behavior) {
        case SB_ISOLATED:
            R1_TRY(run(t, sc, c, step + 1, s + a, b - a));
            break;
        case SB_REMOVED:
            if (!m) R1_TRY(run(t, sc, c, step + 1, s + a, b - a));
            break;
        case SB_MERGED_PREV:
            if (m) {
                R1_TRY(run(t, sc, c, step + 1, s + start, b - start));
                start = b;
            }
            break;
        case SB_MERGED_NEXT:
            if (m && a > start) {
                R1_TRY(run(t, sc, c, step + 1, s + start, a - start));
                start = a;
            }
            break;
        case SB_CONTIGUOUS: {
            uint32_t e = b;
            while (m && i + 3 < k && sc->iv[step][i + 5]) {
                i += 3;
                e = sc->iv[step][i + 1];
            }
            R1_TRY(run(t, sc, c, step + 1, s + a, e - a));
            break;
        }
        }
    }
    if ((p->behavior == SB_MERGED_PREV || p->behavior == SB_MERGED_NEXT) && start < n)
        R1_TRY(run(t, sc, c, step + 1, s + start, n - start));
    return R1_OK;
}

static r1_status run(const r1_tok *t, tok_scratch *sc, tok_cache *c, int step, const char *s, size_t n) {
    if (n == 0) return R1_OK;
    if (step == t->n_pretok) return tok_bpe_word(t, sc, c, s, n);
    const tok_pretok *p = &t->pretok[step];
    if (p->kind == PT_SPLIT) return split_step(t, sc, c, step, s, n);
    /* ByteLevel: optional prefix space, optional GPT-2 split (Isolated) */
    char *copy = NULL;
    if (p->add_prefix_space && s[0] != ' ') {
        copy = malloc(n + 1);
        if (!copy) return r1_fail(R1_NOMEM, "out of memory");
        copy[0] = ' ';
        memcpy(copy + 1, s, n);
        s = copy, n++;
    }
    r1_status st = R1_OK;
    if (!p->re) {
        st = run(t, sc, c, step + 1, s, n);
    } else {
        size_t pos = 0, last = 0, ms, me;
        int found;
        for (;;) {
            if ((st = next_match(p->re, sc, s, n, &pos, &ms, &me, &found)) || !found) break;
            if (ms > last && (st = run(t, sc, c, step + 1, s + last, ms - last))) break;
            if ((st = run(t, sc, c, step + 1, s + ms, me - ms))) break;
            last = me;
        }
        if (!st && last < n) st = run(t, sc, c, step + 1, s + last, n - last);
    }
    free(copy);
    return st;
}

r1_status tok_pretokenize(const r1_tok *tok, tok_scratch *sc, tok_cache *cache, const char *s, size_t n) {
    R1_TRY(scratch_regex(sc));
    return run(tok, sc, cache, 0, s, n);
}
