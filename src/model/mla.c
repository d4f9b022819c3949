/* mla: Multi-head Latent Attention (DeepSeek-V2/V3, ARCH.md §2.3-2.7).
 *   q      = q_b(norm(q_a x)) | q_proj x                 [H, Dn+Dr], rope on the last Dr
 *   [c; r] = kv_a x,  c = norm(c), r = rope(r)            cached: Rkv + Dr floats per token
 *   naive:    k_h = [W_UK_h c ; r], v_h = W_UV_h c,  o_h = softmax(tau q_h.k_h) v_h
 *   absorbed: q^_h = W_UK_h^T q_nope_h,  a = tau (q^_h.c + q_pe_h.r),  o_h = W_UV_h (sum_s p_s c_s)
 * Both read the same latent cache; they agree to f32 rounding (test_model).
 * Naive decompresses every cached position (cheap per position: prefill);
 * absorbed reads Rkv+Dr floats per position and head (decode). */
#include <math.h>
#include <string.h>

#include "kernels/matmul.h"
#include "model/layers.h"

/* HF builds q_a_layernorm and kv_a_layernorm with the class default eps,
 * not rms_norm_eps (every released DeepSeek config has 1e-6 for both anyway). */
#define MLA_LORA_EPS 1e-6f

typedef struct {
    r1_fwd *f;
    int64_t l;
    const float *q;  /* [N, H*(Dn+Dr)] roped */
    float *qc;       /* absorbed: [N, H, Rkv+Dr] absorbed queries | rope parts */
    float *oh;       /* absorbed: [N, H, Rkv] attention-weighted latent sums */
    int64_t hchunk;  /* absorbed: heads per attention item */
    const float *kvd; /* naive: [P, H*(Dn+Dv)] decompressed K_nope|V per head */
    const int64_t *rows; /* naive: rows of the current slot */
    float *out;      /* [N, H*Dv] */
    float *scratch;  /* [nthreads, per_thread] */
    int64_t per_thread;
    int64_t slot;
} mla_job;

/* Floats of per-thread scratch: naive needs the scores of one query [P];
 * absorbed the gathered per-head operands [N, max(Dn, Rkv)] and the scores
 * of every head of one row [H, P]. */
static int64_t mla_scratch(const r1_config *c, int64_t N, int64_t P) {
    int64_t a = N * (c->Dn > c->Rkv ? c->Dn : c->Rkv), b = c->H * P;
    return (int64_t)r1_align_up((size_t)(a > b ? a : b) * sizeof(float)) / (int64_t)sizeof(float);
}

/* q^_h = W_UK_h^T q_nope_h for every row: one kernel call per head on the
 * precomputed transposed slice kT[h] = [Rkv, Dn]; the rope part follows it,
 * so each (row, head) query is one [Rkv+Dr] vector against the cache entries. */
static void absorb_q(void *p, int64_t h0, int64_t h1, int ith) {
    mla_job *j = p;
    const r1_config *c = j->f->c;
    const r1_tensor *kT = &j->f->m->kT[j->l];
    int64_t N = j->f->b->N, H = c->H, qk = c->Dn + c->Dr, R = c->Rkv, W = R + c->Dr;
    float *g = j->scratch + ith * j->per_thread;
    size_t hbytes = (size_t)R * r1_dtype_row_bytes(kT->dtype, c->Dn);
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t i = 0; i < N; i++) {
            memcpy(g + i * c->Dn, j->q + i * H * qk + h * qk, (size_t)c->Dn * sizeof(float));
            memcpy(j->qc + (i * H + h) * W + R, j->q + i * H * qk + h * qk + c->Dn, (size_t)c->Dr * sizeof(float));
        }
        r1_matmul_cols_k(j->f->m->k, j->qc + h * W, H * W, g, N, (const char *)kT->data + (size_t)h * hbytes, kT->dtype,
                         c->Dn, 0, R);
    }
}

/* Rows h < nh of s [nh, n] = softmax(tau s_h), each as one scalar pass
 * would compute it (the maximum of the scaled row, its exps' sum in double in
 * index order), with the kernel table's pieces: the largest element is the
 * first one argmax finds, and the sums of four rows run interleaved, so their
 * additions overlap instead of waiting on each other. A decoded row's 8 heads
 * over 160 positions: 4.8 -> 2.0 us a layer (Intel VM, 1 thread). */
