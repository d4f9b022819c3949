/* kernels: the per-ISA compute primitives, one table of function pointers
 * filled once from the detected CPU features (R1_ISA=ref|avx2|avx512 forces a
 * choice). Every SIMD kernel has a scalar twin in ref.c that is its test oracle.
 *
 * Layout convention: a weight W is [M, K] row-major (HF [out, in]); activations
 * X are [N, K] row-major; Y = X W^T is [N, M]. Kernels compute a column range
 * [m0, m1) of Y for all N rows so that threads can split the weight rows.
 * Accumulation is always f32; within one ISA every output element is computed
 * in a fixed order that does not depend on the range a thread was given, so
 * results are bit-identical for any thread count. */
#ifndef R1_KERNELS_H
#define R1_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"

/* y[i*ldy + j] = sum_k x[i*K + k] * w[j*K + k]   for i < N, m0 <= j < m1.
 * x: [N, K] f32; w: the whole [M, K] weight (element type fixed per table
 * slot); y: [N, ldy] f32, only columns [m0, m1) written. */
typedef void (*r1_matmul_fn)(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                             int64_t m0, int64_t m1);

/* The "NN" product with strided left operand, used for both training products:
 *   c[i*ldc + k] = (accumulate ? c[i*ldc + k] : 0) + sum_{j<J} a[i*a_si + j*a_sj] * b[j*ldb + k]
 * for i0 <= i < i1 and k0 <= k < k1, terms added in the order j = 0, 1, ..., J-1.
 *   dX = dY W    : c = dx [N, K], a = dy [N, M] (a_si = M, a_sj = 1), b = W [M, K], J = M
 *   dW += dY^T X : c = dW [M, K], a = dy [N, M] (a_si = 1, a_sj = M), b = X [N, K], J = N
 * All f32. */
typedef void (*r1_gemm_nn_fn)(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b,
                              int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0, int64_t k1,
                              bool accumulate);

/* Quantized weights (Q8_0, Q4_0, Q4_K, Q6_K). As in llama.cpp, each activation
 * row is first quantized to 8 bits in the weight's partner format (r1_act_q8
 * blocks of 32 for Q8_0/Q4_0, r1_act_q8K super-blocks of 256 for the K types;
 * r1_act_quantize), so the inner products are integer dot products, scaled
 * once per block: y = sum_b d_w d_x sum_i q_w q_x (minus the min/offset terms
 * the type needs, from the block sums of q_x).
 * xq: N rows of r1_act_row_bytes(wt, K) bytes each; other arguments as r1_matmul_fn. */
typedef void (*r1_qmatmul_fn)(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                              int64_t m0, int64_t m1);

/* The GEMM form of r1_qmatmul_fn for many activation rows (prefill, batched
 * decode): the same y, computed with weight rows repacked on the fly into the
 * ISA's register-tile layout in ws, a buffer of qgemm_ws(wt, K) bytes
 * (64-byte aligned) owned by the calling thread. Slots may be NULL (the
 * table then uses qmatmul for every N). */
typedef void (*r1_qgemm_fn)(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                            int64_t m0, int64_t m1, void *ws);

typedef struct {
    float d;        /* scale: x ~ d * q (d is f16-rounded, as ggml stores it) */
    int32_t sum;    /* sum of qs (Q4_0's -8 offset) */
    int8_t qs[32];
} r1_act_q8;
typedef struct {
    float d;              /* scale: x ~ d * q */
    int16_t bsums[16];    /* sums of qs per 16 (Q6_K's -32 offset) */
    int16_t bsums32[8];   /* sums of qs per 32 (Q4_K's mins) */
    int8_t qs[256];
} r1_act_q8K;
_Static_assert(sizeof(r1_act_q8) == 40 && sizeof(r1_act_q8K) == 308, "activation block sizes");

/* Q4_K's partner stores each 128 elements as [0..31, 64..95, 32..63, 96..127]
 * so that one 64-byte load meets the low nibbles of 64 weight bytes (which
 * hold elements 0..31 and 64..95) and the next one the high nibbles; bsums
 * stay in natural order. Position of natural element e of a super-block: */
static inline int r1_act_q4_K_pos(int e) {
    int q = (e >> 5) & 3;
    return (e & ~127) | ((q == 1 ? 2 : q == 2 ? 1 : q) << 5) | (e & 31);
}

/* Bytes of one quantized activation row of K elements for weights of type wt. */
size_t r1_act_row_bytes(r1_dtype wt, int64_t K);
/* Quantizes one activation row x[K] for weights of type wt (scalar, shared by
 * every ISA so all tables see the same activations). Q8_0 partner: d =
 * amax/127 rounded to f16, q = round-half-even(x * 127/amax) (llama.cpp's AVX2
 * quantize_row_q8_0); K partner: d = -max/127, q = round(x/d) capped at 127
 * (quantize_row_q8_K_ref). */
void r1_act_quantize(r1_dtype wt, void *xq, const float *x, int64_t K);

/* The bf16 compute path (training with bf16 matmuls): both operands are
 * rounded to bf16 (nearest even) and their products summed in f32. The forward
 * product takes operands already rounded and stored as bf16:
 *   y[i*ldy + j] = sum_k x[i*K + k] * w[j*K + k]   (x [N, K], w [M, K] bf16)
 * for i < N, m0 <= j < m1. With AVX512-BF16 this is vdpbf16ps (pairs of k per
 * f32 lane); elsewhere both are widened to f32 (exact) and FMA'd. */
