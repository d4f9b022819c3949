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
    r1_matmul(pool, q, x, N, &L->q);
    r1_matmul(pool, kk, x, N, &L->k);
    r1_matmul(pool, vv, x, N, &L->v);
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
    r1_pool_for(pool, N * H, 1, attend, &j);
    r1_matmul(pool, y, out, N, &L->o);
    f->ws->used = mark;
}
