/* norm: RMSNorm, computed in f32 (HF upcasts too): y = w * x * rsqrt(mean x^2 + eps). */
#include <math.h>

#include "core/threads.h"
#include "kernels/kernels.h"
#include "model/layers.h"

void r1_rmsnorm_forward(float *y, const float *x, const float *w, int64_t N, int64_t D, float eps) {
    const r1_kernels *k = r1_kernels_get();
    for (int64_t i = 0; i < N; i++) {
        const float *xi = x + i * D;
        float *yi = y + i * D;
        /* the table's 8-lane double sum, one order on every ISA: the
         * scalar loop of 8 partial sums was 1% of a deepseek2-tiny decode
         * step, serial at 2 threads */
        double ss = k->sumsq(xi, D);
        float r = (float)(1.0 / sqrt(ss / (double)D + eps));
        for (int64_t j = 0; j < D; j++) yi[j] = w[j] * (xi[j] * r);
    }
}

void r1_softmax_inplace(float *s, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = s[i] > mx ? s[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s[i] = expf(s[i] - mx);
        sum += s[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) s[i] *= inv;
}

/* ---- training ---- */

void r1_rmsnorm_train_forward(float *y, float *rstd, const float *x, const float *w, int64_t N, int64_t D, float eps) {
    for (int64_t i = 0; i < N; i++) {
        const float *xi = x + i * D;
        double ss = 0.0;
        for (int64_t j = 0; j < D; j++) ss += (double)xi[j] * xi[j];
        rstd[i] = (float)(1.0 / sqrt(ss / (double)D + eps));
        r1_rmsnorm_forward(y + i * D, xi, w, 1, D, eps);
    }
}

/* y = w x r, r = (mean x^2 + eps)^-1/2:
 *   dx = r (w dy) - x r^3 / D * sum_j (w dy x)_j,   dw = sum_rows dy x r. */
void r1_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *rstd, const float *w,
                         int64_t N, int64_t D) {
    for (int64_t i = 0; i < N; i++) {
        const float *xi = x + i * D, *gi = dy + i * D;
        float *di = dx + i * D, r = rstd[i];
        double dot = 0.0;
        for (int64_t j = 0; j < D; j++) dot += (double)(w[j] * gi[j]) * xi[j];
        float c = (float)(dot * (double)r * r * r / (double)D);
        for (int64_t j = 0; j < D; j++) di[j] += r * (w[j] * gi[j]) - c * xi[j];
        if (dw)
            for (int64_t j = 0; j < D; j++) dw[j] += gi[j] * (xi[j] * r);
    }
}

/* ---- the same over the pool ---- */

typedef struct {
    float *y, *dw;
    float *rstd;
    const float *x, *w, *dy;
    const float *rstd_in;
    int64_t N, D;
    float eps;
} norm_job;

static void fwd_rows(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const norm_job *j = p;
    r1_rmsnorm_train_forward(j->y + lo * j->D, j->rstd + lo, j->x + lo * j->D, j->w, hi - lo, j->D, j->eps);
}

void r1_rmsnorm_train_forward_mt(r1_pool *pool, float *y, float *rstd, const float *x, const float *w, int64_t N,
                                 int64_t D, float eps) {
    norm_job j = {.y = y, .rstd = rstd, .x = x, .w = w, .N = N, .D = D, .eps = eps};
    r1_pool_for(pool, N, 16, fwd_rows, &j);
}

static void bwd_rows(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const norm_job *j = p;
    r1_rmsnorm_backward(j->y + lo * j->D, NULL, j->dy + lo * j->D, j->x + lo * j->D, j->rstd_in + lo, j->w, hi - lo,
                        j->D);
}

static void bwd_cols(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const norm_job *j = p;
    for (int64_t i = 0; i < j->N; i++) {
        const float *gi = j->dy + i * j->D, *xi = j->x + i * j->D;
        float r = j->rstd_in[i];
        for (int64_t c = lo; c < hi; c++) j->dw[c] += gi[c] * (xi[c] * r);
    }
}

void r1_rmsnorm_backward_mt(r1_pool *pool, float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                            const float *w, int64_t N, int64_t D) {
    norm_job j = {.y = dx, .dw = dw, .x = x, .w = w, .dy = dy, .rstd_in = rstd, .N = N, .D = D};
    r1_pool_for(pool, N, 16, bwd_rows, &j);
    if (dw) r1_pool_for(pool, D, 16, bwd_cols, &j);
}
