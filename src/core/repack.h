/* repack: Q4_K, Q8_0, Q4_0 and Q6_K matrices with 8 rows interleaved
 * (R1_DT_Q4_K_R8, _Q8_0_R8, _Q4_0_R8, _Q6_K_R8), the in-memory form the decode kernels read. A GGUF row
 * keeps its blocks together, so a matvec unpacks each row's scales and sums
 * its lanes horizontally. Interleaved, one 32-byte load holds the same 4
 * code bytes of 8 rows (row j in dword j): an activation dword broadcast to
 * every lane advances 8 dot products, the scales of 8 rows load (and for
 * Q4_K unpack) as one vector, and each lane ends as one row's sum. The
 * bytes are the GGUF's, moved: the matrix keeps its size. */
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

/* Block b of rows 8G .. 8G+7, likewise. */
typedef struct {
    uint16_t d[8];     /* row j's f16 scale */
    int8_t qs[8][32];  /* group g: row j's codes 4g .. 4g+3 at 4j .. 4j+3 */
} r1_block_q8_0_r8;
_Static_assert(sizeof(r1_block_q8_0_r8) == 8 * sizeof(r1_block_q8_0), "interleaving moves bytes, adds none");

/* Block b of rows 8G .. 8G+7, likewise. */
typedef struct {
    uint16_t d[8];     /* row j's f16 scale */
    uint8_t qs[4][32]; /* group g: row j's qs bytes 4g .. 4g+3 (codes 4g.. low, 16+4g.. high) at 4j .. 4j+3 */
} r1_block_q4_0_r8;
_Static_assert(sizeof(r1_block_q4_0_r8) == 8 * sizeof(r1_block_q4_0), "interleaving moves bytes, adds none");

/* Super-block b of rows 8G .. 8G+7, likewise. A group of 4 ql bytes holds
 * codes l.. (low nibbles) and l + 64.. (high) of its half, the qh group
 * the top bits of l, l + 32, l + 64, l + 96 (llama.cpp's Q6_K order). */
typedef struct {
    uint16_t d[8];          /* row j's f16 super-scale */
    int8_t sc[4][32];       /* row j's scales 4m .. 4m+3 at sc[m][4j .. 4j+3] */
    uint8_t ql[2][2][8][32]; /* half h, ql[64h + 32p + 4q ..] of row j at ql[h][p][q][4j ..] */
    uint8_t qh[2][8][32];    /* half h, qh[32h + 4q ..] of row j at qh[h][q][4j ..] */
} r1_block_q6_K_r8;
_Static_assert(sizeof(r1_block_q6_K_r8) == 8 * sizeof(r1_block_q6_K), "interleaving moves bytes, adds none");

/* The interleaved type of t, or t when it has none. */
r1_dtype r1_repack_type(r1_dtype t);
/* Whether an [M, K] matrix of type t can be interleaved. */
bool r1_repack_ok(r1_dtype t, int64_t M, int64_t K);
/* dst (interleaved) = src (type t), both [M, K]; r1_repack_ok must hold. */
void r1_repack(void *dst, const void *src, r1_dtype t, int64_t M, int64_t K);
/* Row r of an interleaved [M, K] matrix of type t8 in its base type's blocks. */
void r1_repack_row(void *dst, const void *src, r1_dtype t8, int64_t r, int64_t K);
/* Row r of a 2-D tensor of any stored type (interleaved too) as f32. */
void r1_tensor_row_f32(float *dst, const r1_tensor *t, int64_t r);
/* Rows [r0, r0 + n) of a tensor of any stored type (interleaved too) as
 * f32, its leading dimensions merged: head h of a [H, R, D] tensor is rows
 * h R .. h R + R - 1. */
void r1_tensor_rows_f32(float *dst, const r1_tensor *t, int64_t r0, int64_t n);
/* All of a tensor of any stored type (interleaved too) as f32. */
void r1_tensor_f32(float *dst, const r1_tensor *t);

#endif
