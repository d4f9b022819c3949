/* generate: prefill a prompt, then decode token by token with the cache and
 * the sampler until EOS/a stop id, the callback says stop, or max_new tokens.
 * One sequence; batched generation of many sequences is infer/batch. */
#ifndef R1_GENERATE_H
#define R1_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "infer/sampler.h"
#include "model/model.h"

typedef enum { R1_STOP_LENGTH = 0, R1_STOP_EOS, R1_STOP_CALLBACK } r1_stop_reason;

typedef struct {
    int64_t max_new;
    r1_sampler_params sampling;
    const int32_t *stop_ids; /* token ids that end generation (EOS); not emitted */
    int64_t n_stop_ids;
    /* Called with every generated token; returning false stops (after it). */
    bool (*on_token)(void *ctx, int32_t tok);
    void *ctx;
    int64_t prefill_chunk; /* rows per prefill call (0: 512) */
} r1_gen_params;

typedef struct {
    int64_t n_prompt, n_gen;
    double prefill_s, decode_s;
    r1_stop_reason reason;
} r1_gen_stats;

/* Generates after prompt[n_prompt]; the new ids go to out (capacity max_new),
 * their count to *n_out. stats may be NULL. */
r1_status r1_generate(r1_model *m, const int32_t *prompt, int64_t n_prompt, const r1_gen_params *p, int32_t *out,
                      int64_t *n_out, r1_gen_stats *stats);

/* Monotonic seconds. */
double r1_now(void);

#endif
