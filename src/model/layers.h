/* layers: the building blocks of the forward pass, shared by inference and
 * training. Argument order follows llm.c: outputs, inputs, weights, dims.
 * Every activation is f32 and row-major with one row per token. */
#ifndef R1_LAYERS_H
#define R1_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"

/* y[N,D] = w * x / sqrt(mean(x^2) + eps), row by row (y may alias x). */
void r1_rmsnorm_forward(float *y, const float *x, const float *w, int64_t N, int64_t D, float eps);

/* SwiGLU FFN: y[N,D] = down(silu(gate x) * up x). h is scratch [2, N, F];
 * the model's workspace (m->ws) lends r1_swiglu_groups_ws(1, N, F, D) bytes. */
void r1_swiglu_forward(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *gate, const r1_tensor *up,
                       const r1_tensor *down, float *h);

/* One SwiGLU over n rows: y[n, D] = down(silu(gate x) * up x) with g, u
 * scratch [n, F] each (g ends holding the activation). */
typedef struct {
    const float *x;
    int64_t n, F;
    float *g, *u, *y;
    const r1_tensor *gate, *up, *down;
} r1_swiglu_group;
/* Runs ng SwiGLUs (a MoE layer's experts, or one dense FFN) in two parallel
 * regions of (group, column tile) items (mlp.c); ws lends
 * r1_swiglu_groups_ws(ng, total rows of the groups, largest F, D) bytes. */
void r1_swiglu_groups(r1_model *m, const r1_swiglu_group *gs, int64_t ng, int64_t D, r1_arena *ws);
size_t r1_swiglu_groups_ws(int64_t ng, int64_t rows, int64_t F, int64_t D);

/* Router for one token: picks K experts from the raw router logits z [E]
 * (ARCH.md §2.9): scores s = sigmoid|softmax(z); selection uses s + bias
 * (bias may be NULL), limited to the best topk_group groups; weights are the
 * unbiased s of the chosen experts, renormalised if norm_topk_prob, times
 * routed_scaling_factor. idx/wt are [K], ordered by selection score. */
void r1_router_select(const r1_config *c, const float *z, const float *bias, int32_t *idx, float *wt);

/* The inference forward's parallel regions: a product of fewer than
 * m->par_macs (default R1_FWD_PAR_MACS) multiply-adds runs on the calling thread, because a
 * fork/join costs 2-4 us on the 2-vCPU VM when it is quiet and 5-20 us when
 * it is shared (measured), about the f32 kernel time of 250k multiply-adds;
 * the demo model's single-row decode step was slower on 2 threads than on 1. */
#define R1_FWD_PAR_MACS ((int64_t)1 << 18)
static inline r1_pool *r1_fwd_pool(r1_model *m, int64_t macs) { return macs >= m->par_macs ? m->pool : NULL; }
/* r1_matmul on r1_fwd_pool's choice for w's size. */
void r1_fwd_matmul(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *w);
/* Columns [m0, m1) of y[n, ldy] = x[n, K] w^T on the calling thread, for any
 * weight dtype (the kernels prefetch the weight rows themselves). */
void r1_fwd_cols(const r1_kernels *k, float *y, int64_t ldy, const float *x, int64_t n, const r1_tensor *w, int64_t K,
                 int64_t m0, int64_t m1);

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

/* ---- training: forward over a [B,T] batch (no cache) and backward ----
 * Every training forward saves what its backward needs in a struct of
 * pointers carved from one activation slab. Carving is written once per
 * layer: r1_xxx_saved_bind(s, cv, ...) takes its buffers from cv; with
 * cv->base == NULL it only counts bytes (the plan), so plan and bind cannot
 * disagree. Backward rule (llm.c): parameter grads +=, activation grads as
 * each function says. Rows are row = b*T + t. Weights are f32 when training. */

/* A carver over a slab: plan (base NULL: count only) or bind (hand out). */
typedef struct {
    char *base;
    size_t used;
} r1_carve;