static void softmax_rows(const r1_kernels *k, float *s, int64_t nh, int64_t n, float tau) {
    for (int64_t h = 0; h < nh; h++) {
        float *r = s + h * n;
        k->scale(r, n, tau);
        k->exp_scale(r, n, r[k->argmax(r, n)], 1.0f);
    }
    for (int64_t h0 = 0; h0 < nh; h0 += 4) {
        const float *r[4];
        for (int i = 0; i < 4; i++) r[i] = s + (h0 + i < nh ? h0 + i : nh - 1) * n;
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        for (int64_t t = 0; t < n; t++) a0 += r[0][t], a1 += r[1][t], a2 += r[2][t], a3 += r[3][t];
        const double sum[4] = {a0, a1, a2, a3};
        for (int i = 0; i < 4 && h0 + i < nh; i++) k->scale(s + (h0 + i) * n, n, (float)(1.0 / sum[i]));
    }
}

/* Attention of (row, head chunk) items. All heads of a row read the same
 * latents, so they are two small GEMMs on the kernel table instead of a
 * dot and an axpy per (head, position) (which ran 4x slower, bench_rollout):
 *   S = tau Q^ [c | r]^T   [heads, n]   (x = the heads' queries, w = the n cache rows)
 *   O^ = softmax(S) C      [heads, Rkv] (b = the latent part of the cache rows) */
static void attend_absorbed(void *p, int64_t lo, int64_t hi, int ith) {
    mla_job *j = p;
    const r1_config *c = j->f->c;
    const r1_kernels *k = j->f->m->k;
    const r1_batch *b = j->f->b;
    int64_t H = c->H, R = c->Rkv, W = R + c->Dr, nch = (H + j->hchunk - 1) / j->hchunk;
    float tau = (float)j->f->m->rope.attn_scale, *s = j->scratch + ith * j->per_thread;
    for (int64_t it = lo; it < hi; it++) {
        int64_t i = it / nch, h0 = it % nch * j->hchunk, h1 = h0 + j->hchunk < H ? h0 + j->hchunk : H;
        int64_t n = b->pos[i] + 1;
        const float *lat = r1_kvcache_at(j->f->kv, j->l, b->slot[i], 0); /* [n, W], contiguous */
        k->matmul[R1_DT_F32](s, n, j->qc + (i * H + h0) * W, h1 - h0, lat, W, 0, n);
        softmax_rows(k, s, h1 - h0, n, tau);
        k->gemm_nn(j->oh + (i * H + h0) * R, R, s, n, 1, lat, W, n, 0, h1 - h0, 0, R, false);
    }
}

/* o_h = W_UV_h o^_h: W_UV_h is a contiguous [Dv, Rkv] row block of kv_b, or
 * head h of the GGUF attn_v_b. */
static void expand_v(void *p, int64_t h0, int64_t h1, int ith) {
    mla_job *j = p;
    const r1_config *c = j->f->c;
    const r1_tensor *kvb = &j->f->m->w.layers[j->l].kv_b, *vb = j->f->m->vb ? &j->f->m->vb[j->l] : NULL;
    int64_t N = j->f->b->N, H = c->H, R = c->Rkv;
    float *g = j->scratch + ith * j->per_thread;
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t i = 0; i < N; i++) memcpy(g + i * R, j->oh + (i * H + h) * R, (size_t)R * sizeof(float));
        const void *w = vb && vb->data ? (const char *)vb->data + (size_t)(h * c->Dv) * r1_dtype_row_bytes(vb->dtype, R)
                                       : r1_tensor_row(kvb, h * (c->Dn + c->Dv) + c->Dn);
        r1_dtype wt = vb && vb->data ? vb->dtype : kvb->dtype;
        r1_matmul_cols_k(j->f->m->k, j->out + h * c->Dv, H * c->Dv, g, N, w, wt, R, 0, c->Dv);
    }
}

/* One row (decode): a head chunk's absorption, attention and expansion as
 * one item. The per-head products fall under par_macs on their own, so as
 * separate steps they ran on the calling thread while the others waited;
 * each head's products are the same kernel calls on either thread. */
static void heads_one_row(void *p, int64_t lo, int64_t hi, int ith) {
    mla_job *j = p;
    int64_t H = j->f->c->H;
    for (int64_t it = lo; it < hi; it++) {
        int64_t h0 = it * j->hchunk, h1 = h0 + j->hchunk < H ? h0 + j->hchunk : H;
        absorb_q(p, h0, h1, ith);
        attend_absorbed(p, it, it + 1, ith);
        expand_v(p, h0, h1, ith);
    }
}

