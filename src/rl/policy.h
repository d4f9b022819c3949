/* policy: a model together with the trainer that owns its weights, and the
 * packing of token sequences into the trainer's [B,T] rows.
 * r1_train_create re-points the model's tensors into the trainer's slab, so
 * destroying a trainer would leave the model dangling. A policy keeps the
 * pair together; r1_policy_train swaps in a new trainer (new batch shape,
 * learning rate, fresh AdamW moments) by creating it from the live weights
 * before the old one is destroyed, so pretraining, SFT and GRPO can follow
 * each other in one process on one model. */
#ifndef R1_POLICY_H
#define R1_POLICY_H

#include <stdint.h>

#include "model/model.h"
#include "train/train.h"

typedef struct {
    r1_model *m;
    r1_train *t; /* NULL until r1_policy_train */
} r1_policy;

/* Takes ownership of m. */
void r1_policy_init(r1_policy *p, r1_model *m);
/* (Re)creates the trainer with opts; the weights carry over. */
r1_status r1_policy_train(r1_policy *p, const r1_train_opts *opts);
void r1_policy_free(r1_policy *p);

/* A sequence to score: ids[0..n); the targets are ids[k] for k >= from
 * (predicted at position k-1), each with weight w. */
typedef struct {
    const int32_t *ids;
    int64_t n, from;
    float w;
} r1_seqview;

/* Fills B rows of T positions from seqs[0..n) (n <= B; missing rows and the
 * tail of short rows are padding: token 0, no target). A sequence longer than
 * T is cut to T (its last targets are lost). mask (may be NULL) gets 1 where
 * a target is set. */
void r1_rows_fill(int64_t B, int64_t T, const r1_seqview *seqs, int64_t n, int32_t *tok, int32_t *tgt, float *w,
                  uint8_t *mask);

#endif
