/* x86_q6r8: the code vectors of an interleaved Q6_K block (core/repack.h),
 * shared by the AVX2 matvec (x86_avx2_r8.c) and the GEMM's panel packing
 * (x86_avx2_qgemm.c). One ql byte holds the low 4 bits of elements l (low
 * nibble) and l + 64 (high nibble) of its half, one qh byte the top 2 bits
 * of l, l + 32, l + 64 and l + 96; a group of 4 bytes of 8 rows (row j in
 * dword j) becomes 4 vectors of 6-bit codes in 17 operations. */
#ifndef R1_X86_Q6R8_H
#define R1_X86_Q6R8_H

#include <immintrin.h>

#include "core/repack.h"

/* c[i]: the codes of elements 128h + 32i + 4q .. +3 of each row, i = 0..3. */
static inline __attribute__((always_inline)) void q6r8_codes(const r1_block_q6_K_r8 *p, int h, int q, __m256i c[4]) {
    const __m256i lo4 = _mm256_set1_epi8(15), top2 = _mm256_set1_epi8(0x30);
    __m256i a = _mm256_loadu_si256((const __m256i *)p->ql[h][0][q]);
    __m256i b = _mm256_loadu_si256((const __m256i *)p->ql[h][1][q]);
    __m256i hb = _mm256_loadu_si256((const __m256i *)p->qh[h][q]);
    c[0] = _mm256_or_si256(_mm256_and_si256(a, lo4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), top2));
    c[1] = _mm256_or_si256(_mm256_and_si256(b, lo4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), top2));
    c[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), lo4), _mm256_and_si256(hb, top2));
    c[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), lo4),
                           _mm256_and_si256(_mm256_srli_epi16(hb, 2), top2));
}

#endif