/* Naive attention for (row-of-slot, head) items over the decompressed K/V. */
static void attend_naive(void *p, int64_t lo, int64_t hi, int ith) {
    mla_job *j = p;
    const r1_config *c = j->f->c;
    const r1_kernels *k = j->f->m->k;
    int64_t H = c->H, qk = c->Dn + c->Dr, kvw = H * (c->Dn + c->Dv);
    float tau = (float)j->f->m->rope.attn_scale, *s = j->scratch + ith * j->per_thread;
    for (int64_t it = lo; it < hi; it++) {
        int64_t i = j->rows[it / H], h = it % H, n = j->f->b->pos[i] + 1;
        const float *qh = j->q + i * H * qk + h * qk;
        for (int64_t t = 0; t < n; t++) {
            const float *kn = j->kvd + t * kvw + h * (c->Dn + c->Dv);
            const float *kpe = r1_kvcache_at(j->f->kv, j->l, j->slot, t) + c->Rkv;
            s[t] = tau * (k->dot(qh, kn, c->Dn) + k->dot(qh + c->Dn, kpe, c->Dr));
        }
        r1_softmax_inplace(s, n);
        float *o = j->out + i * H * c->Dv + h * c->Dv;
        memset(o, 0, (size_t)c->Dv * sizeof(float));
        for (int64_t t = 0; t < n; t++) k->axpy(o, s[t], j->kvd + t * kvw + h * (c->Dn + c->Dv) + c->Dn, c->Dv);
    }
}

static void mla_naive(mla_job *j) {
    r1_fwd *f = j->f;
    const r1_config *c = f->c;
    const r1_batch *b = f->b;
    int64_t N = b->N, H = c->H, R = c->Rkv;
    int64_t *rows = r1_arena_alloc(f->ws, (size_t)N * sizeof(int64_t));
    char *done = r1_arena_alloc(f->ws, (size_t)N);
    R1_ASSERT(rows && done);
    memset(done, 0, (size_t)N);
    for (int64_t i0 = 0; i0 < N; i0++) {
        if (done[i0]) continue;
        int64_t n = 0, P = 0;
        for (int64_t i = i0; i < N; i++)
            if (!done[i] && b->slot[i] == b->slot[i0]) {
                rows[n++] = i;
                done[i] = 1;
                P = b->pos[i] + 1 > P ? b->pos[i] + 1 : P;
            }
        size_t mark = f->ws->used;
        float *lat = r1_arena_floats(f->ws, P * R);
        float *kvd = r1_arena_floats(f->ws, P * H * (c->Dn + c->Dv));
        R1_ASSERT(lat && kvd);
        for (int64_t t = 0; t < P; t++)
            memcpy(lat + t * R, r1_kvcache_at(f->kv, j->l, b->slot[i0], t), (size_t)R * sizeof(float));
        r1_fwd_matmul(f->m, kvd, lat, P, &f->m->w.layers[j->l].kv_b);
        j->kvd = kvd;
        j->rows = rows;
        j->slot = b->slot[i0];
        r1_pool_for(r1_fwd_pool(f->m, n * H * P * (c->Dn + c->Dr + c->Dv)), n * H, 1, attend_naive, j);
        f->ws->used = mark;
    }
}

