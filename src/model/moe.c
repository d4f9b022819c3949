/* moe: DeepSeekMoE — a router picks K of E routed experts per token
 * (sigmoid or softmax scores, an expert-selection bias that never touches the
 * weights, group-limited top-k), the chosen SwiGLU experts run on the rows
 * routed to them (each expert's rows gathered into one matmul, so only the
 * selected experts' weights are read), and the shared experts run on every
 * row with weight 1 (ARCH.md §2.8-2.9). */
#include <math.h>
#include <string.h>

#include "kernels/matmul.h"
#include "model/layers.h"

/* Indices of the k largest v[0..n) in descending order; ties go to the lower
 * index (a stable, documented rule: torch.topk leaves ties unspecified). */
static void top_k(const float *v, int64_t n, int64_t k, int32_t *out) {
    for (int64_t j = 0; j < k; j++) {
        int32_t best = -1;
        for (int64_t i = 0; i < n; i++) {
            int taken = 0;
            for (int64_t t = 0; t < j; t++) taken |= out[t] == i;
            if (taken) continue;
            if (best < 0 || v[i] > v[best]) best = (int32_t)i;
        }
        out[j] = best;
    }
}

void r1_router_select(const r1_config *c, const float *z, const float *bias, int32_t *idx, float *wt) {
    int64_t E = c->E, K = c->K;
    float s[R1_MAX_EXPERTS], sel[R1_MAX_EXPERTS];
    R1_ASSERT(E <= R1_MAX_EXPERTS);
    if (c->score_func == R1_SCORE_SIGMOID) {
        for (int64_t e = 0; e < E; e++) s[e] = 1.0f / (1.0f + expf(-z[e]));
    } else {
        memcpy(s, z, (size_t)E * sizeof(float));
        r1_softmax_inplace(s, E);
    }
    for (int64_t e = 0; e < E; e++) sel[e] = s[e] + (bias ? bias[e] : 0.0f);

    if (c->n_group > 1 && c->topk_method != R1_TOPK_GREEDY) {
        int64_t G = c->n_group, per = E / G;
        float gscore[R1_MAX_EXPERTS];
        for (int64_t g = 0; g < G; g++) {
            const float *v = (c->topk_method == R1_TOPK_NOAUX_TC ? sel : s) + g * per;
            if (c->topk_method == R1_TOPK_NOAUX_TC) { /* sum of the two best biased scores */
                int32_t two[2];
                int64_t m = per < 2 ? per : 2;
                top_k(v, per, m, two);
                gscore[g] = 0.0f;
                for (int64_t t = 0; t < m; t++) gscore[g] += v[two[t]];
            } else { /* group_limited_greedy: the best score */
                gscore[g] = -INFINITY;
                for (int64_t i = 0; i < per; i++) gscore[g] = v[i] > gscore[g] ? v[i] : gscore[g];
            }
        }
        int32_t keep[R1_MAX_EXPERTS];
        top_k(gscore, G, c->topk_group, keep);
        for (int64_t g = 0; g < G; g++) {
            int kept = 0;
            for (int64_t t = 0; t < c->topk_group; t++) kept |= keep[t] == g;
            if (!kept)
                for (int64_t i = 0; i < per; i++) sel[g * per + i] = -INFINITY; /* official code: -inf, not 0 */
        }
    }
    top_k(sel, E, K, idx);
    double sum = 0.0;
    for (int64_t k = 0; k < K; k++) {
        wt[k] = s[idx[k]];
        sum += wt[k];
    }
    float norm = (c->norm_topk_prob && K > 1) ? (float)(1.0 / (sum + 1e-20)) : 1.0f;
    for (int64_t k = 0; k < K; k++) wt[k] = wt[k] * norm * c->routed_scale;
}

/* ---- inference ----
 * The routed picks are gathered in expert order, and every expert with rows,
 * plus the shared experts over all rows, goes to r1_swiglu_groups as one
 * group: two parallel regions per layer instead of 3 (E + 1) small products
 * (a decode step of 16 rows gives each of 8 experts ~4 rows). The routed
 * outputs are then added per row, weighted, in pick order. */

