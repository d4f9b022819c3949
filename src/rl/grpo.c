/* grpo: the rollout -> reward -> advantage -> mu updates loop (see grpo.h).
 * Buffers are sized once for this rank's P/n * G sequences of
 * T = max_prompt + max_new positions; a step allocates only the rollout texts.
 * Training rows are sorted by length and each micro-batch is only as long as
 * its longest row: completions are usually far shorter than max_new, and
 * padding would cost as much as tokens (quadratically in attention).
 * Data parallel over n ranks (docs/DISTRIBUTED.md): every rank walks the same
 * P problems and rolls out the whole groups [r*P/n, (r+1)*P/n); sampling
 * seeds depend on the global completion index only, so the rollouts are the
 * ones a single process makes. Loss weights use the global sequence and
 * token counts (allreduced before they are computed), gradients are summed
 * over the ranks before each optimizer step, metrics are reduced and rank 0
 * alone writes files. */
#include "rl/grpo.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dist/dist.h"
#include "infer/generate.h"
#include "rl/eval.h"
#include "rl/rollout.h"

void r1_grpo_defaults(r1_grpo_cfg *c) {
    *c = (r1_grpo_cfg){.steps = 100, .prompts = 8, .G = 8, .max_new = 48, .mu = 2, .micro = 16, .lr = 5e-5f, .warmup = 10,
                       .lr_decay = 1.0f,
                       .wd = 0.0f, .grad_clip = 1.0f, .beta = 0.02f, .eps_low = 0.2f, .eps_high = 0.28f,
                       .temp = 1.0f, .adv_eps = 1e-4f, .scale_std = true, .drop_flat = false,
                       .agg = R1_AGG_TOKEN_MEAN, .rw = r1_reward_defaults(), .seed = 1, .keep_groups = 2};
}

typedef struct {
    const r1_grpo_cfg *c;
    r1_policy *p;
    const r1_tok *tok;
    int32_t eos;
    int64_t P, G, T, B, max_prompt, nf;
    int64_t Pl, S, grp0; /* this rank: groups, sequences (Pl*G), index of its first group */
    uint64_t cursor;
    r1_engine *e;
    r1_item *items;
    r1_rollout_job *jobs;
    r1_reward *rew;
    float *rt, *adv, *wseq, *ref_w, *tmp_w;
    int64_t *keep, *lens, *mb_T;
    int32_t *seqbuf;
    r1_seqview *views;
    /* per position, all micro-batches: [nmb_max * B * T] */
    int32_t *tok_r, *tgt_r;
    float *w_r, *adv_r, *old_r, *ref_r, *logp, *g;
    uint8_t *mask_r;
    FILE *metrics, *samples;
} grpo;

static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^ c * 0x94d049bb133111ebull;
    x ^= x >> 31;
    x *= 0xd6e8feb86659fd93ull;
    return x ^ (x >> 32);
}

/* Longest prompt among the first 1024 problems, plus slack; longer ones are skipped. */
static r1_status measure_prompts(grpo *g) {
    int64_t mx = 0;
    for (uint64_t i = 0; i < 1024; i++) {
        r1_item it;
        r1_taskset_item(&g->c->ts, R1_SPLIT_TRAIN, g->c->first + i, &it);
        R1_TRY(r1_item_encode(&it, g->tok));
        if (it.n_ids > mx) mx = it.n_ids;
        r1_item_free(&it);
    }
    g->max_prompt = mx + 8;
    return R1_OK;
}

