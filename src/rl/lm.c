/* lm: stream pretraining with held-out early stopping (see lm.h). */
#include "rl/lm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "infer/generate.h"

void r1_lm_defaults(r1_lm_cfg *c) {
    *c = (r1_lm_cfg){.B = 16, .T = 128, .lr = 3e-3f, .min_lr = 3e-4f, .wd = 0.1f, .warmup = 50, .max_steps = 100000,
                     .time_budget = 0, .eval_every = 100, .eval_windows = 32, .patience = 3, .seed = 1};
}

static void window(const int32_t *s, int64_t off, int64_t T, int32_t *tok, int32_t *tgt) {
    for (int64_t t = 0; t < T; t++) {
        tok[t] = s[off + t];
        tgt[t] = s[off + t + 1];
    }
}

static r1_status heldout_loss(r1_train *t, const int32_t *h, int64_t n, int64_t B, int64_t T, int64_t windows,
                              int32_t *tok, int32_t *tgt, double *out) {
    int64_t nw = (n - 1) / T < windows ? (n - 1) / T : windows;
    double sum = 0.0;
    int64_t batches = 0;
    for (int64_t w0 = 0; w0 + B <= nw; w0 += B, batches++) {
        for (int64_t b = 0; b < B; b++) window(h, (w0 + b) * T, T, tok + b * T, tgt + b * T);
        r1_train_batch bt = {.tokens = tok, .targets = tgt, .weight = NULL};
        r1_train_loss L;
        R1_TRY(r1_train_forward(t, &bt, NULL, &L));
        sum += L.loss;
    }
    if (!batches) return r1_fail(R1_INVALID, "lm: held-out stream of %lld tokens is shorter than one batch", (long long)n);
    *out = sum / (double)batches;
    return R1_OK;
}

