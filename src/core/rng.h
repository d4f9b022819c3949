/* rng: xoshiro256** seeded through splitmix64.
 * Same seed => same numbers on every machine: only integer ops and IEEE
 * +,-,*,/,sqrt are used (the normal sampler carries its own logarithm instead
 * of libm's, whose last bit may differ between libc versions). */
#ifndef R1_RNG_H
#define R1_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} r1_rng;

void r1_rng_seed(r1_rng *r, uint64_t seed);
uint64_t r1_rng_u64(r1_rng *r);
/* Uniform in [0, 1) with 24 random bits. */
float r1_rng_f32(r1_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double r1_rng_f64(r1_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t r1_rng_below(r1_rng *r, uint64_t n);
/* Standard normal (Marsaglia polar method). */
double r1_rng_normal(r1_rng *r);

#endif
