/* attn_gqa: grouped-query attention of the dense R1-Distill students
 * (qwen2: q/k/v biases; llama). H query heads share Hkv key/value heads;
 * NEOX rope on q and k; the cache holds [K (roped) | V] per token. */
#include <string.h>

#include "kernels/matmul.h"
#include "model/layers.h"

typedef struct {
    r1_fwd *f;
    int64_t l;
    const float *q; /* [N, H*hd] */
    float *out;     /* [N, H*hd] */
    float *scratch;
    int64_t per_thread;
} gqa_job;

static void attend(void *p, int64_t lo, int64_t hi, int ith) {
    gqa_job *j = p;
    const r1_config *c = j->f->c;
    const r1_kernels *k = j->f->m->k;
    int64_t H = c->H, hd = c->head_dim, group = H / c->Hkv, kw = c->Hkv * hd;
    float tau = (float)j->f->m->rope.attn_scale, *s = j->scratch + ith * j->per_thread;
    for (int64_t it = lo; it < hi; it++) {
        int64_t i = it / H, h = it % H, slot = j->f->b->slot[i], n = j->f->b->pos[i] + 1;
        int64_t off = (h / group) * hd;
        const float *qh = j->q + i * H * hd + h * hd;
        for (int64_t t = 0; t < n; t++) s[t] = tau * k->dot(qh, r1_kvcache_at(j->f->kv, j->l, slot, t) + off, hd);
        r1_softmax_inplace(s, n);
        float *o = j->out + i * H * hd + h * hd;
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int64_t t = 0; t < n; t++) k->axpy(o, s[t], r1_kvcache_at(j->f->kv, j->l, slot, t) + kw + off, hd);
    }
}

static void add_bias(float *y, const r1_tensor *bias, int64_t N, int64_t W) {
    if (!bias->data) return;
    const float *bv = bias->data;
    for (int64_t i = 0; i < N; i++)
        for (int64_t d = 0; d < W; d++) y[i * W + d] += bv[d];
}

void r1_gqa_forward(r1_fwd *f, int64_t l, float *y, const float *x) {
    const r1_config *c = f->c;
    const r1_layer_weights *L = &f->m->w.layers[l];
    const r1_batch *b = f->b;
    r1_pool *pool = f->m->pool;
    int64_t N = b->N, H = c->H, hd = c->head_dim, kw = c->Hkv * hd;
    size_t mark = f->ws->used;
    float *q = r1_arena_floats(f->ws, N * H * hd), *kk = r1_arena_floats(f->ws, N * kw);
    float *vv = r1_arena_floats(f->ws, N * kw), *out = r1_arena_floats(f->ws, N * H * hd);
    R1_ASSERT(q && kk && vv && out);
    r1_fwd_matmul(f->m, q, x, N, &L->q);
    r1_fwd_matmul(f->m, kk, x, N, &L->k);
    r1_fwd_matmul(f->m, vv, x, N, &L->v);
    add_bias(q, &L->q_bias, N, H * hd);
    add_bias(kk, &L->k_bias, N, kw);
    add_bias(vv, &L->v_bias, N, kw);
    int64_t maxpos = 0;
    for (int64_t i = 0; i < N; i++) {
        const float *cs = f->cs + i * hd;
        for (int64_t h = 0; h < H; h++) r1_rope_apply(&f->m->rope, q + i * H * hd + h * hd, cs);
        for (int64_t h = 0; h < c->Hkv; h++) r1_rope_apply(&f->m->rope, kk + i * kw + h * hd, cs);
        float *e = r1_kvcache_at(f->kv, l, b->slot[i], b->pos[i]);
        memcpy(e, kk + i * kw, (size_t)kw * sizeof(float));
        memcpy(e + kw, vv + i * kw, (size_t)kw * sizeof(float));
        maxpos = b->pos[i] + 1 > maxpos ? b->pos[i] + 1 : maxpos;
    }
    gqa_job j = {.f = f, .l = l, .q = q, .out = out, .per_thread = r1_align_up((size_t)maxpos * 4) / 4};
    j.scratch = r1_arena_floats(f->ws, r1_pool_size(pool) * j.per_thread);
    R1_ASSERT(j.scratch);
    int64_t spread = 0;
    for (int64_t i = 0; i < N; i++) spread += b->pos[i] + 1;
    r1_pool_for(r1_fwd_pool(f->m, 2 * spread * H * hd), N * H, 1, attend, &j);
    r1_fwd_matmul(f->m, y, out, N, &L->o);
    f->ws->used = mark;
}

