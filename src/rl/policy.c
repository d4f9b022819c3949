/* policy: model + trainer ownership and row packing (see policy.h). */
#include "rl/policy.h"

#include <string.h>

void r1_policy_init(r1_policy *p, r1_model *m) { *p = (r1_policy){.m = m, .t = NULL}; }

r1_status r1_policy_train(r1_policy *p, const r1_train_opts *opts) {
    r1_train *t = NULL;
    R1_TRY(r1_train_create(&t, p->m, opts)); /* copies from the old slab while it still lives */
    r1_train_destroy(p->t);
    p->t = t;
    return R1_OK;
}

void r1_policy_free(r1_policy *p) {
    r1_model_destroy(p->m); /* frees the model's own storage; its views into the slab die next */
    r1_train_destroy(p->t);
    *p = (r1_policy){0};
}

void r1_rows_fill(int64_t B, int64_t T, const r1_seqview *seqs, int64_t n, int32_t *tok, int32_t *tgt, float *w,
                  uint8_t *mask) {
    for (int64_t b = 0; b < B; b++) {
        int32_t *rt = tok + b * T, *rg = tgt + b * T;
        float *rw = w + b * T;
        int64_t len = b < n ? (seqs[b].n < T ? seqs[b].n : T) : 0;
        for (int64_t t = 0; t < T; t++) {
            rt[t] = t < len ? seqs[b].ids[t] : 0;
            bool on = b < n && t + 1 < len && t + 1 >= seqs[b].from;
            rg[t] = on ? seqs[b].ids[t + 1] : -1;
            rw[t] = on ? seqs[b].w : 0.0f;
            if (mask) mask[b * T + t] = on;
        }
    }
}
