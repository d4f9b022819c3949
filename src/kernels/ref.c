/* ref: the scalar oracle of every kernel in the table.
 * Plain loops, f32 accumulation in index order, no FMA (the build uses
 * -ffp-contract=off), weights widened with the converters of core/dtype.h.
 * The SIMD kernels are tested against these; they differ only by FMA rounding
 * and by the order in which partial sums are added. */
#include <math.h>
#include <stdlib.h>

#include "core/dtype.h"
#include "core/repack.h"
#include "core/status.h"
#include "kernels/tables.h"


/* One weight element as f32; t is a constant after inlining, so each
 * k_matmul_*_ref below is a straight loop for its dtype. */
static inline float wget(const void *w, r1_dtype t, int64_t i) {
    switch (t) {
    case R1_DT_F16: return r1_f16_to_f32(((const uint16_t *)w)[i]);
    case R1_DT_BF16: return r1_bf16_to_f32(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

static inline void matmul_ref(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                              int64_t m0, int64_t m1, r1_dtype t) {
    for (int64_t i = 0; i < N; i++) {
        const float *xi = x + i * K;
        for (int64_t j = m0; j < m1; j++) {
            float s = 0.0f;
            for (int64_t k = 0; k < K; k++) s += xi[k] * wget(w, t, j * K + k);
            y[i * ldy + j] = s;
        }
    }
}

static void k_matmul_f32_f32_ref(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                 int64_t m0, int64_t m1) {
    matmul_ref(y, ldy, x, N, w, K, m0, m1, R1_DT_F32);
}

static void k_matmul_f16_f32_ref(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                 int64_t m0, int64_t m1) {
    matmul_ref(y, ldy, x, N, w, K, m0, m1, R1_DT_F16);
}

static void k_matmul_bf16_f32_ref(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                  int64_t m0, int64_t m1) {
    matmul_ref(y, ldy, x, N, w, K, m0, m1, R1_DT_BF16);
}

/* ---- quantized weights: integer dot products per block (kernels.h) ----
 * Every SIMD twin computes the same integer block sums exactly; only the f32
 * accumulation of the scaled block sums differs in order. */

static float dot_q8_0(const r1_block_q8_0 *w, const r1_act_q8 *x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t sumi = 0;
        for (int j = 0; j < 32; j++) sumi += (int32_t)w[b].qs[j] * x[b].qs[j];
        s += r1_f16_to_f32(w[b].d) * x[b].d * (float)sumi;
    }
    return s;
}

static float dot_q4_0(const r1_block_q4_0 *w, const r1_act_q8 *x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += (int32_t)(w[b].qs[j] & 15) * x[b].qs[j] + (int32_t)(w[b].qs[j] >> 4) * x[b].qs[j + 16];
        s += r1_f16_to_f32(w[b].d) * x[b].d * (float)(sumi - 8 * x[b].sum);
    }
    return s;
}

/* sum_j sc_j sum_i q_i x_i  and  sum_j m_j (x block sums of 32) per super-block. */
static float dot_q4_K(const r1_block_q4_K *w, const r1_act_q8K *x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            r1_q4_K_scale_min(w[b].scales, j, &sc, &m);
            const uint8_t *q = w[b].qs + 32 * (j / 2);
            int shift = 4 * (j % 2);
            int32_t sumi = 0;
            for (int i = 0; i < 32; i++)
                sumi += (int32_t)((q[i] >> shift) & 15) * x[b].qs[r1_act_q4_K_pos(32 * j + i)];
            isum += sc * sumi;
            msum += m * x[b].bsums32[j];
        }
        s += r1_f16_to_f32(w[b].d) * x[b].d * (float)isum - r1_f16_to_f32(w[b].dmin) * x[b].d * (float)msum;
    }
    return s;
}

static float dot_q6_K(const r1_block_q6_K *w, const r1_act_q8K *x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
            const int8_t *xq = x[b].qs + 128 * h;
            for (int g = 0; g < 4; g++) { /* elements 32g + l of this half */
                int32_t sub[2] = {0, 0};
                for (int l = 0; l < 32; l++) {
                    int lo = g % 2 ? ql[l + 32] : ql[l];
                    lo = g < 2 ? lo & 15 : lo >> 4;
                    int q = (lo | (((qh[l] >> (2 * g)) & 3) << 4)) - 32;
                    sub[l / 16] += q * xq[32 * g + l];
                }
                isum += w[b].scales[8 * h + 2 * g] * sub[0] + w[b].scales[8 * h + 2 * g + 1] * sub[1];
            }
        }
        s += r1_f16_to_f32(w[b].d) * x[b].d * (float)isum;
    }
    return s;
}

