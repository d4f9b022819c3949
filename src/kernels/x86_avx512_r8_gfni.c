/* x86_avx512_r8_gfni: the AVX-512 Q4_K decode of x86_avx512_r8.c built
 * with -mgfni, so r8z_q4_K_codes takes each byte's high nibble with one
 * vgf2p8affineqb instead of a shift and a mask (the integer codes are the
 * same, so are the bits). Its own file because GFNI is not implied by
 * AVX-512 (Skylake-X and Cascade Lake lack it) and code built with -mgfni may
 * use it anywhere; decode_q4_K calls this where the CPU has it. Over 288 KB
 * expert matrices in random order (Intel VM, 4 alternated rounds) the
 * decode read 14.3-15.0 -> 14.9-15.4 GB/s at 1 thread and 24.0-25.6 ->
 * 25.2-26.4 at 2; from cache, 32 -> 34-36 GB/s. */
#if defined(__x86_64__)
#include "kernels/x86_avx512_r8.h"

#if !defined(__GFNI__)
#error "x86_avx512_r8_gfni.c is built with -mgfni (Makefile)"
#endif

R8Z_GROUP(q4_K, r1_block_q4_K_r8, r1_act_q8K)
R8Z_DECODE(decode_q4_K_2, q4_K, r1_block_q4_K_r8, r1_act_q8K, 2)
R8Z_DECODE(decode_q4_K_4, q4_K, r1_block_q4_K_r8, r1_act_q8K, 4)

void r1_avx512_decode_q4_K_gfni(float *y, const r1_block_q4_K_r8 *w, const r1_act_q8K *x, int64_t nb, int64_t g0,
                                int64_t g1) {
    (r1_cpu_get()->intel ? decode_q4_K_4 : decode_q4_K_2)(y, w, x, nb, g0, g1);
}
#else
typedef int r1_no_gfni_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
