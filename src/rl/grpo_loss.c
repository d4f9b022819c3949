/* grpo_loss: advantages, aggregation weights and the per-token GRPO
 * coefficient (see grpo_loss.h for the equations). Everything accumulates in
 * double and walks the data in order, so results do not depend on threads. */
#include "rl/grpo_loss.h"

#include <math.h>

int64_t r1_grpo_advantages(const float *r, int64_t n_groups, int64_t G, bool scale_std, float eps, float *adv) {
    int64_t flat = 0;
    for (int64_t g = 0; g < n_groups; g++) {
        const float *rg = r + g * G;
        float *ag = adv + g * G;
        bool equal = true;
        for (int64_t i = 1; i < G; i++) equal &= rg[i] == rg[0];
        if (equal) { /* includes G == 1: no baseline, no signal */
            for (int64_t i = 0; i < G; i++) ag[i] = 0.0f;
            flat++;
            continue;
        }
        double mean = 0.0, var = 0.0;
        for (int64_t i = 0; i < G; i++) mean += rg[i];
        mean /= (double)G;
        for (int64_t i = 0; i < G; i++) var += ((double)rg[i] - mean) * ((double)rg[i] - mean);
        double scale = scale_std ? 1.0 / (sqrt(var / (double)(G - 1)) + (double)eps) : 1.0;
        for (int64_t i = 0; i < G; i++) ag[i] = (float)(((double)rg[i] - mean) * scale);
    }
    return flat;
}

void r1_grpo_weights(r1_grpo_agg agg, const int64_t *len, int64_t n_seq, int64_t l_max, int64_t all_seq,
                     int64_t all_tokens, float *w) {
    for (int64_t i = 0; i < n_seq; i++) {
        double x = 0.0;
        if (len[i] > 0) {
            if (agg == R1_AGG_SEQ_MEAN) x = 1.0 / ((double)all_seq * (double)len[i]);
            else if (agg == R1_AGG_TOKEN_MEAN) x = 1.0 / (double)all_tokens;
            else x = 1.0 / ((double)all_seq * (double)(l_max > 0 ? l_max : 1));
        }
        w[i] = (float)x;
    }
}

void r1_grpo_token_grad(const r1_grpo_clip *c, int64_t n, const uint8_t *mask, const float *logp, const float *old,
                        const float *ref, const float *adv, const float *w, float *g, r1_grpo_stats *st) {
    r1_grpo_stats s = {0};
    for (int64_t t = 0; t < n; t++) {
        if (!mask[t]) {
            g[t] = 0.0f;
            continue;
        }
        double x = logp[t], A = adv[t], rho = exp(x - (double)old[t]);
        double lo = 1.0 - (double)c->eps_low, hi = 1.0 + (double)c->eps_high;
        double rc = rho < lo ? lo : rho > hi ? hi : rho;
        /* min(rho A, clip(rho) A): the clipped branch wins (and the gradient
         * vanishes) exactly when it is strictly smaller. */
        bool clipped = rc * A < rho * A;
        double surr = clipped ? rc * A : rho * A;
        double dl = clipped ? 0.0 : -rho * A;
        double kl = 0.0;
        if (ref) {
            double kappa = exp((double)ref[t] - x);
            kl = kappa - ((double)ref[t] - x) - 1.0;
            dl += (double)c->beta * (1.0 - kappa);
        }
        g[t] = (float)((double)w[t] * dl);
        s.loss += (double)w[t] * (-surr + (double)c->beta * kl);
        s.pg += (double)w[t] * -surr;
        s.kl += kl;
        s.ratio += rho;
        s.clipped += clipped;
        s.clip_low += clipped && rho < lo;
        s.clip_high += clipped && rho > hi;
        s.n++;
    }
    if (st) {
        st->loss += s.loss;
        st->pg += s.pg;
        st->kl += s.kl;
        st->ratio += s.ratio;
        st->clipped += s.clipped;
        st->clip_low += s.clip_low;
        st->clip_high += s.clip_high;
        st->n += s.n;
    }
}
