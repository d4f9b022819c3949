/* mlp: the SwiGLU feed-forward block, down(silu(gate x) * up x), used for the
 * dense layers, every routed expert and the shared experts. */
#include <math.h>

#include "kernels/matmul.h"
#include "model/layers.h"

/* The groups' work is cut into items (group, column tile) of about equal
 * rows x columns, for two parallel regions:
 *   1: g, u = x gate^T, x up^T over a tile of F columns, then a = silu(g) u
 *   2: y = a down^T over a tile of D columns
 * Each output element is one kernel call's, so the tiling does not change bits.
 * Quantized matrices get their inputs quantized once per group, in a parallel
 * pass over all groups' rows before each region (quantize_rows), instead of
 * once per tile: a 2-thread qwen2 q4_K prefill spent 5% of its time
 * re-quantizing x for each of 8 tiles. */
typedef struct {
    int64_t group;
    int64_t c0, c1; /* column range */
} ffn_item;

/* A group's quantized inputs (NULL where the matrix is a float type): x for
 * gate and for up (one buffer when they take the same format), a for down.
 * x_done: xg/xu are an earlier group's, which has the same x (a decoded
 * row's shared and routed experts). */
typedef struct {
    void *xg, *xu, *a;
    bool x_done;
} ffn_q;

typedef struct {
    const r1_kernels *k;
    const r1_swiglu_group *groups;
    const ffn_item *items;
    ffn_q *q;
    const int64_t *row0; /* [ng + 1]: each group's first row among all groups' rows */
    int64_t D, ng;
    bool down; /* quantize_rows: a for down, else x */
} ffn_job;

/* y columns [c0, c1) = x w^T, from xq when the weight is quantized. */
static void cols(const ffn_job *j, float *y, int64_t ldy, const float *x, const void *xq, int64_t n,
                 const r1_tensor *w, int64_t K, int64_t c0, int64_t c1) {
    if (xq)
        r1_matmul_cols_q(j->k, y, ldy, xq, n, w->data, w->dtype, K, c0, c1);
    else
        r1_fwd_cols(j->k, y, ldy, x, n, w, K, c0, c1);
}

/* Columns [c0, c1) of group gi: gate and up, then a = silu(g) u. */
static void up_cols(const ffn_job *j, int64_t gi, int64_t c0, int64_t c1) {
    const r1_swiglu_group *g = &j->groups[gi];
    const ffn_q *q = &j->q[gi];
    cols(j, g->g, g->F, g->x, q->xg, g->n, g->gate, j->D, c0, c1);
    cols(j, g->u, g->F, g->x, q->xu, g->n, g->up, j->D, c0, c1);
    for (int64_t i = 0; i < g->n; i++) j->k->silu_mul(g->g + i * g->F + c0, g->u + i * g->F + c0, c1 - c0);
}

/* Columns [c0, c1) of group gi's y = a down^T. */
static void down_cols(const ffn_job *j, int64_t gi, int64_t c0, int64_t c1) {
    const r1_swiglu_group *g = &j->groups[gi];
    cols(j, g->y, j->D, g->g, j->q[gi].a, g->n, g->down, g->F, c0, c1);
}

/* Items [lo, hi) of the region. */
static void run_items(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const ffn_job *j = p;
    for (int64_t it = lo; it < hi; it++) {
        const ffn_item *t = &j->items[it];
        (j->down ? down_cols : up_cols)(j, t->group, t->c0, t->c1);
    }
}