typedef void (*r1_matmul_bb_fn)(float *y, int64_t ldy, const uint16_t *x, int64_t N, const uint16_t *w, int64_t K,
                                int64_t m0, int64_t m1);

/* AdamW over n elements (torch.optim.AdamW's update, decoupled decay):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g g;  p -= lr (wd p + (m/c1) / (sqrt(v/c2) + eps))
 * with g first scaled by gs (gradient clipping; 1 is exact), c1 = 1 - b1^t,
 * c2 = 1 - b2^t; then g = 0 and, if pb != NULL, pb = bf16(p).
 * Every ISA performs the same IEEE operations in the same order (no FMA), so
 * the result is bit-identical to the scalar oracle. */
typedef void (*r1_adamw_fn)(float *p, float *g, float *m, float *v, uint16_t *pb, int64_t n, float gs, float lr,
                            float b1, float b2, float eps, float wd, float c1, float c2);

typedef struct {
    const char *isa;                  /* "ref", "avx2", "avx512" */
    r1_matmul_fn matmul[R1_DT_COUNT]; /* indexed by the weight dtype; float types only */
    r1_qmatmul_fn qmatmul[R1_DT_COUNT]; /* quantized types only */
    r1_qgemm_fn qgemm[R1_DT_COUNT];     /* optional, used for N >= qgemm_min_n[wt] rows */
    int64_t qgemm_min_n[R1_DT_COUNT];
    /* r1_act_quantize, or a SIMD version with the same bytes for finite x */
    void (*act_quantize)(r1_dtype wt, void *xq, const float *x, int64_t K);
    size_t (*qgemm_ws)(r1_dtype wt, int64_t K);
    r1_gemm_nn_fn gemm_nn;            /* f32 only */
    /* The f32 training forward y = x w^T runs as gemm_nn on a transposed
     * copy of w from this many rows on (0: always matmul; r1_matmul_fwd_k) */
    int64_t fwd_gemm_min_n;
    r1_gemm_nn_fn gemm_nn_bb;         /* gemm_nn with a and b rounded to bf16 (f32 sums) */
    r1_matmul_bb_fn matmul_bb;        /* bf16 x bf16 -> f32 forward product */
    r1_adamw_fn adamw;
    void (*to_bf16)(uint16_t *dst, const float *src, int64_t n); /* round to nearest even, NaN kept quiet */
    /* Softmax pieces of the loss rows (f32 exp within 2 ulp of expf):
     *   lse: max + log(sum_i exp(z_i - max)), the sum in double (z finite, n >= 1)
     *   exp_scale: z_i = s * exp(z_i - shift) in place */
    double (*lse)(const float *z, int64_t n);
    void (*exp_scale)(float *z, int64_t n, float shift, float s);
    /* SwiGLU's gate: u = u g, then g = u / (1 + exp(-g)) = silu(g) u, with
     * the table's exp (scalar expf and divisions were 4-8% of a 2-thread
     * qwen2 prefill on AVX2; expf per element 5% of a batched decode step) */
    void (*silu_mul)(float *g, float *u, int64_t n);
    float (*dot)(const float *a, const float *b, int64_t n);
    /* The first index of the largest value (strict >, so ties keep the
     * first; NaNs never win; 0 when x[0] is NaN), as the plain scan finds:
     * greedy decoding's pick, a full vocabulary row every token. */
    int32_t (*argmax)(const float *x, int64_t n);
    /* sum x_i^2 in double, in one order on every table (so RMSNorm keeps
     * its bits): 8 partial sums, s_l over i = l mod 8 in index order (the
     * tail after the last full 8 into s_0), then
     * ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). A float square is
     * exact in double, so a fused multiply-add rounds like the add. */
    double (*sumsq)(const float *x, int64_t n);
    void (*axpy)(float *y, float a, const float *x, int64_t n); /* y += a x */
    void (*scale)(float *x, int64_t n, float s); /* x = s x: one rounded product each, the same bits on every table */
    void (*to_f32[R1_DT_COUNT])(float *dst, const void *src, int64_t n);
} r1_kernels;

/* The table for the best ISA this CPU supports (avx512 > avx2 > ref), or
 * R1_ISA's choice; an unknown or unavailable R1_ISA falls back to the best
 * with one warning on stderr. Selected once, thread-safe. */
const r1_kernels *r1_kernels_get(void);
/* The table for a named ISA ("ref", "avx2", "avx512"), or NULL if the name is
 * unknown, the build lacks it (non-x86) or the CPU/OS does not support it. */
const r1_kernels *r1_kernels_for(const char *isa);

/* Per-ISA tables (NULL on builds/CPUs without the ISA). */
const r1_kernels *r1_kernels_ref(void);
const r1_kernels *r1_kernels_avx2(void);
const r1_kernels *r1_kernels_avx512(void);

/* CPU features, detected once (cpu_features.c). A feature is reported only if
 * the CPU has it and the OS saves its register state (XCR0). intel: the
 * vendor is GenuineIntel (a tuning choice of the decode kernels, never a
 * feature test). */
typedef struct {
    bool avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, avx512_bf16, avx512_vnni, gfni;
    bool intel;
} r1_cpu;
const r1_cpu *r1_cpu_get(void);

#endif
