/* pretrain: the loop behind `r1 pretrain` (see pretrain.h): build or resume,
 * then per step: accum micro-batches of forward + backward, one optimizer
 * step, a metrics.jsonl line, progress, and a checkpoint every save_every
 * steps and at the end. Data parallel over the ranks of an MPI job
 * (docs/DISTRIBUTED.md): rank 0 alone writes metrics and checkpoints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dist/dist.h"
#include "train/pretrain.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Keeps the metrics lines of steps <= step (a killed run may have logged past its last checkpoint). */
static r1_status trim_metrics(const char *path, int64_t step) {
    char *buf = NULL;
    size_t len;
    if (!r1_file_exists(path)) return R1_OK;
    R1_TRY(r1_file_read_all(path, &buf, &len, (size_t)1 << 30));
    size_t keep = 0;
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        if (!nl) break; /* a torn last line */
        long long s = -1;
        if (sscanf(line, "{\"step\": %lld", &s) != 1 || s > step) break;
        keep = (size_t)(nl + 1 - buf);
        line = nl + 1;
    }
    r1_status st = r1_file_write_atomic(path, buf, keep);
    free(buf);
    return st;
}

static void fmt_time(char *out, size_t n, double s) {
    if (s < 0 || s > 1e7) s = 0;
    int h = (int)(s / 3600), m = (int)(s / 60) % 60, sec = (int)s % 60;
    if (h) snprintf(out, n, "%dh%02dm", h, m);
    else snprintf(out, n, "%dm%02ds", m, sec);
}

static void progress(const r1_pretrain_cfg *pc, const r1_step_report *r, double elapsed, int64_t first, bool tty) {
    char eta[32];
    double per = elapsed / (double)(r->step - first);
    fmt_time(eta, sizeof eta, per * (double)(pc->steps - r->step));
    if (tty) {
        int w = 24, fill = (int)(w * r->step / pc->steps);
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : ' ';
        bar[w] = 0;
        fprintf(stderr, "\rstep %lld/%lld [%s] loss %.4f | %.0f tok/s | ETA %s   ", (long long)r->step,
                (long long)pc->steps, bar, r->loss.loss, r->tokens_per_s, eta);
        if (r->step == pc->steps) fputc('\n', stderr);
    } else {
        int64_t every = pc->steps > 100 ? pc->steps / 100 : 1;
        if (r->step % every == 0 || r->step == pc->steps)
            fprintf(stderr, "step %lld/%lld loss %.4f mtp %.4f lr %.3g grad_norm %.3f %.0f tok/s ETA %s\n",
                    (long long)r->step, (long long)pc->steps, r->loss.loss, r->loss.mtp, r->st.lr, r->st.grad_norm,
                    r->tokens_per_s, eta);
    }
    fflush(stderr);
}

static void metrics_line(FILE *f, const r1_step_report *r) {
    fprintf(f, "{\"step\": %lld, \"loss\": %.6f, \"mtp_loss\": %.6f, \"aux_loss\": %.6g, \"lr\": %.6g, \"grad_norm\": %.6g, "
               "\"tokens_per_s\": %.1f, \"allreduce_s\": %.6f, \"load_max_mean\": [",
            (long long)r->step, r->loss.loss, r->loss.mtp, r->loss.aux, r->st.lr, r->st.grad_norm, r->tokens_per_s,
            r->allreduce_s);
    for (int64_t i = 0; i < r->st.n_moe && i < 64; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->st.load_max_mean[i]);
    fprintf(f, "]}\n");
    fflush(f);
}

/* Data parallel: the data stream always produces the GLOBAL batch (every
 * rank holds the same cursor and rng) and rank r trains rows
 * [r*B/n, (r+1)*B/n) of it, so n ranks see exactly the rows one process sees
 * and a checkpoint resumes on any rank count that divides the batch. */
typedef struct {
    r1_model *m;
    r1_train *t;
    r1_data d;
    FILE *mf;                /* metrics.jsonl, rank 0 only */
    int32_t *tok, *tgt;      /* [B*T] the global batch */
    float *wv;               /* [B_local*T] loss weights of this rank's rows */
    int64_t B, Bl, T, accum; /* global and per-rank sequences per micro-batch */
    bool resuming;
} run;

/* Builds or resumes the model, trainer and data stream; rank 0's state is
 * then copied to every rank. Only rank 0 touches the run folder's files. */