void r1_moe_forward(r1_fwd *f, int64_t l, float *y, const float *x) {
    const r1_config *c = f->c;
    const r1_layer_weights *L = &f->m->w.layers[l];
    int64_t N = f->b->N, D = c->D, E = c->E, K = c->K, Fe = c->moe_ffn, Fs = c->n_shared * c->moe_ffn;
    size_t mark = f->ws->used;
    float *z = r1_arena_floats(f->ws, N * E);
    float *wt = r1_arena_floats(f->ws, N * K);
    int32_t *idx = r1_arena_alloc(f->ws, (size_t)(N * K) * sizeof(int32_t));
    int32_t *order = r1_arena_alloc(f->ws, (size_t)(N * K) * sizeof(int32_t));
    int32_t *where = r1_arena_alloc(f->ws, (size_t)(N * K) * sizeof(int32_t));
    int64_t *start = r1_arena_alloc(f->ws, (size_t)(E + 1) * sizeof(int64_t));
    int64_t *fill = r1_arena_alloc(f->ws, (size_t)E * sizeof(int64_t));
    float *xs = r1_arena_floats(f->ws, N * K * D), *ys = r1_arena_floats(f->ws, N * K * D);
    float *h = r1_arena_floats(f->ws, 2 * N * K * Fe + 2 * N * Fs);
    r1_swiglu_group *groups = r1_arena_alloc(f->ws, (size_t)(E + 1) * sizeof(r1_swiglu_group));
    R1_ASSERT(z && wt && idx && order && where && start && fill && xs && ys && h && groups);

    r1_fwd_matmul(f->m, z, x, N, &L->router);
    const float *bias = L->router_bias.data;
    for (int64_t i = 0; i < N; i++) r1_router_select(c, z + i * E, bias, idx + i * K, wt + i * K);

    /* Counting sort of the N*K (row, k) picks by expert; where[p] is pick p's sorted position. */
    memset(start, 0, (size_t)(E + 1) * sizeof(int64_t));
    for (int64_t p = 0; p < N * K; p++) start[idx[p] + 1]++;
    for (int64_t e = 0; e < E; e++) start[e + 1] += start[e];
    memcpy(fill, start, (size_t)E * sizeof(int64_t));
    for (int64_t p = 0; p < N * K; p++) {
        where[p] = (int32_t)fill[idx[p]]++;
        order[where[p]] = (int32_t)p;
    }
    /* one row (decode): every expert's input is x itself, so the groups can share its quantization */
    if (N > 1)
        for (int64_t j = 0; j < N * K; j++) memcpy(xs + j * D, x + (order[j] / K) * D, (size_t)D * sizeof(float));

    int64_t ng = 0;
    float *hp = h;
    if (c->n_shared > 0) {
        groups[ng++] = (r1_swiglu_group){x, N, Fs, hp, hp + N * Fs, y, &L->sh_gate, &L->sh_up, &L->sh_down};
        hp += 2 * N * Fs;
    } else {
        memset(y, 0, (size_t)(N * D) * sizeof(float));
    }
    for (int64_t e = 0; e < E; e++) {
        int64_t n = start[e + 1] - start[e];
        if (n == 0) continue;
        groups[ng++] = (r1_swiglu_group){N > 1 ? xs + start[e] * D : x, n, Fe, hp, hp + n * Fe, ys + start[e] * D,
                                   &L->e_gate[e], &L->e_up[e], &L->e_down[e]};
        hp += 2 * n * Fe;
    }
    r1_swiglu_groups(f->m, groups, ng, D, f->ws);
    for (int64_t i = 0; i < N; i++)
        for (int64_t k = 0; k < K; k++) f->m->k->axpy(y + i * D, wt[i * K + k], ys + where[i * K + k] * D, D);
    f->ws->used = mark;
}

