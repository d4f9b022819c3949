/* t_logits: the logits of one prompt (T <= 64 tokens) in a fresh cache, for
 * tests that compare whole models. */
#ifndef R1_T_LOGITS_H
#define R1_T_LOGITS_H

#include "model/model.h"

static inline r1_status t_logits(r1_model *m, const int32_t *ids, int64_t T, float *out) {
    r1_kvcache kv;
    R1_TRY(r1_kvcache_init(&kv, &m->cfg, 1, T));
    int32_t slot[64] = {0};
    int64_t pos[64];
    for (int64_t i = 0; i < T; i++) pos[i] = i;
    r1_batch b = {T, ids, slot, pos};
    r1_status s = r1_model_forward(m, &kv, &b, NULL, T, out);
    r1_kvcache_free(&kv);
    return s;
}

#endif