/* Rows [lo, hi) of all groups: x for gate/up, or (down) a for down. */
static void quantize_rows(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const ffn_job *j = p;
    int64_t gi = 0, top = j->ng; /* the group holding row lo: row0[gi] <= lo < row0[gi + 1] */
    while (gi + 1 < top) {
        int64_t mid = (gi + top) / 2;
        if (j->row0[mid] <= lo) gi = mid;
        else top = mid;
    }
    for (int64_t r = lo; r < hi; r++) {
        while (j->row0[gi + 1] <= r) gi++;
        const r1_swiglu_group *g = &j->groups[gi];
        const ffn_q *q = &j->q[gi];
        int64_t i = r - j->row0[gi], D = j->D;
        if (j->down) {
            if (q->a)
                j->k->act_quantize(g->down->dtype, (char *)q->a + i * r1_act_row_bytes(g->down->dtype, g->F),
                                   g->g + i * g->F, g->F);
            continue;
        }
        if (q->x_done) continue;
        if (q->xg) j->k->act_quantize(g->gate->dtype, (char *)q->xg + i * r1_act_row_bytes(g->gate->dtype, D), g->x + i * D, D);
        if (q->xu && q->xu != q->xg)
            j->k->act_quantize(g->up->dtype, (char *)q->xu + i * r1_act_row_bytes(g->up->dtype, D), g->x + i * D, D);
    }
}

/* Whether weights of types a and b take the same quantized activations. */
static bool same_act(r1_dtype a, r1_dtype b) {
    return r1_dtype_block(a) == r1_dtype_block(b) && (r1_dtype_base(a) == R1_DT_Q4_K) == (r1_dtype_base(b) == R1_DT_Q4_K);
}

/* Whether groups a and b quantize x the same way (one format each for gate and up). */
static bool same_types(const r1_swiglu_group *a, const r1_swiglu_group *b) {
    return a->gate->dtype == b->gate->dtype && a->up->dtype == b->up->dtype;
}

/* n rows of activations quantized for w (K wide), or NULL for a float w. */
static void *act_buf(r1_arena *ws, const r1_tensor *w, int64_t n, int64_t K) {
    if (!r1_dtype_is_quant(w->dtype)) return NULL;
    void *b = r1_arena_alloc(ws, (size_t)n * r1_act_row_bytes(w->dtype, K));
    R1_ASSERT(b); /* sized by r1_swiglu_groups_ws */
    return b;
}

/* Many rows' cut (prefill, batched rollouts), claimed by the threads: each
 * group's columns (F, or D when by_f is false) in tiles of a multiple of 16
 * with about 1/(2 nth) of the total rows x columns each. */
static int64_t make_items(ffn_item *items, const r1_swiglu_group *gs, int64_t ng, bool by_f, int64_t D, int nth) {
    int64_t total = 0, n = 0;
    for (int64_t g = 0; g < ng; g++) total += gs[g].n * (by_f ? gs[g].F : D);
    int64_t target = nth > 1 ? total / (2 * nth) + 1 : total + 1;
    for (int64_t g = 0; g < ng; g++) {
        int64_t cols = by_f ? gs[g].F : D, tiles = (gs[g].n * cols + target - 1) / target;
        int64_t max_tiles = (cols + 15) / 16;
        tiles = tiles < 1 ? 1 : tiles > max_tiles ? max_tiles : tiles;
        int64_t w = ((cols + tiles - 1) / tiles + 15) / 16 * 16;
        for (int64_t c = 0; c < cols; c += w) items[n++] = (ffn_item){g, c, c + w < cols ? c + w : cols};
    }
    return n;
}

/* Decode's cut: all groups' columns (F for gate and up, D for down) as one
 * range in group order, each group's starting on a multiple of 16, shared
 * out by r1_pool_share: each thread streams about 1/nth of the weights as one
 * long run across the groups, and the last pieces go to whichever thread is
 * free first. Claimed whole experts left one thread 3 of deepseek2-tiny's 5
 * and the other 2 (halves, claimed, were slower still: short matvecs);
 * equal fixed shares, 2.5 each, took its 2-thread q4_K decode from 972-1009
 * to 1038-1050 tok/s on the Intel VM, but left one thread waiting for the
 * other by 9% of the region on average over a 24-layer decode (the shared
 * expert, hot in the L3, sat in one share; either core may also run slower
 * for a while on a shared host). */
