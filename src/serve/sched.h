/* sched: the server's engine thread. It alone owns the model and the
 * continuous-batching engine (infer/batch.h) and runs r1_engine_step while
 * any sequence is active; HTTP threads submit jobs into a bounded FIFO and
 * collect the generated ids. A job is one request: n sequences (OpenAI's `n`)
 * over the same prompt, each taking a slot when one is free, so a request
 * that arrives mid-generation starts prefilling at the next step.
 *
 * One mutex guards the queue and every job's shared fields; the engine thread
 * drops it around r1_engine_step, and the per-token callback takes it only to
 * append an id. A job is reference-counted (the submitter and the engine
 * thread); the submitter's release cancels whatever is still running, and the
 * engine frees the slot before its next step. */
#ifndef R1_SERVE_SCHED_H
#define R1_SERVE_SCHED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "infer/batch.h"
#include "serve/openai.h"

typedef struct r1_serve_sched r1_serve_sched;
typedef struct r1_serve_job r1_serve_job;

typedef struct {
    r1_serve_job *job;
    int32_t *ids; /* generated ids so far (engine appends) */
    int64_t n, cap, n_read;
    int slot;     /* engine slot, -1 when not admitted or released */
    bool done;    /* the engine finished it (or it was dropped) */
    bool stop;    /* the consumer asks to end it (stop string found) */
    r1_stop_reason reason;
} r1_serve_seq;

struct r1_serve_job {
    r1_serve_sched *s;
    int32_t *prompt;
    int64_t n_prompt;
    int n, n_admitted, n_done;
    r1_seq_params params[R1_OPENAI_MAX_N];
    r1_serve_seq seq[R1_OPENAI_MAX_N];
    bool cancelled, failed;
    char error[256];
    int refs;
    double t_submit, t_first; /* r1_now() at submit and at the first id (0: none yet) */
    pthread_cond_t cv;
    r1_serve_job *next; /* FIFO link */
};

typedef struct {
    int64_t submitted, rejected, completed, tokens, steps;
    int64_t n_first;   /* jobs that produced a first id */
    double first_s;    /* sum over them of seconds from submit to the first id */
    int queued, active;
} r1_serve_stats;

/* Starts the engine thread over m with n_slots concurrent sequences of up to
 * ctx tokens, step_rows rows per step, and at most max_queue jobs waiting. */
r1_status r1_serve_sched_start(r1_serve_sched **out, r1_model *m, int n_slots, int64_t ctx, int64_t step_rows,
                               int max_queue);
/* Stops the thread and frees the scheduler; jobs still held by callers stay
 * valid (marked failed) until they release them. */
void r1_serve_sched_stop(r1_serve_sched *s);
int64_t r1_serve_sched_ctx(const r1_serve_sched *s);
void r1_serve_sched_stats(r1_serve_sched *s, r1_serve_stats *out);

/* Queues a job for prompt[n] (copied) with params[n_seq] (stop ids copied,
 * on_token/ctx overwritten). *out gets the caller's reference. R1_LIMIT when
 * the queue is full, R1_CANCELLED when the server is stopping. */
r1_status r1_serve_submit(r1_serve_sched *s, const int32_t *prompt, int64_t n, const r1_seq_params *params,
                          int n_seq, r1_serve_job **out);

/* What a consumer has not seen yet: ids of each sequence appended to its own
 * growable arrays, and which sequences have finished. */
typedef struct {
    int32_t *ids[R1_OPENAI_MAX_N];
    int64_t n[R1_OPENAI_MAX_N], cap[R1_OPENAI_MAX_N];
    bool done[R1_OPENAI_MAX_N];
    r1_stop_reason reason[R1_OPENAI_MAX_N];
    bool failed;
    char error[256];
} r1_serve_news;

/* Waits up to timeout_s for ids or endings the consumer has not taken, then
 * moves them into *news (n[i] counts ids added by this call; the consumer
 * resets it). Returns R1_NOMEM if an array cannot grow. */
r1_status r1_serve_job_poll(r1_serve_job *j, double timeout_s, r1_serve_news *news);
void r1_serve_news_free(r1_serve_news *news);
/* Asks the engine to end sequence i after its current token. */
void r1_serve_job_stop(r1_serve_job *j, int i);
/* Drops the caller's reference; unfinished sequences are cancelled. */
void r1_serve_job_release(r1_serve_job *j);

#endif