/* ---- training: causal attention over whole sequences, and backward ----
 * Query head h reads kv head h / (H/Hkv). The backward runs one work item per
 * (sequence, kv head) so that the K/V gradients of a kv head, summed over the
 * query heads of its group, are written by one thread in a fixed order. */

void r1_gqa_saved_bind(r1_gqa_saved *s, r1_carve *cv, const r1_config *c, int64_t B, int64_t T) {
    int64_t N = B * T, hd = c->head_dim;
    s->q = r1_carve_f(cv, N * c->H * hd);
    s->k = r1_carve_f(cv, N * c->Hkv * hd);
    s->v = r1_carve_f(cv, N * c->Hkv * hd);
    s->p = r1_carve_f(cv, B * c->H * T * T);
    s->o = r1_carve_f(cv, N * c->H * hd);
}

typedef struct {
    const r1_tctx *t;
    const r1_gqa_saved *s;
    const float *dout;
    float *dq, *dk, *dv, *scratch;
    int64_t per;
} gqa_train_job;

static void gqa_train_attend(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const gqa_train_job *j = p;
    const r1_config *c = j->t->c;
    const r1_kernels *k = j->t->k;
    const r1_gqa_saved *s = j->s;
    int64_t H = c->H, T = j->t->T, hd = c->head_dim, kw = c->Hkv * hd, group = H / c->Hkv;
    float tau = (float)j->t->rope->attn_scale;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / H, h = it % H, off = (h / group) * hd;
        for (int64_t t = 0; t < T; t++) {
            int64_t row = b * T + t;
            const float *qh = s->q + row * H * hd + h * hd;
            float *pr = s->p + ((b * H + h) * T + t) * T;
            for (int64_t u = 0; u <= t; u++) pr[u] = tau * k->dot(qh, s->k + (b * T + u) * kw + off, hd);
            r1_softmax_inplace(pr, t + 1);
            for (int64_t u = t + 1; u < T; u++) pr[u] = 0.0f;
            float *o = s->o + row * H * hd + h * hd;
            memset(o, 0, (size_t)hd * sizeof(float));
            for (int64_t u = 0; u <= t; u++) k->axpy(o, pr[u], s->v + (b * T + u) * kw + off, hd);
        }
    }
}

void r1_gqa_train_forward(const r1_tctx *t, const r1_layer_weights *L, r1_gqa_saved *s, float *y, const float *x) {
    const r1_config *c = t->c;
    int64_t N = t->N, H = c->H, hd = c->head_dim, kw = c->Hkv * hd;
    r1_tmm(t, s->q, x, N, &L->q);
    r1_tmm(t, s->k, x, N, &L->k);
    r1_tmm(t, s->v, x, N, &L->v);
    add_bias(s->q, &L->q_bias, N, H * hd);
    add_bias(s->k, &L->k_bias, N, kw);
    add_bias(s->v, &L->v_bias, N, kw);
    for (int64_t i = 0; i < N; i++) {
        const float *cs = t->cs + (i % t->T) * hd;
        for (int64_t h = 0; h < H; h++) r1_rope_apply(t->rope, s->q + i * H * hd + h * hd, cs);
        for (int64_t h = 0; h < c->Hkv; h++) r1_rope_apply(t->rope, s->k + i * kw + h * hd, cs);
    }
    gqa_train_job j = {.t = t, .s = s};
    r1_pool_for(t->pool, t->B * H, 1, gqa_train_attend, &j);
    r1_tmm(t, y, s->o, N, &L->o);
}

