/* chain: a running sum of single digits, "Compute 7 + 5 - 3 + 8.", with
 * difficulty = number of operations (1..5). The running total never goes
 * below zero (a '-' is drawn only when it fits), so every step is a 1-2
 * digit number plus or minus one digit: "7+5=12. 12-3=9. 9+8=17." Each
 * step is easy for a tiny model while the whole sum in one go is not, which
 * is what the R1-Zero demo needs: a reasoning mode clearly better than
 * answering directly (R1ZERO_NOTES). */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/task.h"

static void make(r1_problem *p, uint64_t seed, int difficulty) {
    r1_rng rng;
    r1_rng_seed(&rng, seed ^ 0xc4a1full);
    memset(p, 0, sizeof *p);
    int nops = difficulty < 1 ? 1 : difficulty > 5 ? 5 : difficulty;
    int64_t acc = 1 + (int64_t)r1_rng_below(&rng, 9);
    int q = snprintf(p->question, sizeof p->question, "Compute %lld", (long long)acc), s = 0;
    for (int i = 0; i < nops; i++) {
        int64_t b = 1 + (int64_t)r1_rng_below(&rng, 9);
        char op = b <= acc && r1_rng_below(&rng, 2) ? '-' : '+';
        int64_t r = op == '+' ? acc + b : acc - b;
        q += snprintf(p->question + q, sizeof p->question - (size_t)q, " %c %lld", op, (long long)b);
        s += snprintf(p->steps + s, sizeof p->steps - (size_t)s, "%s%lld%c%lld=%lld.", s ? " " : "", (long long)acc, op,
                      (long long)b, (long long)r);
        acc = r;
    }
    snprintf(p->question + q, sizeof p->question - (size_t)q, ".");
    p->target = acc;
    snprintf(p->answer, sizeof p->answer, "%lld", (long long)acc);
}

static bool check(const r1_problem *p, const char *answer, size_t len) {
    return r1_task_check_int(answer, len, p->target);
}

const r1_task r1_task_chain = {"chain", "running sums of single digits (+, -), one step per operation", make, check, 5};
