/* arith: multi-step integer arithmetic, "Compute 12 + 7 * 3 - 5.", with
 * difficulty = number of operations (1..4). Operands 1..99 (1..9 for the
 * right side of '*'), precedence as usual; the worked steps do the
 * multiplications first, then the additions and subtractions left to right. */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/task.h"

static void make(r1_problem *p, uint64_t seed, int difficulty) {
    r1_rng rng;
    r1_rng_seed(&rng, seed ^ 0xa5a5a5a5ull);
    int nops = difficulty < 1 ? 1 : difficulty > 4 ? 4 : difficulty;
    int64_t v[5];
    char op[4];
    memset(p, 0, sizeof *p);
    v[0] = 1 + (int64_t)r1_rng_below(&rng, 99);
    for (int i = 0; i < nops; i++) {
        op[i] = "+-*"[r1_rng_below(&rng, 3)];
        v[i + 1] = op[i] == '*' ? 2 + (int64_t)r1_rng_below(&rng, 8) : 1 + (int64_t)r1_rng_below(&rng, 99);
    }
    int n = snprintf(p->question, sizeof p->question, "Compute %lld", (long long)v[0]);
    for (int i = 0; i < nops; i++)
        n += snprintf(p->question + n, sizeof p->question - (size_t)n, " %c %lld", op[i], (long long)v[i + 1]);
    snprintf(p->question + n, sizeof p->question - (size_t)n, ".");

    /* Fold products into terms (writing a step each), then sum the terms. */
    int64_t term[5];
    char sign[5];
    int nt = 0, s = 0;
    term[0] = v[0];
    sign[0] = '+';
    for (int i = 0; i < nops; i++) {
        if (op[i] == '*') {
            int64_t r = term[nt] * v[i + 1];
            s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%s%lld*%lld=%lld.", s ? " " : "",
                          (long long)term[nt], (long long)v[i + 1], (long long)r);
            term[nt] = r;
        } else {
            term[++nt] = v[i + 1];
            sign[nt] = op[i];
        }
    }
    int64_t acc = term[0];
    for (int i = 1; i <= nt; i++) {
        int64_t r = sign[i] == '+' ? acc + term[i] : acc - term[i];
        s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%s%lld%c%lld=%lld.", s ? " " : "", (long long)acc,
                      sign[i], (long long)term[i], (long long)r);
        acc = r;
    }
    p->target = acc;
    snprintf(p->answer, sizeof p->answer, "%lld", (long long)acc);
}

static bool check(const r1_problem *p, const char *answer, size_t len) {
    return r1_task_check_int(answer, len, p->target);
}

const r1_task r1_task_arith = {"arith", "multi-step integer arithmetic (+, -, *)", make, check, 4};