static void gqa_train_attend_bwd(void *p, int64_t lo, int64_t hi, int ith) {
    const gqa_train_job *j = p;
    const r1_config *c = j->t->c;
    const r1_kernels *k = j->t->k;
    const r1_gqa_saved *s = j->s;
    int64_t H = c->H, T = j->t->T, hd = c->head_dim, kw = c->Hkv * hd, group = H / c->Hkv;
    float tau = (float)j->t->rope->attn_scale, *ds = j->scratch + ith * j->per;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / c->Hkv, g = it % c->Hkv, off = g * hd;
        for (int64_t h = g * group; h < (g + 1) * group; h++)
            for (int64_t t = 0; t < T; t++) {
                int64_t row = b * T + t;
                const float *qh = s->q + row * H * hd + h * hd, *pr = s->p + ((b * H + h) * T + t) * T;
                const float *dot = j->dout + row * H * hd + h * hd;
                double sum = 0.0;
                for (int64_t u = 0; u <= t; u++) {
                    ds[u] = k->dot(dot, s->v + (b * T + u) * kw + off, hd);
                    sum += (double)pr[u] * ds[u];
                }
                float *dq = j->dq + row * H * hd + h * hd;
                for (int64_t u = 0; u <= t; u++) {
                    int64_t ru = b * T + u;
                    float gsc = tau * pr[u] * (ds[u] - (float)sum);
                    k->axpy(dq, gsc, s->k + ru * kw + off, hd);
                    k->axpy(j->dk + ru * kw + off, gsc, qh, hd);
                    k->axpy(j->dv + ru * kw + off, pr[u], dot, hd);
                }
            }
    }
}

static void bias_grad(float *db, const float *d, int64_t N, int64_t W) {
    if (!db) return;
    for (int64_t i = 0; i < N; i++)
        for (int64_t w = 0; w < W; w++) db[w] += d[i * W + w];
}

void r1_gqa_backward(const r1_tctx *t, const r1_layer_weights *L, r1_layer_weights *G, const r1_gqa_saved *s,
                     float *dx, const float *dy, const float *x) {
    const r1_config *c = t->c;
    r1_pool *pool = t->pool;
    int64_t N = t->N, D = c->D, H = c->H, hd = c->head_dim, kw = c->Hkv * hd;
    size_t mark = t->ws->used;
    gqa_train_job j = {.t = t, .s = s, .per = (int64_t)r1_align_up((size_t)t->T * 4) / 4};
    float *dout = r1_arena_floats(t->ws, N * H * hd);
    j.dq = r1_arena_floats(t->ws, N * H * hd);
    j.dk = r1_arena_floats(t->ws, N * kw);
    j.dv = r1_arena_floats(t->ws, N * kw);
    j.scratch = r1_arena_floats(t->ws, r1_pool_size(pool) * j.per);
    R1_ASSERT(dout && j.dq && j.dk && j.dv && j.scratch);
    j.dout = dout;
    r1_tmm_dw(t, G->o.data, dy, s->o, N, D, H * hd);
    r1_tmm_dx(t, dout, dy, L->o.data, N, D, H * hd, false);
    memset(j.dq, 0, (size_t)(N * H * hd) * sizeof(float));
    memset(j.dk, 0, (size_t)(N * kw) * sizeof(float));
    memset(j.dv, 0, (size_t)(N * kw) * sizeof(float));
    r1_pool_for(pool, t->B * c->Hkv, 1, gqa_train_attend_bwd, &j);
    for (int64_t i = 0; i < N; i++) {
        const float *cs = t->cs + (i % t->T) * hd;
        for (int64_t h = 0; h < H; h++) r1_rope_apply_inv(t->rope, j.dq + i * H * hd + h * hd, cs);
        for (int64_t h = 0; h < c->Hkv; h++) r1_rope_apply_inv(t->rope, j.dk + i * kw + h * hd, cs);
    }
    bias_grad(G->q_bias.data, j.dq, N, H * hd);
    bias_grad(G->k_bias.data, j.dk, N, kw);
    bias_grad(G->v_bias.data, j.dv, N, kw);
    r1_tmm_dw(t, G->q.data, j.dq, x, N, H * hd, D);
    r1_tmm_dw(t, G->k.data, j.dk, x, N, kw, D);
    r1_tmm_dw(t, G->v.data, j.dv, x, N, kw, D);
    r1_tmm_dx(t, dx, j.dq, L->q.data, N, H * hd, D, false);
    r1_tmm_dx(t, dx, j.dk, L->k.data, N, kw, D, true);
    r1_tmm_dx(t, dx, j.dv, L->v.data, N, kw, D, true);
    t->ws->used = mark;
}
