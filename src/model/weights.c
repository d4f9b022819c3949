/* weights: the canonical parameter list of each family (see weights.h).
 * Names are HF's exactly; shapes are [out, in]. */
#include "model/weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static r1_status alloc_experts(r1_layer_weights *L, const r1_config *c) {
    L->e_gate = calloc((size_t)c->E, sizeof(r1_tensor));
    L->e_up = calloc((size_t)c->E, sizeof(r1_tensor));
    L->e_down = calloc((size_t)c->E, sizeof(r1_tensor));
    return L->e_gate && L->e_up && L->e_down ? R1_OK : r1_fail(R1_NOMEM, "weights: cannot allocate expert tables");
}

r1_status r1_weights_init(r1_weights *w, const r1_config *c) {
    *w = (r1_weights){0};
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers) return r1_fail(R1_NOMEM, "weights: cannot allocate %lld layers", (long long)c->n_layers);
    for (int64_t l = 0; l < c->n_layers; l++) {
        if (!r1_config_layer_is_moe(c, l)) continue;
        if (alloc_experts(&w->layers[l], c) != R1_OK) {
            r1_weights_free(w, c);
            return R1_NOMEM;
        }
    }
    return R1_OK;
}

void r1_weights_free(r1_weights *w, const r1_config *c) {
    if (!w->layers) return;
    for (int64_t l = 0; l < c->n_layers; l++) {
        free(w->layers[l].e_gate);
        free(w->layers[l].e_up);
        free(w->layers[l].e_down);
    }
    free(w->layers);
    w->layers = NULL;
}

typedef struct {
    r1_param_fn fn;
    void *ctx;
    char name[256];
} visitor;

static r1_status emit(visitor *v, r1_tensor *slot, int flags, int ndim, int64_t d0, int64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static r1_status emit(visitor *v, r1_tensor *slot, int flags, int ndim, int64_t d0, int64_t d1, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->name, sizeof v->name, fmt, ap);
    va_end(ap);
    int64_t shape[2] = {d0, d1};
    return v->fn(v->ctx, v->name, slot, ndim, shape, flags);
}

#define MAT(slot, rows, cols, ...) R1_TRY(emit(v, slot, 0, 2, rows, cols, __VA_ARGS__))
#define VEC(slot, n, flags, ...) R1_TRY(emit(v, slot, R1_P_VECTOR | (flags), 1, n, 0, __VA_ARGS__))

static r1_status visit_ffn(visitor *v, r1_tensor *g, r1_tensor *u, r1_tensor *d, int64_t D, int64_t F,
                           const char *prefix) {
    MAT(g, F, D, "%s.gate_proj.weight", prefix);
    MAT(u, F, D, "%s.up_proj.weight", prefix);
    MAT(d, D, F, "%s.down_proj.weight", prefix);
    return R1_OK;
}

static r1_status visit_attn(visitor *v, r1_layer_weights *L, const r1_config *c, const char *p) {
    int64_t D = c->D, H = c->H;
    if (r1_config_is_mla(c)) {
        int64_t qk = c->Dn + c->Dr;
        if (c->Rq > 0) {
            MAT(&L->q_a, c->Rq, D, "%s.self_attn.q_a_proj.weight", p);
            VEC(&L->q_a_norm, c->Rq, R1_P_NORM, "%s.self_attn.q_a_layernorm.weight", p);
            MAT(&L->q_b, H * qk, c->Rq, "%s.self_attn.q_b_proj.weight", p);
        } else {
            MAT(&L->q, H * qk, D, "%s.self_attn.q_proj.weight", p);
        }
        MAT(&L->kv_a, c->Rkv + c->Dr, D, "%s.self_attn.kv_a_proj_with_mqa.weight", p);
        VEC(&L->kv_a_norm, c->Rkv, R1_P_NORM, "%s.self_attn.kv_a_layernorm.weight", p);
        MAT(&L->kv_b, H * (c->Dn + c->Dv), c->Rkv, "%s.self_attn.kv_b_proj.weight", p);
        MAT(&L->o, D, H * c->Dv, "%s.self_attn.o_proj.weight", p);
        return R1_OK;
    }
    int64_t hd = c->head_dim, kvw = c->Hkv * hd;
    MAT(&L->q, H * hd, D, "%s.self_attn.q_proj.weight", p);
    MAT(&L->k, kvw, D, "%s.self_attn.k_proj.weight", p);
    MAT(&L->v, kvw, D, "%s.self_attn.v_proj.weight", p);
    if (c->qkv_bias) {
        VEC(&L->q_bias, H * hd, 0, "%s.self_attn.q_proj.bias", p);
        VEC(&L->k_bias, kvw, 0, "%s.self_attn.k_proj.bias", p);
        VEC(&L->v_bias, kvw, 0, "%s.self_attn.v_proj.bias", p);
    }
    MAT(&L->o, D, H * hd, "%s.self_attn.o_proj.weight", p);
    return R1_OK;
}

