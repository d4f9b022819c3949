/* x86_avx512_r8: the AVX-512 (VNNI) matvecs for interleaved Q4_K, Q8_0 and
 * Q4_0 weights (core/repack.h) against fewer activation rows than the GEMM takes
 * (decode, small batches). Each 64-byte load holds 8 codes of each of 8
 * rows once paired (x86_r8z.h), and 8 activation bytes broadcast to every
 * 64-bit lane meet them in one instruction:
 *  - Q4_K: vpmaddubsw, the 4 of a sub-block summed in int16, then one
 *    vpdpwssd applies the 8 rows' sub-block scales, so a super-block of 8
 *    rows costs 16 loads, 16 vpermd, 48 nibble operations (32 with GFNI:
 *    x86_avx512_r8_gfni.c), 32 vpmaddubsw,
 *    24 vpaddw and 8 vpdpwssd per activation row, against a
 *    horizontal sum per row and sub-block broadcasts for the row-major
 *    kernel;
 *  - Q8_0: vpdpbusd on the codes + 128 (one vpxord), the extra 128 sum(x)
 *    taken off where the block sum starts, as in the GEMM;
 *  - Q4_0: vpdpbusd on the nibbles, the -8 sum(x) likewise.
 * A block's sums and scaling are the GEMM tile's (tile_q4_K, tile_q8_0 in
 * x86_avx512_qgemm.c) operation for operation, so a row gets the same bits
 * in decode as in a batch (Q4_0, which has no GEMM: in any group of
 * activation rows), and any split of the rows the same bits too. */
#if defined(__x86_64__)
#include "kernels/tables.h"
#include "kernels/x86_avx512_r8.h"
#include "kernels/x86_r8_driver.h"

/* acc[r] += block p of 8 Q8_0 rows against activation block x[r * nb], r < nx. */
INLINE void block_q8_0(__m512 *acc, const r1_block_q8_0_r8 *p, const r1_act_q8 *x, int64_t nb, int nx) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    stream_prefetch_at(p, PF_AHEAD, 5); /* 272 bytes: 4.25 lines a block */
    __m512i w[4];
    #pragma GCC unroll 4
    for (int c = 0; c < 4; c++) w[c] = _mm512_xor_si512(r8z_pair(p->qs[2 * c]), flip);
    __m512 dw = r8z_f16x2(p->d);
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) {
        const r1_act_q8 *xb = &x[r * nb];
        __m512i s = _mm512_set1_epi32(-64 * xb->sum);
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) s = _mm512_dpbusd_epi32(s, w[c], _mm512_set1_epi64(load64(xb->qs + 8 * c)));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(xb->d)), acc[r]);
    }
}

/* As block_q8_0 for Q4_0 (codes 0..15 standing for q - 8): the paired low
 * nibbles are codes 8v .. 8v+7 of each row, the high nibbles 16 + 8v ..;
 * the -8 sum(x) starts the block sum, half in each of the row's two lanes. */
INLINE void block_q4_0(__m512 *acc, const r1_block_q4_0_r8 *p, const r1_act_q8 *x, int64_t nb, int nx) {
    const __m512i lo4 = _mm512_set1_epi8(15);
    stream_prefetch_at(p, PF_AHEAD, 3); /* 144 bytes: 2.25 lines a block */
    __m512i lo[2], hi[2];
    #pragma GCC unroll 2
    for (int v = 0; v < 2; v++) {
        __m512i raw = r8z_pair(p->qs[2 * v]);
        lo[v] = _mm512_and_si512(raw, lo4);
        hi[v] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), lo4);
    }
    __m512 dw = r8z_f16x2(p->d);
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) {
        const r1_act_q8 *xb = &x[r * nb];
        __m512i s = _mm512_set1_epi32(-4 * xb->sum);
        #pragma GCC unroll 2
        for (int v = 0; v < 2; v++) {
            s = _mm512_dpbusd_epi32(s, lo[v], _mm512_set1_epi64(load64(xb->qs + 8 * v)));
            s = _mm512_dpbusd_epi32(s, hi[v], _mm512_set1_epi64(load64(xb->qs + 16 + 8 * v)));
        }
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(xb->d)), acc[r]);
    }
}

#define R8Z_KERNELS(T, wblock, xblock, QB)                                                                         \
    R8Z_GROUP(T, wblock, xblock)                                                                                   \
    R8Z_DECODE(decode_##T, T, wblock, xblock, PARTS)                                                               \
    R8_QMATMUL(r1_qmatmul_##T##_r8_avx512, T, wblock, xblock, QB)

/* Q4_K: 4 parts on Intel (see PARTS), and the GFNI build where the CPU has
 * GFNI, chosen per call from the cached CPUID. */
R8Z_GROUP(q4_K, r1_block_q4_K_r8, r1_act_q8K)
R8Z_DECODE(decode_q4_K_2, q4_K, r1_block_q4_K_r8, r1_act_q8K, 2)
R8Z_DECODE(decode_q4_K_4, q4_K, r1_block_q4_K_r8, r1_act_q8K, 4)
static void decode_q4_K(float *y, const r1_block_q4_K_r8 *w, const r1_act_q8K *x, int64_t nb, int64_t g0, int64_t g1) {
    const r1_cpu *c = r1_cpu_get();
    if (c->gfni)
        r1_avx512_decode_q4_K_gfni(y, w, x, nb, g0, g1);
    else
        (c->intel ? decode_q4_K_4 : decode_q4_K_2)(y, w, x, nb, g0, g1);
}
R8_QMATMUL(r1_qmatmul_q4_K_r8_avx512, q4_K, r1_block_q4_K_r8, r1_act_q8K, 256)
R8Z_KERNELS(q8_0, r1_block_q8_0_r8, r1_act_q8, 32)
R8Z_KERNELS(q4_0, r1_block_q4_0_r8, r1_act_q8, 32)

#else
typedef int r1_no_avx512_r8_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