/* ---- training ----
 * Routed experts run on their gathered rows as in inference; every slot's
 * SwiGLU activations and unweighted output are saved in expert-sorted order.
 * Backward: dw_p = dy_row . expert_out_p flows into the chosen scores
 * (through the renormalisation when norm_topk_prob), then through the
 * sigmoid/softmax into the router logits; the selection itself (top-k over
 * biased scores, group limits) is piecewise constant and has no gradient.
 * Sequence-wise balance loss (DeepSeek-V3 eq. 17-20, HF V2 seq_aux):
 *   L = alpha * mean_b sum_e f_be P_be,  f_be = E/(K T) * #{t: e chosen},
 *   P_be = 1/T sum_t s_te / sum_j s_tj, gradient only through P. */

static void scores(const r1_config *c, const float *z, float *s) {
    if (c->score_func == R1_SCORE_SIGMOID) {
        for (int64_t e = 0; e < c->E; e++) s[e] = 1.0f / (1.0f + expf(-z[e]));
    } else {
        memcpy(s, z, (size_t)c->E * sizeof(float));
        r1_softmax_inplace(s, c->E);
    }
}

void r1_moe_saved_bind(r1_moe_saved *s, r1_carve *cv, const r1_config *c, int64_t B, int64_t T) {
    int64_t N = B * T, E = c->E, K = c->K;
    *s = (r1_moe_saved){0};
    s->z = r1_carve_f(cv, N * E);
    s->idx = r1_carve_take(cv, (size_t)(N * K) * sizeof(int32_t));
    s->wt = r1_carve_f(cv, N * K);
    s->order = r1_carve_take(cv, (size_t)(N * K) * sizeof(int32_t));
    s->start = r1_carve_take(cv, (size_t)(E + 1) * sizeof(int64_t));
    r1_swiglu_saved_bind(&s->ex, cv, N * K, c->moe_ffn);
    s->ys = r1_carve_f(cv, N * K * c->D);
    if (c->n_shared > 0) r1_swiglu_saved_bind(&s->sh, cv, N, c->n_shared * c->moe_ffn);
}

/* Sequence-wise balance loss of the batch (before alpha); cnt is scratch [E]. */
static float seq_aux(const r1_tctx *t, const r1_moe_saved *s, float *cnt, float *sc) {
    const r1_config *c = t->c;
    int64_t E = c->E, K = c->K, T = t->T;
    double total = 0.0;
    for (int64_t b = 0; b < t->B; b++) {
        memset(cnt, 0, (size_t)E * sizeof(float));
        for (int64_t p = b * T * K; p < (b + 1) * T * K; p++) cnt[s->idx[p]] += 1.0f;
        double acc = 0.0;
        for (int64_t i = b * T; i < (b + 1) * T; i++) {
            scores(c, s->z + i * E, sc);
            double sum = 0.0;
            for (int64_t e = 0; e < E; e++) sum += sc[e];
            for (int64_t e = 0; e < E; e++) acc += (double)cnt[e] * sc[e] / sum;
        }
        total += acc * (double)E / ((double)K * T) / (double)T;
    }
    return (float)(total / (double)t->B);
}

