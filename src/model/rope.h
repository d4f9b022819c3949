/* rope: rotary position embeddings with the two scalings the R1 family uses.
 * YaRN (DeepSeek, ARCH.md §2.5): per-pair frequencies blended between f_j and
 * f_j/s over the ramp [low, high] found from beta_fast/beta_slow; cos/sin get
 * m(s,mscale)/m(s,mscale_all_dim) and the softmax scale m(s,mscale_all_dim)^2.
 * Llama 3 (R1-Distill-Llama): wavelength bands divide low frequencies by the
 * factor and blend the middle band. DeepSeek rotates adjacent pairs
 * (x[2j], x[2j+1]); qwen2/llama rotate halves (x[j], x[j+d/2]) (NEOX). */
#ifndef R1_ROPE_H
#define R1_ROPE_H

#include <stdbool.h>
#include <stdint.h>

#include "model/config.h"

enum { R1_ROPE_MAX_PAIRS = 256 };

typedef struct {
    int64_t dim;                         /* rotated width (Dr for MLA, head_dim for GQA) */
    bool adjacent;                       /* deepseek pairing; false = NEOX halves */
    double inv_freq[R1_ROPE_MAX_PAIRS];  /* per pair, after scaling */
    double cs_scale;                     /* multiplies cos and sin (YaRN mscale ratio) */
    double attn_scale;                   /* softmax scale: 1/sqrt(qk width) x YaRN factor */
} r1_rope;

/* Builds the frequency table for c (R1_INVALID if the rotated dim is odd or too wide). */
r1_status r1_rope_init(r1_rope *r, const r1_config *c);
/* cs[2*j] = cos(pos f_j) * cs_scale, cs[2*j+1] = sin(...), j < dim/2. */
void r1_rope_table(const r1_rope *r, int64_t pos, float *cs /* [dim] */);
/* Rotates x [dim] in place by the angles in cs. */
void r1_rope_apply(const r1_rope *r, float *x, const float *cs);
/* The transposed rotation (rotate by -angle, same scale): the backward of apply. */
void r1_rope_apply_inv(const r1_rope *r, float *x, const float *cs);

#endif
