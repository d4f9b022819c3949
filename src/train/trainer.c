/* trainer: slabs, the [B,T] training forward/backward of the whole model
 * (embedding, decoder blocks, final norm, lm_head, MTP) and the optimizer
 * step. Layer maths lives next to each forward in src/model/; this file only
 * wires layers together and owns the memory:
 *   - params, grads, AdamW m and v: four f32 slabs with one layout, the order
 *     of r1_weights_visit (+ r1_weights_visit_mtp), each tensor 64-byte aligned;
 *   - activations: one slab carved by bind_acts(), run once to count (plan)
 *     and once to hand out pointers (bind);
 *   - temporaries: one arena, rewound by every layer call.
 * MTP: h_main is the main model's hidden state AFTER the final norm, as vLLM's
 * deepseek_mtp wires it (ARCH.md §2.10 leaves this [U]); position t combines
 * h_main[t] with emb(token t+1) and predicts token t+2; the last position of a
 * sequence has no next token, so its embedding input is zero and it has no loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/repack.h"
#include "dist/dist.h"
#include "io/safetensors.h"
#include "kernels/matmul.h"
#include "model/layers.h"
#include "train/train.h"

typedef struct {
    float *xn1, *rstd1, *xmid, *xn2, *rstd2;
    r1_mla_saved mla;
    r1_gqa_saved gqa;
    r1_swiglu_saved ffn;
    r1_moe_saved moe;
} block_saved;

typedef struct {
    float *e, *en, *en_rstd, *hn, *hn_rstd, *cat, *h0, *h1, *yf, *yf_rstd, *logits, *lse, *logp, *w;
    int32_t *tgt;
    block_saved blk;
} mtp_saved;

struct r1_train {
    r1_model *m;
    r1_config c;
    r1_train_opts o;
    r1_tctx tc;
    bool has_mtp, run_mtp;
    r1_mtp_weights mw, mg;
    r1_weights g;
    r1_train_param *p;
    int64_t np, cap, nf;
    float *param, *grad, *m1, *v1;
    uint16_t *pbf16;  /* opts.bf16: bf16 copy of param (refreshed by AdamW) */
    bool pbf16_stale; /* param changed outside AdamW (create, slabs handed out) */
    char *act;
    float **x; /* [n_layers + 1] residual stream, [N, D] each */
    block_saved *blk;
    float *xf, *rstdf, *logits, *lse, *logp, *w, *cs, *dres, *dxf;
    int32_t *tok, *tgt;
    mtp_saved mt;
    r1_arena ws;
    int64_t *load, *load_row; /* [n_moe][E], layer -> row or -1 */
    int64_t n_moe, step;
};

void r1_train_opts_default(r1_train_opts *o) {
    *o = (r1_train_opts){.B = 4, .T = 64, .lr = 3e-4f, .min_lr = 3e-5f, .warmup = 0, .total_steps = 1000,
                         .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f, .clip = 1.0f,
                         .bias_gamma = 0.001f, .aux_alpha = 0.0f, .mtp_lambda = 0.3f, .accum = 1, .seed = 1};
}

/* ---- parameter table and slabs ---- */

static r1_status collect(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape, int flags) {
    r1_train *t = ctx;
    if (t->np == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 256;
        r1_train_param *p = realloc(t->p, (size_t)cap * sizeof *p);
        if (!p) return r1_fail(R1_NOMEM, "train: out of memory");
        t->p = p;
        t->cap = cap;
    }
    r1_train_param *p = &t->p[t->np];
    *p = (r1_train_param){.ndim = ndim, .shape = {shape[0], ndim > 1 ? shape[1] : 0}, .flags = flags, .slot = slot};
    p->n = shape[0] * (ndim > 1 ? shape[1] : 1);
    p->off = t->nf;
    p->name = strdup(name);
    if (!p->name) return r1_fail(R1_NOMEM, "train: out of memory");
    t->np++;
    t->nf += (int64_t)(r1_align_up((size_t)p->n * sizeof(float)) / sizeof(float));
    return R1_OK;
}

typedef struct {
    r1_train *t;
    int64_t i;
} grad_binder;

static r1_status bind_grad(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape, int flags) {
    (void)name, (void)flags;
    grad_binder *gb = ctx;
    const r1_train_param *p = &gb->t->p[gb->i++];
    R1_ASSERT(p->n == shape[0] * (ndim > 1 ? shape[1] : 1));
    *slot = (r1_tensor){.dtype = R1_DT_F32, .ndim = ndim, .shape = {shape[0], ndim > 1 ? shape[1] : 0},
                        .data = gb->t->grad + p->off};
    return R1_OK;
}

