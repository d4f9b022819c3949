/* taskset: which problems a run draws — one or more built-in tasks, a
 * difficulty range — and problem i of a split turned into a prompt (the
 * R1-Zero template, compact for small contexts) and its token ids.
 * Problem i uses task i mod n_tasks and seed r1_task_seed(split, i), so train
 * and eval problems never coincide and every run sees the same problems. */
#ifndef R1_TASKSET_H
#define R1_TASKSET_H

#include <stdint.h>

#include "tasks/reward.h"
#include "tasks/task.h"
#include "tok/tokenizer.h"

enum { R1_TASKSET_MAX = 8 };

typedef struct {
    const r1_task *task[R1_TASKSET_MAX];
    int n;
    int dmin, dmax; /* difficulty range (clamped to each task's maximum) */
    int compact;    /* prompt template: 1 = "User: q Assistant:" */
} r1_taskset;

typedef struct {
    const r1_task *task;
    int difficulty;
    r1_problem p;
    char prompt[1024];
    int32_t *ids; /* prompt ids with BOS (r1_item_encode; free) */
    int64_t n_ids;
} r1_item;

/* names: "arith", "arith,lineq" or "all". */
r1_status r1_taskset_parse(r1_taskset *ts, const char *names, int dmin, int dmax, int compact);
/* Problem i of the split (ids left NULL). */
void r1_taskset_item(const r1_taskset *ts, r1_task_split split, uint64_t i, r1_item *it);
/* Encodes the prompt (BOS as the tokenizer config says). */
r1_status r1_item_encode(r1_item *it, const r1_tok *tok);
void r1_item_free(r1_item *it);

#endif
