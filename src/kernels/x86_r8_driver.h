/* x86_r8_driver: the table kernel of an interleaved type (core/repack.h),
 * shared by x86_avx2_r8.c and x86_avx512_r8.c. Each file defines, per type
 * T, group_T(y, ldy, w, x, nb, nx) (the 8 outputs of one group of weight
 * rows for nx = 1..4 activation rows) and decode_T(y, w, x, nb, g0, g1) (one
 * activation row over groups [g0, g1)) in its own vector width; this macro
 * makes r1_qmatmul_T_r8_ISA from them: decode for one row, else per group
 * of 8 weight rows the activation rows 4 at a time while the group's blocks
 * stay in cache. m0 and m1 are multiples of 8 (the splits are multiples of
 * 16, M of 8). */
#ifndef R1_X86_R8_DRIVER_H
#define R1_X86_R8_DRIVER_H

#include "core/status.h"

#define R8_QMATMUL(name, T, wblock, xblock, QB)                                                                    \
    void name(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0, int64_t m1) { \
        R1_ASSERT(m0 % 8 == 0 && m1 % 8 == 0);                                                                     \
        int64_t nb = K / QB;                                                                                       \
        const wblock *wr = w;                                                                                      \
        const xblock *x = xq;                                                                                      \
        if (N == 1) {                                                                                              \
            decode_##T(y, wr, x, nb, m0 / 8, m1 / 8);                                                              \
            return;                                                                                                \
        }                                                                                                          \
        for (int64_t m = m0; m < m1; m += 8)                                                                       \
            for (int64_t n = 0; n < N; n += 4) {                                                                   \
                const wblock *g = wr + (m / 8) * nb;                                                               \
                switch (N - n < 4 ? N - n : 4) {                                                                   \
                case 1: group_##T(y + n * ldy + m, ldy, g, x + n * nb, nb, 1); break;                              \
                case 2: group_##T(y + n * ldy + m, ldy, g, x + n * nb, nb, 2); break;                              \
                case 3: group_##T(y + n * ldy + m, ldy, g, x + n * nb, nb, 3); break;                              \
                default: group_##T(y + n * ldy + m, ldy, g, x + n * nb, nb, 4); break;                             \
                }                                                                                                  \
            }                                                                                                      \
    }

#endif