static r1_status init_params(r1_train *t) {
    r1_rng rng;
    r1_rng_seed(&rng, t->o.seed);
    const r1_st *st = t->m->st;
    for (int64_t i = 0; i < t->np; i++) {
        r1_train_param *p = &t->p[i];
        float *dst = t->param + p->off;
        const r1_tensor *src = p->slot->data ? p->slot : NULL;
        if (!src && st) { /* MTP tensors of a loaded checkpoint */
            const r1_tensor *f = r1_st_find(st, p->name);
            if (f && r1_tensor_numel(f) == p->n) src = f;
        }
        if (src) {
            r1_tensor_f32(dst, src); /* an interleaved GGUF matrix too */
        } else if (p->flags & R1_P_VECTOR) {
            for (int64_t k = 0; k < p->n; k++) dst[k] = (p->flags & R1_P_NORM) ? 1.0f : 0.0f;
        } else {
            for (int64_t k = 0; k < p->n; k++) dst[k] = (float)(0.02 * r1_rng_normal(&rng));
        }
        *p->slot = (r1_tensor){.dtype = R1_DT_F32, .ndim = p->ndim, .shape = {p->shape[0], p->shape[1]}, .data = dst};
    }
    if (t->c.tie_embeddings) t->m->w.lm_head = t->m->w.embed;
    return r1_model_weights_changed(t->m);
}

/* ---- activations: plan (cv->base NULL) and bind share this one function ---- */

static void bind_block(block_saved *s, r1_carve *cv, const r1_config *c, int64_t l, int64_t B, int64_t T) {
    int64_t N = B * T, D = c->D;
    *s = (block_saved){0};
    s->xn1 = r1_carve_f(cv, N * D);
    s->rstd1 = r1_carve_f(cv, N);
    s->xmid = r1_carve_f(cv, N * D);
    s->xn2 = r1_carve_f(cv, N * D);
    s->rstd2 = r1_carve_f(cv, N);
    if (r1_config_is_mla(c))
        r1_mla_saved_bind(&s->mla, cv, c, B, T);
    else
        r1_gqa_saved_bind(&s->gqa, cv, c, B, T);
    if (r1_config_layer_is_moe(c, l))
        r1_moe_saved_bind(&s->moe, cv, c, B, T);
    else
        r1_swiglu_saved_bind(&s->ffn, cv, N, c->ffn);
}

static void bind_acts(r1_train *t, r1_carve *cv) {
    const r1_config *c = &t->c;
    int64_t B = t->o.B, T = t->o.T, N = B * T, D = c->D, V = c->vocab;
    for (int64_t l = 0; l <= c->n_layers; l++) t->x[l] = r1_carve_f(cv, N * D);
    for (int64_t l = 0; l < c->n_layers; l++) bind_block(&t->blk[l], cv, c, l, B, T);
    t->xf = r1_carve_f(cv, N * D);
    t->rstdf = r1_carve_f(cv, N);
    t->logits = r1_carve_f(cv, N * V);
    t->lse = r1_carve_f(cv, N);
    t->logp = r1_carve_f(cv, N);
    t->w = r1_carve_f(cv, N);
    t->cs = r1_carve_f(cv, T * t->m->rope.dim);
    t->dres = r1_carve_f(cv, N * D);
    t->dxf = r1_carve_f(cv, N * D);
    t->tok = r1_carve_take(cv, (size_t)N * sizeof(int32_t));
    t->tgt = r1_carve_take(cv, (size_t)N * sizeof(int32_t));
    if (!t->run_mtp) return;
    mtp_saved *s = &t->mt;
    s->e = r1_carve_f(cv, N * D);
    s->en = r1_carve_f(cv, N * D);
    s->en_rstd = r1_carve_f(cv, N);
    s->hn = r1_carve_f(cv, N * D);
    s->hn_rstd = r1_carve_f(cv, N);
    s->cat = r1_carve_f(cv, 2 * N * D);
    s->h0 = r1_carve_f(cv, N * D);
    s->h1 = r1_carve_f(cv, N * D);
    s->yf = r1_carve_f(cv, N * D);
    s->yf_rstd = r1_carve_f(cv, N);
    s->logits = r1_carve_f(cv, N * V);
    s->lse = r1_carve_f(cv, N);
    s->logp = r1_carve_f(cv, N);
    s->w = r1_carve_f(cv, N);
    s->tgt = r1_carve_take(cv, (size_t)N * sizeof(int32_t));
    bind_block(&s->blk, cv, c, c->n_layers, B, T);
}

