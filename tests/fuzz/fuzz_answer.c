/* fuzz_answer: the model-output parsers of the reward path — the rational
 * expression evaluator, the think/answer tag parser and every task's
 * verifier — on arbitrary bytes. */
#include <stdint.h>
#include <string.h>

#include "tasks/expr.h"
#include "tasks/reward.h"
#include "tasks/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    r1_expr_result r = r1_expr_eval(s, size);
    if (r.ok && r.value.den <= 0) __builtin_trap();
    r1_reward_weights w = {1.0f, 0.1f, 0.5f};
    for (const r1_task *const *t = r1_task_all(); *t; t++) {
        r1_problem p;
        (*t)->make(&p, size, 2);
        r1_reward rw = r1_reward_score(*t, &p, s, size, &w);
        if (rw.accuracy < 0 || rw.accuracy > 1 || rw.format < 0 || rw.format > 1) __builtin_trap();
    }
    return 0;
}
