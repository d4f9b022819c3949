/* loss: per-position log-probabilities of target tokens and the backward of
 * any loss written in terms of them (cross-entropy, GRPO's policy terms).
 *   logp_i = z_i[y_i] - logsumexp(z_i),  dL/dz_i = g_i (onehot(y_i) - softmax(z_i))
 * with g_i = dL/dlogp_i supplied by the caller. logsumexp is accumulated in
 * double from max-shifted f32 exponentials (kernels' lse: 16-wide exp, 8x
 * fewer cycles than libm's double exp on the bench's 8192-wide rows); rows are split across threads, each
 * row done by one thread, so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "train/train.h"

typedef struct {
    const r1_kernels *k;
    float *z;
    const float *lse_in;
    const int32_t *y;
    const float *g;
    float *lse, *logp;
    int64_t V;
} loss_job;

static void logprob_rows(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const loss_job *j = p;
    for (int64_t i = lo; i < hi; i++) {
        const float *z = j->z + i * j->V;
        double lse = j->k->lse(z, j->V);
        j->lse[i] = (float)lse;
        if (j->logp) j->logp[i] = j->y[i] >= 0 ? (float)((double)z[j->y[i]] - lse) : 0.0f;
    }
}

void r1_loss_logprobs(r1_pool *pool, const float *logits, const int32_t *targets, int64_t N, int64_t V, float *lse,
                      float *logp) {
    loss_job j = {.k = r1_kernels_get(), .z = (float *)logits, .y = targets, .lse = lse, .logp = logp, .V = V};
    r1_pool_for(pool, N, 1, logprob_rows, &j);
}

static void backward_rows(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const loss_job *j = p;
    for (int64_t i = lo; i < hi; i++) {
        float *z = j->z + i * j->V, g = j->g[i];
        if (j->y[i] < 0 || g == 0.0f) {
            memset(z, 0, (size_t)j->V * sizeof(float));
            continue;
        }
        j->k->exp_scale(z, j->V, j->lse_in[i], -g);
        z[j->y[i]] += g;
    }
}

void r1_loss_backward(r1_pool *pool, float *logits, const float *lse, const int32_t *targets, const float *g, int64_t N,
                      int64_t V) {
    loss_job j = {.k = r1_kernels_get(), .z = logits, .lse_in = lse, .y = targets, .g = g, .V = V};
    r1_pool_for(pool, N, 1, backward_rows, &j);
}
