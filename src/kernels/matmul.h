/* matmul: threaded dense products on top of the kernel table.
 * The weight rows (M) are split across the pool in blocks of 16 so that no two
 * threads write the same cache line of Y; each thread runs one kernel call.
 * Training's two other products (dX = dY W and dW += dY^T X) live here too. */
#ifndef R1_MATMUL_H
#define R1_MATMUL_H

#include <stdint.h>

#include "core/tensor.h"
#include "core/threads.h"

/* y[N, M] = x[N, K] · w^T where w is a 2-D tensor [M, K] of any dtype in the table. */
void r1_matmul(r1_pool *pool, float *y, const float *x, int64_t N, const r1_tensor *w);
/* Same with raw pointers. */
void r1_matmul_raw(r1_pool *pool, float *y, const float *x, int64_t N, const void *w, r1_dtype wt, int64_t M,
                   int64_t K);

#endif
