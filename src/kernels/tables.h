/* tables: the static kernel tables defined by ref.c and the x86_*.c files.
 * Private to src/kernels/: callers go through r1_kernels_get()/_for(), which
 * check the CPU before handing out an ISA table. Only data crosses this
 * boundary so that no ISA-flagged code runs before the check. */
#ifndef R1_KERNEL_TABLES_H
#define R1_KERNEL_TABLES_H

#include "kernels/kernels.h"

extern const r1_kernels r1_kernels_table_ref;
#if defined(__x86_64__)
extern const r1_kernels r1_kernels_table_avx2;
extern const r1_kernels r1_kernels_table_avx512;
extern const r1_kernels r1_kernels_table_avx512bf16; /* the same with vdpbf16ps for the bf16 products */
/* x86_avx512_qgemm.c: the quantized GEMM slots of the avx512 tables */
void r1_qgemm_q8_0_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                          int64_t m1, void *ws);
void r1_qgemm_q4_K_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                          int64_t m1, void *ws);
void r1_qgemm_q6_K_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                          int64_t m1, void *ws);
void r1_qgemm_q8_0_r8_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1, void *ws);
void r1_qgemm_q4_K_r8_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1, void *ws);
size_t r1_qgemm_ws_avx512(r1_dtype wt, int64_t K);
/* x86_avx512_r8.c: the matvecs for interleaved Q4_K, Q8_0 and Q4_0 (core/repack.h) */
void r1_qmatmul_q4_K_r8_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                               int64_t m0, int64_t m1);
void r1_qmatmul_q8_0_r8_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                               int64_t m0, int64_t m1);
void r1_qmatmul_q4_0_r8_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                               int64_t m0, int64_t m1);
void r1_act_quantize_avx512(r1_dtype wt, void *xq, const float *x, int64_t K); /* x86_avx512_qact.c */
/* x86_avx2_qgemm.c: the avx2 table's quantized GEMM slots */
void r1_qgemm_q8_0_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                        int64_t m1, void *ws);
void r1_qgemm_q4_K_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                        int64_t m1, void *ws);
void r1_qgemm_q6_K_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                        int64_t m1, void *ws);
void r1_qgemm_q4_K_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                           int64_t m1, void *ws);
void r1_qgemm_q6_K_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                           int64_t m1, void *ws);
size_t r1_qgemm_ws_avx2(r1_dtype wt, int64_t K);
/* x86_avx2_r8.c: the matvecs for interleaved Q4_K, Q8_0, Q4_0 and Q6_K (core/repack.h) */
void r1_qmatmul_q4_K_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1);
void r1_qmatmul_q8_0_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1);
void r1_qmatmul_q4_0_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1);
void r1_qmatmul_q6_K_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1);
void r1_act_quantize_avx2(r1_dtype wt, void *xq, const float *x, int64_t K); /* x86_avx2_qact.c */
#endif

#endif
