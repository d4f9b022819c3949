/* generate: single-sequence prefill + decode loop (see generate.h). */
#include "infer/generate.h"

#include <stdlib.h>
#include <time.h>

double r1_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool is_stop(const r1_gen_params *p, int32_t tok) {
    for (int64_t i = 0; i < p->n_stop_ids; i++)
        if (p->stop_ids[i] == tok) return true;
    return false;
}

r1_status r1_generate(r1_model *m, const int32_t *prompt, int64_t n_prompt, const r1_gen_params *p, int32_t *out,
                      int64_t *n_out, r1_gen_stats *stats) {
    *n_out = 0;
    if (n_prompt < 1) return r1_fail(R1_INVALID, "generate: empty prompt");
    if (p->max_new < 0) return r1_fail(R1_INVALID, "generate: negative token budget");
    int64_t V = m->cfg.vocab, chunk = p->prefill_chunk > 0 ? p->prefill_chunk : 512;
    r1_gen_stats st = {.n_prompt = n_prompt, .reason = R1_STOP_LENGTH};
    r1_kvcache kv;
    r1_sampler smp;
    R1_TRY(r1_kvcache_init(&kv, &m->cfg, 1, n_prompt + p->max_new + 1));
    float *logits = malloc((size_t)V * sizeof(float));
    int64_t *pos = malloc((size_t)chunk * sizeof(int64_t));
    int32_t *slot = calloc((size_t)chunk, sizeof(int32_t));
    r1_status s = r1_sampler_init(&smp, &p->sampling, V);
    if (s == R1_OK && (!logits || !pos || !slot)) s = r1_fail(R1_NOMEM, "generate: out of memory");

    double t0 = r1_now();
    for (int64_t i = 0; i < n_prompt && s == R1_OK; i += chunk) {
        int64_t n = n_prompt - i < chunk ? n_prompt - i : chunk;
        for (int64_t j = 0; j < n; j++) pos[j] = i + j;
        int64_t last = n - 1;
        r1_batch b = {n, prompt + i, slot, pos};
        s = r1_model_forward(m, &kv, &b, &last, i + n == n_prompt ? 1 : 0, logits);
    }
    double t1 = r1_now();
    st.prefill_s = t1 - t0;
    while (s == R1_OK && *n_out < p->max_new) {
        int32_t tok = r1_sampler_sample(&smp, logits);
        if (is_stop(p, tok)) {
            st.reason = R1_STOP_EOS;
            break;
        }
        out[(*n_out)++] = tok;
        if (p->on_token && !p->on_token(p->ctx, tok)) {
            st.reason = R1_STOP_CALLBACK;
            break;
        }
        if (*n_out == p->max_new) break;
        int64_t ps = n_prompt + *n_out - 1;
        r1_batch b = {1, &tok, slot, &ps};
        s = r1_model_forward(m, &kv, &b, NULL, 1, logits);
    }
    st.decode_s = r1_now() - t1;
    st.n_gen = *n_out;
    if (stats) *stats = st;
    r1_sampler_free(&smp);
    r1_kvcache_free(&kv);
    free(logits);
    free(pos);
    free(slot);
    return s;
}