#define QMATMUL_REF(name, wblock, xblock, dot)                                                                     \
    static void name(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,       \
                     int64_t m1) {                                                                                 \
        int64_t nb = K / (int64_t)(sizeof(((xblock *)0)->qs));                                                     \
        for (int64_t i = 0; i < N; i++)                                                                            \
            for (int64_t j = m0; j < m1; j++)                                                                      \
                y[i * ldy + j] = dot((const wblock *)w + j * nb, (const xblock *)xq + i * nb, nb);                 \
    }
QMATMUL_REF(k_qmatmul_q8_0_ref, r1_block_q8_0, r1_act_q8, dot_q8_0)
QMATMUL_REF(k_qmatmul_q4_0_ref, r1_block_q4_0, r1_act_q8, dot_q4_0)
QMATMUL_REF(k_qmatmul_q4_K_ref, r1_block_q4_K, r1_act_q8K, dot_q4_K)
QMATMUL_REF(k_qmatmul_q6_K_ref, r1_block_q6_K, r1_act_q8K, dot_q6_K)

/* Interleaved types: each row read back in plain blocks (core/repack.h). */
#define QMATMUL_R8_REF(name, wt, wblock, xblock, dot)                                                             \
    static void name(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,       \
                     int64_t m1) {                                                                                 \
        int64_t nb = K / r1_dtype_block(wt);                                                                       \
        wblock *row = malloc((size_t)nb * sizeof *row);                                                            \
        R1_ASSERT(row);                                                                                            \
        for (int64_t j = m0; j < m1; j++) {                                                                        \
            r1_repack_row(row, w, wt, j, K);                                                                       \
            for (int64_t i = 0; i < N; i++) y[i * ldy + j] = dot(row, (const xblock *)xq + i * nb, nb);            \
        }                                                                                                          \
        free(row);                                                                                                 \
    }
QMATMUL_R8_REF(k_qmatmul_q4_K_r8_ref, R1_DT_Q4_K_R8, r1_block_q4_K, r1_act_q8K, dot_q4_K)
QMATMUL_R8_REF(k_qmatmul_q8_0_r8_ref, R1_DT_Q8_0_R8, r1_block_q8_0, r1_act_q8, dot_q8_0)
QMATMUL_R8_REF(k_qmatmul_q4_0_r8_ref, R1_DT_Q4_0_R8, r1_block_q4_0, r1_act_q8, dot_q4_0)
QMATMUL_R8_REF(k_qmatmul_q6_K_r8_ref, R1_DT_Q6_K_R8, r1_block_q6_K, r1_act_q8K, dot_q6_K)

static void k_gemm_nn_f32_f32_ref(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                  const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                  int64_t k1, bool accumulate) {
    for (int64_t i = i0; i < i1; i++) {
        float *ci = c + i * ldc;
        if (!accumulate)
            for (int64_t k = k0; k < k1; k++) ci[k] = 0.0f;
        /* j outer so the rows of b stream; each c element still sums j in order */
        for (int64_t j = 0; j < J; j++) {
            float aij = a[i * a_si + j * a_sj];
            const float *bj = b + j * ldb;
            for (int64_t k = k0; k < k1; k++) ci[k] += aij * bj[k];
        }
    }
}

/* gemm_nn with both operands rounded to bf16 first: the oracle of the bf16
 * kernels (which differ only in summation order and FMA rounding). */
static void k_gemm_nn_bf16_bf16_ref(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                    const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                    int64_t k1, bool accumulate) {
    for (int64_t i = i0; i < i1; i++) {
        float *ci = c + i * ldc;
        if (!accumulate)
            for (int64_t k = k0; k < k1; k++) ci[k] = 0.0f;
        for (int64_t j = 0; j < J; j++) {
            float aij = r1_bf16_to_f32(r1_f32_to_bf16(a[i * a_si + j * a_sj]));
            const float *bj = b + j * ldb;
            for (int64_t k = k0; k < k1; k++) ci[k] += aij * r1_bf16_to_f32(r1_f32_to_bf16(bj[k]));
        }
    }
}

