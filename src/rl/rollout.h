/* rollout: many generations through one continuous-batching engine — GRPO's
 * G completions per prompt, evaluation, rejection sampling. Jobs wait until a
 * slot frees up, so any number of them fits any engine; every step decodes
 * all running sequences in one model call. A job ends at EOS (kept as its
 * last token, so training sees the stop decision), at an optional stop string
 * (kept too, e.g. "</answer>"), or after max_new tokens. */
#ifndef R1_ROLLOUT_H
#define R1_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/batch.h"
#include "tok/tokenizer.h"

typedef struct {
    /* in */
    const int32_t *prompt; /* not owned */
    int64_t n_prompt;
    uint64_t seed;
    /* out (owned: r1_rollout_jobs_free) */
    int32_t *out;   /* generated ids; the EOS id is appended when it ended the job */
    int64_t n_out;
    char *text;     /* generated text without the EOS, NUL-terminated */
    size_t len, cap;
    r1_stop_reason reason; /* LENGTH, EOS, or CALLBACK (= the stop string) */
} r1_rollout_job;

typedef struct {
    int64_t max_new;
    float temp, top_p; /* temp 0: greedy */
    int32_t eos;       /* < 0: none */
    const char *stop;  /* stop string or NULL */
} r1_rollout_opts;

/* Runs jobs[0..n) to completion on e (which must be idle). *gen_tokens (may
 * be NULL) gets the number of tokens generated. tok NULL: no text (and no
 * stop string), ids only. */
r1_status r1_rollout_run(r1_engine *e, const r1_tok *tok, r1_rollout_job *jobs, int64_t n, const r1_rollout_opts *o,
                         int64_t *gen_tokens);
/* Frees the outputs of n jobs (not the array). */
void r1_rollout_jobs_free(r1_rollout_job *jobs, int64_t n);

#endif
