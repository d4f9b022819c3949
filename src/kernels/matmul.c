/* matmul: thread split of the dense products (see matmul.h).
 * Y = X W^T and dW += dY^T X split the M rows of the weight in blocks of 16;
 * dX = dY W splits its K columns in blocks of 16 (or its N rows when K is
 * too narrow to give every thread a block). One kernel call per thread.
 * Quantized weights: X is quantized once (rows split across the pool when
 * there are many) into the calling thread's scratch, then every thread runs
 * the integer kernel on its rows of W: the packed GEMM (kernels.h qgemm, with
 * its own scratch for the weight panels) from qgemm_min_n rows on, else the
 * matvec-style kernel. */
#include "kernels/matmul.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/status.h"

/* Per-thread scratch: the quantized activations (SCR_ACT, filled by the
 * calling thread and read by all) and the GEMM's packed weight panels
 * (SCR_PACK, each thread its own), and the training forward's transposed
 * weight (SCR_WT, the calling thread's). Each grows to the largest request and is
 * freed when the thread exits (a pthread key destructor), so steady-state
 * decode and prefill allocate nothing. */
enum { SCR_ACT, SCR_PACK, SCR_WT, SCR_COUNT };
static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
typedef struct {
    void *p[SCR_COUNT];
    size_t cap[SCR_COUNT];
} scratch;

static void scratch_free(void *p) {
    scratch *s = p;
    for (int i = 0; i < SCR_COUNT; i++) free(s->p[i]);
    free(s);
}

static void scratch_init(void) { R1_ASSERT(pthread_key_create(&g_scratch_key, scratch_free) == 0); }

static void *scratch_get(int slot, size_t n) {
    pthread_once(&g_scratch_once, scratch_init);
    scratch *s = pthread_getspecific(g_scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        R1_ASSERT(s && pthread_setspecific(g_scratch_key, s) == 0);
    }
    if (s->cap[slot] < n) {
        free(s->p[slot]);
        s->cap[slot] = r1_align_up(n + n / 4);
        s->p[slot] = r1_alloc_aligned(s->cap[slot]);
        R1_ASSERT(s->p[slot]); /* activations and panels are tiny next to the weights being multiplied */
    }
    return s->p[slot];
}

/* Columns [m0, m1) of y from quantized activations: the packed GEMM where
 * the table has one and N is large enough to pay for packing. */
static void qmm_cols(const r1_kernels *k, float *y, int64_t ldy, const void *xq, int64_t N, const void *w,
                     r1_dtype wt, int64_t K, int64_t m0, int64_t m1) {
    if (k->qgemm[wt] && N >= k->qgemm_min_n[wt])
        k->qgemm[wt](y, ldy, xq, N, w, K, m0, m1, scratch_get(SCR_PACK, k->qgemm_ws(wt, K)));
    else
        k->qmatmul[wt](y, ldy, xq, N, w, K, m0, m1);
}

void r1_matmul_cols_q(const r1_kernels *k, float *y, int64_t ldy, const void *xq, int64_t N, const void *w,
                      r1_dtype wt, int64_t K, int64_t m0, int64_t m1) {
    R1_ASSERT(r1_dtype_is_quant(wt));
    qmm_cols(k, y, ldy, xq, N, w, wt, K, m0, m1);
}

void r1_matmul_cols_k(const r1_kernels *k, float *y, int64_t ldy, const float *x, int64_t N, const void *w,
                      r1_dtype wt, int64_t K, int64_t m0, int64_t m1) {
    if (!r1_dtype_is_quant(wt)) {
        k->matmul[wt](y, ldy, x, N, w, K, m0, m1);
        return;
    }
    size_t rb = r1_act_row_bytes(wt, K);
    char *xq = scratch_get(SCR_ACT, rb * (size_t)N);
    for (int64_t i = 0; i < N; i++) k->act_quantize(wt, xq + (size_t)i * rb, x + i * K, K);
    qmm_cols(k, y, ldy, xq, N, w, wt, K, m0, m1);
}

typedef struct {
    const r1_kernels *k;
    float *y;
    const float *x;
    const void *w;
    r1_dtype wt;
    int64_t N, M, K;
} mm_ctx;

typedef struct {
    const r1_kernels *k;
    float *y;
    const char *xq; /* quantized activations */
    const float *x;
    const void *w;
    r1_dtype wt;
    int64_t N, M, K;
    size_t rb;
} qmm_ctx;

static void mm_task(void *p, int ith, int nth) {
    const mm_ctx *c = p;
    int64_t lo, hi;
    r1_split(c->M, ith, nth, 16, &lo, &hi);
    if (lo < hi) c->k->matmul[c->wt](c->y, c->M, c->x, c->N, c->w, c->K, lo, hi);
}

static void qact_task(void *p, int ith, int nth) {
    const qmm_ctx *c = p;
    int64_t lo, hi;
    r1_split(c->N, ith, nth, 1, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) c->k->act_quantize(c->wt, (char *)c->xq + (size_t)i * c->rb, c->x + i * c->K, c->K);
}