static r1_status setup(run *r, const r1_pretrain_cfg *pc, const char *ckpt, const char *mpath) {
    int rank = r1_dist_rank(), size = r1_dist_size();
    r1_train_opts o = pc->opts;
    if (o.B % size != 0)
        return r1_fail(R1_INVALID, "pretrain: the global batch of %lld sequences does not split over %d ranks "
                                   "(give --batch a multiple of the rank count)", (long long)o.B, size);
    r->B = o.B, r->Bl = o.B / size, r->T = o.T, r->accum = o.accum;
    o.total_steps = pc->steps;
    o.B = r->Bl;
    /* the balance loss is a mean over each rank's sequences; summed over ranks it needs 1/size */
    o.aux_alpha /= (float)size;
    if (rank == 0) {
        if (mkdir(pc->out, 0755) != 0 && errno != EEXIST)
            return r1_fail(R1_IO, "%s: cannot create folder: %s", pc->out, strerror(errno));
        R1_TRY(r1_file_dir_recover(ckpt));
    }
    int32_t resuming = pc->resume && r1_file_is_dir(ckpt);
    R1_TRY(r1_dist_bcast(&resuming, sizeof resuming, 0)); /* rank 0's view of the folder decides */
    r->resuming = resuming;
    if (r->resuming) {
        R1_TRY(r1_model_load(&r->m, ckpt, pc->threads));
    } else {
        r1_config c;
        R1_TRY(r1_config_load(&c, pc->config));
        R1_TRY(r1_model_create_random(&r->m, &c, R1_DT_F32, pc->seed, pc->threads));
    }
    R1_TRY(r1_train_create(&r->t, r->m, &o));
    R1_TRY(pc->data ? r1_data_open_file(&r->d, pc->data, r->m->cfg.vocab, o.T)
                    : r1_data_open_task(&r->d, pc->task ? pc->task : "copy", r->m->cfg.vocab, pc->seed));
    if (r->resuming) R1_TRY(r1_ckpt_load(ckpt, r->t, &r->d));
    R1_TRY(r1_train_bcast(r->t, 0));
    R1_TRY(r1_dist_bcast(&r->d.cursor, sizeof r->d.cursor, 0));
    R1_TRY(r1_dist_bcast(&r->d.rng, sizeof r->d.rng, 0));
    if (rank == 0) {
        R1_TRY(r->resuming ? trim_metrics(mpath, r1_train_steps_done(r->t)) : r1_file_write_atomic(mpath, "", 0));
        if (!(r->mf = fopen(mpath, "a"))) return r1_fail(R1_IO, "%s: %s", mpath, strerror(errno));
    }
    r->tok = malloc((size_t)(r->B * r->T) * sizeof *r->tok);
    r->tgt = malloc((size_t)(r->B * r->T) * sizeof *r->tgt);
    r->wv = malloc((size_t)(r->Bl * r->T) * sizeof *r->wv);
    if (!r->tok || !r->tgt || !r->wv) return r1_fail(R1_NOMEM, "pretrain: out of memory");
    return R1_OK;
}

/* accum micro-batches of forward + backward on this rank's rows, the
 * gradient allreduce and one optimizer step; r gets the global losses. */
static r1_status train_step(run *r, r1_step_report *rep) {
    int64_t NG = r->B * r->T, Nl = r->Bl * r->T, off = r1_dist_rank() * Nl;
    double sums[4] = {0}; /* loss, mtp, aux, total over this rank's rows */
    for (int64_t a = 0; a < r->accum; a++) {
        r1_data_next(&r->d, r->B, r->T, r->tok, r->tgt);
        int64_t count = 0; /* over the global batch, so the weights give its token mean */
        for (int64_t i = 0; i < NG; i++) count += r->tgt[i] >= 0;
        for (int64_t i = 0; i < Nl; i++) r->wv[i] = r->tgt[off + i] >= 0 ? 1.0f / (float)(count * r->accum) : 0.0f;
        r1_train_batch b = {.tokens = r->tok + off, .targets = r->tgt + off, .weight = r->wv};
        r1_train_loss L;
        R1_TRY(r1_train_forward(r->t, &b, NULL, &L));
        r1_train_backward(r->t, NULL);
        sums[0] += L.loss; /* weights already carry 1/accum */
        sums[1] += L.mtp;
        sums[2] += L.aux / (double)r->accum;
        sums[3] += L.total;
    }
    R1_TRY(r1_dist_allreduce_f64(sums, 4, R1_DIST_SUM));
    rep->loss = (r1_train_loss){.loss = sums[0], .mtp = sums[1], .aux = sums[2], .total = sums[3]};
    R1_TRY(r1_train_allreduce(r->t, &rep->allreduce_s));
    r1_train_step(r->t, &rep->st);
    rep->step = rep->st.step;
    return R1_OK;
}

r1_status r1_pretrain_run(const r1_pretrain_cfg *pc) {
    char ckpt[4096], mpath[4096];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint", pc->out);
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", pc->out);
    bool root = r1_dist_is_root(), quiet = pc->quiet || !root;
    run r = {0};
    r1_status s = setup(&r, pc, ckpt, mpath);
    bool tty = isatty(2);
    int64_t first = r.t ? r1_train_steps_done(r.t) : 0;
    double t0 = now_s();
    if (s == R1_OK && !quiet)
        fprintf(stderr, "pretrain: %s step %lld of %lld, batch %lldx%lld x%lld over %d rank%s, %lld parameters, "
                        "%d threads per rank, %s matmuls\n",
                r.resuming ? "resuming at" : "starting at", (long long)first, (long long)pc->steps, (long long)r.B,
                (long long)r.T, (long long)r.accum, r1_dist_size(), r1_dist_size() > 1 ? "s" : "",
                (long long)r1_train_get_slabs(r.t).n_floats, r1_pool_size(r.m->pool), pc->opts.bf16 ? "bf16" : "f32");
    while (s == R1_OK && r1_train_steps_done(r.t) < pc->steps) {
        double ts = now_s();
        r1_step_report rep = {0};
        if ((s = train_step(&r, &rep)) != R1_OK) break;
        rep.tokens_per_s = (double)(r.B * r.T * r.accum) / (now_s() - ts);
        if (r.mf) metrics_line(r.mf, &rep);
        if (!quiet) progress(pc, &rep, now_s() - t0, first, tty);
        if (pc->on_step) pc->on_step(pc->ctx, &rep);
        bool stop = pc->stop_at > 0 && rep.step >= pc->stop_at;
        if (rep.step % pc->save_every == 0 || rep.step == pc->steps || stop) {
            s = r1_train_check_replicas(r.t);
            if (s == R1_OK && root) s = r1_ckpt_save(ckpt, r.t, r.m, &r.d);
        }
        if (stop) break;
    }
    if (r.mf) fclose(r.mf);
    free(r.tok);
    free(r.tgt);
    free(r.wv);
    r1_data_close(&r.d);
    r1_train_destroy(r.t);
    r1_model_destroy(r.m);
    return s;
}
