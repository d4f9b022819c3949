/* countdown: reach a target with given numbers, each used at most once,
 * using + - * / (TinyZero's task, but every instance is generated solvable:
 * the numbers are folded by random operations whose intermediate results stay
 * positive integers, and the final value becomes the target).
 * Difficulty 1: 3 numbers in 1..20; 2: 4 numbers in 1..50.
 * The verifier parses the <answer> with tasks/expr (exact rationals), checks
 * the numbers it uses against the given multiset and the value against the
 * target. Unlike TinyZero, not every number has to be used (the rule). */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "tasks/expr.h"
#include "tasks/task.h"

static void make(r1_problem *p, uint64_t seed, int difficulty) {
    r1_rng rng;
    r1_rng_seed(&rng, seed ^ 0xc0c0dull);
    memset(p, 0, sizeof *p);
    int n = difficulty >= 2 ? 4 : 3;
    int64_t hi = difficulty >= 2 ? 50 : 20;
    p->n_nums = n;
    for (int i = 0; i < n; i++) p->nums[i] = 1 + (int64_t)r1_rng_below(&rng, (uint64_t)hi);

    char expr[256];
    int64_t acc = p->nums[0];
    snprintf(expr, sizeof expr, "%lld", (long long)acc);
    int s = 0;
    for (int i = 1; i < n; i++) {
        int64_t x = p->nums[i], r;
        char op, tmp[256];
        bool flip = false; /* x op acc instead of acc op x */
        for (;;) {
            op = "+-*/"[r1_rng_below(&rng, 4)];
            if (op == '-' && acc == x) continue;
            if (op == '-' && acc < x) flip = true;
            if (op == '*' && acc * x > 1000) continue;
            if (op == '/' && (x == 1 || acc % x != 0)) continue;
            break;
        }
        r = op == '+' ? acc + x : op == '-' ? (flip ? x - acc : acc - x) : op == '*' ? acc * x : acc / x;
        const char *fmt = i == 1 ? (flip ? "%lld%c%s" : "%s%c%lld") : (flip ? "%lld%c(%s)" : "(%s)%c%lld");
        if (flip)
            snprintf(tmp, sizeof tmp, fmt, (long long)x, op, expr);
        else
            snprintf(tmp, sizeof tmp, fmt, expr, op, (long long)x);
        memcpy(expr, tmp, sizeof expr);
        s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%s%lld%c%lld=%lld.", s ? " " : "",
                      (long long)(flip ? x : acc), op, (long long)(flip ? acc : x), (long long)r);
        acc = r;
    }
    p->target = acc;
    size_t alen = strlen(expr);
    R1_ASSERT(alen < sizeof p->answer); /* 4 numbers <= 50: at most ~20 characters */
    memcpy(p->answer, expr, alen + 1);
    int q = snprintf(p->question, sizeof p->question, "Using the numbers [");
    for (int i = 0; i < n; i++)
        q += snprintf(p->question + q, sizeof p->question - (size_t)q, "%s%lld", i ? ", " : "", (long long)p->nums[i]);
    snprintf(p->question + q, sizeof p->question - (size_t)q,
             "], create an equation that equals %lld. Use + - * / and each number at most once.", (long long)acc);
}

static bool check(const r1_problem *p, const char *answer, size_t len) {
    /* tolerate a trailing "= target" that models like to write */
    for (size_t i = 0; i < len; i++)
        if (answer[i] == '=') {
            if (!r1_task_check_int(answer + i + 1, len - i - 1, p->target)) return false;
            len = i;
            break;
        }
    r1_expr_result r = r1_expr_eval(answer, len);
    if (!r.ok || r.value.den != 1 || r.value.num != p->target) return false;
    bool used[R1_TASK_MAX_NUMS] = {false};
    for (int k = 0; k < r.n_nums; k++) {
        int hit = -1;
        for (int i = 0; i < p->n_nums && hit < 0; i++)
            if (!used[i] && p->nums[i] == r.nums[k]) hit = i;
        if (hit < 0) return false; /* a number not given, or given fewer times */
        used[hit] = true;
    }
    return r.n_nums > 0;
}

const r1_task r1_task_countdown = {"countdown", "reach the target with the given numbers (+ - * /, each at most once)",
                                   make, check, 2};