static void qmm_task(void *p, int ith, int nth) {
    const qmm_ctx *c = p;
    int64_t lo, hi;
    r1_split(c->M, ith, nth, 16, &lo, &hi);
    if (lo < hi) qmm_cols(c->k, c->y, c->M, c->xq, c->N, c->w, c->wt, c->K, lo, hi);
}

static bool run_serial(r1_pool *pool, int64_t N, int64_t M, int64_t K) {
    return r1_pool_size(pool) == 1 || N * M * K <= R1_MATMUL_SERIAL_FLOPS;
}

void r1_matmul_raw_k(const r1_kernels *k, r1_pool *pool, float *y, const float *x, int64_t N, const void *w,
                     r1_dtype wt, int64_t M, int64_t K) {
    R1_ASSERT(k && N >= 0 && M >= 0 && K >= 0 && (int)wt >= 0 && wt < R1_DT_COUNT);
    if (N == 0 || M == 0) return;
    if (r1_dtype_is_quant(wt)) {
        R1_ASSERT(k->qmatmul[wt] && K % r1_dtype_block(wt) == 0);
        qmm_ctx c = {k, y, NULL, x, w, wt, N, M, K, r1_act_row_bytes(wt, K)};
        c.xq = scratch_get(SCR_ACT, c.rb * (size_t)N);
        if (run_serial(pool, N, M, K)) {
            qact_task(&c, 0, 1);
            qmm_task(&c, 0, 1);
            return;
        }
        if (N >= 8) /* many rows: quantize them in parallel too */
            r1_pool_run(pool, qact_task, &c);
        else
            qact_task(&c, 0, 1);
        r1_pool_run(pool, qmm_task, &c);
        return;
    }
    R1_ASSERT(k->matmul[wt]);
    mm_ctx c = {k, y, x, w, wt, N, M, K};
    if (run_serial(pool, N, M, K))
        mm_task(&c, 0, 1);
    else
        r1_pool_run(pool, mm_task, &c);
}

void r1_matmul_raw(r1_pool *pool, float *y, const float *x, int64_t N, const void *w, r1_dtype wt, int64_t M,
                   int64_t K) {
    r1_matmul_raw_k(r1_kernels_get(), pool, y, x, N, w, wt, M, K);
}

void r1_matmul(r1_pool *pool, float *y, const float *x, int64_t N, const r1_tensor *w) {
    R1_ASSERT(w && w->ndim == 2);
    r1_matmul_raw(pool, y, x, N, w->data, w->dtype, w->shape[0], w->shape[1]);
}

typedef struct {
    r1_gemm_nn_fn gemm; /* k->gemm_nn or k->gemm_nn_bb */
    float *c;
    const float *a, *b;
    int64_t N, M, K;
    bool accumulate, by_rows;
} nn_ctx;

/* dX = dY W: c = dx [N, K], a = dy [N, M], b = w [M, K]. */
static void nn_task(void *p, int ith, int nth) {
    const nn_ctx *c = p;
    int64_t lo, hi;
    if (c->by_rows) {
        r1_split(c->N, ith, nth, 1, &lo, &hi);
        if (lo < hi) c->gemm(c->c, c->K, c->a, c->M, 1, c->b, c->K, c->M, lo, hi, 0, c->K, c->accumulate);
    } else {
        r1_split(c->K, ith, nth, 16, &lo, &hi);
        if (lo < hi) c->gemm(c->c, c->K, c->a, c->M, 1, c->b, c->K, c->M, 0, c->N, lo, hi, c->accumulate);
    }
}

void r1_matmul_nn_pk(const r1_kernels *k, r1_pool *pool, bool bf16, float *dx, const float *dy, const float *w,
                     int64_t N, int64_t M, int64_t K, bool accumulate) {
    r1_gemm_nn_fn gemm = bf16 ? k->gemm_nn_bb : k->gemm_nn;
    R1_ASSERT(k && gemm && N >= 0 && M >= 0 && K >= 0);
    if (N == 0 || K == 0) return;
    int nth = r1_pool_size(pool);
    nn_ctx c = {gemm, dx, dy, w, N, M, K, accumulate, (K + 15) / 16 < nth};
    if (run_serial(pool, N, M, K))
        nn_task(&c, 0, 1);
    else
        r1_pool_run(pool, nn_task, &c);
}

void r1_matmul_nn_k(const r1_kernels *k, r1_pool *pool, float *dx, const float *dy, const float *w, int64_t N,
                    int64_t M, int64_t K, bool accumulate) {
    r1_matmul_nn_pk(k, pool, false, dx, dy, w, N, M, K, accumulate);
}

void r1_matmul_nn(r1_pool *pool, float *dx, const float *dy, const float *w, int64_t N, int64_t M, int64_t K,
                  bool accumulate) {
    r1_matmul_nn_pk(r1_kernels_get(), pool, false, dx, dy, w, N, M, K, accumulate);
}