static void k_matmul_bf16_bf16_ref(float *y, int64_t ldy, const uint16_t *x, int64_t N, const uint16_t *w, int64_t K,
                                   int64_t m0, int64_t m1) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = m0; j < m1; j++) {
            float s = 0.0f;
            for (int64_t k = 0; k < K; k++) s += r1_bf16_to_f32(x[i * K + k]) * r1_bf16_to_f32(w[j * K + k]);
            y[i * ldy + j] = s;
        }
}

static void k_adamw_ref(float *p, float *g, float *m, float *v, uint16_t *pb, int64_t n, float gs, float lr, float b1,
                        float b2, float eps, float wd, float c1, float c2) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] * gs;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float upd = (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
        p[i] -= lr * (wd * p[i] + upd);
        g[i] = 0.0f;
        if (pb) pb[i] = r1_f32_to_bf16(p[i]);
    }
}

static void k_to_bf16_ref(uint16_t *dst, const float *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = r1_f32_to_bf16(src[i]);
}

static double k_lse_ref(const float *z, int64_t n) {
    float mx = z[0];
    for (int64_t i = 1; i < n; i++) mx = z[i] > mx ? z[i] : mx;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)expf(z[i] - mx);
    return (double)mx + log(s);
}

static void k_exp_scale_ref(float *z, int64_t n, float shift, float s) {
    for (int64_t i = 0; i < n; i++) z[i] = s * expf(z[i] - shift);
}

static void k_silu_mul_ref(float *g, float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        u[i] *= g[i];
        g[i] = u[i] / (1.0f + expf(-g[i]));
    }
}

static float k_dot_f32_ref(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static int32_t k_argmax_ref(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

static double k_sumsq_ref(const float *x, int64_t n) {
    double s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += (double)x[i + l] * x[i + l];
    for (; i < n; i++) s[0] += (double)x[i] * x[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void k_axpy_f32_ref(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

static void k_scale_ref(float *x, int64_t n, float s) {
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

static void k_to_f32_f32_ref(float *dst, const void *src, int64_t n) { r1_to_f32(dst, src, R1_DT_F32, n); }
static void k_to_f32_f16_ref(float *dst, const void *src, int64_t n) { r1_to_f32(dst, src, R1_DT_F16, n); }
static void k_to_f32_bf16_ref(float *dst, const void *src, int64_t n) { r1_to_f32(dst, src, R1_DT_BF16, n); }

const r1_kernels r1_kernels_table_ref = {
    .isa = "ref",
    .matmul = {[R1_DT_F32] = k_matmul_f32_f32_ref, [R1_DT_F16] = k_matmul_f16_f32_ref,
               [R1_DT_BF16] = k_matmul_bf16_f32_ref},
    .qmatmul = {[R1_DT_Q8_0] = k_qmatmul_q8_0_ref, [R1_DT_Q4_0] = k_qmatmul_q4_0_ref,
                [R1_DT_Q4_K] = k_qmatmul_q4_K_ref, [R1_DT_Q6_K] = k_qmatmul_q6_K_ref,
                [R1_DT_Q4_K_R8] = k_qmatmul_q4_K_r8_ref, [R1_DT_Q8_0_R8] = k_qmatmul_q8_0_r8_ref,
                [R1_DT_Q4_0_R8] = k_qmatmul_q4_0_r8_ref, [R1_DT_Q6_K_R8] = k_qmatmul_q6_K_r8_ref},
    .act_quantize = r1_act_quantize,
    .gemm_nn = k_gemm_nn_f32_f32_ref,
    .gemm_nn_bb = k_gemm_nn_bf16_bf16_ref,
    .matmul_bb = k_matmul_bf16_bf16_ref,
    .adamw = k_adamw_ref,
    .to_bf16 = k_to_bf16_ref,
    .lse = k_lse_ref,
    .exp_scale = k_exp_scale_ref,
    .silu_mul = k_silu_mul_ref,
    .dot = k_dot_f32_ref,
    .argmax = k_argmax_ref,
    .sumsq = k_sumsq_ref,
    .axpy = k_axpy_f32_ref,
    .scale = k_scale_ref,
    .to_f32 = {[R1_DT_F32] = k_to_f32_f32_ref, [R1_DT_F16] = k_to_f32_f16_ref, [R1_DT_BF16] = k_to_f32_bf16_ref},
};
