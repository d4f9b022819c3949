/* kernels: the per-ISA compute primitives, one table of function pointers
 * filled once from the detected CPU features (R1_ISA=ref|avx2|avx512 forces a
 * choice). Every SIMD kernel has a scalar twin in ref.c that is its test oracle.
 *
 * Layout convention: a weight W is [M, K] row-major (HF [out, in]); activations
 * X are [N, K] row-major; Y = X W^T is [N, M]. Kernels compute a column range
 * [m0, m1) of Y for all N rows so that threads can split the weight rows. */
#ifndef R1_KERNELS_H
#define R1_KERNELS_H

#include <stdint.h>

#include <stdbool.h>

#include "core/dtype.h"

/* y[i*ldy + j] = sum_k x[i*K + k] * w[j*K + k]   for i < N, m0 <= j < m1.
 * w points at the whole weight (element type fixed per table slot). */
typedef void (*r1_matmul_fn)(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                             int64_t m0, int64_t m1);

typedef struct {
    const char *isa;                      /* "ref", "avx2", "avx512" */
    r1_matmul_fn matmul[R1_DT_COUNT];     /* indexed by the weight dtype */
    float (*dot)(const float *a, const float *b, int64_t n);
    void (*axpy)(float *y, float a, const float *x, int64_t n); /* y += a x */
    void (*to_f32[R1_DT_COUNT])(float *dst, const void *src, int64_t n);
} r1_kernels;

/* The table for the best ISA this CPU supports (or R1_ISA's choice); selected
 * once, thread-safe. */
const r1_kernels *r1_kernels_get(void);
/* The table for a named ISA, or NULL if unknown or the CPU lacks it. */
const r1_kernels *r1_kernels_for(const char *isa);

/* Per-ISA tables (NULL-returning on builds/CPUs without the ISA). */
const r1_kernels *r1_kernels_ref(void);
const r1_kernels *r1_kernels_avx2(void);
const r1_kernels *r1_kernels_avx512(void);

/* CPU features, detected once (cpu_features.c). */
typedef struct {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, avx512_bf16, avx512_vnni;
} r1_cpu;
const r1_cpu *r1_cpu_get(void);

#endif