static int64_t flat_cols(const ffn_job *j, int64_t g) { return j->down ? j->D : j->groups[g].F; }

static void run_flat(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const ffn_job *j = p;
    for (int64_t g = 0, at = 0; g < j->ng && at < hi; g++) {
        int64_t n = flat_cols(j, g), a = lo > at ? lo - at : 0, b = hi - at < n ? hi - at : n;
        if (a < b) (j->down ? down_cols : up_cols)(j, g, a, b);
        at += (n + 15) / 16 * 16;
    }
}

static int64_t flat_total(const ffn_job *j) {
    int64_t t = 0;
    for (int64_t g = 0; g < j->ng; g++) t += (flat_cols(j, g) + 15) / 16 * 16;
    return t;
}

/* Bytes of the item list: make_items cuts at most (F or D) / 16 + 1 tiles a group. */
static size_t items_bytes(int64_t ng, int64_t F, int64_t D) {
    return r1_align_up((size_t)(ng * ((F > D ? F : D) / 16 + 2)) * sizeof(ffn_item));
}

size_t r1_swiglu_groups_ws(int64_t ng, int64_t rows, int64_t F, int64_t D) {
    size_t items = items_bytes(ng, F, D);
    size_t index = r1_align_up((size_t)ng * sizeof(ffn_q)) + r1_align_up((size_t)(ng + 1) * sizeof(int64_t));
    /* activations: at most 1.25 bytes an element (40 per 32), x twice and a once, each buffer aligned */
    size_t act = (size_t)rows * (size_t)(2 * (5 * D / 4 + 8) + 5 * F / 4 + 8) + (size_t)(3 * ng) * R1_ALIGN;
    return items + index + act;
}

void r1_swiglu_groups(r1_model *m, const r1_swiglu_group *gs, int64_t ng, int64_t D, r1_arena *ws) {
    int64_t macs = 0, F = 0, rows = 0; /* macs of the down projections; the up region does twice as many */
    for (int64_t g = 0; g < ng; g++) {
        macs += gs[g].n * gs[g].F * D;
        F = gs[g].F > F ? gs[g].F : F;
        rows += gs[g].n;
    }
    size_t mark = ws->used, bytes = items_bytes(ng, F, D);
    ffn_item *items = r1_arena_alloc(ws, bytes);
    ffn_q *q = r1_arena_alloc(ws, (size_t)ng * sizeof(ffn_q));
    int64_t *row0 = r1_arena_alloc(ws, (size_t)(ng + 1) * sizeof(int64_t));
    R1_ASSERT(items && q && row0);
    bool any = false;
    row0[0] = 0;
    for (int64_t g = 0; g < ng; g++) {
        const r1_tensor *gt = gs[g].gate, *ut = gs[g].up;
        q[g] = (ffn_q){0};
        for (int64_t e = 0; e < g && !q[g].x_done; e++)
            if (gs[e].x == gs[g].x && gs[e].n == gs[g].n && same_types(&gs[e], &gs[g])) q[g] = (ffn_q){q[e].xg, q[e].xu, NULL, true};
        if (!q[g].x_done) {
            q[g].xg = act_buf(ws, gt, gs[g].n, D);
            q[g].xu = q[g].xg && r1_dtype_is_quant(ut->dtype) && same_act(ut->dtype, gt->dtype)
                          ? q[g].xg
                          : act_buf(ws, ut, gs[g].n, D);
        }
        q[g].a = act_buf(ws, gs[g].down, gs[g].n, gs[g].F);
        any |= q[g].xg || q[g].xu || q[g].a;
        row0[g + 1] = row0[g] + gs[g].n;
    }
    ffn_job j = {m->k, gs, items, q, row0, D, ng, false};
    r1_pool *up = r1_fwd_pool(m, 2 * macs), *down = r1_fwd_pool(m, macs);
    /* a few rows (decode) are quantized on this thread, a pool region costs
     * more, and the columns go out in equal shares; many rows are claimed */
    bool par = rows >= 8;
    for (int region = 0; region < 2; region++) {
        r1_pool *pool = region ? down : up;
        j.down = region == 1;
        if (any) par ? r1_pool_claim(pool, rows, 1, quantize_rows, &j) : quantize_rows(&j, 0, rows, 0);
        if (par) {
            int64_t n = make_items(items, gs, ng, !j.down, D, r1_pool_size(pool));
            R1_ASSERT((size_t)n * sizeof(ffn_item) <= bytes);
            r1_pool_claim(pool, n, 1, run_items, &j);
        } else {
            r1_pool_share(pool, flat_total(&j), 16, 64, run_flat, &j);
        }
    }
    ws->used = mark;
}