void r1_moe_train_forward(const r1_tctx *t, const r1_layer_weights *L, r1_moe_saved *s, float *y, const float *x,
                          int64_t *load) {
    const r1_config *c = t->c;
    int64_t N = t->N, D = c->D, E = c->E, K = c->K, Fe = c->moe_ffn;
    size_t mark = t->ws->used;
    float *xs = r1_arena_floats(t->ws, N * D), *cnt = r1_arena_floats(t->ws, 2 * E);
    int64_t *fill = r1_arena_alloc(t->ws, (size_t)E * sizeof(int64_t));
    R1_ASSERT(xs && cnt && fill);

    r1_tmm(t, s->z, x, N, &L->router);
    for (int64_t i = 0; i < N; i++) r1_router_select(c, s->z + i * E, L->router_bias.data, s->idx + i * K, s->wt + i * K);
    memset(s->start, 0, (size_t)(E + 1) * sizeof(int64_t));
    for (int64_t p = 0; p < N * K; p++) s->start[s->idx[p] + 1]++;
    for (int64_t e = 0; e < E; e++) s->start[e + 1] += s->start[e];
    memcpy(fill, s->start, (size_t)E * sizeof(int64_t));
    for (int64_t p = 0; p < N * K; p++) s->order[fill[s->idx[p]]++] = (int32_t)p;
    if (load)
        for (int64_t e = 0; e < E; e++) load[e] += s->start[e + 1] - s->start[e];

    if (c->n_shared > 0)
        r1_swiglu_train_forward(t, y, s->sh.g, s->sh.u, s->sh.a, x, N, &L->sh_gate, &L->sh_up, &L->sh_down);
    else
        memset(y, 0, (size_t)(N * D) * sizeof(float));
    for (int64_t e = 0; e < E; e++) {
        int64_t s0 = s->start[e], n = s->start[e + 1] - s0;
        if (n == 0) continue;
        for (int64_t j = 0; j < n; j++) memcpy(xs + j * D, x + (s->order[s0 + j] / K) * D, (size_t)D * sizeof(float));
        r1_swiglu_train_forward(t, s->ys + s0 * D, s->ex.g + s0 * Fe, s->ex.u + s0 * Fe, s->ex.a + s0 * Fe, xs, n,
                                &L->e_gate[e], &L->e_up[e], &L->e_down[e]);
        for (int64_t j = 0; j < n; j++) {
            int32_t p = s->order[s0 + j];
            t->k->axpy(y + (p / K) * D, s->wt[p], s->ys + (s0 + j) * D, D);
        }
    }
    s->aux = seq_aux(t, s, cnt, cnt + E);
    t->ws->used = mark;
}

/* Router logits gradient of row i from the weight gradients dw[K]. */
static void router_row_backward(const r1_tctx *t, const r1_moe_saved *s, int64_t i, const float *dw, const float *f,
                                float *sc, float *ds, float *dz) {
    const r1_config *c = t->c;
    int64_t E = c->E, K = c->K;
    const int32_t *idx = s->idx + i * K;
    scores(c, s->z + i * E, sc);
    memset(ds, 0, (size_t)E * sizeof(float));
    float scale = c->routed_scale;
    if (c->norm_topk_prob && K > 1) {
        double S = 0.0, ws = 0.0;
        for (int64_t k = 0; k < K; k++) S += sc[idx[k]];
        for (int64_t k = 0; k < K; k++) ws += (double)dw[k] * sc[idx[k]];
        S += 1e-20;
        for (int64_t k = 0; k < K; k++) ds[idx[k]] += (float)(scale * (dw[k] / S - ws / (S * S)));
    } else {
        for (int64_t k = 0; k < K; k++) ds[idx[k]] += scale * dw[k];
    }
    if (f) { /* balance loss: dL/ds'_e = g_e = alpha f_be / (B T), s' = s / sum s */
        double sum = 0.0, gs = 0.0;
        for (int64_t e = 0; e < E; e++) sum += sc[e];
        for (int64_t e = 0; e < E; e++) gs += (double)f[e] * sc[e];
        for (int64_t e = 0; e < E; e++) ds[e] += (float)(((double)f[e] - gs / sum) / sum);
    }
    if (c->score_func == R1_SCORE_SIGMOID) {
        for (int64_t e = 0; e < E; e++) dz[e] = ds[e] * sc[e] * (1.0f - sc[e]);
    } else {
        double dot = 0.0;
        for (int64_t e = 0; e < E; e++) dot += (double)ds[e] * sc[e];
        for (int64_t e = 0; e < E; e++) dz[e] = sc[e] * (ds[e] - (float)dot);
    }
}