static inline void *r1_carve_take(r1_carve *cv, size_t n) {
    void *p = cv->base ? cv->base + cv->used : NULL;
    cv->used += r1_align_up(n);
    return p;
}
static inline float *r1_carve_f(r1_carve *cv, int64_t n) { return r1_carve_take(cv, (size_t)n * sizeof(float)); }

/* What every training layer needs to know about the batch. */
typedef struct {
    r1_pool *pool;
    const r1_kernels *k;
    const r1_config *c;
    const r1_rope *rope;
    int64_t B, T, N;      /* N = B*T rows */
    const float *cs;      /* [T, rope dim] cos/sin of positions 0..T-1 */
    r1_arena *ws;         /* backward/forward temporaries, rewound by each call */
    float aux_alpha;      /* sequence-wise balance loss weight (0: off) */
    bool bf16;            /* matmuls on bf16-rounded operands (f32 sums); false: f32 */
    const float *pbase;   /* bf16: the f32 parameter slab ... */
    const uint16_t *pbf16; /* ... and its bf16 copy (same offsets), pn floats */
    int64_t pn;
} r1_tctx;

/* The training products (train_mm.c), f32 or bf16 as t->bf16 says:
 *   r1_tmm     y[N, M] = x[N, K] w^T     (w a parameter [M, K]; bf16 reads its copy in t->pbf16)
 *   r1_tmm_dx  dx[N, K] (+)= dy[N, M] w[M, K]
 *   r1_tmm_dw  dw[M, K] += dy[N, M]^T x[N, K] */
void r1_tmm(const r1_tctx *t, float *y, const float *x, int64_t N, const r1_tensor *w);
void r1_tmm_dx(const r1_tctx *t, float *dx, const float *dy, const float *w, int64_t N, int64_t M, int64_t K,
               bool accumulate);
void r1_tmm_dw(const r1_tctx *t, float *dw, const float *dy, const float *x, int64_t N, int64_t M, int64_t K);

/* RMSNorm saving 1/rms per row: y[N,D], rstd[N]. */
void r1_rmsnorm_train_forward(float *y, float *rstd, const float *x, const float *w, int64_t N, int64_t D, float eps);
/* dx[N,D] += d/dx, dw[D] += d/dw of y = rmsnorm(x) given dy. dw may be NULL. */
void r1_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *rstd, const float *w,
                         int64_t N, int64_t D);

/* The same two split over the pool: rows of y/dx across threads; dw by
 * columns, each summed over rows in order, so the bits do not depend on the
 * thread count. */
void r1_rmsnorm_train_forward_mt(r1_pool *pool, float *y, float *rstd, const float *x, const float *w, int64_t N,
                                 int64_t D, float eps);
void r1_rmsnorm_backward_mt(r1_pool *pool, float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                            const float *w, int64_t N, int64_t D);

/* SwiGLU: saved g, u (pre-activation) and a = silu(g) * u, each [n, F]. */
typedef struct {
    float *g, *u, *a;
} r1_swiglu_saved;
void r1_swiglu_saved_bind(r1_swiglu_saved *s, r1_carve *cv, int64_t N, int64_t F);
/* y[N,D] = down(silu(gate x) * up x), saving into g/u/a ([N,F] each). */
void r1_swiglu_train_forward(const r1_tctx *t, float *y, float *g, float *u, float *a, const float *x, int64_t N,
                             const r1_tensor *gate, const r1_tensor *up, const r1_tensor *down);
/* dx[N,D] (= or += by accumulate), dgate/dup/ddown (+=) from dy[N,D].
 * da is scratch [2, N, F] (overwritten). */
void r1_swiglu_backward(const r1_tctx *t, float *dx, bool accumulate, float *dgate, float *dup, float *ddown,
                        const float *dy, const float *x, const float *g, const float *u, const float *a, float *da,
                        int64_t N, const r1_tensor *gate, const r1_tensor *up, const r1_tensor *down);