r1_status r1_lm_train(r1_policy *p, const int32_t *train, int64_t n_train, const int32_t *heldout, int64_t n_heldout,
                      const r1_lm_cfg *c, r1_lm_result *res) {
    *res = (r1_lm_result){0};
    int64_t B = c->B, T = c->T, N = B * T;
    if (n_train < T + 2) return r1_fail(R1_INVALID, "lm: training stream of %lld tokens is too short", (long long)n_train);
    int32_t *tok = malloc((size_t)N * sizeof *tok), *tgt = malloc((size_t)N * sizeof *tgt);
    float *best = NULL;
    FILE *mf = NULL;
    r1_status s = tok && tgt ? R1_OK : r1_fail(R1_NOMEM, "lm: out of memory");
    if (s == R1_OK && c->metrics && !(mf = fopen(c->metrics, "w"))) s = r1_fail(R1_IO, "%s: %s", c->metrics, strerror(errno));
    r1_rng rng;
    r1_rng_seed(&rng, c->seed);
    r1_train_opts o;
    r1_train_opts_default(&o);
    o.B = B, o.T = T, o.weight_decay = c->wd, o.seed = c->seed, o.mtp_lambda = 0.0f;
    int64_t steps = c->max_steps;
    if (s == R1_OK && c->time_budget > 0) { /* calibrate: 3 steps at lr 0 change nothing */
        o.lr = o.min_lr = 0.0f;
        o.total_steps = 3;
        s = r1_policy_train(p, &o);
        double t0 = 0;
        for (int k = 0; k < 3 && s == R1_OK; k++) {
            if (k == 1) t0 = r1_now();
            for (int64_t b = 0; b < B; b++)
                window(train, (int64_t)r1_rng_below(&rng, (uint64_t)(n_train - T - 1)), T, tok + b * T, tgt + b * T);
            r1_train_batch bt = {.tokens = tok, .targets = tgt, .weight = NULL};
            r1_train_loss L;
            s = r1_train_forward(p->t, &bt, NULL, &L);
            if (s == R1_OK) r1_train_backward(p->t, NULL), r1_train_step(p->t, NULL);
        }
        double per = (r1_now() - t0) / 2.0;
        /* held-out evaluations cost about a third of a step per window batch */
        double eval_cost = per / 3.0 * (double)(c->eval_windows / B + 1) / (double)(c->eval_every > 0 ? c->eval_every : 1);
        int64_t fit = (int64_t)(c->time_budget / (per + eval_cost));
        if (fit < steps) steps = fit > 10 ? fit : 10;
    }
    o.lr = c->lr, o.min_lr = c->min_lr, o.warmup = c->warmup, o.total_steps = steps;
    if (s == R1_OK) s = r1_policy_train(p, &o);
    int64_t nf = s == R1_OK ? r1_train_get_slabs(p->t).n_floats : 0;
    if (s == R1_OK && !(best = malloc((size_t)nf * sizeof *best))) s = r1_fail(R1_NOMEM, "lm: out of memory");
    double t_start = r1_now(), best_loss = 1e30, run_loss = 0.0;
    int bad = 0;
    int64_t best_step = 0;
    if (s == R1_OK && !c->quiet)
        fprintf(stderr, "pretrain: ~%lld steps planned, batch %lldx%lld, %lld parameters\n", (long long)steps,
                (long long)B, (long long)T, (long long)nf);
    int64_t planned = steps, cap = c->time_budget > 0 ? c->max_steps : steps;
    for (int64_t step = 1; s == R1_OK && step <= cap; step++) {
        if (c->time_budget > 0) { /* machine slower than calibrated: move along the schedule by time */
            int64_t virt = (int64_t)((double)planned * (r1_now() - t_start) / c->time_budget);
            if (virt > r1_train_steps_done(p->t)) r1_train_set_steps_done(p->t, virt);
        }
        for (int64_t b = 0; b < B; b++)
            window(train, (int64_t)r1_rng_below(&rng, (uint64_t)(n_train - T - 1)), T, tok + b * T, tgt + b * T);
        r1_train_batch bt = {.tokens = tok, .targets = tgt, .weight = NULL};
        r1_train_loss L;
        s = r1_train_forward(p->t, &bt, NULL, &L);
        if (s != R1_OK) break;
        r1_train_backward(p->t, NULL);
        r1_train_stats st;
        r1_train_step(p->t, &st);
        run_loss = step == 1 ? L.loss : 0.95 * run_loss + 0.05 * L.loss;
        res->steps = step;
        double el = r1_now() - t_start;
        bool last = step == cap || (c->time_budget > 0 && el > c->time_budget) || (c->time_cap > 0 && el > c->time_cap);
        if (step % c->eval_every == 0 || last) {
            double hl = 0;
            s = heldout_loss(p->t, heldout, n_heldout, B, T, c->eval_windows, tok, tgt, &hl);
            if (s != R1_OK) break;
            res->heldout_loss = hl;
            if (hl < best_loss * 0.995) bad = 0;
            else bad++;
            if (hl < best_loss) {
                best_loss = hl;
                best_step = step;
                memcpy(best, r1_train_get_slabs(p->t).param, (size_t)nf * sizeof *best);
            }
            if (mf) {
                fprintf(mf, "{\"step\": %lld, \"loss\": %.6f, \"heldout_loss\": %.6f, \"lr\": %.6g, \"grad_norm\": %.4f, "
                            "\"tokens_per_s\": %.1f, \"elapsed_s\": %.2f}\n",
                        (long long)step, run_loss, hl, st.lr, st.grad_norm, (double)(step * N) / el, el);
                fflush(mf);
            }
            if (!c->quiet)
                fprintf(stderr, "pretrain %lld/%lld loss %.4f held-out %.4f lr %.2e | %.0f tok/s | %.0f s\n",
                        (long long)step, (long long)planned, run_loss, hl, st.lr, (double)(step * N) / el, el);
            if (c->patience > 0 && bad >= c->patience) {
                res->early_stopped = true;
                break;
            }
        }
        if (last) break;
    }
    if (s == R1_OK && best_step > 0 && best_step != res->steps) {
        memcpy(r1_train_get_slabs(p->t).param, best, (size_t)nf * sizeof *best);
        s = r1_model_weights_changed(p->m);
    }
    res->train_loss = run_loss;
    res->best_heldout = best_loss;
    res->seconds = r1_now() - t_start;
    res->tokens_per_s = (double)(res->steps * N) / (res->seconds + 1e-12);
    if (mf) fclose(mf);
    free(best);
    free(tok);
    free(tgt);
    return s;
}
