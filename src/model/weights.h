/* weights: the named-tensor table of a model. One visitor enumerates every
 * parameter of a config in a fixed order with its HF name, shape and flags;
 * loading from safetensors, random initialisation, saving and (later) the
 * training slabs all walk that one list, so a family is described once.
 * Matrices may be f32/f16/bf16 views into an mmap'd file; vectors (norms,
 * biases, the expert-selection bias) are always f32 (converted at load). */
#ifndef R1_WEIGHTS_H
#define R1_WEIGHTS_H

#include "core/tensor.h"
#include "model/config.h"

typedef struct {
    r1_tensor attn_norm, ffn_norm;            /* [D] */
    /* MLA: q = q_b(norm(q_a x)) or q x (Rq = 0); kv_a -> [latent Rkv | k_pe Dr] */
    r1_tensor q_a, q_a_norm, q_b;             /* [Rq,D] [Rq] [H*(Dn+Dr),Rq] */
    r1_tensor q;                              /* MLA: [H*(Dn+Dr),D]; GQA: [H*hd,D] */
    r1_tensor kv_a, kv_a_norm, kv_b;          /* [Rkv+Dr,D] [Rkv] [H*(Dn+Dv),Rkv] */
    r1_tensor k, v, q_bias, k_bias, v_bias;   /* GQA: [Hkv*hd,D] x2, biases (qwen2) */
    r1_tensor o;                              /* MLA: [D,H*Dv]; GQA: [D,H*hd] */
    r1_tensor gate, up, down;                 /* dense SwiGLU: [F,D] [F,D] [D,F] */
    r1_tensor router, router_bias;            /* MoE: [E,D], [E] (noaux_tc only) */
    r1_tensor *e_gate, *e_up, *e_down;        /* [E] of [Fe,D] [Fe,D] [D,Fe] */
    r1_tensor sh_gate, sh_up, sh_down;        /* shared experts, width n_shared*Fe */
} r1_layer_weights;

typedef struct {
    r1_tensor embed;   /* [vocab, D] */
    r1_tensor norm;    /* [D] */
    r1_tensor lm_head; /* [vocab, D]; aliases embed when tied */
    r1_layer_weights *layers;
} r1_weights;

enum {
    R1_P_VECTOR = 1 << 0, /* a norm weight or bias: stored f32, no weight decay */
    R1_P_NORM = 1 << 1,   /* initialised to 1 */
    R1_P_NO_GRAD = 1 << 2 /* the expert-selection bias: moved by load balancing, not by gradients */
};

typedef r1_status (*r1_param_fn)(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape,
                                 int flags);

/* Allocates the per-layer arrays for c (tensors all empty). */
r1_status r1_weights_init(r1_weights *w, const r1_config *c);
void r1_weights_free(r1_weights *w, const r1_config *c);
/* Calls fn for every parameter of c in canonical order (stops at the first
 * failure and returns it). The tied lm_head is not visited. */
r1_status r1_weights_visit(r1_weights *w, const r1_config *c, r1_param_fn fn, void *ctx);

/* The multi-token-prediction module (num_nextn_predict_layers = 1), stored as
 * HF layer n_layers: h' = eh_proj [enorm(emb(t+1)) ; hnorm(h_main)], one full
 * decoder layer (MoE iff layer n_layers would be), then shared_head.norm and
 * the main lm_head. Its copies of embed_tokens and shared_head.head are not
 * separate parameters here (they are the main ones) and are not written. */
typedef struct {
    r1_tensor enorm, hnorm; /* [D] */
    r1_tensor eh_proj;      /* [D, 2D] */
    r1_layer_weights layer;
    r1_tensor shared_norm;  /* [D] */
} r1_mtp_weights;

r1_status r1_mtp_weights_init(r1_mtp_weights *w, const r1_config *c);
void r1_mtp_weights_free(r1_mtp_weights *w);
/* Visits the MTP parameters (names model.layers.{n_layers}.*) in canonical order. */
r1_status r1_weights_visit_mtp(r1_mtp_weights *w, const r1_config *c, r1_param_fn fn, void *ctx);

#endif
