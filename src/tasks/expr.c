/* expr: recursive-descent evaluation with exact rationals (see expr.h). */
#include "tasks/expr.h"

typedef struct {
    const char *s;
    size_t len, at;
    int depth;
    r1_expr_result *r;
} parser;


static bool fail(parser *p, const char *why) {
    if (p->r->ok) {
        p->r->ok = false;
        p->r->error = why;
    }
    return false;
}

static bool make(parser *p, __int128 num, __int128 den, r1_rational *out) {
    if (den == 0) return fail(p, "division by zero");
    if (den < 0) num = -num, den = -den;
    __int128 a = num < 0 ? -num : num, b = den;
    while (b) {
        __int128 t = a % b;
        a = b;
        b = t;
    }
    if (a > 1) num /= a, den /= a;
    if (num > INT64_MAX || num < -INT64_MAX || den > INT64_MAX) return fail(p, "number too large");
    out->num = (int64_t)num;
    out->den = (int64_t)den;
    return true;
}

static void skip_space(parser *p) {
    while (p->at < p->len && (p->s[p->at] == ' ' || p->s[p->at] == '\t' || p->s[p->at] == '\n' || p->s[p->at] == '\r'))
        p->at++;
}

static bool expr(parser *p, r1_rational *v);

static bool atom(parser *p, r1_rational *v) {
    skip_space(p);
    if (p->at >= p->len) return fail(p, "expression ends early");
    char c = p->s[p->at];
    if (c == '(') {
        if (++p->depth > R1_EXPR_MAX_DEPTH) return fail(p, "parentheses nested too deeply");
        p->at++;
        if (!expr(p, v)) return false;
        skip_space(p);
        if (p->at >= p->len || p->s[p->at] != ')') return fail(p, "missing ')'");
        p->at++;
        p->depth--;
        return true;
    }
    if (c < '0' || c > '9') return fail(p, "expected a number or '('");
    int64_t n = 0;
    while (p->at < p->len && p->s[p->at] >= '0' && p->s[p->at] <= '9') {
        n = n * 10 + (p->s[p->at++] - '0');
        if (n > 1000000000) return fail(p, "number too large");
    }
    if (p->at < p->len && p->s[p->at] == '.') return fail(p, "decimals are not allowed");
    if (p->r->n_nums == R1_EXPR_MAX_NUMS) return fail(p, "too many numbers");
    p->r->nums[p->r->n_nums++] = n;
    v->num = n;
    v->den = 1;
    return true;
}

static bool term(parser *p, r1_rational *v) {
    if (!atom(p, v)) return false;
    for (;;) {
        skip_space(p);
        if (p->at >= p->len || (p->s[p->at] != '*' && p->s[p->at] != '/')) return true;
        char op = p->s[p->at++];
        r1_rational w;
        if (!atom(p, &w)) return false;
        bool ok = op == '*' ? make(p, (__int128)v->num * w.num, (__int128)v->den * w.den, v)
                            : make(p, (__int128)v->num * w.den, (__int128)v->den * w.num, v);
        if (!ok) return false;
    }
}

static bool expr(parser *p, r1_rational *v) {
    if (!term(p, v)) return false;
    for (;;) {
        skip_space(p);
        if (p->at >= p->len || (p->s[p->at] != '+' && p->s[p->at] != '-')) return true;
        char op = p->s[p->at++];
        r1_rational w;
        if (!term(p, &w)) return false;
        __int128 a = (__int128)v->num * w.den, b = (__int128)w.num * v->den;
        if (!make(p, op == '+' ? a + b : a - b, (__int128)v->den * w.den, v)) return false;
    }
}

r1_expr_result r1_expr_eval(const char *s, size_t len) {
    r1_expr_result r = {.ok = true};
    parser p = {s, len, 0, 0, &r};
    r1_rational v = {0, 1};
    if (expr(&p, &v)) {
        skip_space(&p);
        if (p.at != p.len) fail(&p, "unexpected text after the expression");
    }
    if (r.ok) r.value = v;
    return r;
}
