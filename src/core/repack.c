/* repack: interleaving Q4_K / Q8_0 / Q4_0 / Q6_K rows by 8 and reading single rows back
 * (see repack.h). Both directions are one loop over (group, block, row):
 * move_block copies one row's block between the plain and interleaved forms. */
#include "core/repack.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

r1_dtype r1_repack_type(r1_dtype t) {
    switch (t) {
    case R1_DT_Q4_K: return R1_DT_Q4_K_R8;
    case R1_DT_Q8_0: return R1_DT_Q8_0_R8;
    case R1_DT_Q4_0: return R1_DT_Q4_0_R8;
    case R1_DT_Q6_K: return R1_DT_Q6_K_R8;
    default: return t;
    }
}

bool r1_repack_ok(r1_dtype t, int64_t M, int64_t K) {
    return r1_repack_type(t) != t && M > 0 && M % 8 == 0 && K > 0 && K % r1_dtype_block(t) == 0;
}

/* always_inline: each caller passes a constant direction and sizes, so the
 * copies become plain 2- and 4-byte moves (about 10x faster than calls) */
static inline __attribute__((always_inline)) void move(void *plain, void *inter, size_t n, bool to_plain) {
    if (to_plain) memcpy(plain, inter, n);
    else memcpy(inter, plain, n);
}

/* Row j's block between plain (p) and interleaved (g) form. */
static inline __attribute__((always_inline)) void move_block(r1_dtype base, void *p, void *g, int j, bool to_plain) {
    if (base == R1_DT_Q4_K) {
        r1_block_q4_K *x = p;
        r1_block_q4_K_r8 *o = g;
        move(&x->d, &o->d[j], 2, to_plain);
        move(&x->dmin, &o->dmin[j], 2, to_plain);
        for (int i = 0; i < 3; i++) move(x->scales + 4 * i, &o->sc[i][j], 4, to_plain);
        for (int c = 0; c < 4; c++)
            for (int q = 0; q < 8; q++) move(x->qs + 32 * c + 4 * q, &o->qs[c][q][4 * j], 4, to_plain);
    } else if (base == R1_DT_Q8_0) {
        r1_block_q8_0 *x = p;
        r1_block_q8_0_r8 *o = g;
        move(&x->d, &o->d[j], 2, to_plain);
        for (int q = 0; q < 8; q++) move(x->qs + 4 * q, &o->qs[q][4 * j], 4, to_plain);
    } else if (base == R1_DT_Q4_0) {
        r1_block_q4_0 *x = p;
        r1_block_q4_0_r8 *o = g;
        move(&x->d, &o->d[j], 2, to_plain);
        for (int q = 0; q < 4; q++) move(x->qs + 4 * q, &o->qs[q][4 * j], 4, to_plain);
    } else {
        r1_block_q6_K *x = p;
        r1_block_q6_K_r8 *o = g;
        move(&x->d, &o->d[j], 2, to_plain);
        for (int m = 0; m < 4; m++) move(x->scales + 4 * m, &o->sc[m][4 * j], 4, to_plain);
        for (int h = 0; h < 2; h++)
            for (int q = 0; q < 8; q++) {
                for (int pp = 0; pp < 2; pp++)
                    move(x->ql + 64 * h + 32 * pp + 4 * q, &o->ql[h][pp][q][4 * j], 4, to_plain);
                move(x->qh + 32 * h + 4 * q, &o->qh[h][q][4 * j], 4, to_plain);
            }
    }
}

void r1_repack(void *dst, const void *src, r1_dtype t, int64_t M, int64_t K) {
    R1_ASSERT(r1_repack_ok(t, M, K));
    int64_t nb = K / r1_dtype_block(t);
    size_t bs = r1_dtype_size(t);
    for (int64_t G = 0; G < M / 8; G++)
        for (int64_t b = 0; b < nb; b++)
            for (int j = 0; j < 8; j++)
                move_block(t, (char *)src + ((8 * G + j) * nb + b) * bs, (char *)dst + (G * nb + b) * 8 * bs, j, false);
}

void r1_repack_row(void *dst, const void *src, r1_dtype t8, int64_t r, int64_t K) {
    r1_dtype t = r1_dtype_base(t8);
    int64_t nb = K / r1_dtype_block(t);
    size_t bs = r1_dtype_size(t);
    for (int64_t b = 0; b < nb; b++)
        move_block(t, (char *)dst + b * bs, (char *)src + ((r / 8) * nb + b) * 8 * bs, (int)(r % 8), true);
}

void r1_tensor_row_f32(float *dst, const r1_tensor *t, int64_t r) {
    int64_t K = t->shape[t->ndim - 1];
    r1_dtype base = r1_dtype_base(t->dtype);
    if (base == t->dtype) {
        r1_to_f32(dst, r1_tensor_row(t, r), t->dtype, K);
        return;
    }
    void *row = malloc(r1_dtype_row_bytes(base, K));
    R1_ASSERT(row); /* one row: small next to the tensor being read */
    r1_repack_row(row, t->data, t->dtype, r, K);
    r1_to_f32(dst, row, base, K);
    free(row);
}

void r1_tensor_rows_f32(float *dst, const r1_tensor *t, int64_t r0, int64_t n) {
    int64_t K = t->shape[t->ndim - 1];
    for (int64_t r = 0; r < n; r++) r1_tensor_row_f32(dst + r * K, t, r0 + r);
}

void r1_tensor_f32(float *dst, const r1_tensor *t) {
    if (r1_dtype_base(t->dtype) == t->dtype) {
        r1_to_f32(dst, t->data, t->dtype, r1_tensor_numel(t));
        return;
    }
    int64_t K = t->shape[t->ndim - 1], rows = r1_tensor_numel(t) / K;
    r1_dtype base = r1_dtype_base(t->dtype);
    void *row = malloc(r1_dtype_row_bytes(base, K)); /* one plain row, reused */
    R1_ASSERT(row);
    for (int64_t r = 0; r < rows; r++) {
        r1_repack_row(row, t->data, t->dtype, r, K);
        r1_to_f32(dst + r * K, row, base, K);
    }
    free(row);
}
