/* pretrain: the loop behind `r1 pretrain` (see pretrain.h): build or resume,
 * then per step: accum micro-batches of forward + backward, one optimizer
 * step, a metrics.jsonl line, progress, and a checkpoint every save_every
 * steps and at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
               "\"tokens_per_s\": %.1f, \"load_max_mean\": [",
            (long long)r->step, r->loss.loss, r->loss.mtp, r->loss.aux, r->st.lr, r->st.grad_norm, r->tokens_per_s);
    for (int64_t i = 0; i < r->st.n_moe && i < 64; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->st.load_max_mean[i]);
    fprintf(f, "]}\n");
    fflush(f);
}

r1_status r1_pretrain_run(const r1_pretrain_cfg *pc) {
    r1_train_opts o = pc->opts;
    o.total_steps = pc->steps;
    if (mkdir(pc->out, 0755) != 0 && errno != EEXIST)
        return r1_fail(R1_IO, "%s: cannot create folder: %s", pc->out, strerror(errno));
    char ckpt[4096], mpath[4096];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint", pc->out);
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", pc->out);
    R1_TRY(r1_file_dir_recover(ckpt));
    bool resuming = pc->resume && r1_file_is_dir(ckpt);

    r1_model *m = NULL;
    r1_train *t = NULL;
    r1_data d = {0};
    FILE *mf = NULL;
    int32_t *tok = NULL, *tgt = NULL;
    float *wv = NULL;
    r1_status s;
    if (resuming) {
        s = r1_model_load(&m, ckpt, pc->threads);
    } else {
        r1_config c;
        s = r1_config_load(&c, pc->config);
        if (s == R1_OK) s = r1_model_create_random(&m, &c, R1_DT_F32, pc->seed, pc->threads);
    }
    if (s == R1_OK) s = r1_train_create(&t, m, &o);
    if (s == R1_OK)
        s = pc->data ? r1_data_open_file(&d, pc->data, m->cfg.vocab, o.T)
                     : r1_data_open_task(&d, pc->task ? pc->task : "copy", m->cfg.vocab, pc->seed);
    if (s == R1_OK && resuming) s = r1_ckpt_load(ckpt, t, &d);
    if (s == R1_OK) s = resuming ? trim_metrics(mpath, r1_train_steps_done(t)) : r1_file_write_atomic(mpath, "", 0);
    if (s == R1_OK && !(mf = fopen(mpath, "a"))) s = r1_fail(R1_IO, "%s: %s", mpath, strerror(errno));
    int64_t N = o.B * o.T;
    tok = malloc((size_t)N * sizeof *tok);
    tgt = malloc((size_t)N * sizeof *tgt);
    wv = malloc((size_t)N * sizeof *wv);
    if (s == R1_OK && (!tok || !tgt || !wv)) s = r1_fail(R1_NOMEM, "pretrain: out of memory");

    bool tty = isatty(2);
    int64_t first = t ? r1_train_steps_done(t) : 0;
    double t0 = now_s();
    if (s == R1_OK && !pc->quiet)
        fprintf(stderr, "pretrain: %s step %lld of %lld, batch %lldx%lld x%d, %lld parameters, %d threads, %s matmuls\n",
                resuming ? "resuming at" : "starting at", (long long)first, (long long)pc->steps, (long long)o.B,
                (long long)o.T, o.accum, (long long)r1_train_get_slabs(t).n_floats, r1_pool_size(m->pool),
                o.bf16 ? "bf16" : "f32");
    while (s == R1_OK && r1_train_steps_done(t) < pc->steps) {
        double ts = now_s();
        r1_step_report r = {0};
        for (int a = 0; a < o.accum && s == R1_OK; a++) {
            r1_data_next(&d, o.B, o.T, tok, tgt);
            int64_t count = 0;
            for (int64_t i = 0; i < N; i++) count += tgt[i] >= 0;
            for (int64_t i = 0; i < N; i++) wv[i] = tgt[i] >= 0 ? 1.0f / (float)(count * o.accum) : 0.0f;
            r1_train_batch b = {.tokens = tok, .targets = tgt, .weight = wv};
            r1_train_loss L;
            s = r1_train_forward(t, &b, NULL, &L);
            if (s != R1_OK) break;
            r1_train_backward(t, NULL);
            r.loss.loss += L.loss; /* weights already carry 1/accum */
            r.loss.mtp += L.mtp;
            r.loss.aux += L.aux / o.accum;
            r.loss.total += L.total;
        }
        if (s != R1_OK) break;
        r1_train_step(t, &r.st);
        r.step = r.st.step;
        r.tokens_per_s = (double)(N * o.accum) / (now_s() - ts);
        metrics_line(mf, &r);
        if (!pc->quiet) progress(pc, &r, now_s() - t0, first, tty);
        if (pc->on_step) pc->on_step(pc->ctx, &r);
        bool stop = pc->stop_at > 0 && r.step >= pc->stop_at;
        if (r.step % pc->save_every == 0 || r.step == pc->steps || stop) s = r1_ckpt_save(ckpt, t, m, &d);
        if (stop) break;
    }
    if (mf) fclose(mf);
    free(tok);
    free(tgt);
    free(wv);
    r1_data_close(&d);
    r1_train_destroy(t);
    r1_model_destroy(m);
    return s;
}
