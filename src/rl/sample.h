/* sample: rejection sampling (R1 §2.3 step 3) — N completions per problem
 * from the batching engine, kept only when the verifier accepts the answer
 * and the format is well formed. The kept traces are the SFT data of the R1
 * recipe and of distillation. */
#ifndef R1_SAMPLE_H
#define R1_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "infer/batch.h"
#include "rl/taskset.h"

typedef struct {
    uint64_t first;   /* first train-split problem index */
    int64_t problems; /* problems to try */
    int64_t N;        /* samples per problem (best-of-N) */
    float temp;
    int64_t max_new;
    uint64_t seed;
    bool keep_all;    /* every verified trace, not just the first per problem */
    int32_t eos;
} r1_sample_opts;

typedef struct {
    int64_t problems, solved, kept, generated;
    double seconds;
} r1_sample_result;

/* Writes one JSON line per kept trace to out:
 * {"prompt", "response", "task", "answer"}. */
r1_status r1_sample_best_of(r1_engine *e, const r1_tok *tok, const r1_taskset *ts, const r1_sample_opts *o, FILE *out,
                            r1_sample_result *res);

#endif
