/* grpo: the R1-Zero reinforcement loop (DeepSeekMath §4.1, GRPO.md §1).
 * One step: P problems from the train split, G completions each sampled with
 * the batching engine on the live weights; rule rewards (tasks/reward);
 * group-relative advantages; then mu optimizer updates on that rollout batch,
 * each one a pass of forward (log-probs) -> per-token coefficient
 * (rl/grpo_loss) -> backward over micro-batches. The old policy's log-probs
 * come from a forward before the first update (skipped when mu = 1, where
 * they equal the current ones); with beta > 0 a frozen copy of the starting
 * weights is the reference, evaluated by swapping it into the parameter slab
 * for one forward per micro-batch. Writes OUT/metrics.jsonl (one line per
 * step) and OUT/samples.jsonl (rollouts with their rewards). */
#ifndef R1_GRPO_H
#define R1_GRPO_H

#include <stdbool.h>
#include <stdint.h>

#include "rl/grpo_loss.h"
#include "rl/policy.h"
#include "rl/taskset.h"
#include "tasks/reward.h"
#include "tok/tokenizer.h"

typedef struct {
    int64_t step;
    double reward_mean, reward_std, accuracy, format;
    double resp_len, think_len;   /* mean completion / think tokens */
    double kl, clip_frac, entropy, ratio;
    double frac_flat;             /* groups whose rewards were all equal */
    double loss, grad_norm, lr;
    double rollout_tok_s, rollout_s, step_s, elapsed_s;
    int64_t n_seq, n_tokens;      /* sequences and completion tokens trained on */
    double eval_acc;              /* held-out greedy accuracy when evaluated this step, else -1 */
} r1_grpo_report;

typedef struct {
    r1_taskset ts;
    uint64_t first;      /* index of the first train-split problem */
    int64_t steps;       /* rollout steps */
    int64_t prompts;     /* P problems per step */
    int64_t G;           /* completions per problem */
    int64_t max_new;     /* completion cap (tokens) */
    int64_t mu;          /* optimizer updates per rollout batch */
    int64_t micro;       /* sequences per forward/backward */
    float lr, wd, grad_clip;
    int64_t warmup;      /* optimizer steps of linear lr warm-up (Adam's first steps are sign-like) */
    float lr_decay;      /* cosine from lr down to lr_decay * lr over `steps` (1: constant lr) */
    float beta;          /* k3 KL weight (0: no reference model) */
    float eps_low, eps_high;
    float temp;          /* rollout temperature (log-probs use the same) */
    float adv_eps;
    bool scale_std;      /* false: Dr. GRPO advantages r - mean */
    bool drop_flat;      /* skip groups with equal rewards (DAPO dynamic sampling, without refill) */
    r1_grpo_agg agg;
    r1_reward_weights rw;
    uint64_t seed;
    const char *out;     /* run folder (NULL: no files) */
    int64_t keep_groups; /* groups per step written to samples.jsonl (-1: all) */
    double time_budget;  /* stop after this many seconds (0: none) */
    int64_t eval_every, eval_n; /* held-out greedy accuracy every N steps on eval_n problems (0: off) */
    bool quiet;
    void (*on_step)(void *ctx, const r1_grpo_report *r);
    void *ctx;
} r1_grpo_cfg;

/* G 8, P 8, max_new 48, mu 2, micro 16, lr 5e-5 (warm-up 10, constant), wd 0, clip 1, beta 0.02,
 * eps 0.2 / 0.28, temp 1, adv_eps 1e-4, std scaling on, token-mean, rewards
 * 1 / 0.1 / 0, 100 steps, keep 2 groups. The taskset is left for the caller. */
void r1_grpo_defaults(r1_grpo_cfg *c);

/* Runs c->steps steps (or until the time budget) on p (its trainer is
 * replaced by one shaped for the rollouts). */
r1_status r1_grpo_run(r1_policy *p, const r1_tok *tok, const r1_grpo_cfg *c);

#endif