void r1_moe_backward(const r1_tctx *t, const r1_layer_weights *L, r1_layer_weights *G, const r1_moe_saved *s,
                     float *dx, const float *dy, const float *x) {
    const r1_config *c = t->c;
    int64_t N = t->N, D = c->D, E = c->E, K = c->K, Fe = c->moe_ffn, T = t->T;
    int64_t Fmax = c->n_shared > 1 ? c->n_shared * Fe : Fe;
    size_t mark = t->ws->used;
    float *dz = r1_arena_floats(t->ws, N * E), *dw = r1_arena_floats(t->ws, N * K);
    float *xs = r1_arena_floats(t->ws, N * D), *dys = r1_arena_floats(t->ws, N * D), *dxs = r1_arena_floats(t->ws, N * D);
    float *da = r1_arena_floats(t->ws, 2 * N * Fmax), *tmp = r1_arena_floats(t->ws, 3 * E);
    R1_ASSERT(dz && dw && xs && dys && dxs && da && tmp);

    if (c->n_shared > 0)
        r1_swiglu_backward(t, dx, false, G->sh_gate.data, G->sh_up.data, G->sh_down.data, dy, x, s->sh.g, s->sh.u,
                           s->sh.a, da, N, &L->sh_gate, &L->sh_up, &L->sh_down);
    else
        memset(dx, 0, (size_t)(N * D) * sizeof(float));
    for (int64_t e = 0; e < E; e++) {
        int64_t s0 = s->start[e], n = s->start[e + 1] - s0;
        if (n == 0) continue;
        for (int64_t j = 0; j < n; j++) {
            int32_t p = s->order[s0 + j];
            const float *dyr = dy + (p / K) * D;
            memcpy(xs + j * D, x + (p / K) * D, (size_t)D * sizeof(float));
            for (int64_t d = 0; d < D; d++) dys[j * D + d] = s->wt[p] * dyr[d];
            dw[p] = t->k->dot(dyr, s->ys + (s0 + j) * D, D);
        }
        r1_swiglu_backward(t, dxs, false, G->e_gate[e].data, G->e_up[e].data, G->e_down[e].data, dys, xs,
                           s->ex.g + s0 * Fe, s->ex.u + s0 * Fe, s->ex.a + s0 * Fe, da, n, &L->e_gate[e], &L->e_up[e],
                           &L->e_down[e]);
        for (int64_t j = 0; j < n; j++) t->k->axpy(dx + (s->order[s0 + j] / K) * D, 1.0f, dxs + j * D, D);
    }
    float *f = tmp, *sc = tmp + E, *ds = tmp + 2 * E;
    for (int64_t b = 0; b < t->B; b++) {
        if (t->aux_alpha > 0.0f) {
            memset(f, 0, (size_t)E * sizeof(float));
            for (int64_t p = b * T * K; p < (b + 1) * T * K; p++) f[s->idx[p]] += 1.0f;
            float g = (float)((double)t->aux_alpha * (double)E / ((double)K * T) / (double)T / (double)t->B);
            for (int64_t e = 0; e < E; e++) f[e] *= g;
        }
        for (int64_t i = b * T; i < (b + 1) * T; i++)
            router_row_backward(t, s, i, dw + i * K, t->aux_alpha > 0.0f ? f : NULL, sc, ds, dz + i * E);
    }
    r1_tmm_dw(t, G->router.data, dz, x, N, E, D);
    r1_tmm_dx(t, dx, dz, L->router.data, N, E, D, true);
    t->ws->used = mark;
}

size_t r1_train_layers_ws(const r1_config *c, int64_t B, int64_t T, int nth) {
    int64_t N = B * T, D = c->D, H = c->H, attn, ffn;
    if (r1_config_is_mla(c)) {
        int64_t qk = c->Dn + c->Dr;
        attn = N * H * c->Dv + N * H * qk + N * H * (c->Dn + c->Dv) + N * H * c->Dr +
               nth * (T * T + T * (3 * qk + 2 * c->Dv) + 16) + N * (c->Rkv + c->Dr) + N * c->Rkv + 2 * N * c->Rq;
    } else {
        attn = 2 * N * H * c->head_dim + 2 * N * c->Hkv * c->head_dim + nth * (T + 16);
    }
    ffn = 2 * N * c->ffn;
    if (c->E > 0) {
        int64_t Fmax = c->n_shared > 1 ? c->n_shared * c->moe_ffn : c->moe_ffn;
        int64_t moe = N * c->E + N * c->K + 3 * N * D + 2 * N * Fmax + 3 * c->E + 2 * c->E + 2 * (c->E + 1);
        ffn = ffn > moe ? ffn : moe;
    }
    return (size_t)((attn > ffn ? attn : ffn) + 2 * N * D) * sizeof(float) + 32 * R1_ALIGN;
}