void r1_mla_forward(r1_fwd *f, int64_t l, float *y, const float *x) {
    const r1_config *c = f->c;
    const r1_layer_weights *L = &f->m->w.layers[l];
    const r1_batch *b = f->b;
    r1_pool *pool = f->m->pool;
    int64_t N = b->N, H = c->H, qk = c->Dn + c->Dr, R = c->Rkv, W = R + c->Dr;
    size_t mark = f->ws->used;

    float *q = r1_arena_floats(f->ws, N * H * qk), *kva = r1_arena_floats(f->ws, N * W);
    float *out = r1_arena_floats(f->ws, N * H * c->Dv);
    R1_ASSERT(q && kva && out);
    if (c->Rq > 0) {
        float *qa = r1_arena_floats(f->ws, N * c->Rq);
        R1_ASSERT(qa);
        r1_fwd_matmul(f->m, qa, x, N, &L->q_a);
        r1_rmsnorm_forward(qa, qa, L->q_a_norm.data, N, c->Rq, MLA_LORA_EPS);
        r1_fwd_matmul(f->m, q, qa, N, &L->q_b);
    } else {
        r1_fwd_matmul(f->m, q, x, N, &L->q);
    }
    r1_fwd_matmul(f->m, kva, x, N, &L->kv_a);
    for (int64_t i = 0; i < N; i++) {
        const float *cs = f->cs + i * c->Dr;
        float *e = kva + i * W;
        r1_rmsnorm_forward(e, e, L->kv_a_norm.data, 1, R, MLA_LORA_EPS);
        r1_rope_apply(&f->m->rope, e + R, cs);
        for (int64_t h = 0; h < H; h++) r1_rope_apply(&f->m->rope, q + i * H * qk + h * qk + c->Dn, cs);
        memcpy(r1_kvcache_at(f->kv, l, b->slot[i], b->pos[i]), e, (size_t)W * sizeof(float));
    }

    int nth = r1_pool_size(pool);
    int64_t maxpos = 0;
    for (int64_t i = 0; i < N; i++) maxpos = b->pos[i] + 1 > maxpos ? b->pos[i] + 1 : maxpos;
    mla_job j = {.f = f, .l = l, .q = q, .out = out, .per_thread = mla_scratch(c, N, maxpos)};
    j.scratch = r1_arena_floats(f->ws, nth * j.per_thread);
    R1_ASSERT(j.scratch);

    bool one_slot = true;
    for (int64_t i = 1; i < N; i++) one_slot &= b->slot[i] == b->slot[0];
    r1_mla_mode mode = f->m->mla_mode;
    if (mode == R1_MLA_AUTO) mode = (N > 1 && one_slot) ? R1_MLA_NAIVE : R1_MLA_ABSORBED;
    if (!L->kv_b.data) mode = R1_MLA_ABSORBED; /* a GGUF with only k_b/v_b: nothing to decompress with */
    if (mode == R1_MLA_NAIVE) {
        mla_naive(&j);
    } else {
        /* rows x head chunks: whole rows when there are enough to share out */
        int64_t nch = N >= nth ? 1 : (nth + N - 1) / N < H ? (nth + N - 1) / N : H;
        j.hchunk = (H + nch - 1) / nch;
        nch = (H + j.hchunk - 1) / j.hchunk;
        j.qc = r1_arena_floats(f->ws, N * H * W);
        j.oh = r1_arena_floats(f->ws, N * H * R);
        R1_ASSERT(j.qc && j.oh);
        int64_t spread = 0; /* the rows' cached positions */
        for (int64_t i = 0; i < N; i++) spread += b->pos[i] + 1;
        int64_t absorb = N * H * R * c->Dn, attend = 2 * spread * H * W, expand = N * H * R * c->Dv;
        if (N == 1) {
            r1_pool_for(r1_fwd_pool(f->m, absorb + attend + expand), nch, 1, heads_one_row, &j);
        } else {
            r1_pool_for(r1_fwd_pool(f->m, absorb), H, 1, absorb_q, &j);
            r1_pool_for(r1_fwd_pool(f->m, attend), N * nch, 1, attend_absorbed, &j);
            r1_pool_for(r1_fwd_pool(f->m, expand), H, 1, expand_v, &j);
        }
    }
    r1_fwd_matmul(f->m, y, out, N, &L->o);
    f->ws->used = mark;
}

/* ---- training: naive causal attention over whole sequences, and backward ----
 * Forward per (sequence b, head h): S = tau q k^T (causal), P = softmax(S),
 * o = P v, with k = [W_UK c ; rope(k_pe)] and v = W_UV c decompressed once.
 * Backward: dP = do v^T, dS = P (dP - rowsum(P dP)), dq = tau dS k,
 * dk = tau dS^T q, dv = P^T do; the shared rope key sums dk over heads (per
 * head buffers, summed in head order so results do not depend on threads). */

