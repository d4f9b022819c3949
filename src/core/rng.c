/* rng: xoshiro256** (Blackman & Vigna 2018) and a libm-free normal sampler. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void r1_rng_seed(r1_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t r1_rng_u64(r1_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

float r1_rng_f32(r1_rng *r) { return (float)(r1_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

double r1_rng_f64(r1_rng *r) { return (double)(r1_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

uint64_t r1_rng_below(r1_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = r1_rng_u64(r);
    while (x >= limit);
    return x % n;
}

/* ln(x) for x > 0 with only IEEE basic operations: x = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh(z), z = (m-1)/(m+1), |z| < 0.172,
 * so 12 odd terms reach full double precision. */
static double det_log(double x) {
    int e = 0;
    while (x >= 1.4142135623730951) x *= 0.5, e++;
    while (x < 0.7071067811865476) x *= 2.0, e--;
    double z = (x - 1.0) / (x + 1.0), z2 = z * z, term = z, sum = 0.0;
    for (int k = 1; k <= 25; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return 2.0 * sum + e * 0.6931471805599453;
}

double r1_rng_normal(r1_rng *r) {
    double u, v, s;
    do {
        u = 2.0 * r1_rng_f64(r) - 1.0;
        v = 2.0 * r1_rng_f64(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * det_log(s) / s);
}
