/* grpo_loss: the arithmetic of GRPO (GRPO.md §1.1, §1.5, §1.7), separate from
 * models and rollouts so it can be checked against a NumPy reference.
 *   advantages  A_i = (r_i - mean_g r) / (std_g r + eps) per group of G
 *               (Bessel std as TRL/veRL; scale_std = false: Dr. GRPO's
 *               r_i - mean). A group whose rewards are all equal gets exactly
 *               0, never float noise.
 *   per token   rho = exp(x - x_old), kappa = exp(x_ref - x),
 *               l = -min(rho A, clip(rho, 1-eps_low, 1+eps_high) A)
 *                   + beta (kappa - log kappa - 1)              (k3 KL)
 *               dl/dx = -1{not clipped} rho A + beta (1 - kappa)
 *   aggregate   L = sum_t w_t l_t, with w from r1_grpo_weights.
 * The coefficient g_t = w_t dl/dx is what r1_train_backward takes as dlogp. */
#ifndef R1_GRPO_LOSS_H
#define R1_GRPO_LOSS_H

#include <stdbool.h>
#include <stdint.h>

/* How per-token losses are averaged (GRPO.md §1.3). */
typedef enum {
    R1_AGG_SEQ_MEAN = 0, /* (1/n_seq) sum_i (1/|o_i|) sum_t: DeepSeekMath eq. 3 */
    R1_AGG_TOKEN_MEAN,   /* 1/sum_i |o_i|: DAPO's token-level loss */
    R1_AGG_CONSTANT      /* 1/(n_seq L_max): Dr. GRPO */
} r1_grpo_agg;

/* adv[n_groups*G] from rewards r (same layout, group-major). Returns the
 * number of groups whose rewards are all equal (their advantages are 0). */
int64_t r1_grpo_advantages(const float *r, int64_t n_groups, int64_t G, bool scale_std, float eps, float *adv);

/* Aggregation weight of each sequence's tokens: w[i] for sequence i of the
 * n_seq here, with len[i] completion tokens (0-length sequences get 0). The
 * loss averages over a batch of all_seq sequences holding all_tokens
 * completion tokens: these n_seq and the sum of len in one process, every
 * rank's together under data parallelism, so that the gradients summed over
 * the ranks are the one-process gradient. */
void r1_grpo_weights(r1_grpo_agg agg, const int64_t *len, int64_t n_seq, int64_t l_max, int64_t all_seq,
                     int64_t all_tokens, float *w);

typedef struct {
    float eps_low, eps_high; /* clip range [1-eps_low, 1+eps_high] */
    float beta;              /* k3 KL coefficient */
} r1_grpo_clip;

/* Sums over the tokens seen (divide by n for means). */
typedef struct {
    double loss;      /* sum_t w_t l_t */
    double pg;        /* sum_t -w_t min(...): the surrogate part of loss */
    double kl;        /* sum_t k3_t (unweighted) */
    double ratio;     /* sum_t rho_t */
    int64_t clipped;  /* tokens whose surrogate was clipped (gradient 0) */
    int64_t clip_low, clip_high;
    int64_t n;        /* tokens with a target */
} r1_grpo_stats;

/* For n positions: mask[t] != 0 marks completion tokens (others get g = 0).
 * logp, old, ref: log-probs of the taken token under the current, old and
 * reference policy (ref NULL: no KL term, whatever beta; with ref and
 * beta = 0 the KL is only measured); adv and w per position.
 * Writes g[t] = dL/dlogp_t and adds to *st (may be NULL). */
void r1_grpo_token_grad(const r1_grpo_clip *c, int64_t n, const uint8_t *mask, const float *logp, const float *old,
                        const float *ref, const float *adv, const float *w, float *g, r1_grpo_stats *st);

#endif