static r1_status open_files(grpo *g) {
    const char *out = g->c->out;
    if (!out) return R1_OK;
    if (mkdir(out, 0755) != 0 && errno != EEXIST) return r1_fail(R1_IO, "%s: cannot create folder: %s", out, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    if (!(g->metrics = fopen(path, "w"))) return r1_fail(R1_IO, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/samples.jsonl", out);
    if (!(g->samples = fopen(path, "w"))) return r1_fail(R1_IO, "%s: %s", path, strerror(errno));
    return R1_OK;
}

#define ALLOC(ptr, count) ((ptr) = calloc((size_t)(count), sizeof *(ptr)), (ptr) != NULL)

static r1_status setup(grpo *g) {
    const r1_grpo_cfg *c = g->c;
    r1_model *m = g->p->m;
    int size = r1_dist_size();
    if (c->prompts % size != 0)
        return r1_fail(R1_INVALID, "grpo: %lld prompts per step do not split into whole groups over %d ranks "
                                   "(give --prompts a multiple of the rank count)", (long long)c->prompts, size);
    g->P = c->prompts, g->G = c->G, g->Pl = c->prompts / size, g->S = g->Pl * c->G;
    g->grp0 = r1_dist_rank() * g->Pl;
    g->eos = r1_tok_eos(g->tok) >= 0 ? r1_tok_eos(g->tok) : (int32_t)m->cfg.eos_id;
    R1_TRY(measure_prompts(g));
    g->T = g->max_prompt + c->max_new;
    if (g->T > m->cfg.max_pos)
        return r1_fail(R1_LIMIT, "grpo: prompt (%lld) + max_new (%lld) exceeds max_position_embeddings %lld",
                       (long long)g->max_prompt, (long long)c->max_new, (long long)m->cfg.max_pos);
    g->B = c->micro < g->S ? c->micro : g->S;
    r1_train_opts o;
    r1_train_opts_default(&o);
    o.B = g->B, o.T = g->T, o.lr = c->lr, o.min_lr = c->lr * c->lr_decay, o.warmup = c->warmup, o.total_steps = c->steps * c->mu + 1;
    o.weight_decay = c->wd, o.clip = c->grad_clip, o.bias_gamma = 0.0f, o.aux_alpha = 0.0f, o.mtp_lambda = 0.0f;
    o.seed = c->seed;
    R1_TRY(r1_policy_train(g->p, &o));
    R1_TRY(r1_train_bcast(g->p->t, 0)); /* identical replicas (and references) from the first step */
    int slots = g->S < 256 ? (int)g->S : 256;
    R1_TRY(r1_engine_create(&g->e, m, slots, g->T + 1, slots + 512));
    int64_t nmb = (g->S + g->B - 1) / g->B, R = nmb * g->B * g->T;
    g->nf = r1_train_get_slabs(g->p->t).n_floats;
    bool ok = ALLOC(g->items, g->Pl) && ALLOC(g->jobs, g->S) && ALLOC(g->rew, g->S) && ALLOC(g->rt, g->S) &&
              ALLOC(g->adv, g->S) && ALLOC(g->wseq, g->S) && ALLOC(g->keep, g->S) && ALLOC(g->lens, g->S) &&
              ALLOC(g->seqbuf, g->S * g->T) && ALLOC(g->views, g->S) && ALLOC(g->tok_r, R) && ALLOC(g->tgt_r, R) &&
              ALLOC(g->w_r, R) && ALLOC(g->adv_r, R) && ALLOC(g->old_r, R) && ALLOC(g->ref_r, R) &&
              ALLOC(g->mask_r, R) && ALLOC(g->logp, g->B * g->T) && ALLOC(g->g, g->B * g->T) && ALLOC(g->mb_T, nmb);
    if (ok && c->beta > 0.0f) {
        ok = ALLOC(g->ref_w, g->nf) && ALLOC(g->tmp_w, g->nf);
        if (ok) memcpy(g->ref_w, r1_train_get_slabs(g->p->t).param, (size_t)g->nf * sizeof(float));
    }
    if (!ok) return r1_fail(R1_NOMEM, "grpo: out of memory");
    return r1_dist_is_root() ? open_files(g) : R1_OK;
}

static void teardown(grpo *g) {
    if (g->metrics) fclose(g->metrics);
    if (g->samples) fclose(g->samples);
    r1_engine_destroy(g->e);
    for (int64_t i = 0; g->items && i < g->Pl; i++) r1_item_free(&g->items[i]);
    if (g->jobs) r1_rollout_jobs_free(g->jobs, g->S);
    void *bufs[] = {g->items, g->jobs, g->rew, g->rt, g->adv, g->wseq, g->keep, g->lens, g->seqbuf, g->views,
                    g->tok_r, g->tgt_r, g->w_r, g->adv_r, g->old_r, g->ref_r, g->mask_r, g->logp, g->g,
                    g->ref_w, g->tmp_w, g->mb_T};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

/* Forward of micro-batch mb (rows of mb_T[mb] positions at offset mb*B*T);
 * logp of every position into out. */
static r1_status forward_mb(grpo *g, int64_t mb, float *out, double *loss) {
    int64_t off = mb * g->B * g->T;
    r1_train_batch b = {.tokens = g->tok_r + off, .targets = g->tgt_r + off, .weight = g->w_r + off, .T = g->mb_T[mb]};
    r1_train_loss L;
    R1_TRY(r1_train_forward(g->p->t, &b, out, &L));
    if (loss) *loss += L.loss;
    return R1_OK;
}

static r1_status ref_logprobs(grpo *g, int64_t nmb) {
    float *param = r1_train_get_slabs(g->p->t).param;
    size_t bytes = (size_t)g->nf * sizeof(float);
    memcpy(g->tmp_w, param, bytes);
    memcpy(param, g->ref_w, bytes);
    r1_status s = R1_OK;
    for (int64_t mb = 0; mb < nmb && s == R1_OK; mb++) s = forward_mb(g, mb, g->ref_r + mb * g->B * g->T, NULL);
    memcpy(param, g->tmp_w, bytes);
    return s;
}

static void write_samples(grpo *g, int64_t step) {
    int64_t groups = g->c->keep_groups < 0 || g->c->keep_groups > g->Pl ? g->Pl : g->c->keep_groups;
    for (int64_t i = 0; i < groups; i++)
        for (int64_t k = 0; k < g->G; k++) {
            int64_t j = i * g->G + k;
            cJSON *o = cJSON_CreateObject();
            if (!o) return;
            cJSON_AddNumberToObject(o, "step", (double)step);
            cJSON_AddStringToObject(o, "task", g->items[i].task->name);
            cJSON_AddStringToObject(o, "prompt", g->items[i].prompt);
            cJSON_AddStringToObject(o, "completion", g->jobs[j].text ? g->jobs[j].text : "");
            cJSON_AddNumberToObject(o, "reward", g->rew[j].total);
            cJSON_AddNumberToObject(o, "accuracy", g->rew[j].accuracy);
            cJSON_AddNumberToObject(o, "format", g->rew[j].format);
            cJSON_AddNumberToObject(o, "advantage", g->adv[j]);
            char *txt = cJSON_PrintUnformatted(o);
            if (txt) fprintf(g->samples, "%s\n", txt);
            free(txt);
            cJSON_Delete(o);
        }
    fflush(g->samples);
}

static void write_metrics(FILE *f, const r1_grpo_report *r) {
    fprintf(f,
            "{\"step\": %lld, \"reward_mean\": %.6f, \"reward_std\": %.6f, \"accuracy\": %.6f, \"format\": %.6f, "
            "\"response_len\": %.3f, \"think_len\": %.3f, \"kl\": %.6g, \"clip_frac\": %.6g, \"entropy\": %.6f, "
            "\"ratio\": %.6f, \"frac_flat\": %.4f, \"loss\": %.6g, \"grad_norm\": %.6g, \"lr\": %.6g, "
            "\"rollout_tokens_per_s\": %.1f, \"rollout_s\": %.3f, \"step_s\": %.3f, \"elapsed_s\": %.2f, "
            "\"sequences\": %lld, \"tokens\": %lld",
            (long long)r->step, r->reward_mean, r->reward_std, r->accuracy, r->format, r->resp_len, r->think_len, r->kl,
            r->clip_frac, r->entropy, r->ratio, r->frac_flat, r->loss, r->grad_norm, r->lr, r->rollout_tok_s,
            r->rollout_s, r->step_s, r->elapsed_s, (long long)r->n_seq, (long long)r->n_tokens);
    if (r->eval_acc >= 0) fprintf(f, ", \"eval_accuracy\": %.6f", r->eval_acc);
    fprintf(f, "}\n");
    fflush(f);
}

/* The step's P problems in order (every rank walks all of them so the cursor
 * and the skipped over-long prompts agree); this rank keeps its groups. */
static r1_status next_items(grpo *g, int64_t step) {
    const r1_grpo_cfg *c = g->c;
    for (int64_t i = 0; i < g->P; i++) {
        bool mine = i >= g->grp0 && i < g->grp0 + g->Pl;
        r1_item other = {0}, *it = mine ? &g->items[i - g->grp0] : &other;
        do {
            r1_item_free(it);
            r1_taskset_item(&c->ts, R1_SPLIT_TRAIN, c->first + g->cursor++, it);
            R1_TRY(r1_item_encode(it, g->tok));
        } while (it->n_ids > g->max_prompt);
        if (!mine) r1_item_free(it);
        for (int64_t k = 0; mine && k < g->G; k++) {
            r1_rollout_job *j = &g->jobs[(i - g->grp0) * g->G + k];
            j->prompt = it->ids;
            j->n_prompt = it->n_ids;
            j->seed = mix3(c->seed, (uint64_t)step, (uint64_t)(i * g->G + k));
        }
    }
    return R1_OK;
}

/* Rollouts and rewards of one step; the report holds means over all ranks. */
static r1_status rollouts(grpo *g, int64_t step, r1_grpo_report *r) {
    const r1_grpo_cfg *c = g->c;
    r1_rollout_jobs_free(g->jobs, g->S);
    R1_TRY(next_items(g, step));
    r1_rollout_opts ro = {.max_new = c->max_new, .temp = c->temp, .top_p = 1.0f, .eos = g->eos, .stop = "</answer>"};
    int64_t gen = 0;
    double t0 = r1_now();
    R1_TRY(r1_rollout_run(g->e, g->tok, g->jobs, g->S, &ro, &gen));
    double secs = r1_now() - t0;
    double sum[7] = {0}; /* reward, reward^2, accuracy, format, response and think tokens, generated tokens */
    for (int64_t j = 0; j < g->S; j++) {
        const r1_item *it = &g->items[j / g->G];
        g->rew[j] = r1_reward_score(it->task, &it->p, g->jobs[j].text, g->jobs[j].len, &c->rw);
        g->rt[j] = g->rew[j].total;
        sum[0] += g->rt[j], sum[1] += (double)g->rt[j] * g->rt[j];
        sum[2] += g->rew[j].accuracy;
        sum[3] += g->rew[j].format;
        sum[4] += (double)g->jobs[j].n_out;
        sum[5] += (double)r1_think_tokens(g->tok, g->jobs[j].text, g->jobs[j].len);
    }
    sum[6] = (double)gen;
    R1_TRY(r1_dist_allreduce_f64(sum, 7, R1_DIST_SUM));
    R1_TRY(r1_dist_allreduce_f64(&secs, 1, R1_DIST_MAX)); /* the step waits for the slowest rank */
    double n = (double)(g->P * g->G);
    r->rollout_s = secs;
    r->rollout_tok_s = sum[6] / (secs + 1e-12);
    r->reward_mean = sum[0] / n;
    r->reward_std = sqrt(fmax(0.0, sum[1] / n - r->reward_mean * r->reward_mean));
    r->accuracy = sum[2] / n, r->format = sum[3] / n, r->resp_len = sum[4] / n, r->think_len = sum[5] / n;
    return R1_OK;
}

static int64_t seq_len(const grpo *g, int64_t j) { return g->jobs[j].n_prompt + g->jobs[j].n_out; }

/* Longest first (insertion sort: a step keeps at most a few hundred), ties by
 * index, so packing is deterministic. */
static void sort_by_length(grpo *g, int64_t n_keep) {
    for (int64_t i = 1; i < n_keep; i++) {
        int64_t j = g->keep[i], k = i;
        for (; k > 0 && seq_len(g, g->keep[k - 1]) < seq_len(g, j); k--) g->keep[k] = g->keep[k - 1];
        g->keep[k] = j;
    }
}

/* Packs the kept sequences (sorted by length) into micro-batch rows of
 * mb_T[mb] positions each; returns the micro-batch count. */
static int64_t pack(grpo *g, int64_t n_keep) {
    for (int64_t k = 0; k < n_keep; k++) {
        const r1_rollout_job *j = &g->jobs[g->keep[k]];
        int32_t *ids = g->seqbuf + k * g->T;
        int64_t np = j->n_prompt, no = j->n_out;
        R1_ASSERT(np + no <= g->T);
        memcpy(ids, j->prompt, (size_t)np * sizeof(int32_t));
        memcpy(ids + np, j->out, (size_t)no * sizeof(int32_t));
        g->views[k] = (r1_seqview){.ids = ids, .n = np + no, .from = np, .w = g->wseq[k]};
    }
    int64_t nmb = (n_keep + g->B - 1) / g->B, BT = g->B * g->T;
    for (int64_t mb = 0; mb < nmb; mb++) {
        int64_t base = mb * g->B, cnt = n_keep - base < g->B ? n_keep - base : g->B, off = mb * BT, T = 1;
        for (int64_t b = 0; b < cnt; b++) T = g->views[base + b].n > T ? g->views[base + b].n : T;
        g->mb_T[mb] = T;
        r1_rows_fill(g->B, T, g->views + base, cnt, g->tok_r + off, g->tgt_r + off, g->w_r + off, g->mask_r + off);
        for (int64_t b = 0; b < g->B; b++) {
            float a = b < cnt ? g->adv[g->keep[base + b]] : 0.0f;
            for (int64_t t = 0; t < T; t++) g->adv_r[off + b * T + t] = a;
        }
    }
    return nmb;
}

static r1_status update(grpo *g, int64_t nmb, r1_grpo_report *r) {
    const r1_grpo_cfg *c = g->c;
    int64_t BT = g->B * g->T;
    bool use_ref = c->beta > 0.0f;
    if (use_ref) R1_TRY(ref_logprobs(g, nmb));
    r1_grpo_clip cl = {.eps_low = c->eps_low, .eps_high = c->eps_high, .beta = c->beta};
    r1_grpo_stats st = {0};
    double ent = 0.0;
    int64_t ent_n = 0;
    r1_train_stats ts = {0};
    for (int64_t it = 0; it < c->mu; it++) {
        for (int64_t mb = 0; mb < nmb; mb++) {
            int64_t off = mb * BT, n = g->B * g->mb_T[mb];
            R1_TRY(forward_mb(g, mb, g->logp, NULL));
            /* the first pass runs the rollout policy itself (the step comes
             * after all micro-batches), so its logp are the old ones: no
             * separate forward for them (a quarter of the update's forwards
             * at mu = 2; GRPO trains with bias_gamma 0, so the expert loads
             * it would have counted change nothing) */
            if (it == 0) memcpy(g->old_r + off, g->logp, (size_t)n * sizeof(float));
            if (it == 0)
                for (int64_t t = 0; t < n; t++)
                    if (g->mask_r[off + t]) ent -= g->old_r[off + t], ent_n++;
            r1_grpo_token_grad(&cl, n, g->mask_r + off, g->logp, g->old_r + off, use_ref ? g->ref_r + off : NULL,
                               g->adv_r + off, g->w_r + off, g->g, &st);
            r1_train_backward(g->p->t, g->g);
        }
        R1_TRY(r1_train_allreduce(g->p->t, NULL));
        r1_train_step(g->p->t, &ts);
    }
    double f[4] = {st.kl, st.ratio, st.loss, ent};
    int64_t k[3] = {st.n, st.clipped, ent_n};
    R1_TRY(r1_dist_allreduce_f64(f, 4, R1_DIST_SUM));
    R1_TRY(r1_dist_allreduce_i64(k, 3, R1_DIST_SUM));
    double n = k[0] > 0 ? (double)k[0] : 1.0;
    r->kl = f[0] / n;
    r->clip_frac = (double)k[1] / n;
    r->ratio = f[1] / n;
    r->loss = f[2] / (double)c->mu;
    r->entropy = k[2] ? f[3] / (double)k[2] : 0.0;
    r->grad_norm = ts.grad_norm;
    r->lr = ts.lr;
    r->n_tokens = k[2];
    return R1_OK;
}

static void progress(const grpo *g, const r1_grpo_report *r) {
    fprintf(stderr,
            "grpo %lld/%lld reward %.3f acc %.3f fmt %.2f len %.1f think %.1f kl %.4f clip %.3f ent %.3f flat %.2f | "
            "%.0f tok/s | %.2f s",
            (long long)r->step, (long long)g->c->steps, r->reward_mean, r->accuracy, r->format, r->resp_len,
            r->think_len, r->kl, r->clip_frac, r->entropy, r->frac_flat, r->rollout_tok_s, r->step_s);
    if (r->eval_acc >= 0) fprintf(stderr, " | eval %.3f", r->eval_acc);
    fputc('\n', stderr);
}

r1_status r1_grpo_run(r1_policy *p, const r1_tok *tok, const r1_grpo_cfg *c) {
    if (c->prompts < 1 || c->G < 1 || c->max_new < 1 || c->mu < 1 || c->micro < 1 || c->steps < 0)
        return r1_fail(R1_INVALID, "grpo: prompts, group, max_new, mu and micro must be >= 1");
    grpo g = {.c = c, .p = p, .tok = tok};
    r1_status s = setup(&g);
    double t_start = r1_now();
    for (int64_t step = 1; s == R1_OK && step <= c->steps; step++) {
        double t0 = r1_now();
        r1_grpo_report r = {.step = step, .eval_acc = -1};
        s = rollouts(&g, step, &r);
        if (s != R1_OK) break;
        int64_t flat = r1_grpo_advantages(g.rt, g.Pl, g.G, c->scale_std, c->adv_eps, g.adv);
        int64_t n_keep = 0;
        for (int64_t i = 0; i < g.Pl; i++) {
            bool is_flat = true;
            for (int64_t k = 1; k < g.G; k++) is_flat &= g.rt[i * g.G + k] == g.rt[i * g.G];
            if (c->drop_flat && is_flat) continue;
            for (int64_t k = 0; k < g.G; k++) g.keep[n_keep++] = i * g.G + k;
        }
        sort_by_length(&g, n_keep);
        int64_t all[3] = {flat, n_keep, 0}; /* over every rank: flat groups, kept sequences, their tokens */
        for (int64_t k = 0; k < n_keep; k++) all[2] += g.lens[k] = g.jobs[g.keep[k]].n_out;
        if ((s = r1_dist_allreduce_i64(all, 3, R1_DIST_SUM)) != R1_OK) break;
        r.frac_flat = (double)all[0] / (double)g.P;
        r1_grpo_weights(c->agg, g.lens, n_keep, c->max_new, all[1], all[2], g.wseq);
        r.n_seq = all[1];
        if (all[1] > 0) s = update(&g, pack(&g, n_keep), &r); /* every rank steps, even with no rows of its own */
        if (s != R1_OK) break;
        bool eval = c->eval_every > 0 && c->eval_n > 0 && (step % c->eval_every == 0 || step == c->steps);
        if (eval && r1_dist_is_root()) { /* the metric is rank 0's to write; the others go on to the next rollouts */
            r1_eval_opts eo = {.n = c->eval_n, .temp = 0.0f, .seed = 7, .max_new = c->max_new, .eos = g.eos};
            r1_eval_result er;
            s = r1_eval_run(g.e, tok, &c->ts, &eo, &er, NULL, NULL);
            r.eval_acc = er.accuracy;
        }
        r.step_s = r1_now() - t0;
        r.elapsed_s = r1_now() - t_start;
        if (g.metrics) write_metrics(g.metrics, &r);
        if (g.samples) write_samples(&g, step);
        if (!c->quiet && r1_dist_is_root()) progress(&g, &r);
        if (c->on_step) c->on_step(c->ctx, &r);
        int32_t out_of_time = c->time_budget > 0 && r.elapsed_s + r.step_s > c->time_budget;
        if ((s = r1_dist_bcast(&out_of_time, sizeof out_of_time, 0)) != R1_OK) break; /* rank 0's clock decides for all */
        if (out_of_time) break;
    }
    if (s == R1_OK && g.p->t) s = r1_train_check_replicas(g.p->t); /* the model rank 0 saves is every rank's */
    teardown(&g);
    return s;
}