r1_status r1_train_create(r1_train **out, r1_model *m, const r1_train_opts *opts) {
    *out = NULL;
    if (opts->B < 1 || opts->T < 1 || opts->accum < 1)
        return r1_fail(R1_INVALID, "train: batch %lldx%lld, accum %d", (long long)opts->B, (long long)opts->T, opts->accum);
    if (opts->T > m->cfg.max_pos)
        return r1_fail(R1_LIMIT, "train: sequence length %lld exceeds max_position_embeddings %lld", (long long)opts->T,
                       (long long)m->cfg.max_pos);
    r1_train *t = calloc(1, sizeof *t);
    if (!t) return r1_fail(R1_NOMEM, "train: out of memory");
    t->m = m;
    t->c = m->cfg;
    t->o = *opts;
    const r1_config *c = &t->c;
    t->has_mtp = c->n_mtp > 0;
    t->run_mtp = t->has_mtp && opts->mtp_lambda > 0.0f;
    r1_status s = r1_weights_visit(&m->w, c, collect, t);
    if (s == R1_OK && t->has_mtp) s = r1_mtp_weights_init(&t->mw, c);
    if (s == R1_OK && t->has_mtp) s = r1_weights_visit_mtp(&t->mw, c, collect, t);
    if (s != R1_OK) goto fail;
    size_t bytes = (size_t)t->nf * sizeof(float);
    t->param = r1_alloc_aligned(bytes);
    t->grad = r1_alloc_aligned(bytes);
    t->m1 = r1_alloc_aligned(bytes);
    t->v1 = r1_alloc_aligned(bytes);
    if (!t->param || !t->grad || !t->m1 || !t->v1) {
        s = r1_fail(R1_NOMEM, "train: cannot allocate 4 x %zu bytes of slabs", bytes);
        goto fail;
    }
    memset(t->param, 0, bytes);
    memset(t->grad, 0, bytes);
    memset(t->m1, 0, bytes);
    memset(t->v1, 0, bytes);
    if ((s = init_params(t)) != R1_OK) goto fail;
    grad_binder gb = {t, 0};
    if ((s = r1_weights_init(&t->g, c)) != R1_OK || (s = r1_weights_visit(&t->g, c, bind_grad, &gb)) != R1_OK) goto fail;
    if (c->tie_embeddings) t->g.lm_head = t->g.embed;
    if (t->has_mtp && ((s = r1_mtp_weights_init(&t->mg, c)) != R1_OK ||
                       (s = r1_weights_visit_mtp(&t->mg, c, bind_grad, &gb)) != R1_OK))
        goto fail;

    t->x = calloc((size_t)c->n_layers + 1, sizeof *t->x);
    t->blk = calloc((size_t)c->n_layers, sizeof *t->blk);
    t->load_row = malloc(((size_t)c->n_layers + 1) * sizeof *t->load_row);
    if (!t->x || !t->blk || !t->load_row) {
        s = r1_fail(R1_NOMEM, "train: out of memory");
        goto fail;
    }
    for (int64_t l = 0; l <= c->n_layers; l++) {
        bool moe = r1_config_layer_is_moe(c, l) && (l < c->n_layers || t->run_mtp);
        t->load_row[l] = moe ? t->n_moe++ : -1;
    }
    t->load = calloc((size_t)(t->n_moe * c->E + 1), sizeof *t->load);
    r1_carve cv = {0};
    bind_acts(t, &cv);
    t->act = r1_alloc_aligned(cv.used);
    if (!t->load || !t->act) {
        s = r1_fail(R1_NOMEM, "train: cannot allocate %zu bytes of activations", cv.used);
        goto fail;
    }
    cv = (r1_carve){.base = t->act};
    bind_acts(t, &cv);
    int64_t N = opts->B * opts->T;
    size_t ws = r1_train_layers_ws(c, opts->B, opts->T, r1_pool_size(m->pool)) + (size_t)(8 * N * c->D + N) * sizeof(float);
    if (opts->bf16) { /* r1_tmm's bf16 copy of its [N, K] input, K <= 2D, ffn, H*Dv, n_shared*moe_ffn, ... */
        int64_t kmax = 2 * c->D + c->ffn + c->H * (c->Dv > c->head_dim ? c->Dv : c->head_dim) +
                       (c->n_shared > 1 ? c->n_shared : 1) * c->moe_ffn + c->Rq + c->Rkv;
        ws += (size_t)(N * kmax) * sizeof(uint16_t) + R1_ALIGN;
        t->pbf16 = r1_alloc_aligned((size_t)t->nf * sizeof(uint16_t));
        if (!t->pbf16) {
            s = r1_fail(R1_NOMEM, "train: cannot allocate the bf16 copy of %lld parameters", (long long)t->nf);
            goto fail;
        }
        t->pbf16_stale = true;
    }
    if ((s = r1_arena_init(&t->ws, ws)) != R1_OK) goto fail;
    for (int64_t p = 0; p < opts->T; p++) r1_rope_table(&m->rope, p, t->cs + p * m->rope.dim);
    t->tc = (r1_tctx){.pool = m->pool, .k = m->k, .c = &t->c, .rope = &m->rope, .B = opts->B, .T = opts->T, .N = N,
                      .cs = t->cs, .ws = &t->ws, .aux_alpha = opts->aux_alpha / (float)opts->accum,
                      .bf16 = opts->bf16, .pbase = t->param, .pbf16 = t->pbf16, .pn = t->nf};
    *out = t;
    return R1_OK;
fail:
    r1_train_destroy(t);
    return s;
}

