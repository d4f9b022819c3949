/* corpus: task documents in three completion styles (see corpus.h). */
#include "rl/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t r1_corpus_completion(char *out, size_t cap, const r1_problem *p, r1_doc_style style) {
    int n;
    if (style == R1_DOC_STEPS)
        n = snprintf(out, cap, "<think> %s </think> <answer> %s </answer>", p->steps, p->answer);
    else if (style == R1_DOC_DIRECT)
        n = snprintf(out, cap, "<think> </think> <answer> %s </answer>", p->answer);
    else
        n = snprintf(out, cap, " %s", p->answer);
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

r1_doc_style r1_corpus_pick(const r1_corpus_mix *mix, r1_rng *rng) {
    float u = r1_rng_f32(rng);
    if (u < mix->p_steps) return R1_DOC_STEPS;
    if (u < mix->p_steps + mix->p_bare) return R1_DOC_BARE;
    return R1_DOC_DIRECT;
}

/* prompt + completion of document i */
static size_t doc(char *buf, size_t cap, const r1_taskset *ts, r1_task_split split, uint64_t i,
                  const r1_corpus_mix *mix, r1_rng *rng) {
    r1_item it;
    r1_taskset_item(ts, split, i, &it);
    size_t n = strlen(it.prompt);
    if (n + 1 >= cap) return 0;
    memcpy(buf, it.prompt, n);
    return n + r1_corpus_completion(buf + n, cap - n, &it.p, r1_corpus_pick(mix, rng));
}

r1_status r1_corpus_text(const r1_taskset *ts, r1_task_split split, uint64_t first, int64_t n, const r1_corpus_mix *mix,
                         uint64_t seed, char **text, size_t *len) {
    r1_rng rng;
    r1_rng_seed(&rng, seed);
    size_t cap = (size_t)n * 160 + 1, used = 0;
    char *out = malloc(cap), buf[2048];
    if (!out) return r1_fail(R1_NOMEM, "corpus: out of memory");
    for (int64_t i = 0; i < n; i++) {
        size_t k = doc(buf, sizeof buf, ts, split, first + (uint64_t)i, mix, &rng);
        if (used + k + 2 > cap) {
            char *o = realloc(out, cap = cap * 2 + k + 2);
            if (!o) return free(out), r1_fail(R1_NOMEM, "corpus: out of memory");
            out = o;
        }
        memcpy(out + used, buf, k);
        used += k;
        out[used++] = '\n';
    }
    out[used] = '\0';
    *text = out;
    *len = used;
    return R1_OK;
}

r1_status r1_corpus_stream(const r1_taskset *ts, r1_task_split split, uint64_t first, int64_t n,
                           const r1_corpus_mix *mix, uint64_t seed, const r1_tok *tok, int32_t **ids, int64_t *n_ids) {
    r1_rng rng;
    r1_rng_seed(&rng, seed);
    int32_t eos = r1_tok_eos(tok);
    int64_t cap = n * 64 + 16, used = 0;
    int32_t *out = malloc((size_t)cap * sizeof *out);
    char buf[2048];
    if (!out) return r1_fail(R1_NOMEM, "corpus: out of memory");
    for (int64_t i = 0; i < n; i++) {
        size_t k = doc(buf, sizeof buf, ts, split, first + (uint64_t)i, mix, &rng);
        int32_t *d = NULL;
        int64_t nd = 0;
        r1_status s = r1_tok_encode(tok, buf, k, 1, &d, &nd);
        if (s != R1_OK) return free(out), s;
        if (used + nd + 1 > cap) {
            int32_t *o = realloc(out, (size_t)(cap = cap * 2 + nd + 1) * sizeof *out);
            if (!o) return free(out), free(d), r1_fail(R1_NOMEM, "corpus: out of memory");
            out = o;
        }
        memcpy(out + used, d, (size_t)nd * sizeof *d);
        used += nd;
        if (eos >= 0) out[used++] = eos;
        free(d);
    }
    *ids = out;
    *n_ids = used;
    return R1_OK;
}