void r1_mla_saved_bind(r1_mla_saved *s, r1_carve *cv, const r1_config *c, int64_t B, int64_t T) {
    int64_t N = B * T, H = c->H, qk = c->Dn + c->Dr;
    *s = (r1_mla_saved){0};
    if (c->Rq > 0) {
        s->qa = r1_carve_f(cv, N * c->Rq);
        s->qa_rstd = r1_carve_f(cv, N);
        s->qan = r1_carve_f(cv, N * c->Rq);
    }
    s->q = r1_carve_f(cv, N * H * qk);
    s->kva = r1_carve_f(cv, N * (c->Rkv + c->Dr));
    s->kv_rstd = r1_carve_f(cv, N);
    s->ckv = r1_carve_f(cv, N * c->Rkv);
    s->kpe = r1_carve_f(cv, N * c->Dr);
    s->kvd = r1_carve_f(cv, N * H * (c->Dn + c->Dv));
    s->p = r1_carve_f(cv, B * H * T * T);
    s->o = r1_carve_f(cv, N * H * c->Dv);
}

typedef struct {
    const r1_tctx *t;
    const r1_mla_saved *s;
    const float *dout; /* [N, H*Dv] */
    float *dq, *dkvd, *dkpe_h;
    float *scratch;
    int64_t per;
} mla_train_job;

/* Per-thread scratch of the attention jobs (floats): Q_h and K_h gathered
 * contiguous [T, Dn+Dr], S or dP [T, T], dO_h and V_h [T, Dv], dK_h [T, Dn+Dr]. */
static int64_t attend_scratch(const r1_config *c, int64_t T) {
    int64_t qk = c->Dn + c->Dr;
    return (int64_t)r1_align_up((size_t)(T * T + T * (3 * qk + 2 * c->Dv)) * sizeof(float)) / (int64_t)sizeof(float);
}

/* Q_h, K_h of sequence b, head h as contiguous [T, Dn+Dr] rows. */
static void gather_qk(const r1_config *c, const r1_mla_saved *s, int64_t H, int64_t T, int64_t b, int64_t h, float *qh,
                      float *kh) {
    int64_t qk = c->Dn + c->Dr, hw = c->Dn + c->Dv;
    for (int64_t t = 0; t < T; t++) {
        int64_t row = b * T + t;
        memcpy(qh + t * qk, s->q + row * H * qk + h * qk, (size_t)qk * sizeof(float));
        memcpy(kh + t * qk, s->kvd + row * H * hw + h * hw, (size_t)c->Dn * sizeof(float));
        memcpy(kh + t * qk + c->Dn, s->kpe + row * c->Dr, (size_t)c->Dr * sizeof(float));
    }
}

/* Per (sequence, head), as small GEMMs on the kernel table (the dot/axpy
 * loops they replace ran at a few GFLOP/s): S = Q_h K_h^T over the full
 * square, P = softmax(tau S) over the causal prefix of each row (0 above the
 * diagonal), O_h = P V_h. */
static void mla_train_attend(void *p, int64_t lo, int64_t hi, int ith) {
    const mla_train_job *j = p;
    const r1_config *c = j->t->c;
    const r1_kernels *k = j->t->k;
    const r1_mla_saved *s = j->s;
    int64_t H = c->H, T = j->t->T, qk = c->Dn + c->Dr, hw = c->Dn + c->Dv, kvw = H * hw;
    float tau = (float)j->t->rope->attn_scale;
    float *qh = j->scratch + ith * j->per, *kh = qh + T * qk, *sc = kh + T * qk;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / H, h = it % H;
        gather_qk(c, s, H, T, b, h, qh, kh);
        k->matmul[R1_DT_F32](sc, T, qh, T, kh, qk, 0, T);
        for (int64_t t = 0; t < T; t++) {
            float *pr = s->p + ((b * H + h) * T + t) * T;
            for (int64_t u = 0; u <= t; u++) pr[u] = tau * sc[t * T + u];
            r1_softmax_inplace(pr, t + 1);
            for (int64_t u = t + 1; u < T; u++) pr[u] = 0.0f;
        }
        k->gemm_nn(s->o + b * T * H * c->Dv + h * c->Dv, H * c->Dv, s->p + (b * H + h) * T * T, T, 1,
                   s->kvd + b * T * kvw + h * hw + c->Dn, kvw, T, 0, T, 0, c->Dv, false);
    }
}