void r1_train_destroy(r1_train *t) {
    if (!t) return;
    for (int64_t i = 0; i < t->np; i++) free(t->p[i].name);
    free(t->p);
    r1_weights_free(&t->g, &t->c);
    r1_mtp_weights_free(&t->mw);
    r1_mtp_weights_free(&t->mg);
    free(t->param);
    free(t->grad);
    free(t->m1);
    free(t->v1);
    free(t->pbf16);
    free(t->act);
    free(t->x);
    free(t->blk);
    free(t->load);
    free(t->load_row);
    r1_arena_free(&t->ws);
    free(t);
}

/* ---- forward / backward ---- */

static void add3(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static int64_t *load_of(r1_train *t, int64_t l) { return t->load_row[l] >= 0 ? t->load + t->load_row[l] * t->c.E : NULL; }

static void block_forward(r1_train *t, const r1_layer_weights *L, block_saved *s, int64_t l, float *xout,
                          const float *xin) {
    const r1_config *c = &t->c;
    int64_t N = t->tc.N, D = c->D;
    size_t mark = t->ws.used;
    float *y = r1_arena_floats(&t->ws, N * D);
    R1_ASSERT(y);
    r1_rmsnorm_train_forward_mt(t->tc.pool, s->xn1, s->rstd1, xin, L->attn_norm.data, N, D, c->rms_eps);
    if (r1_config_is_mla(c))
        r1_mla_train_forward(&t->tc, L, &s->mla, y, s->xn1);
    else
        r1_gqa_train_forward(&t->tc, L, &s->gqa, y, s->xn1);
    add3(s->xmid, xin, y, N * D);
    r1_rmsnorm_train_forward_mt(t->tc.pool, s->xn2, s->rstd2, s->xmid, L->ffn_norm.data, N, D, c->rms_eps);
    if (r1_config_layer_is_moe(c, l))
        r1_moe_train_forward(&t->tc, L, &s->moe, y, s->xn2, load_of(t, l));
    else
        r1_swiglu_train_forward(&t->tc, y, s->ffn.g, s->ffn.u, s->ffn.a, s->xn2, N, &L->gate, &L->up, &L->down);
    add3(xout, s->xmid, y, N * D);
    t->ws.used = mark;
}

/* dres: dL/d(block output) on entry, dL/d(block input) on return. */
static void block_backward(r1_train *t, const r1_layer_weights *L, r1_layer_weights *G, const block_saved *s, int64_t l,
                           float *dres, const float *xin) {
    const r1_config *c = &t->c;
    int64_t N = t->tc.N, D = c->D;
    size_t mark = t->ws.used;
    float *dxn = r1_arena_floats(&t->ws, N * D);
    R1_ASSERT(dxn);
    if (r1_config_layer_is_moe(c, l)) {
        r1_moe_backward(&t->tc, L, G, &s->moe, dxn, dres, s->xn2);
    } else {
        float *da = r1_arena_floats(&t->ws, 2 * N * c->ffn);
        R1_ASSERT(da);
        r1_swiglu_backward(&t->tc, dxn, false, G->gate.data, G->up.data, G->down.data, dres, s->xn2, s->ffn.g,
                           s->ffn.u, s->ffn.a, da, N, &L->gate, &L->up, &L->down);
    }
    r1_rmsnorm_backward_mt(t->tc.pool, dres, G->ffn_norm.data, dxn, s->xmid, s->rstd2, L->ffn_norm.data, N, D);
    if (r1_config_is_mla(c))
        r1_mla_backward(&t->tc, L, G, &s->mla, dxn, dres, s->xn1);
    else
        r1_gqa_backward(&t->tc, L, G, &s->gqa, dxn, dres, s->xn1);
    r1_rmsnorm_backward_mt(t->tc.pool, dres, G->attn_norm.data, dxn, xin, s->rstd1, L->attn_norm.data, N, D);
    t->ws.used = mark;
}

static double weighted_nll(const float *w, const float *logp, const int32_t *tgt, int64_t N) {
    double s = 0.0;
    for (int64_t i = 0; i < N; i++)
        if (tgt[i] >= 0) s -= (double)w[i] * logp[i];
    return s;
}

static double mtp_forward(r1_train *t) {
    const r1_config *c = &t->c;
    mtp_saved *s = &t->mt;
    int64_t N = t->tc.N, T = t->tc.T, D = c->D;
    for (int64_t i = 0; i < N; i++) {
        bool last = i % T == T - 1;
        if (last)
            memset(s->e + i * D, 0, (size_t)D * sizeof(float));
        else
            r1_embed_row(s->e + i * D, &t->m->w.embed, t->tok[i + 1]);
        s->tgt[i] = last ? -1 : t->tgt[i + 1];
        s->w[i] = last ? 0.0f : t->w[i + 1];
    }
    r1_rmsnorm_train_forward(s->en, s->en_rstd, s->e, t->mw.enorm.data, N, D, c->rms_eps);
    r1_rmsnorm_train_forward(s->hn, s->hn_rstd, t->xf, t->mw.hnorm.data, N, D, c->rms_eps);
    for (int64_t i = 0; i < N; i++) { /* the embedding comes first (vLLM deepseek_mtp) */
        memcpy(s->cat + 2 * i * D, s->en + i * D, (size_t)D * sizeof(float));
        memcpy(s->cat + 2 * i * D + D, s->hn + i * D, (size_t)D * sizeof(float));
    }
    r1_tmm(&t->tc, s->h0, s->cat, N, &t->mw.eh_proj);
    block_forward(t, &t->mw.layer, &s->blk, c->n_layers, s->h1, s->h0);
    r1_rmsnorm_train_forward(s->yf, s->yf_rstd, s->h1, t->mw.shared_norm.data, N, D, c->rms_eps);
    r1_tmm(&t->tc, s->logits, s->yf, N, &t->m->w.lm_head);
    r1_loss_logprobs(t->tc.pool, s->logits, s->tgt, N, c->vocab, s->lse, s->logp);
    return weighted_nll(s->w, s->logp, s->tgt, N);
}

r1_status r1_train_forward(r1_train *t, const r1_train_batch *b, float *logp, r1_train_loss *loss) {
    const r1_config *c = &t->c;
    int64_t T = b->T ? b->T : t->o.T;
    if (T < 1 || T > t->o.T)
        return r1_fail(R1_INVALID, "train: batch rows of %lld positions, the trainer was planned for 1..%lld", (long long)T,
                       (long long)t->o.T);
    /* activations, the rope table and the workspace were planned for opts.T; a
     * shorter batch uses their first B*T rows (everything indexes by tc.T/tc.N) */
    t->tc.T = T, t->tc.N = t->o.B * T;
    int64_t N = t->tc.N, D = c->D, V = c->vocab;
    int64_t count = 0;
    for (int64_t i = 0; i < N; i++) {
        if (b->tokens[i] < 0 || b->tokens[i] >= V)
            return r1_fail(R1_INVALID, "train: token %d at row %lld outside vocab %lld", b->tokens[i], (long long)i, (long long)V);
        if (b->targets[i] >= V)
            return r1_fail(R1_INVALID, "train: target %d at row %lld outside vocab %lld", b->targets[i], (long long)i, (long long)V);
        count += b->targets[i] >= 0;
    }
    memcpy(t->tok, b->tokens, (size_t)N * sizeof(int32_t));
    memcpy(t->tgt, b->targets, (size_t)N * sizeof(int32_t));
    if (t->pbf16 && t->pbf16_stale) {
        t->tc.k->to_bf16(t->pbf16, t->param, t->nf);
        t->pbf16_stale = false;
    }
    for (int64_t i = 0; i < N; i++)
        t->w[i] = t->tgt[i] < 0 ? 0.0f : b->weight ? b->weight[i] : 1.0f / (float)(count > 0 ? count : 1);
    r1_arena_reset(&t->ws);

    for (int64_t i = 0; i < N; i++) r1_embed_row(t->x[0] + i * D, &t->m->w.embed, t->tok[i]);
    for (int64_t l = 0; l < c->n_layers; l++) block_forward(t, &t->m->w.layers[l], &t->blk[l], l, t->x[l + 1], t->x[l]);
    r1_rmsnorm_train_forward_mt(t->tc.pool, t->xf, t->rstdf, t->x[c->n_layers], t->m->w.norm.data, N, D, c->rms_eps);
    r1_tmm(&t->tc, t->logits, t->xf, N, &t->m->w.lm_head);
    r1_loss_logprobs(t->tc.pool, t->logits, t->tgt, N, V, t->lse, t->logp);

    r1_train_loss L = {.loss = weighted_nll(t->w, t->logp, t->tgt, N), .n_targets = count};
    double aux = 0.0;
    for (int64_t l = 0; l < c->n_layers; l++)
        if (r1_config_layer_is_moe(c, l)) aux += t->blk[l].moe.aux;
    if (t->run_mtp) {
        L.mtp = mtp_forward(t);
        if (r1_config_layer_is_moe(c, c->n_layers)) aux += t->mt.blk.moe.aux;
    }
    L.aux = (double)t->o.aux_alpha * aux;
    L.total = L.loss + (double)t->o.mtp_lambda * L.mtp + L.aux;
    if (loss) *loss = L;
    if (logp) memcpy(logp, t->logp, (size_t)N * sizeof(float));
    return R1_OK;
}

static void mtp_backward(r1_train *t, float *g) {
    const r1_config *c = &t->c;
    mtp_saved *s = &t->mt;
    r1_pool *pool = t->tc.pool;
    int64_t N = t->tc.N, T = t->tc.T, D = c->D, V = c->vocab;
    size_t mark = t->ws.used;
    float *dyf = r1_arena_floats(&t->ws, N * D), *dcat = r1_arena_floats(&t->ws, 2 * N * D);
    float *dpart = r1_arena_floats(&t->ws, N * D), *de = r1_arena_floats(&t->ws, N * D);
    R1_ASSERT(dyf && dcat && dpart && de);
    for (int64_t i = 0; i < N; i++) g[i] = -t->o.mtp_lambda * s->w[i];
    r1_loss_backward(pool, s->logits, s->lse, s->tgt, g, N, V);
    r1_tmm_dw(&t->tc, t->g.lm_head.data, s->logits, s->yf, N, V, D);
    r1_tmm_dx(&t->tc, dyf, s->logits, t->m->w.lm_head.data, N, V, D, false);
    memset(t->dres, 0, (size_t)(N * D) * sizeof(float));
    r1_rmsnorm_backward(t->dres, t->mg.shared_norm.data, dyf, s->h1, s->yf_rstd, t->mw.shared_norm.data, N, D);
    block_backward(t, &t->mw.layer, &t->mg.layer, &s->blk, c->n_layers, t->dres, s->h0);
    r1_tmm_dw(&t->tc, t->mg.eh_proj.data, t->dres, s->cat, N, D, 2 * D);
    r1_tmm_dx(&t->tc, dcat, t->dres, t->mw.eh_proj.data, N, D, 2 * D, false);
    for (int64_t i = 0; i < N; i++) memcpy(dpart + i * D, dcat + 2 * i * D + D, (size_t)D * sizeof(float));
    r1_rmsnorm_backward(t->dxf, t->mg.hnorm.data, dpart, t->xf, s->hn_rstd, t->mw.hnorm.data, N, D);
    for (int64_t i = 0; i < N; i++) memcpy(dpart + i * D, dcat + 2 * i * D, (size_t)D * sizeof(float));
    memset(de, 0, (size_t)(N * D) * sizeof(float));
    r1_rmsnorm_backward(de, t->mg.enorm.data, dpart, s->e, s->en_rstd, t->mw.enorm.data, N, D);
    float *demb = t->g.embed.data;
    for (int64_t i = 0; i < N; i++)
        if (i % T != T - 1) t->tc.k->axpy(demb + (int64_t)t->tok[i + 1] * D, 1.0f, de + i * D, D);
    t->ws.used = mark;
}

void r1_train_backward(r1_train *t, const float *dlogp) {
    const r1_config *c = &t->c;
    r1_pool *pool = t->tc.pool;
    int64_t N = t->tc.N, D = c->D, V = c->vocab;
    r1_arena_reset(&t->ws);
    float *g = r1_arena_floats(&t->ws, N);
    R1_ASSERT(g);
    for (int64_t i = 0; i < N; i++) g[i] = dlogp ? dlogp[i] : -t->w[i];
    r1_loss_backward(pool, t->logits, t->lse, t->tgt, g, N, V);
    r1_tmm_dw(&t->tc, t->g.lm_head.data, t->logits, t->xf, N, V, D);
    r1_tmm_dx(&t->tc, t->dxf, t->logits, t->m->w.lm_head.data, N, V, D, false);
    if (t->run_mtp) mtp_backward(t, g);
    memset(t->dres, 0, (size_t)(N * D) * sizeof(float));
    r1_rmsnorm_backward_mt(t->tc.pool, t->dres, t->g.norm.data, t->dxf, t->x[c->n_layers], t->rstdf, t->m->w.norm.data, N, D);
    for (int64_t l = c->n_layers - 1; l >= 0; l--)
        block_backward(t, &t->m->w.layers[l], &t->g.layers[l], &t->blk[l], l, t->dres, t->x[l]);
    float *demb = t->g.embed.data;
    for (int64_t i = 0; i < N; i++) t->tc.k->axpy(demb + (int64_t)t->tok[i] * D, 1.0f, t->dres + i * D, D);
}

/* ---- optimizer step ---- */

enum { NORM_CHUNK = 1 << 16 };

typedef struct {
    r1_train *t;
    double *part; /* per chunk of NORM_CHUNK floats */
    float lr, scale;
} step_job;

static bool trained(const r1_train_param *p) { return !(p->flags & R1_P_NO_GRAD); }

/* Visits the trained parts of [lo, hi) of the slab. */
#define FOR_PARAM_RANGE(t, lo, hi, body)                                          \
    for (int64_t pi_ = 0; pi_ < (t)->np; pi_++) {                                 \
        const r1_train_param *P = &(t)->p[pi_];                                   \
        int64_t a = P->off > (lo) ? P->off : (lo), b = P->off + P->n < (hi) ? P->off + P->n : (hi); \
        if (a >= b || !trained(P)) continue;                                      \
        body                                                                      \
    }

static void norm_chunks(void *ctx, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    step_job *j = ctx;
    for (int64_t ch = lo; ch < hi; ch++) {
        int64_t c0 = ch * NORM_CHUNK, c1 = c0 + NORM_CHUNK;
        double s = 0.0;
        FOR_PARAM_RANGE(j->t, c0, c1, {
            for (int64_t k = a; k < b; k++) s += (double)j->t->grad[k] * j->t->grad[k];
        })
        j->part[ch] = s;
    }
}

/* Clip scale, AdamW, zeroed gradient and the bf16 copy in one pass
 * (r1_kernels.adamw: bit-identical to r1_adamw on the scaled gradient). */
static void adam_range(void *ctx, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    step_job *j = ctx;
    r1_train *t = j->t;
    const r1_train_opts *o = &t->o;
    float c1 = (float)(1.0 - pow(o->beta1, (double)(t->step + 1))), c2 = (float)(1.0 - pow(o->beta2, (double)(t->step + 1)));
    FOR_PARAM_RANGE(t, lo, hi, {
        float wd = (P->flags & R1_P_VECTOR) ? 0.0f : o->weight_decay;
        t->tc.k->adamw(t->param + a, t->grad + a, t->m1 + a, t->v1 + a, t->pbf16 ? t->pbf16 + a : NULL, b - a, j->scale,
                       j->lr, o->beta1, o->beta2, o->eps, wd, c1, c2);
    })
}

static void balance(r1_train *t, r1_train_stats *st) {
    const r1_config *c = &t->c;
    st->n_moe = 0;
    for (int64_t l = 0; l <= c->n_layers; l++) {
        int64_t *load = load_of(t, l);
        if (!load) continue;
        const r1_layer_weights *L = l < c->n_layers ? &t->m->w.layers[l] : &t->mw.layer;
        double tot = 0.0;
        int64_t mx = 0;
        for (int64_t e = 0; e < c->E; e++) {
            tot += (double)load[e];
            mx = load[e] > mx ? load[e] : mx;
        }
        double mean = tot / (double)c->E;
        if (st->n_moe < 64) st->load_max_mean[st->n_moe] = mean > 0 ? (float)((double)mx / mean) : 0.0f;
        st->n_moe++;
        float *bias = L->router_bias.data;
        if (bias && t->o.bias_gamma > 0.0f && tot > 0.0) /* overloaded experts down, underloaded up */
            for (int64_t e = 0; e < c->E; e++) {
                double d = mean - (double)load[e];
                bias[e] += d > 0 ? t->o.bias_gamma : d < 0 ? -t->o.bias_gamma : 0.0f;
            }
    }
}

void r1_train_zero_grad(r1_train *t) {
    memset(t->grad, 0, (size_t)t->nf * sizeof(float));
    memset(t->load, 0, (size_t)(t->n_moe * t->c.E) * sizeof(int64_t));
}

void r1_train_step(r1_train *t, r1_train_stats *st) {
    r1_train_stats local;
    if (!st) st = &local;
    *st = (r1_train_stats){0};
    int64_t nch = (t->nf + NORM_CHUNK - 1) / NORM_CHUNK;
    double *part = calloc((size_t)nch, sizeof *part);
    R1_ASSERT(part);
    step_job j = {.t = t, .part = part, .scale = 1.0f};
    r1_pool_for(t->tc.pool, nch, 1, norm_chunks, &j);
    double ss = 0.0;
    for (int64_t ch = 0; ch < nch; ch++) ss += part[ch];
    free(part);
    st->grad_norm = sqrt(ss);
    if (t->o.clip > 0.0f && st->grad_norm > t->o.clip) j.scale = (float)(t->o.clip / st->grad_norm);
    j.lr = st->lr = r1_train_lr(&t->o, t->step);
    r1_pool_for(t->tc.pool, t->nf, 4096, adam_range, &j);
    balance(t, st);
    /* adam_range zeroed the trained gradients; the rest are never written */
    memset(t->load, 0, (size_t)(t->n_moe * t->c.E) * sizeof(int64_t));
    t->step++;
    st->step = t->step;
    R1_ASSERT(r1_model_weights_changed(t->m) == R1_OK);
}

/* ---- data parallel ---- */

r1_status r1_train_allreduce(r1_train *t, double *seconds) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    /* One collective over the whole slab: the alignment padding between
     * tensors is zero on every rank, and the untrained expert biases have no
     * gradient, so summing them changes nothing. */
    r1_status s = r1_dist_allreduce_f32(t->grad, t->nf, R1_DIST_SUM);
    if (s == R1_OK) s = r1_dist_allreduce_i64(t->load, t->n_moe * t->c.E, R1_DIST_SUM);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (seconds) *seconds = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    return s == R1_OK ? R1_OK : r1_err_wrap(s, "train: gradients of step %lld", (long long)t->step + 1);
}

