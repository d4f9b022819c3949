/* train: the training engine — f32 parameter/gradient/AdamW slabs laid out
 * by the weights visitor, a [B,T] training forward that saves activations in
 * one slab planned up front, the backward of every layer, AdamW with global
 * norm clipping and a warm-up + cosine schedule, gradient accumulation,
 * DeepSeek-V3 aux-loss-free load balancing, the optional sequence-wise
 * balance loss and the MTP module. See docs/TRAINING.md.
 *
 * Loss API (what SFT and GRPO call). A batch names, per position, the target
 * token (next token; < 0 = no loss there) and a weight. Forward returns
 * logp_t = log softmax(logits_t)[target_t] for every position. Backward takes
 * any per-position seed g_t = dL/dlogp_t, so
 *   cross-entropy  L = -sum_t w_t logp_t        -> g_t = -w_t (dlogp = NULL)
 *   GRPO           L = -sum_t A_t ratio_t ...    -> g_t = the caller's coefficient
 * and dL/dlogits_t = g_t (onehot(target_t) - softmax(logits_t)).
 * The MTP loss (lambda * CE of token t+2 with weight w_{t+1}) and the balance
 * loss are added inside forward/backward when enabled. */
#ifndef R1_TRAIN_H
#define R1_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "model/model.h"

typedef struct {
    int64_t B, T;       /* micro-batch shape (sequences, positions) */
    float lr, min_lr;   /* peak and final learning rate */
    int64_t warmup;     /* linear warm-up steps (0..lr) */
    int64_t total_steps; /* cosine decays lr -> min_lr over [warmup, total_steps] */
    float beta1, beta2, eps, weight_decay;
    float clip;         /* global gradient-norm clip (0: off) */
    float bias_gamma;   /* aux-loss-free balancing step per optimizer step (0: off) */
    float aux_alpha;    /* sequence-wise balance loss weight (0: off) */
    float mtp_lambda;   /* MTP loss weight (0: MTP not run; needs cfg.n_mtp > 0) */
    int accum;          /* micro-batches per optimizer step: scales the balance loss */
    uint64_t seed;      /* initialises the MTP module when the model has none */
    bool bf16;          /* bf16 matmuls (operands rounded to bf16, f32 sums; f32 master weights,
                           optimizer and everything else): AVX512-BF16 where the CPU has it,
                           an exact widening fallback elsewhere. false: f32 matmuls */
} r1_train_opts;

/* lr 3e-4, min_lr 3e-5, warmup 0, total 1000, betas (0.9, 0.95), eps 1e-8,
 * weight decay 0.1, clip 1.0, gamma 0.001, alpha 0, lambda 0.3, accum 1, f32 matmuls. */
void r1_train_opts_default(r1_train_opts *o);

typedef struct {
    const int32_t *tokens;  /* [B*T] input ids, row b*T + t */
    const int32_t *targets; /* [B*T] id to predict at each position; < 0: none */
    const float *weight;    /* [B*T] loss weight of each position; NULL: 1/(count of targets) */
    int64_t T;              /* positions per row of this batch, 1..opts.T (0: opts.T): short rows
                               cost only their length (GRPO packs each micro-batch to its longest row) */
} r1_train_batch;

typedef struct {
    double loss;  /* -sum_t w_t logp_t */
    double mtp;   /* MTP cross-entropy (same weights, before lambda); 0 when off */
    double aux;   /* alpha * sum over MoE layers of the balance loss */
    double total; /* loss + lambda * mtp + aux: what backward differentiates (CE seed) */
    int64_t n_targets;
} r1_train_loss;

typedef struct {
    double grad_norm; /* before clipping */
    float lr;
    int64_t step;     /* optimizer steps done, after this one */
    int64_t n_moe;    /* MoE layers with load statistics (MTP layer last) */
    float load_max_mean[64]; /* per MoE layer: max expert load / mean load over the step */
} r1_train_stats;

typedef struct r1_train r1_train;

