/* sampler: greedy / temperature / top-k / top-p / min-p (see sampler.h).
 * Candidates are pre-filtered before sorting: with top-p, any token with
 * prob < (1-p)/(V-1) can never be in the nucleus (llama2.c's observation), so
 * the sort touches a few hundred candidates instead of the whole vocabulary.
 * The sort is a stable LSD radix sort on the probability's bits (the order
 * qsort with a (prob desc, id asc) comparator gave, so the same seed still
 * gives the same tokens): qsort's callbacks took 20 us per token at V = 320,
 * a quarter of a batched decode step's time per row (bench_rollout). Without
 * any truncation nothing is sorted: the draw walks the ids in order. */
#include "infer/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/status.h"
#include "kernels/kernels.h"

r1_status r1_sampler_init(r1_sampler *s, const r1_sampler_params *p, int64_t vocab) {
    *s = (r1_sampler){.p = *p, .vocab = vocab};
    if (!(p->temp >= 0.0f) || !(p->top_p > 0.0f && p->top_p <= 1.0f) || !(p->min_p >= 0.0f && p->min_p < 1.0f) ||
        p->top_k < 0)
        return r1_fail(R1_INVALID, "sampler: need temp >= 0, 0 < top_p <= 1, 0 <= min_p < 1, top_k >= 0 (got %g, %g, %g, %lld)",
                       p->temp, p->top_p, p->min_p, (long long)p->top_k);
    r1_rng_seed(&s->rng, p->seed);
    s->prob = malloc((size_t)vocab * sizeof(float));
    s->cand = malloc((size_t)vocab * sizeof(int32_t));
    s->tmp = malloc((size_t)vocab * sizeof(int32_t));
    s->key = malloc((size_t)vocab * 2 * sizeof(uint32_t));
    if (!s->prob || !s->cand || !s->tmp || !s->key) {
        r1_sampler_free(s);
        return r1_fail(R1_NOMEM, "sampler: cannot allocate for vocab %lld", (long long)vocab);
    }
    return R1_OK;
}

void r1_sampler_free(r1_sampler *s) {
    free(s->prob);
    free(s->cand);
    free(s->tmp);
    free(s->key);
    s->prob = NULL;
    s->cand = NULL;
    s->tmp = NULL;
    s->key = NULL;
}

/* The kernel table's argmax (kernels.h: the scan's first index of the
 * largest value). Every greedy token reads a whole vocabulary row here; the
 * portable loop of 8 running maxima that was here took ~20 us over
 * deepseek2-tiny's 32000 logits on the Intel VM, 1% of a 1-thread decode
 * step and all of it serial at 2 threads. */
int32_t r1_argmax(const float *x, int64_t n) {
    R1_ASSERT(n <= INT32_MAX);
    return r1_kernels_get()->argmax(x, n);
}

/* Sorts cand[0..n) by probability, highest first, ties in id order (cand
 * arrives in id order and every pass is stable). Probabilities are >= 0, so
 * their bit patterns order like the values; the key ~bits sorts ascending.
 * Passes whose byte is the same for every key (the exponent's, usually) are
 * skipped. */
static void sort_by_prob(r1_sampler *s, int64_t n) {
    uint32_t *k0 = s->key, *k1 = s->key + s->vocab;
    int32_t *c0 = s->cand, *c1 = s->tmp;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &s->prob[c0[i]], sizeof b);
        k0[i] = ~b;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        int64_t cnt[257] = {0};
        for (int64_t i = 0; i < n; i++) cnt[((k0[i] >> shift) & 255) + 1]++;
        if (cnt[((k0[0] >> shift) & 255) + 1] == n) continue;
        for (int d = 0; d < 256; d++) cnt[d + 1] += cnt[d];
        for (int64_t i = 0; i < n; i++) {
            int64_t at = cnt[(k0[i] >> shift) & 255]++;
            k1[at] = k0[i];
            c1[at] = c0[i];
        }
        uint32_t *tk = k0;
        k0 = k1, k1 = tk;
        int32_t *tc = c0;
        c0 = c1, c1 = tc;
    }
    if (c0 != s->cand) memcpy(s->cand, c0, (size_t)n * sizeof(int32_t));
}

/* Untruncated sampling (no top-k/p, min-p): the inverse CDF in id order over
 * the unnormalised exp values, no sort: any fixed order samples the same
 * distribution. Sorting the 16K candidates of the 116M bench's vocabulary
 * was 8% of its batched rollout step (bench_rollout, Zen 3, 2 threads). The
 * last token with non-zero weight catches r rounding up to the full sum. */
static int32_t walk_ids(r1_sampler *s, double sum) {
    double r = r1_rng_f64(&s->rng) * sum, acc = 0.0;
    int32_t last = 0;
    for (int64_t i = 0; i < s->vocab; i++) {
        if (s->prob[i] == 0.0f) continue;
        acc += s->prob[i];
        last = (int32_t)i;
        if (r < acc) return last;
    }
    return last;
}

int32_t r1_sampler_sample(r1_sampler *s, const float *logits) {
    int64_t V = s->vocab;
    if (s->p.temp == 0.0f) return r1_argmax(logits, V);
    float mx = logits[r1_argmax(logits, V)], inv_t = 1.0f / s->p.temp;
    double sum = 0.0;
    for (int64_t i = 0; i < V; i++) {
        s->prob[i] = expf((logits[i] - mx) * inv_t);
        sum += s->prob[i];
    }
    if ((s->p.top_k == 0 || s->p.top_k >= V) && s->p.top_p >= 1.0f && s->p.min_p == 0.0f)
        return walk_ids(s, sum);
    float pmax = (float)(1.0 / sum), cutoff = 0.0f;
    for (int64_t i = 0; i < V; i++) s->prob[i] = (float)(s->prob[i] / sum);
    if (s->p.min_p > 0.0f) cutoff = s->p.min_p * pmax;
    if (s->p.top_p < 1.0f && V > 1) {
        float c = (1.0f - s->p.top_p) / (float)(V - 1);
        cutoff = c > cutoff ? c : cutoff;
    }
    int64_t n = 0;
    for (int64_t i = 0; i < V; i++)
        if (s->prob[i] >= cutoff) s->cand[n++] = (int32_t)i;
    if (n == 0) return r1_argmax(logits, V);
    sort_by_prob(s, n);
    if (s->p.top_k > 0 && n > s->p.top_k) n = s->p.top_k;
    double mass = 0.0;
    int64_t keep = n;
    for (int64_t i = 0; i < n; i++) {
        mass += s->prob[s->cand[i]];
        if (s->p.top_p < 1.0f && mass >= s->p.top_p) {
            keep = i + 1;
            break;
        }
    }
    if (keep < n) {
        mass = 0.0;
        for (int64_t i = 0; i < keep; i++) mass += s->prob[s->cand[i]];
    }
    double r = r1_rng_f64(&s->rng) * mass, acc = 0.0;
    for (int64_t i = 0; i < keep; i++) {
        acc += s->prob[s->cand[i]];
        if (r < acc) return s->cand[i];
    }
    return s->cand[keep - 1];
}
