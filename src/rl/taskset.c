/* taskset: problem selection and prompts (see taskset.h). */
#include "rl/taskset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

r1_status r1_taskset_parse(r1_taskset *ts, const char *names, int dmin, int dmax, int compact) {
    *ts = (r1_taskset){.dmin = dmin < 1 ? 1 : dmin, .dmax = dmax < dmin ? dmin : dmax, .compact = compact};
    if (!strcmp(names, "all")) {
        for (const r1_task *const *t = r1_task_all(); *t && ts->n < R1_TASKSET_MAX; t++) ts->task[ts->n++] = *t;
        return R1_OK;
    }
    const char *s = names;
    while (*s) {
        size_t k = strcspn(s, ",");
        char name[64];
        if (k == 0 || k >= sizeof name) return r1_fail(R1_INVALID, "task list '%s': bad entry", names);
        memcpy(name, s, k);
        name[k] = '\0';
        const r1_task *t = r1_task_find(name);
        if (!t) return r1_fail(R1_INVALID, "unknown task '%s' (arith, chain, countdown, lineq, all)", name);
        if (ts->n == R1_TASKSET_MAX) return r1_fail(R1_LIMIT, "task list '%s': too many tasks", names);
        ts->task[ts->n++] = t;
        s += k + (s[k] == ',');
    }
    if (ts->n == 0) return r1_fail(R1_INVALID, "empty task list");
    return R1_OK;
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

void r1_taskset_item(const r1_taskset *ts, r1_task_split split, uint64_t i, r1_item *it) {
    memset(it, 0, sizeof *it);
    it->task = ts->task[i % (uint64_t)ts->n];
    int hi = ts->dmax < it->task->max_difficulty ? ts->dmax : it->task->max_difficulty;
    int lo = ts->dmin < hi ? ts->dmin : hi;
    uint64_t seed = r1_task_seed(split, i);
    it->difficulty = lo + (int)(mix(seed) % (uint64_t)(hi - lo + 1));
    it->task->make(&it->p, seed, it->difficulty);
    r1_task_prompt(it->prompt, sizeof it->prompt, &it->p, ts->compact);
}

r1_status r1_item_encode(r1_item *it, const r1_tok *tok) {
    free(it->ids);
    it->ids = NULL;
    return r1_tok_encode(tok, it->prompt, strlen(it->prompt), 1, &it->ids, &it->n_ids);
}

void r1_item_free(r1_item *it) {
    free(it->ids);
    it->ids = NULL;
}
