/* x86_r8z: interleaved Q4_K and Q8_0 blocks (core/repack.h) in the 512-bit
 * register layout of the AVX-512 GEMM's packed panels (pk_q4_K, pk_q8_0 in
 * x86_avx512_qgemm.c), shared by the AVX-512 matvecs (x86_avx512_r8.c) and
 * the GEMM's panel packing. In that layout a vector holds 8 consecutive
 * codes of each of the 8 rows (row j in bytes 8j .. 8j+7), so 8 activation
 * bytes broadcast to every 64-bit lane meet them in one vpmaddubsw or
 * vpdpbusd, and int16 lanes 4j .. 4j+3 carry row j's Q4_K scale into
 * vpdpwssd. The interleaved block holds 4 bytes of each row per 32: one
 * vpermd of 64 bytes pairs them. */
#ifndef R1_X86_R8Z_H
#define R1_X86_R8Z_H

#include <immintrin.h>

#include "core/repack.h"
#include "kernels/x86_q4r8.h"

/* Groups g and g+1 of 8 rows (64 bytes at p: row j's dword in each 32)
 * with row j's two dwords brought together in dwords 2j, 2j+1. */
static inline __attribute__((always_inline)) __m512i r8z_pair(const void *p) {
    const __m512i pair = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    return _mm512_permutexvar_epi32(pair, _mm512_loadu_si512(p));
}

/* Q4_K: sub-block 2c's codes (lo, the low nibbles) and 2c+1's (hi),
 * elements 8v .. 8v+7 of each row (groups 2v and 2v+1 of chunk c). */
static inline __attribute__((always_inline)) void r8z_q4_K_codes(const r1_block_q4_K_r8 *p, int c, int v, __m512i *lo,
                                                                 __m512i *hi) {
    const __m512i lo4 = _mm512_set1_epi8(15);
    __m512i raw = r8z_pair(p->qs[c][2 * v]);
    *lo = _mm512_and_si512(raw, lo4);
#if defined(__GFNI__) /* x86_avx512_r8_gfni.c: bit i of each byte from bit i + 4, the top 4 cleared */
    *hi = _mm512_gf2p8affine_epi64_epi8(raw, _mm512_set1_epi64(0x1020408000000000LL), 0);
#else
    *hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), lo4);
#endif
}

/* The 8 rows' 6-bit scales and mins as int16: sc[i] word 4j + t is scale
 * 4i + t of row j, mn[i] word 4j + t min 4i + t (q4r8_unpack's bytes,
 * widened). */
typedef struct {
    __m512i sc[2], mn[2];
} r8z_q4_K_scales;

static inline __attribute__((always_inline)) r8z_q4_K_scales r8z_q4_K_unpack(const r1_block_q4_K_r8 *p) {
    q4r8_scales b = q4r8_unpack(p);
    r8z_q4_K_scales s;
    for (int i = 0; i < 2; i++) s.sc[i] = _mm512_cvtepu8_epi16(b.sc[i]), s.mn[i] = _mm512_cvtepu8_epi16(b.mn[i]);
    return s;
}

/* Sub-block sb's scale of row j in int16 lanes 4j .. 4j+3. */
static inline __attribute__((always_inline)) __m512i r8z_q4_K_scale(const r8z_q4_K_scales *s, int sb) {
    const long long w = 0x0001000100010001LL * (sb % 4), four = 0x0004000400040004LL; /* word 4j+u: 4j + sb%4 */
    const __m512i idx = _mm512_setr_epi64(w, w + four, w + 2 * four, w + 3 * four, w + 4 * four, w + 5 * four,
                                          w + 6 * four, w + 7 * four);
    return _mm512_permutexvar_epi16(idx, s->sc[sb / 4]);
}

/* 8 f16 scales (one per row) as 16 f32 lanes, row j in lanes 2j and 2j+1. */
static inline __attribute__((always_inline)) __m512 r8z_f16x2(const uint16_t h[8]) {
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    return _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h))));
}

#endif