void r1_mla_train_forward(const r1_tctx *t, const r1_layer_weights *L, r1_mla_saved *s, float *y, const float *x) {
    const r1_config *c = t->c;
    int64_t N = t->N, H = c->H, qk = c->Dn + c->Dr, R = c->Rkv, W = R + c->Dr, T = t->T;
    if (c->Rq > 0) {
        r1_tmm(t, s->qa, x, N, &L->q_a);
        r1_rmsnorm_train_forward(s->qan, s->qa_rstd, s->qa, L->q_a_norm.data, N, c->Rq, MLA_LORA_EPS);
        r1_tmm(t, s->q, s->qan, N, &L->q_b);
    } else {
        r1_tmm(t, s->q, x, N, &L->q);
    }
    r1_tmm(t, s->kva, x, N, &L->kv_a);
    for (int64_t i = 0; i < N; i++) {
        const float *cs = t->cs + (i % T) * c->Dr;
        r1_rmsnorm_train_forward(s->ckv + i * R, s->kv_rstd + i, s->kva + i * W, L->kv_a_norm.data, 1, R, MLA_LORA_EPS);
        memcpy(s->kpe + i * c->Dr, s->kva + i * W + R, (size_t)c->Dr * sizeof(float));
        r1_rope_apply(t->rope, s->kpe + i * c->Dr, cs);
        for (int64_t h = 0; h < H; h++) r1_rope_apply(t->rope, s->q + i * H * qk + h * qk + c->Dn, cs);
    }
    r1_tmm(t, s->kvd, s->ckv, N, &L->kv_b);
    size_t mark = t->ws->used;
    mla_train_job j = {.t = t, .s = s, .per = attend_scratch(c, T)};
    j.scratch = r1_arena_floats(t->ws, r1_pool_size(t->pool) * j.per);
    R1_ASSERT(j.scratch);
    r1_pool_for(t->pool, t->B * H, 1, mla_train_attend, &j);
    t->ws->used = mark;
    r1_tmm(t, y, s->o, N, &L->o);
}

/* Backward per (sequence, head) with the same GEMMs: dP = dO_h V_h^T,
 * dS = tau P (dP - rowsum(P dP)), dQ_h = dS K_h, dK_h = dS^T Q_h, dV_h = P^T dO_h.
 * Each job owns its rows of dq, dkvd and dkpe_h, so it writes them (no sums
 * across jobs). */
static void mla_train_attend_bwd(void *p, int64_t lo, int64_t hi, int ith) {
    const mla_train_job *j = p;
    const r1_config *c = j->t->c;
    const r1_kernels *k = j->t->k;
    const r1_mla_saved *s = j->s;
    int64_t H = c->H, T = j->t->T, qk = c->Dn + c->Dr, hw = c->Dn + c->Dv, kvw = H * hw, Dr = c->Dr, Dv = c->Dv;
    float tau = (float)j->t->rope->attn_scale;
    float *qh = j->scratch + ith * j->per, *kh = qh + T * qk, *ds = kh + T * qk, *doh = ds + T * T, *vh = doh + T * Dv;
    float *dkh = vh + T * Dv;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / H, h = it % H;
        const float *P = s->p + (b * H + h) * T * T;
        gather_qk(c, s, H, T, b, h, qh, kh);
        for (int64_t t = 0; t < T; t++) {
            int64_t row = b * T + t;
            memcpy(doh + t * Dv, j->dout + row * H * Dv + h * Dv, (size_t)Dv * sizeof(float));
            memcpy(vh + t * Dv, s->kvd + row * kvw + h * hw + c->Dn, (size_t)Dv * sizeof(float));
        }
        k->matmul[R1_DT_F32](ds, T, doh, T, vh, Dv, 0, T); /* dP */
        for (int64_t t = 0; t < T; t++) {
            const float *pr = P + t * T;
            float *dr = ds + t * T;
            double sum = 0.0;
            for (int64_t u = 0; u <= t; u++) sum += (double)pr[u] * dr[u];
            for (int64_t u = 0; u <= t; u++) dr[u] = tau * pr[u] * (dr[u] - (float)sum);
            for (int64_t u = t + 1; u < T; u++) dr[u] = 0.0f;
        }
        k->gemm_nn(j->dq + b * T * H * qk + h * qk, H * qk, ds, T, 1, kh, qk, T, 0, T, 0, qk, false);
        k->gemm_nn(dkh, qk, ds, 1, T, qh, qk, T, 0, T, 0, qk, false);
        k->gemm_nn(j->dkvd + b * T * kvw + h * hw + c->Dn, kvw, P, 1, T, doh, Dv, T, 0, T, 0, Dv, false);
        for (int64_t t = 0; t < T; t++) {
            int64_t row = b * T + t;
            memcpy(j->dkvd + row * kvw + h * hw, dkh + t * qk, (size_t)c->Dn * sizeof(float));
            memcpy(j->dkpe_h + (row * H + h) * Dr, dkh + t * qk + c->Dn, (size_t)Dr * sizeof(float));
        }
    }
}

