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

void r1_moe_forward(r1_fwd *f, int64_t l, float *y, const float *x) {
    const r1_config *c = f->c;
    const r1_layer_weights *L = &f->m->w.layers[l];
    int64_t N = f->b->N, D = c->D, E = c->E, K = c->K;
    size_t mark = f->ws->used;
    float *z = r1_arena_floats(f->ws, N * E);
    float *wt = r1_arena_floats(f->ws, N * K);
    int32_t *idx = r1_arena_alloc(f->ws, (size_t)(N * K) * sizeof(int32_t));
    int32_t *order = r1_arena_alloc(f->ws, (size_t)(N * K) * sizeof(int32_t));
    int64_t *start = r1_arena_alloc(f->ws, (size_t)(E + 1) * sizeof(int64_t));
    int64_t *fill = r1_arena_alloc(f->ws, (size_t)E * sizeof(int64_t));
    float *xs = r1_arena_floats(f->ws, N * D), *ys = r1_arena_floats(f->ws, N * D);
    int64_t F = c->moe_ffn * (c->n_shared > 1 ? c->n_shared : 1);
    float *h = r1_arena_floats(f->ws, 2 * N * F);
    R1_ASSERT(z && wt && idx && order && start && fill && xs && ys && h);

    r1_matmul(f->m->pool, z, x, N, &L->router);
    const float *bias = L->router_bias.data;
    for (int64_t i = 0; i < N; i++) r1_router_select(c, z + i * E, bias, idx + i * K, wt + i * K);

    /* Counting sort of the N*K (row, k) picks by expert. */
    memset(start, 0, (size_t)(E + 1) * sizeof(int64_t));
    for (int64_t p = 0; p < N * K; p++) start[idx[p] + 1]++;
    for (int64_t e = 0; e < E; e++) start[e + 1] += start[e];
    memcpy(fill, start, (size_t)E * sizeof(int64_t));
    for (int64_t p = 0; p < N * K; p++) order[fill[idx[p]]++] = (int32_t)p;

    if (c->n_shared > 0)
        r1_swiglu_forward(f->m, y, x, N, &L->sh_gate, &L->sh_up, &L->sh_down, h);
    else
        memset(y, 0, (size_t)(N * D) * sizeof(float));

    for (int64_t e = 0; e < E; e++) {
        int64_t n = start[e + 1] - start[e];
        if (n == 0) continue;
        for (int64_t j = 0; j < n; j++) memcpy(xs + j * D, x + (order[start[e] + j] / K) * D, (size_t)D * sizeof(float));
        r1_swiglu_forward(f->m, ys, xs, n, &L->e_gate[e], &L->e_up[e], &L->e_down[e], h);
        for (int64_t j = 0; j < n; j++) {
            int32_t p = order[start[e] + j];
            float w = wt[p], *yr = y + (p / K) * D;
            const float *src = ys + j * D;
            for (int64_t d = 0; d < D; d++) yr[d] += w * src[d];
        }
    }
    f->ws->used = mark;
}
