/* chain: a running sum of single digits, "Compute 7+5-3+8.", with
 * difficulty = number of operations (1..5). The running total never goes
 * below zero (a '-' is drawn only when it fits), so every step is a 1-2
 * digit number plus or minus one digit. The worked solution rewrites the
 * expression after each operation, "7+5-3+8 = 12-3+8 = 9+8 = 17": a step is
 * one addition plus a verbatim copy of the rest of the previous line. The
 * question is written without spaces so the first line is a token-exact copy
 * of it. Built for the R1-Zero demo, which needs a small task whose worked
 * solution a tiny model can learn in minutes (docs/GRPO.md has what was
 * measured: the 1..99 operands of arith were out of reach). */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/task.h"

static void make(r1_problem *p, uint64_t seed, int difficulty) {
    r1_rng rng;
    r1_rng_seed(&rng, seed ^ 0xc4a1full);
    memset(p, 0, sizeof *p);
    int nops = difficulty < 1 ? 1 : difficulty > 5 ? 5 : difficulty;
    int64_t v[6], acc = 1 + (int64_t)r1_rng_below(&rng, 9);
    char op[5];
    v[0] = acc;
    int q = snprintf(p->question, sizeof p->question, "Compute %lld", (long long)acc), s = 0;
    for (int i = 0; i < nops; i++) {
        v[i + 1] = 1 + (int64_t)r1_rng_below(&rng, 9);
        op[i] = v[i + 1] <= acc && r1_rng_below(&rng, 2) ? '-' : '+';
        acc = op[i] == '+' ? acc + v[i + 1] : acc - v[i + 1];
        q += snprintf(p->question + q, sizeof p->question - (size_t)q, "%c%lld", op[i], (long long)v[i + 1]);
    }
    snprintf(p->question + q, sizeof p->question - (size_t)q, ".");
    /* line k: the running total after k operations, then the operations left */
    int64_t run = v[0];
    for (int k = 0; k <= nops; k++) {
        if (k > 0) run = op[k - 1] == '+' ? run + v[k] : run - v[k];
        s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%s%lld", k ? " = " : "", (long long)run);
        for (int i = k; i < nops; i++)
            s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%c%lld", op[i], (long long)v[i + 1]);
    }
    p->target = acc;
    snprintf(p->answer, sizeof p->answer, "%lld", (long long)acc);
}

static bool check(const r1_problem *p, const char *answer, size_t len) {
    return r1_task_check_int(answer, len, p->target);
}

const r1_task r1_task_chain = {"chain", "running sums of single digits (+, -), one step per operation", make, check, 5};