/* MLA, naive (decompressed) causal attention over each whole sequence. */
typedef struct {
    float *qa, *qa_rstd, *qan; /* Rq > 0: [N,Rq] raw, [N], [N,Rq] normed */
    float *q;                  /* [N, H*(Dn+Dr)], rope part rotated */
    float *kva;                /* [N, Rkv+Dr] raw kv_a output */
    float *kv_rstd;            /* [N] */
    float *ckv;                /* [N, Rkv] normed latent */
    float *kpe;                /* [N, Dr] rotated shared rope key */
    float *kvd;                /* [N, H*(Dn+Dv)] decompressed K_nope | V per head */
    float *p;                  /* [B, H, T, T] attention probabilities (0 above the diagonal) */
    float *o;                  /* [N, H*Dv] attention output (o_proj input) */
} r1_mla_saved;
void r1_mla_saved_bind(r1_mla_saved *s, r1_carve *cv, const r1_config *c, int64_t B, int64_t T);
void r1_mla_train_forward(const r1_tctx *t, const r1_layer_weights *L, r1_mla_saved *s, float *y, const float *x);
/* dx[N,D] = d/dx; grads of L's tensors += into G (same layout). */
void r1_mla_backward(const r1_tctx *t, const r1_layer_weights *L, r1_layer_weights *G, const r1_mla_saved *s,
                     float *dx, const float *dy, const float *x);

/* GQA (qwen2/llama). */
typedef struct {
    float *q, *k, *v; /* [N,H*hd] [N,Hkv*hd] [N,Hkv*hd], q/k rotated, biases added */
    float *p;         /* [B, H, T, T] */
    float *o;         /* [N, H*hd] */
} r1_gqa_saved;
void r1_gqa_saved_bind(r1_gqa_saved *s, r1_carve *cv, const r1_config *c, int64_t B, int64_t T);
void r1_gqa_train_forward(const r1_tctx *t, const r1_layer_weights *L, r1_gqa_saved *s, float *y, const float *x);
void r1_gqa_backward(const r1_tctx *t, const r1_layer_weights *L, r1_layer_weights *G, const r1_gqa_saved *s,
                     float *dx, const float *dy, const float *x);

/* DeepSeekMoE. Routed slots p = row*K + k are sorted by expert: order[j] is
 * the slot at sorted position j, expert e owns positions start[e]..start[e+1). */
typedef struct {
    float *z;        /* [N,E] router logits */
    int32_t *idx;    /* [N*K] chosen experts */
    float *wt;       /* [N*K] their weights */
    int32_t *order;  /* [N*K] */
    int64_t *start;  /* [E+1] */
    r1_swiglu_saved ex; /* [N*K, Fe] in sorted order */
    float *ys;       /* [N*K, D] expert outputs (unweighted), sorted order */
    r1_swiglu_saved sh; /* [N, n_shared*Fe] */
    float aux;       /* sequence-wise balance loss of this call (before alpha) */
} r1_moe_saved;
void r1_moe_saved_bind(r1_moe_saved *s, r1_carve *cv, const r1_config *c, int64_t B, int64_t T);
/* y = routed + shared experts; load[E] (may be NULL) += tokens per expert. */
void r1_moe_train_forward(const r1_tctx *t, const r1_layer_weights *L, r1_moe_saved *s, float *y, const float *x,
                          int64_t *load);
/* dx = d/dx (=); the router gets the gradient through the weights of the
 * chosen experts (and the balance loss when t->aux_alpha > 0). */
void r1_moe_backward(const r1_tctx *t, const r1_layer_weights *L, r1_layer_weights *G, const r1_moe_saved *s,
                     float *dx, const float *dy, const float *x);

/* Workspace bytes the training layers need (forward + backward temporaries). */
size_t r1_train_layers_ws(const r1_config *c, int64_t B, int64_t T, int nthreads);

#endif
