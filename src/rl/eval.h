/* eval: held-out accuracy of a model on one task — n problems from the eval
 * split (disjoint from every training seed), all decoded together through the
 * batching engine, scored with the task's verifier and the format reward.
 * Reported: accuracy, format rate, mean think length (tokens of the text
 * between <think> and </think>, re-tokenised) and mean response length. */
#ifndef R1_EVAL_H
#define R1_EVAL_H

#include <stdint.h>

#include "infer/batch.h"
#include "rl/rollout.h"
#include "rl/taskset.h"

typedef struct {
    int64_t n;
    double accuracy, format;
    double think_len, resp_len; /* tokens */
    double with_steps;          /* share of responses whose think block is not empty */
    double acc_steps, acc_direct; /* accuracy of responses with / without a non-empty think */
    double seconds;
    int64_t gen_tokens;
} r1_eval_result;

typedef struct {
    int64_t n;       /* problems */
    float temp;      /* 0: greedy */
    uint64_t seed;
    int64_t max_new;
    int32_t eos;
} r1_eval_opts;

/* Evaluates the first n eval-split problems of ts (one task in ts is usual;
 * several are interleaved). jobs_out (may be NULL) receives the jobs and
 * items (caller frees both with r1_eval_free_jobs) for showing samples. */
r1_status r1_eval_run(r1_engine *e, const r1_tok *tok, const r1_taskset *ts, const r1_eval_opts *o, r1_eval_result *res,
                      r1_rollout_job **jobs_out, r1_item **items_out);
void r1_eval_free_jobs(r1_rollout_job *jobs, r1_item *items, int64_t n);

/* Tokens of the think block of a completion (0 when there is none). */
int64_t r1_think_tokens(const r1_tok *tok, const char *text, size_t len);

#endif
