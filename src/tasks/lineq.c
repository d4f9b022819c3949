/* lineq: linear equations in one unknown, "Solve for x: 3*x + 5 = 20.",
 * with an integer solution. Difficulty 1: a*x + b = c; 2: also x on both
 * sides, a*x + b = d*x + c (a != d). Steps: move terms, then divide. */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/task.h"

static void make(r1_problem *p, uint64_t seed, int difficulty) {
    r1_rng rng;
    r1_rng_seed(&rng, seed ^ 0x5eed1e9ull);
    memset(p, 0, sizeof *p);
    int64_t x = (int64_t)r1_rng_below(&rng, 41) - 20;
    int64_t a = 2 + (int64_t)r1_rng_below(&rng, 8), b = (int64_t)r1_rng_below(&rng, 61) - 30;
    int64_t d = difficulty >= 2 ? 1 + (int64_t)r1_rng_below(&rng, 9) : 0;
    if (d == a) d = a + 1;
    int64_t c = (a - d) * x + b; /* a x + b = d x + c */
    if (d == 0)
        snprintf(p->question, sizeof p->question, "Solve for x: %lld*x %c %lld = %lld.", (long long)a, b < 0 ? '-' : '+',
                 (long long)(b < 0 ? -b : b), (long long)c);
    else
        snprintf(p->question, sizeof p->question, "Solve for x: %lld*x %c %lld = %lld*x %c %lld.", (long long)a,
                 b < 0 ? '-' : '+', (long long)(b < 0 ? -b : b), (long long)d, c < 0 ? '-' : '+',
                 (long long)(c < 0 ? -c : c));
    int64_t k = a - d, rhs = c - b;
    int s = 0;
    if (d != 0)
        s += snprintf(p->steps, sizeof p->steps, "%lld-%lld=%lld. ", (long long)a, (long long)d, (long long)k);
    s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%lld-%s%lld%s=%lld. %lld/%lld=%lld.", (long long)c,
                  b < 0 ? "(" : "", (long long)b, b < 0 ? ")" : "", (long long)rhs, (long long)rhs, (long long)k,
                  (long long)x);
    p->target = x;
    snprintf(p->answer, sizeof p->answer, "%lld", (long long)x);
}

static bool check(const r1_problem *p, const char *answer, size_t len) {
    /* accept "x = 5" as well as "5" */
    size_t i = 0;
    while (i < len && answer[i] == ' ') i++;
    if (i < len && answer[i] == 'x') {
        size_t j = i + 1;
        while (j < len && answer[j] == ' ') j++;
        if (j < len && answer[j] == '=') return r1_task_check_int(answer + j + 1, len - j - 1, p->target);
    }
    return r1_task_check_int(answer, len, p->target);
}

const r1_task r1_task_lineq = {"lineq", "linear equations a*x + b = c (and x on both sides)", make, check, 2};
