/* repack: Q4_K matrices with 8 rows interleaved (R1_DT_Q4_K_R8), the
 * in-memory form the decode kernels read. A GGUF row keeps its 256 codes and
 * 12 packed scale bytes together, so a matvec unpacks scales and sums 8 lanes
 * horizontally for every row. Interleaved, one 32-byte load holds the same 4
 * code bytes of 8 rows (row j in dword j): an activation broadcast to every
 * lane advances 8 dot products, the scale words of 8 rows unpack as one
 * vector, and each lane ends as one row's sum (no horizontal reduction).
 * The bytes are the GGUF's, moved: 1152 per 8 row-blocks, as before. */
#ifndef R1_REPACK_H
#define R1_REPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/tensor.h"

/* Super-block b of rows 8G .. 8G+7, stored at index G * nb + b. */
typedef struct {
    uint16_t d[8], dmin[8]; /* row j's f16 super-scales */
    uint32_t sc[3][8];      /* bytes 4i .. 4i+3 of row j's 12 scale bytes */
    uint8_t qs[4][8][32];   /* chunk c (64 elements), group g: row j's qs bytes 32c + 4g .. +3 at 4j .. 4j+3 */
} r1_block_q4_K_r8;
_Static_assert(sizeof(r1_block_q4_K_r8) == 8 * sizeof(r1_block_q4_K), "interleaving moves bytes, adds none");

/* The kernels keep a few int16 per activation block on the stack. */
enum { R1_R8_MAX_K = 32768 };

/* Whether an [M, K] matrix of type t can be interleaved. */
bool r1_repack_ok(r1_dtype t, int64_t M, int64_t K);
/* dst (R1_DT_Q4_K_R8) = src (R1_DT_Q4_K), both [M, K]; r1_repack_ok must hold. */
void r1_repack_q4_K_r8(void *dst, const void *src, int64_t M, int64_t K);
/* Row r of an interleaved [M, K] matrix as K / 256 plain Q4_K blocks. */
void r1_q4_K_r8_row(r1_block_q4_K *dst, const void *src, int64_t r, int64_t K);
/* Row r of a 2-D tensor of any stored type (interleaved too) as f32. */
void r1_tensor_row_f32(float *dst, const r1_tensor *t, int64_t r);

#endif
