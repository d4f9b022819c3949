/* train_mm: the three matmul products of training, routed to the f32 kernels
 * or to the bf16 compute path (issue 4: "bf16 matmuls where the CPU has them,
 * switchable"). bf16 keeps f32 master weights: the trainer refreshes a bf16
 * copy of the parameter slab after every optimizer step (fused into AdamW), so
 * the forward product reads bf16 weights directly and only rounds its [N, K]
 * activations; the backward products round both operands while packing.
 * Sums are f32 either way, as torch.autocast's bf16 GEMMs do. */
#include "kernels/matmul.h"
#include "model/layers.h"

void r1_tmm(const r1_tctx *t, float *y, const float *x, int64_t N, const r1_tensor *w) {
    R1_ASSERT(w->ndim == 2);
    int64_t M = w->shape[0], K = w->shape[1];
    if (!t->bf16) {
        r1_matmul_fwd_k(t->k, t->pool, y, x, N, w);
        return;
    }
    const float *wf = w->data;
    R1_ASSERT(w->dtype == R1_DT_F32 && t->pbf16 && wf >= t->pbase && wf + M * K <= t->pbase + t->pn);
    size_t mark = t->ws->used;
    uint16_t *xb = r1_arena_alloc(t->ws, (size_t)(N * K) * sizeof(uint16_t));
    R1_ASSERT(xb);
    t->k->to_bf16(xb, x, N * K);
    r1_matmul_bb(t->pool, y, xb, N, t->pbf16 + (wf - t->pbase), M, K);
    t->ws->used = mark;
}

void r1_tmm_dx(const r1_tctx *t, float *dx, const float *dy, const float *w, int64_t N, int64_t M, int64_t K,
               bool accumulate) {
    r1_matmul_nn_p(t->pool, t->bf16, dx, dy, w, N, M, K, accumulate);
}

void r1_tmm_dw(const r1_tctx *t, float *dw, const float *dy, const float *x, int64_t N, int64_t M, int64_t K) {
    r1_matmul_tn_p(t->pool, t->bf16, dw, dy, x, N, M, K);
}