void r1_mla_backward(const r1_tctx *t, const r1_layer_weights *L, r1_layer_weights *G, const r1_mla_saved *s,
                     float *dx, const float *dy, const float *x) {
    const r1_config *c = t->c;
    r1_pool *pool = t->pool;
    int64_t N = t->N, D = c->D, H = c->H, qk = c->Dn + c->Dr, R = c->Rkv, Dr = c->Dr, W = R + Dr, T = t->T;
    int64_t kvw = H * (c->Dn + c->Dv);
    size_t mark = t->ws->used;
    int nth = r1_pool_size(pool);
    mla_train_job j = {.t = t, .s = s, .per = attend_scratch(c, T)};
    float *dout = r1_arena_floats(t->ws, N * H * c->Dv);
    j.dq = r1_arena_floats(t->ws, N * H * qk);
    j.dkvd = r1_arena_floats(t->ws, N * kvw);
    j.dkpe_h = r1_arena_floats(t->ws, N * H * Dr);
    j.scratch = r1_arena_floats(t->ws, nth * j.per);
    float *dkva = r1_arena_floats(t->ws, N * W), *dckv = r1_arena_floats(t->ws, N * R);
    R1_ASSERT(dout && j.dq && j.dkvd && j.dkpe_h && j.scratch && dkva && dckv);
    j.dout = dout;

    r1_tmm_dw(t, G->o.data, dy, s->o, N, D, H * c->Dv);
    r1_tmm_dx(t, dout, dy, L->o.data, N, D, H * c->Dv, false);
    r1_pool_for(pool, t->B * H, 1, mla_train_attend_bwd, &j);

    /* latent: kv_b, then kv_a_layernorm; rope key: sum over heads, un-rotate */
    r1_tmm_dw(t, G->kv_b.data, j.dkvd, s->ckv, N, kvw, R);
    r1_tmm_dx(t, dckv, j.dkvd, L->kv_b.data, N, kvw, R, false);
    memset(dkva, 0, (size_t)(N * W) * sizeof(float));
    for (int64_t i = 0; i < N; i++) {
        const float *cs = t->cs + (i % T) * Dr;
        r1_rmsnorm_backward(dkva + i * W, G->kv_a_norm.data, dckv + i * R, s->kva + i * W, s->kv_rstd + i,
                            L->kv_a_norm.data, 1, R);
        float *dpe = dkva + i * W + R;
        for (int64_t h = 0; h < H; h++)
            for (int64_t d = 0; d < Dr; d++) dpe[d] += j.dkpe_h[(i * H + h) * Dr + d];
        r1_rope_apply_inv(t->rope, dpe, cs);
        for (int64_t h = 0; h < H; h++) r1_rope_apply_inv(t->rope, j.dq + i * H * qk + h * qk + c->Dn, cs);
    }
    r1_tmm_dw(t, G->kv_a.data, dkva, x, N, W, D);
    r1_tmm_dx(t, dx, dkva, L->kv_a.data, N, W, D, false);

    if (c->Rq > 0) {
        float *dqan = r1_arena_floats(t->ws, N * c->Rq), *dqa = r1_arena_floats(t->ws, N * c->Rq);
        R1_ASSERT(dqan && dqa);
        r1_tmm_dw(t, G->q_b.data, j.dq, s->qan, N, H * qk, c->Rq);
        r1_tmm_dx(t, dqan, j.dq, L->q_b.data, N, H * qk, c->Rq, false);
        memset(dqa, 0, (size_t)(N * c->Rq) * sizeof(float));
        r1_rmsnorm_backward(dqa, G->q_a_norm.data, dqan, s->qa, s->qa_rstd, L->q_a_norm.data, N, c->Rq);
        r1_tmm_dw(t, G->q_a.data, dqa, x, N, c->Rq, D);
        r1_tmm_dx(t, dx, dqa, L->q_a.data, N, c->Rq, D, true);
    } else {
        r1_tmm_dw(t, G->q.data, j.dq, x, N, H * qk, D);
        r1_tmm_dx(t, dx, j.dq, L->q.data, N, H * qk, D, true);
    }
    t->ws->used = mark;
}
