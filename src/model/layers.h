/* layers: the building blocks of the forward pass, shared by inference and
 * training. Argument order follows llm.c: outputs, inputs, weights, dims.
 * Every activation is f32 and row-major with one row per token. */
#ifndef R1_LAYERS_H
#define R1_LAYERS_H

#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"

/* y[N,D] = w * x / sqrt(mean(x^2) + eps), row by row (y may alias x). */
void r1_rmsnorm_forward(float *y, const float *x, const float *w, int64_t N, int64_t D, float eps);

/* SwiGLU FFN: y[N,D] = down(silu(gate x) * up x). h is scratch [2, N, F]. */
void r1_swiglu_forward(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *gate, const r1_tensor *up,
                       const r1_tensor *down, float *h);

/* Router for one token: picks K experts from the raw router logits z [E]
 * (ARCH.md §2.9): scores s = sigmoid|softmax(z); selection uses s + bias
 * (bias may be NULL), limited to the best topk_group groups; weights are the
 * unbiased s of the chosen experts, renormalised if norm_topk_prob, times
 * routed_scaling_factor. idx/wt are [K], ordered by selection score. */
void r1_router_select(const r1_config *c, const float *z, const float *bias, int32_t *idx, float *wt);

/* The forward state shared by the layers of one model call. */
typedef struct {
    r1_model *m;
    const r1_config *c;
    r1_kvcache *kv;
    const r1_batch *b;
    float *cs; /* [N, rope dim] cos/sin of each row's position */
    r1_arena *ws;
} r1_fwd;

/* MoE FFN of layer l: y[N,D] = sum_k w_k expert_k(x) + shared(x). */
void r1_moe_forward(r1_fwd *f, int64_t l, float *y, const float *x);
/* Attention of layer l over the cache: appends the rows' K/V (latents), then
 * y[N,D] = o_proj(attention). */
void r1_mla_forward(r1_fwd *f, int64_t l, float *y, const float *x);
void r1_gqa_forward(r1_fwd *f, int64_t l, float *y, const float *x);

/* Causal softmax attention of one query over n cached scores, in place:
 * s[0..n) -> probabilities (max-subtracted, f32). */
void r1_softmax_inplace(float *s, int64_t n);

/* Bytes of workspace the layers need for N rows and P cached positions. */
size_t r1_layers_plan(const r1_config *c, int64_t N, int64_t P, int nthreads);

/* f32 copy of an embedding-table row (any stored dtype). */
void r1_embed_row(float *dst, const r1_tensor *table, int64_t row);

#endif
