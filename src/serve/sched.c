/* sched: the engine thread and the job queue (see sched.h). The loop is:
 * drop cancelled work, admit queued sequences into free slots, run one step
 * with the lock released, hand finished sequences back. Admission happens
 * before every step, so a new request joins the very next forward. */
#include "serve/sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct r1_serve_sched {
    r1_model *m;
    r1_engine *e;
    int64_t ctx;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* engine thread: work arrived or stop */
    pthread_t thread;
    bool started, stopping;
    r1_serve_job *head, *tail;
    int n_queued, max_queue;
    r1_serve_seq **owner; /* [n_slots] sequence in each slot */
    r1_serve_stats st;
};

static void job_free(r1_serve_job *j) {
    for (int i = 0; i < j->n; i++) free(j->seq[i].ids);
    for (int i = 0; i < j->n; i++) free((void *)j->params[i].stop_ids);
    free(j->prompt);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* Under s->mu. */
static void job_unref(r1_serve_job *j) {
    R1_ASSERT(j->refs > 0);
    if (--j->refs == 0) job_free(j);
}

/* Under s->mu: sequence i has ended (finished, cancelled or failed). */
static void seq_end(r1_serve_job *j, int i, r1_stop_reason why) {
    r1_serve_seq *q = &j->seq[i];
    if (q->done) return;
    q->done = true;
    q->reason = why;
    q->slot = -1;
    pthread_cond_broadcast(&j->cv);
    if (++j->n_done == j->n) {
        j->s->st.completed++;
        job_unref(j); /* the engine's reference */
    }
}

/* Called by r1_engine_step on the engine thread, without s->mu held. */
static bool on_token(void *ctx, int slot, int32_t tok) {
    (void)slot;
    r1_serve_seq *q = ctx;
    r1_serve_job *j = q->job;
    r1_serve_sched *s = j->s;
    pthread_mutex_lock(&s->mu);
    bool go = !j->cancelled && !q->stop;
    if (q->n == q->cap) {
        int64_t cap = q->cap ? q->cap * 2 : 64;
        int32_t *p = realloc(q->ids, (size_t)cap * sizeof *p);
        if (!p) {
            j->failed = true;
            snprintf(j->error, sizeof j->error, "out of memory");
            go = false;
        } else {
            q->ids = p, q->cap = cap;
        }
    }
    if (q->n < q->cap) q->ids[q->n++] = tok;
    if (!j->t_first) {
        j->t_first = r1_now();
        s->st.n_first++;
        s->st.first_s += j->t_first - j->t_submit;
    }
    s->st.tokens++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* Under s->mu: frees slots of cancelled jobs and drops them from the queue. */
static void reap(r1_serve_sched *s) {
    for (int i = 0; i < s->e->n_slots; i++) {
        r1_serve_seq *q = s->owner[i];
        if (!q || !q->job->cancelled) continue;
        r1_engine_release(s->e, i);
        s->owner[i] = NULL;
        seq_end(q->job, (int)(q - q->job->seq), R1_STOP_CALLBACK);
    }
    for (r1_serve_job **pp = &s->head; *pp;) {
        r1_serve_job *j = *pp;
        if (!j->cancelled) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        if (s->tail == j) s->tail = NULL;
        s->n_queued--;
        int n = j->n; /* the last seq_end may free j */
        for (int i = j->n_admitted; i < n; i++) seq_end(j, i, R1_STOP_CALLBACK);
    }
    if (!s->tail)
        for (r1_serve_job *j = s->head; j; j = j->next) s->tail = j;
}

/* Under s->mu: moves queued sequences into free slots, oldest job first. */
static void admit(r1_serve_sched *s) {
    while (s->head) {
        r1_serve_job *j = s->head;
        int i = j->n_admitted, slot = -1;
        r1_seq_params p = j->params[i];
        p.on_token = on_token;
        p.ctx = &j->seq[i];
        r1_status st = r1_engine_add(s->e, j->prompt, j->n_prompt, &p, &slot);
        if (st == R1_LIMIT && slot < 0 && j->n_prompt + 1 <= s->ctx) return; /* every slot busy */
        if (++j->n_admitted == j->n) {
            s->head = j->next;
            if (!s->head) s->tail = NULL;
            s->n_queued--;
        }
        if (st == R1_OK) {
            s->owner[slot] = &j->seq[i];
            j->seq[i].slot = slot;
        } else { /* the last use of j: seq_end may free it */
            j->failed = true;
            snprintf(j->error, sizeof j->error, "%s", r1_errmsg());
            seq_end(j, i, R1_STOP_CALLBACK);
        }
    }
}

/* Under s->mu: hands finished sequences back and frees their slots. */
static void collect(r1_serve_sched *s) {
    for (int i = 0; i < s->e->n_slots; i++) {
        r1_serve_seq *q = s->owner[i];
        if (!q || s->e->seqs[i].state != R1_SEQ_DONE) continue;
        r1_stop_reason why = s->e->seqs[i].reason;
        r1_engine_release(s->e, i);
        s->owner[i] = NULL;
        seq_end(q->job, (int)(q - q->job->seq), q->stop ? R1_STOP_EOS : why);
    }
}

/* Under s->mu: ends everything in the engine (a failed step, or stop). */
static void fail_all(r1_serve_sched *s, const char *why) {
    for (int i = 0; i < s->e->n_slots; i++) {
        r1_serve_seq *q = s->owner[i];
        if (!q) continue;
        r1_engine_release(s->e, i);
        s->owner[i] = NULL;
        q->job->failed = true;
        snprintf(q->job->error, sizeof q->job->error, "%s", why);
        seq_end(q->job, (int)(q - q->job->seq), R1_STOP_CALLBACK);
    }
}

static void *engine_main(void *arg) {
    r1_serve_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        reap(s);
        admit(s);
        if (!r1_engine_busy(s->e)) {
            pthread_cond_wait(&s->wake, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        r1_status st = r1_engine_step(s->e);
        char msg[256];
        if (st != R1_OK) snprintf(msg, sizeof msg, "engine: %s", r1_errmsg());
        pthread_mutex_lock(&s->mu);
        s->st.steps++;
        if (st != R1_OK) fail_all(s, msg);
        collect(s);
    }
    fail_all(s, "server stopping");
    while (s->head) {
        r1_serve_job *j = s->head;
        s->head = j->next;
        j->failed = true;
        snprintf(j->error, sizeof j->error, "server stopping");
        int n = j->n; /* the last seq_end may free j */
        for (int i = j->n_admitted; i < n; i++) seq_end(j, i, R1_STOP_CALLBACK);
    }
    s->tail = NULL;
    s->n_queued = 0;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

r1_status r1_serve_sched_start(r1_serve_sched **out, r1_model *m, int n_slots, int64_t ctx, int64_t step_rows,
                               int max_queue) {
    *out = NULL;
    r1_serve_sched *s = calloc(1, sizeof *s);
    if (!s) return r1_fail(R1_NOMEM, "serve: out of memory");
    s->m = m;
    s->ctx = ctx;
    s->max_queue = max_queue;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    r1_status st = r1_engine_create(&s->e, m, n_slots, ctx, step_rows);
    if (st == R1_OK && !(s->owner = calloc((size_t)n_slots, sizeof *s->owner)))
        st = r1_fail(R1_NOMEM, "serve: out of memory");
    if (st == R1_OK && pthread_create(&s->thread, NULL, engine_main, s) != 0)
        st = r1_fail(R1_NOMEM, "serve: cannot start the engine thread");
    if (st != R1_OK) {
        r1_serve_sched_stop(s);
        return st;
    }
    s->started = true;
    *out = s;
    return R1_OK;
}

void r1_serve_sched_stop(r1_serve_sched *s) {
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    r1_engine_destroy(s->e);
    free(s->owner);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int64_t r1_serve_sched_ctx(const r1_serve_sched *s) { return s->ctx; }

void r1_serve_sched_stats(r1_serve_sched *s, r1_serve_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->n_queued;
    out->active = 0;
    for (int i = 0; i < s->e->n_slots; i++) out->active += s->owner[i] != NULL;
    pthread_mutex_unlock(&s->mu);
}

r1_status r1_serve_submit(r1_serve_sched *s, const int32_t *prompt, int64_t n, const r1_seq_params *params,
                          int n_seq, r1_serve_job **out) {
    *out = NULL;
    R1_ASSERT(n_seq >= 1 && n_seq <= R1_OPENAI_MAX_N);
    r1_serve_job *j = calloc(1, sizeof *j);
    if (!j) return r1_fail(R1_NOMEM, "serve: out of memory");
    pthread_cond_init(&j->cv, NULL);
    j->s = s;
    j->n = n_seq;
    j->n_prompt = n;
    j->prompt = malloc((size_t)n * sizeof *prompt);
    bool ok = j->prompt != NULL;
    for (int i = 0; i < n_seq; i++) {
        j->params[i] = params[i];
        j->params[i].stop_ids = NULL;
        j->seq[i] = (r1_serve_seq){.job = j, .slot = -1};
        int32_t *ids = malloc((size_t)(params[i].n_stop_ids > 0 ? params[i].n_stop_ids : 1) * sizeof *ids);
        if (!ids) ok = false;
        else if (params[i].n_stop_ids > 0) memcpy(ids, params[i].stop_ids, (size_t)params[i].n_stop_ids * sizeof *ids);
        j->params[i].stop_ids = ids;
    }
    if (!ok) {
        job_free(j);
        return r1_fail(R1_NOMEM, "serve: out of memory");
    }
    memcpy(j->prompt, prompt, (size_t)n * sizeof *prompt);
    j->t_submit = r1_now();
    pthread_mutex_lock(&s->mu);
    r1_status st = R1_OK;
    if (s->stopping) st = r1_fail(R1_CANCELLED, "server stopping");
    else if (s->n_queued >= s->max_queue) st = r1_fail(R1_LIMIT, "queue full (%d requests waiting)", s->n_queued);
    if (st != R1_OK) {
        s->st.rejected++;
        pthread_mutex_unlock(&s->mu);
        job_free(j);
        return st;
    }
    j->refs = 2;
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->n_queued++;
    s->st.submitted++;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    *out = j;
    return R1_OK;
}

static bool news_pending(const r1_serve_job *j, const r1_serve_news *nw) {
    if (j->failed && !nw->failed) return true;
    for (int i = 0; i < j->n; i++)
        if (j->seq[i].n > j->seq[i].n_read || (j->seq[i].done && !nw->done[i])) return true;
    return false;
}

r1_status r1_serve_job_poll(r1_serve_job *j, double timeout_s, r1_serve_news *nw) {
    r1_serve_sched *s = j->s;
    pthread_mutex_lock(&s->mu);
    if (!news_pending(j, nw) && timeout_s > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = ts.tv_nsec + (long long)(timeout_s * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        while (!news_pending(j, nw))
            if (pthread_cond_timedwait(&j->cv, &s->mu, &ts) == ETIMEDOUT) break;
    }
    r1_status st = R1_OK;
    for (int i = 0; i < j->n; i++) {
        r1_serve_seq *q = &j->seq[i];
        int64_t k = q->n - q->n_read;
        if (k > 0 && nw->n[i] + k > nw->cap[i]) {
            int64_t cap = nw->cap[i] ? nw->cap[i] : 64;
            while (cap < nw->n[i] + k) cap *= 2;
            int32_t *p = realloc(nw->ids[i], (size_t)cap * sizeof *p);
            if (!p) {
                st = r1_fail(R1_NOMEM, "serve: out of memory");
                break;
            }
            nw->ids[i] = p, nw->cap[i] = cap;
        }
        if (k > 0) memcpy(nw->ids[i] + nw->n[i], q->ids + q->n_read, (size_t)k * sizeof(int32_t));
        nw->n[i] += k > 0 ? k : 0;
        q->n_read = q->n;
        if (q->done) nw->done[i] = true, nw->reason[i] = q->reason;
    }
    if (j->failed && !nw->failed) {
        nw->failed = true;
        snprintf(nw->error, sizeof nw->error, "%s", j->error);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

void r1_serve_news_free(r1_serve_news *nw) {
    for (int i = 0; i < R1_OPENAI_MAX_N; i++) free(nw->ids[i]);
    *nw = (r1_serve_news){0};
}

void r1_serve_job_stop(r1_serve_job *j, int i) {
    pthread_mutex_lock(&j->s->mu);
    j->seq[i].stop = true;
    pthread_mutex_unlock(&j->s->mu);
}

void r1_serve_job_release(r1_serve_job *j) {
    if (!j) return;
    r1_serve_sched *s = j->s;
    pthread_mutex_lock(&s->mu);
    if (j->n_done < j->n) {
        j->cancelled = true;
        pthread_cond_signal(&s->wake);
    }
    job_unref(j);
    pthread_mutex_unlock(&s->mu);
}