void r1_matmul_nn_p(r1_pool *pool, bool bf16, float *dx, const float *dy, const float *w, int64_t N, int64_t M,
                    int64_t K, bool accumulate) {
    r1_matmul_nn_pk(r1_kernels_get(), pool, bf16, dx, dy, w, N, M, K, accumulate);
}

/* dW += dY^T X: c = dw [M, K], a = dy read transposed, b = x [N, K]. */
static void tn_task(void *p, int ith, int nth) {
    const nn_ctx *c = p;
    int64_t lo, hi;
    r1_split(c->M, ith, nth, 16, &lo, &hi);
    if (lo < hi) c->gemm(c->c, c->K, c->a, 1, c->M, c->b, c->K, c->N, lo, hi, 0, c->K, true);
}

void r1_matmul_tn_pk(const r1_kernels *k, r1_pool *pool, bool bf16, float *dw, const float *dy, const float *x,
                     int64_t N, int64_t M, int64_t K) {
    r1_gemm_nn_fn gemm = bf16 ? k->gemm_nn_bb : k->gemm_nn;
    R1_ASSERT(k && gemm && N >= 0 && M >= 0 && K >= 0);
    if (M == 0 || K == 0 || N == 0) return;
    nn_ctx c = {gemm, dw, dy, x, N, M, K, true, false};
    if (run_serial(pool, N, M, K))
        tn_task(&c, 0, 1);
    else
        r1_pool_run(pool, tn_task, &c);
}

void r1_matmul_tn_k(const r1_kernels *k, r1_pool *pool, float *dw, const float *dy, const float *x, int64_t N,
                    int64_t M, int64_t K) {
    r1_matmul_tn_pk(k, pool, false, dw, dy, x, N, M, K);
}

void r1_matmul_tn(r1_pool *pool, float *dw, const float *dy, const float *x, int64_t N, int64_t M, int64_t K) {
    r1_matmul_tn_pk(r1_kernels_get(), pool, false, dw, dy, x, N, M, K);
}

void r1_matmul_tn_p(r1_pool *pool, bool bf16, float *dw, const float *dy, const float *x, int64_t N, int64_t M,
                    int64_t K) {
    r1_matmul_tn_pk(r1_kernels_get(), pool, bf16, dw, dy, x, N, M, K);
}

typedef struct {
    const r1_kernels *k;
    float *y;
    const uint16_t *x, *w;
    int64_t N, M, K;
} bb_ctx;

static void bb_task(void *p, int ith, int nth) {
    const bb_ctx *c = p;
    int64_t lo, hi;
    r1_split(c->M, ith, nth, 16, &lo, &hi);
    if (lo < hi) c->k->matmul_bb(c->y, c->M, c->x, c->N, c->w, c->K, lo, hi);
}

void r1_matmul_bb_k(const r1_kernels *k, r1_pool *pool, float *y, const uint16_t *x, int64_t N, const uint16_t *w,
                    int64_t M, int64_t K) {
    R1_ASSERT(k && k->matmul_bb && N >= 0 && M >= 0 && K >= 0);
    if (N == 0 || M == 0) return;
    bb_ctx c = {k, y, x, w, N, M, K};
    if (run_serial(pool, N, M, K))
        bb_task(&c, 0, 1);
    else
        r1_pool_run(pool, bb_task, &c);
}

void r1_matmul_bb(r1_pool *pool, float *y, const uint16_t *x, int64_t N, const uint16_t *w, int64_t M, int64_t K) {
    r1_matmul_bb_k(r1_kernels_get(), pool, y, x, N, w, M, K);
}

/* wt[K, M] = w[M, K]^T in 32 x 32 blocks (both sides stay within a few KB). */
static void transpose(float *wt, const float *w, int64_t M, int64_t K) {
    enum { B = 32 };
    for (int64_t m0 = 0; m0 < M; m0 += B)
        for (int64_t k0 = 0; k0 < K; k0 += B) {
            int64_t m1 = m0 + B < M ? m0 + B : M, k1 = k0 + B < K ? k0 + B : K;
            for (int64_t m = m0; m < m1; m++)
                for (int64_t k = k0; k < k1; k++) wt[k * M + m] = w[m * K + k];
        }
}

void r1_matmul_fwd_k(const r1_kernels *k, r1_pool *pool, float *y, const float *x, int64_t N, const r1_tensor *w) {
    R1_ASSERT(w->ndim == 2);
    int64_t M = w->shape[0], K = w->shape[1];
    if (w->dtype != R1_DT_F32 || k->fwd_gemm_min_n <= 0 || N < k->fwd_gemm_min_n) {
        r1_matmul_raw_k(k, pool, y, x, N, w->data, w->dtype, M, K);
        return;
    }
    float *wt = scratch_get(SCR_WT, (size_t)(M * K) * sizeof(float));
    transpose(wt, w->data, M, K);
    r1_matmul_nn_k(k, pool, y, x, wt, N, K, M, false);
}
