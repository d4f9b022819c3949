/* lm: next-token pretraining of a policy on a token stream with held-out
 * early stopping inside a time budget — the "pretrain on task text until
 * held-out loss stops improving" stage of `r1 demo`.
 * Batches are B windows of T+1 tokens at random offsets of the training
 * stream. The step budget comes from the time budget: a few steps at lr 0
 * measure the step time, then the warm-up + cosine schedule is laid over the
 * steps that fit. Every eval_every steps the mean loss over fixed held-out
 * windows is measured; the best weights are kept and restored at the end, and
 * training stops after `patience` evaluations without a 0.5% improvement. */
#ifndef R1_LM_H
#define R1_LM_H

#include <stdbool.h>
#include <stdint.h>

#include "rl/policy.h"

typedef struct {
    int64_t B, T;
    float lr, min_lr, wd;
    int64_t warmup;
    int64_t max_steps;   /* upper bound on steps */
    double time_budget;  /* seconds the schedule is laid over (0: max_steps only) */
    double time_cap;     /* stop after this many seconds, schedule untouched (0: none): a
                            step-defined run that is the same on every machine fast enough */
    int64_t eval_every;  /* steps between held-out evaluations */
    int64_t eval_windows; /* held-out windows per evaluation */
    int patience;
    uint64_t seed;
    bool quiet;
    const char *metrics; /* metrics.jsonl path or NULL */
} r1_lm_cfg;

typedef struct {
    int64_t steps;
    double train_loss, heldout_loss, best_heldout, seconds, tokens_per_s;
    bool early_stopped;
} r1_lm_result;

void r1_lm_defaults(r1_lm_cfg *c);
r1_status r1_lm_train(r1_policy *p, const int32_t *train, int64_t n_train, const int32_t *heldout, int64_t n_heldout,
                      const r1_lm_cfg *c, r1_lm_result *res);

#endif