/* Takes over m's weights: every parameter is copied to an f32 slab and m's
 * tensors are re-pointed there (m must outlive the trainer). With
 * cfg.n_mtp > 0 the MTP module is created (random, from opts->seed) and, if
 * m was loaded from a folder whose safetensors hold model.layers.{L}.*, read
 * from it. Activations are planned for opts->B x opts->T. */
r1_status r1_train_create(r1_train **out, r1_model *m, const r1_train_opts *opts);
void r1_train_destroy(r1_train *t);

/* Training forward over one micro-batch; logp [B*T] (may be NULL) receives
 * the log-probability of each target (0 where none). */
r1_status r1_train_forward(r1_train *t, const r1_train_batch *b, float *logp, r1_train_loss *loss);
/* Backward of the last forward, adding into the gradients. dlogp [B*T] is
 * dL/dlogp per position; NULL means cross-entropy with the batch weights
 * (g_t = -w_t). MTP and balance-loss gradients are added as configured. */
void r1_train_backward(r1_train *t, const float *dlogp);
/* One optimizer step over the accumulated gradients: global-norm clip, the
 * scheduled lr, AdamW (no decay on vectors), expert-bias update from the
 * loads counted since the last step; then zeroes the gradients. */
void r1_train_step(r1_train *t, r1_train_stats *st);
/* Data parallel (docs/DISTRIBUTED.md): sums this step's gradients and
 * expert-load counters over the ranks of the job (r1_dist), so that the
 * r1_train_step that follows, run on every rank, sees the global batch and
 * leaves identical weights everywhere. The sum (not the mean) is the global
 * gradient when each rank's loss weights are normalised by the global batch
 * (1/global target count), which is how pretrain, SFT and GRPO call it.
 * *seconds (may be NULL) gets the time spent in the collective. A no-op on
 * one rank. */
r1_status r1_train_allreduce(r1_train *t, double *seconds);
/* Copies parameters, AdamW moments and the step count from rank root to
 * every rank, so all replicas start from the same state. */
r1_status r1_train_bcast(r1_train *t, int root);
/* Fails (R1_INVALID, on every rank) unless every rank's parameters and step
 * are bit-identical to rank 0's: run before rank 0 saves, so a checkpoint
 * stands for all replicas. Costs one pass over the parameters. */
r1_status r1_train_check_replicas(r1_train *t);
/* lr of optimizer step `step` (0-based) under opts. */
float r1_train_lr(const r1_train_opts *o, int64_t step);

/* Parameter table (checkpoints, tests): n entries in slab order. */
typedef struct {
    char *name;
    int ndim;
    int64_t shape[2];
    int flags;        /* R1_P_* */
    int64_t off, n;   /* offset and count in floats within each slab */
    r1_tensor *slot;  /* the model (or MTP) tensor that views it */
} r1_train_param;

typedef struct {
    const r1_train_param *p;
    int64_t n;
    float *param, *grad, *m, *v; /* slabs of n_floats each */
    int64_t n_floats;
} r1_train_slabs;
r1_train_slabs r1_train_get_slabs(r1_train *t);
int64_t r1_train_steps_done(const r1_train *t);
void r1_train_set_steps_done(r1_train *t, int64_t step);
const r1_train_opts *r1_train_get_opts(const r1_train *t);
bool r1_train_has_mtp(const r1_train *t);
/* Zeroes the gradients and the load counters. */
void r1_train_zero_grad(r1_train *t);

/* ---- loss kernels (loss.c) ---- */
/* lse[N] = logsumexp of each logits row, logp[N] = logits[target] - lse (0 when target < 0). */
void r1_loss_logprobs(r1_pool *pool, const float *logits, const int32_t *targets, int64_t N, int64_t V, float *lse,
                      float *logp);
/* In place: logits[N,V] -> dL/dlogits = g_i (onehot - softmax); rows with
 * target < 0 or g_i = 0 become zero. */
void r1_loss_backward(r1_pool *pool, float *logits, const float *lse, const int32_t *targets, const float *g, int64_t N,
                      int64_t V);

/* ---- AdamW (adamw.c) ---- */
/* p -= lr wd p (decoupled); m, v moments; bias-corrected step t (1-based). */
void r1_adamw(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2, float eps, float wd,
              int64_t t);

#endif