void r1_swiglu_forward(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *gate, const r1_tensor *up,
                       const r1_tensor *down, float *h) {
    int64_t F = gate->shape[0];
    r1_swiglu_group g = {x, N, F, h, h + N * F, y, gate, up, down};
    r1_swiglu_groups(m, &g, 1, gate->shape[1], &m->ws);
}

/* ---- training ----
 * The elementwise parts run over the pool in ranges of 1024 (each element is
 * independent, so the bits do not depend on the split). */

typedef struct {
    float *a, *da, *du;
    const float *g, *u;
} act_job;

static void act_fwd(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const act_job *j = p;
    for (int64_t i = lo; i < hi; i++) j->a[i] = j->g[i] / (1.0f + expf(-j->g[i])) * j->u[i];
}

/* a = silu(g) u:  du = da silu(g),  dg = da u sig(g) (1 + g (1 - sig(g))). */
static void act_bwd(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const act_job *j = p;
    for (int64_t i = lo; i < hi; i++) {
        float g = j->g[i], sg = 1.0f / (1.0f + expf(-g));
        j->du[i] = j->da[i] * g * sg;
        j->da[i] = j->da[i] * j->u[i] * sg * (1.0f + g * (1.0f - sg));
    }
}

void r1_swiglu_saved_bind(r1_swiglu_saved *s, r1_carve *cv, int64_t N, int64_t F) {
    s->g = r1_carve_f(cv, N * F);
    s->u = r1_carve_f(cv, N * F);
    s->a = r1_carve_f(cv, N * F);
}

void r1_swiglu_train_forward(const r1_tctx *t, float *y, float *g, float *u, float *a, const float *x, int64_t N,
                             const r1_tensor *gate, const r1_tensor *up, const r1_tensor *down) {
    int64_t F = gate->shape[0];
    r1_tmm(t, g, x, N, gate);
    r1_tmm(t, u, x, N, up);
    act_job j = {.a = a, .g = g, .u = u};
    r1_pool_for(t->pool, N * F, 1024, act_fwd, &j);
    r1_tmm(t, y, a, N, down);
}

void r1_swiglu_backward(const r1_tctx *t, float *dx, bool accumulate, float *dgate, float *dup, float *ddown,
                        const float *dy, const float *x, const float *g, const float *u, const float *a, float *da,
                        int64_t N, const r1_tensor *gate, const r1_tensor *up, const r1_tensor *down) {
    int64_t F = gate->shape[0], D = gate->shape[1];
    r1_tmm_dw(t, ddown, dy, a, N, D, F);
    r1_tmm_dx(t, da, dy, down->data, N, D, F, false);
    /* da becomes dg; the du half goes to the spare a-sized region after it */
    act_job j = {.da = da, .du = da + N * F, .g = g, .u = u};
    float *du = j.du;
    r1_pool_for(t->pool, N * F, 1024, act_bwd, &j);
    r1_tmm_dw(t, dgate, da, x, N, F, D);
    r1_tmm_dw(t, dup, du, x, N, F, D);
    r1_tmm_dx(t, dx, da, gate->data, N, F, D, accumulate);
    r1_tmm_dx(t, dx, du, up->data, N, F, D, true);
}
