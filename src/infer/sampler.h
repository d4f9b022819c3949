/* sampler: next-token choice from logits. temperature 0 is greedy (argmax,
 * ties to the lower id); otherwise softmax(logits / T) filtered by top-k,
 * top-p (smallest set with mass >= p) and min-p (prob >= min_p * max prob),
 * renormalised and sampled with the seeded rng, so the same seed gives the
 * same tokens on every machine. The draw walks the candidates by probability
 * (descending, ties by id) when a filter is on, by id when none is. */
#ifndef R1_SAMPLER_H
#define R1_SAMPLER_H

#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"

typedef struct {
    float temp;   /* 0 = greedy */
    int64_t top_k; /* 0 = off */
    float top_p;  /* 1 = off */
    float min_p;  /* 0 = off */
    uint64_t seed;
} r1_sampler_params;

/* The R1 README's recommendation: temperature 0.6, top-p 0.95. */
static inline r1_sampler_params r1_sampler_defaults(void) {
    return (r1_sampler_params){.temp = 0.6f, .top_k = 0, .top_p = 0.95f, .min_p = 0.0f, .seed = 0};
}

typedef struct {
    r1_sampler_params p;
    r1_rng rng;
    int64_t vocab;
    float *prob;   /* [vocab] */
    int32_t *cand; /* [vocab] */
    int32_t *tmp;  /* [vocab] sort scratch */
    uint32_t *key; /* [2, vocab] sort keys */
} r1_sampler;

r1_status r1_sampler_init(r1_sampler *s, const r1_sampler_params *p, int64_t vocab);
void r1_sampler_free(r1_sampler *s);
/* Picks a token from logits [vocab]. */
int32_t r1_sampler_sample(r1_sampler *s, const float *logits);
/* Index of the largest logit (ties to the lower id). */
int32_t r1_argmax(const float *x, int64_t n);

#endif
