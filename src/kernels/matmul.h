/* matmul: threaded dense products on top of the kernel table.
 * The weight rows (M) are split across the pool in blocks of 16 so that no two
 * threads write the same cache line of Y; each thread runs one kernel call.
 * Problems below R1_MATMUL_SERIAL_FLOPS multiply-adds run on the calling
 * thread only (waking the pool costs more than the work).
 * Training's two other products (dX = dY W and dW += dY^T X) live here too;
 * every output element is computed by one thread in a fixed order, so results
 * are bit-identical for any thread count. Shapes are programming contracts:
 * a violation is an always-on assert, not a status. */
#ifndef R1_MATMUL_H
#define R1_MATMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/threads.h"
#include "kernels/kernels.h"

/* N*M*K at or below which the products stay on the calling thread: on the
 * 2-core Zen 5 box a 2-thread f32 matvec first wins between 16K (1.25 us
 * serial vs 1.44 us threaded) and 64K (4.2 vs 3.1 us); bench/bench_matmul. */
#define R1_MATMUL_SERIAL_FLOPS ((int64_t)1 << 15)

/* One thread's share of y = x w^T, any weight dtype: columns [m0, m1) of y
 * (row stride ldy) on the calling thread only (for callers that are already
 * inside a pool task). Quantized weights: x is quantized into this thread's
 * scratch first. */
void r1_matmul_cols_k(const r1_kernels *k, float *y, int64_t ldy, const float *x, int64_t N, const void *w,
                      r1_dtype wt, int64_t K, int64_t m0, int64_t m1);
/* The same for a quantized w with x already quantized for it (N rows of
 * r1_act_row_bytes(wt, K) bytes, from k->act_quantize), so that callers
 * splitting one product into many column ranges quantize x once. */
void r1_matmul_cols_q(const r1_kernels *k, float *y, int64_t ldy, const void *xq, int64_t N, const void *w,
                      r1_dtype wt, int64_t K, int64_t m0, int64_t m1);

/* y[N, M] = x[N, K] · w^T where w is a 2-D tensor [M, K] of any dtype (float
 * or quantized; K a multiple of the block). */
void r1_matmul(r1_pool *pool, float *y, const float *x, int64_t N, const r1_tensor *w);
/* Same with raw pointers. */
void r1_matmul_raw(r1_pool *pool, float *y, const float *x, int64_t N, const void *w, r1_dtype wt, int64_t M,
                   int64_t K);
/* dx[N, K] = (accumulate ? dx : 0) + dy[N, M] · w[M, K]   (all f32). */
void r1_matmul_nn(r1_pool *pool, float *dx, const float *dy, const float *w, int64_t N, int64_t M, int64_t K,
                  bool accumulate);
/* dw[M, K] += dy[N, M]^T · x[N, K]   (all f32). */
void r1_matmul_tn(r1_pool *pool, float *dw, const float *dy, const float *x, int64_t N, int64_t M, int64_t K);

/* The bf16 compute path (see kernels.h): bf16 = true rounds both operands to
 * bf16 and sums in f32 (gemm_nn_bb); false is the f32 product above. */
void r1_matmul_nn_p(r1_pool *pool, bool bf16, float *dx, const float *dy, const float *w, int64_t N, int64_t M,
                    int64_t K, bool accumulate);
void r1_matmul_tn_p(r1_pool *pool, bool bf16, float *dw, const float *dy, const float *x, int64_t N, int64_t M,
                    int64_t K);
/* y[N, M] = x[N, K] w[M, K]^T with x and w already bf16 (training forward). */
void r1_matmul_bb(r1_pool *pool, float *y, const uint16_t *x, int64_t N, const uint16_t *w, int64_t M, int64_t K);

/* The f32 training forward y[N, M] = x[N, K] w^T (w f32 or any float type):
 * r1_matmul_raw_k, or, on tables that set fwd_gemm_min_n and from that many
 * rows on, gemm_nn over a transposed copy of an f32 w made in the calling
 * thread's scratch (the copy is M K floats against N M K multiply-adds). */
void r1_matmul_fwd_k(const r1_kernels *k, r1_pool *pool, float *y, const float *x, int64_t N, const r1_tensor *w);

/* The same with an explicit kernel table (tests and benches compare
 * ISAs with these; the plain versions use r1_kernels_get()). */
void r1_matmul_raw_k(const r1_kernels *k, r1_pool *pool, float *y, const float *x, int64_t N, const void *w,
                     r1_dtype wt, int64_t M, int64_t K);
void r1_matmul_nn_k(const r1_kernels *k, r1_pool *pool, float *dx, const float *dy, const float *w, int64_t N,
                    int64_t M, int64_t K, bool accumulate);
void r1_matmul_tn_k(const r1_kernels *k, r1_pool *pool, float *dw, const float *dy, const float *x, int64_t N,
                    int64_t M, int64_t K);
void r1_matmul_nn_pk(const r1_kernels *k, r1_pool *pool, bool bf16, float *dx, const float *dy, const float *w,
                     int64_t N, int64_t M, int64_t K, bool accumulate);
void r1_matmul_tn_pk(const r1_kernels *k, r1_pool *pool, bool bf16, float *dw, const float *dy, const float *x,
                     int64_t N, int64_t M, int64_t K);
void r1_matmul_bb_k(const r1_kernels *k, r1_pool *pool, float *y, const uint16_t *x, int64_t N, const uint16_t *w,
                    int64_t M, int64_t K);

#endif