r1_status r1_train_bcast(r1_train *t, int root) {
    size_t bytes = (size_t)t->nf * sizeof(float);
    R1_TRY(r1_dist_bcast(t->param, bytes, root));
    R1_TRY(r1_dist_bcast(t->m1, bytes, root));
    R1_TRY(r1_dist_bcast(t->v1, bytes, root));
    R1_TRY(r1_dist_bcast(&t->step, sizeof t->step, root));
    t->pbf16_stale = true;
    return r1_model_weights_changed(t->m);
}

r1_status r1_train_check_replicas(r1_train *t) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)t->step;
    const uint32_t *w = (const uint32_t *)t->param;
    for (int64_t i = 0; i < t->nf; i++) h = (h ^ w[i]) * 0x100000001b3ull; /* FNV-style, one word at a time */
    int64_t mine = (int64_t)h, root = mine;
    R1_TRY(r1_dist_bcast(&root, sizeof root, 0));
    int64_t differ = mine != root;
    R1_TRY(r1_dist_allreduce_i64(&differ, 1, R1_DIST_SUM));
    if (differ)
        return r1_fail(R1_INVALID, "train: after step %lld the weights of %lld of %d ranks differ from rank 0's "
                                   "(replicas drifted: the MPI reduction gave ranks different bits)",
                       (long long)t->step, (long long)differ, r1_dist_size());
    return R1_OK;
}

r1_train_slabs r1_train_get_slabs(r1_train *t) {
    t->pbf16_stale = true; /* the caller may write parameters (checkpoint load) */
    return (r1_train_slabs){.p = t->p, .n = t->np, .param = t->param, .grad = t->grad, .m = t->m1, .v = t->v1,
                            .n_floats = t->nf};
}
int64_t r1_train_steps_done(const r1_train *t) { return t->step; }
void r1_train_set_steps_done(r1_train *t, int64_t step) { t->step = step; }
const r1_train_opts *r1_train_get_opts(const r1_train *t) { return &t->o; }
bool r1_train_has_mtp(const r1_train *t) { return t->has_mtp; }
