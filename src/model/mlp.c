/* mlp: the SwiGLU feed-forward block, down(silu(gate x) * up x), used for the
 * dense layers, every routed expert and the shared experts. */
#include <math.h>

#include "kernels/matmul.h"
#include "model/layers.h"

void r1_silu_mul(const r1_kernels *k, float *g, float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        u[i] *= g[i];
        g[i] = -g[i];
    }
    k->exp_scale(g, n, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) g[i] = u[i] / (1.0f + g[i]);
}

void r1_swiglu_forward(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *gate, const r1_tensor *up,
                       const r1_tensor *down, float *h) {
    int64_t F = gate->shape[0];
    float *g = h, *u = h + N * F;
    r1_fwd_matmul(m, g, x, N, gate);
    r1_fwd_matmul(m, u, x, N, up);
    r1_silu_mul(m->k, g, u, N * F);
    r1_fwd_matmul(m, y, g, N, down);
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