static r1_status visit_layer(visitor *v, r1_layer_weights *L, const r1_config *c, int64_t l) {
    int64_t D = c->D;
    char p[64], q[160];
    snprintf(p, sizeof p, "model.layers.%lld", (long long)l);
    VEC(&L->attn_norm, D, R1_P_NORM, "%s.input_layernorm.weight", p);
    R1_TRY(visit_attn(v, L, c, p));
    VEC(&L->ffn_norm, D, R1_P_NORM, "%s.post_attention_layernorm.weight", p);
    snprintf(q, sizeof q, "%s.mlp", p);
    if (!r1_config_layer_is_moe(c, l)) return visit_ffn(v, &L->gate, &L->up, &L->down, D, c->ffn, q);
    MAT(&L->router, c->E, D, "%s.mlp.gate.weight", p);
    if (c->topk_method == R1_TOPK_NOAUX_TC)
        VEC(&L->router_bias, c->E, R1_P_NO_GRAD, "%s.mlp.gate.e_score_correction_bias", p);
    for (int64_t e = 0; e < c->E; e++) {
        snprintf(q, sizeof q, "%s.mlp.experts.%lld", p, (long long)e);
        R1_TRY(visit_ffn(v, &L->e_gate[e], &L->e_up[e], &L->e_down[e], D, c->moe_ffn, q));
    }
    if (c->n_shared > 0) {
        snprintf(q, sizeof q, "%s.mlp.shared_experts", p);
        R1_TRY(visit_ffn(v, &L->sh_gate, &L->sh_up, &L->sh_down, D, c->n_shared * c->moe_ffn, q));
    }
    return R1_OK;
}

r1_status r1_weights_visit(r1_weights *w, const r1_config *c, r1_param_fn fn, void *ctx) {
    visitor vs = {fn, ctx, {0}}, *v = &vs;
    int64_t D = c->D;
    MAT(&w->embed, c->vocab, D, "model.embed_tokens.weight");
    for (int64_t l = 0; l < c->n_layers; l++) R1_TRY(visit_layer(v, &w->layers[l], c, l));
    VEC(&w->norm, D, R1_P_NORM, "model.norm.weight");
    if (!c->tie_embeddings) MAT(&w->lm_head, c->vocab, D, "lm_head.weight");
    return R1_OK;
}

/* ---- MTP (ARCH.md §2.10): stored as layer n_layers, after the main layers ---- */

r1_status r1_mtp_weights_init(r1_mtp_weights *w, const r1_config *c) {
    *w = (r1_mtp_weights){0};
    if (!r1_config_layer_is_moe(c, c->n_layers)) return R1_OK;
    r1_status s = alloc_experts(&w->layer, c);
    if (s != R1_OK) r1_mtp_weights_free(w);
    return s;
}

void r1_mtp_weights_free(r1_mtp_weights *w) {
    free(w->layer.e_gate);
    free(w->layer.e_up);
    free(w->layer.e_down);
    w->layer.e_gate = w->layer.e_up = w->layer.e_down = NULL;
}

r1_status r1_weights_visit_mtp(r1_mtp_weights *w, const r1_config *c, r1_param_fn fn, void *ctx) {
    visitor vs = {fn, ctx, {0}}, *v = &vs;
    int64_t D = c->D, l = c->n_layers;
    VEC(&w->enorm, D, R1_P_NORM, "model.layers.%lld.enorm.weight", (long long)l);
    VEC(&w->hnorm, D, R1_P_NORM, "model.layers.%lld.hnorm.weight", (long long)l);
    MAT(&w->eh_proj, D, 2 * D, "model.layers.%lld.eh_proj.weight", (long long)l);
    R1_TRY(visit_layer(v, &w->layer, c, l));
    VEC(&w->shared_norm, D, R1_P_NORM, "model.layers.%lld.shared_head.norm.weight", (long long)l);
    return R1_OK;
}
