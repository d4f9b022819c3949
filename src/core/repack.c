/* repack: interleaving Q4_K rows by 8 and reading single rows back (see repack.h). */
#include "core/repack.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

bool r1_repack_ok(r1_dtype t, int64_t M, int64_t K) {
    return t == R1_DT_Q4_K && M > 0 && M % 8 == 0 && K > 0 && K % R1_QK_K == 0 && K <= R1_R8_MAX_K;
}

void r1_repack_q4_K_r8(void *dst, const void *src, int64_t M, int64_t K) {
    R1_ASSERT(r1_repack_ok(R1_DT_Q4_K, M, K));
    int64_t nb = K / R1_QK_K;
    const r1_block_q4_K *w = src;
    r1_block_q4_K_r8 *o = dst;
    for (int64_t G = 0; G < M / 8; G++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int j = 0; j < 8; j++) {
                const r1_block_q4_K *x = &w[(8 * G + j) * nb + b];
                o->d[j] = x->d;
                o->dmin[j] = x->dmin;
                for (int i = 0; i < 3; i++) memcpy(&o->sc[i][j], x->scales + 4 * i, 4);
                for (int c = 0; c < 4; c++)
                    for (int g = 0; g < 8; g++) memcpy(&o->qs[c][g][4 * j], x->qs + 32 * c + 4 * g, 4);
            }
}

void r1_q4_K_r8_row(r1_block_q4_K *dst, const void *src, int64_t r, int64_t K) {
    int64_t nb = K / R1_QK_K, j = r % 8;
    const r1_block_q4_K_r8 *p = (const r1_block_q4_K_r8 *)src + (r / 8) * nb;
    for (int64_t b = 0; b < nb; b++, p++) {
        r1_block_q4_K *x = &dst[b];
        x->d = p->d[j];
        x->dmin = p->dmin[j];
        for (int i = 0; i < 3; i++) memcpy(x->scales + 4 * i, &p->sc[i][j], 4);
        for (int c = 0; c < 4; c++)
            for (int g = 0; g < 8; g++) memcpy(x->qs + 32 * c + 4 * g, &p->qs[c][g][4 * j], 4);
    }
}

void r1_tensor_row_f32(float *dst, const r1_tensor *t, int64_t r) {
    int64_t K = t->shape[t->ndim - 1];
    if (t->dtype != R1_DT_Q4_K_R8) {
        r1_to_f32(dst, r1_tensor_row(t, r), t->dtype, K);
        return;
    }
    r1_block_q4_K *row = malloc((size_t)(K / R1_QK_K) * sizeof *row);
    R1_ASSERT(row); /* one row: small next to the tensor being read */
    r1_q4_K_r8_row(row, t->data, r, K);
    r1_dequantize_q4_K(dst, row, K);
    free(row);
}
