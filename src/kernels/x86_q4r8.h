/* x86_q4r8: unpacking the scales of an interleaved Q4_K block (core/repack.h)
 * for 8 rows at once, shared by the AVX2 matvec (x86_avx2_r8.c), the
 * GEMM's panel packing (x86_avx2_qgemm.c) and, widened, the AVX-512 kernels
 * (x86_r8z.h). Row j's three scale words sit in
 * dword j of three vectors, so r1_q4_K_scales8's word arithmetic runs on all
 * 8 rows in a few instructions; vpshufb then spreads one byte of every dword
 * into the int16 pairs that vpmaddwd multiplies (row j in dword j). */
#ifndef R1_X86_Q4R8_H
#define R1_X86_Q4R8_H

#include <immintrin.h>

#include "core/repack.h"

/* Byte i (0..3) of dword j of: sc[0] scales 0-3, sc[1] scales 4-7, mn[0]
 * mins 0-3, mn[1] mins 4-7 of row j. */
typedef struct {
    __m256i sc[2], mn[2];
} q4r8_scales;

static inline __attribute__((always_inline)) q4r8_scales q4r8_unpack(const r1_block_q4_K_r8 *p) {
    const __m256i m6 = _mm256_set1_epi8(0x3f), m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    __m256i u0 = _mm256_loadu_si256((const __m256i *)p->sc[0]);
    __m256i u1 = _mm256_loadu_si256((const __m256i *)p->sc[1]);
    __m256i u2 = _mm256_loadu_si256((const __m256i *)p->sc[2]);
    q4r8_scales s;
    s.sc[0] = _mm256_and_si256(u0, m6);
    s.mn[0] = _mm256_and_si256(u1, m6);
    s.sc[1] = _mm256_or_si256(_mm256_and_si256(u2, m4),
                              _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u0, 6), m2), 4));
    s.mn[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 4), m4),
                              _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u1, 6), m2), 4));
    return s;
}

/* Bytes a and b (0..3) of every dword of v as the int16 pair (v.a, v.b). */
static inline __attribute__((always_inline)) __m256i q4r8_pair(__m256i v, int a, int b) {
    const char z = (char)0x80; /* vpshufb: zero */
    __m256i idx = _mm256_setr_epi8((char)a, z, (char)b, z, (char)(4 + a), z, (char)(4 + b), z, (char)(8 + a), z,
                                   (char)(8 + b), z, (char)(12 + a), z, (char)(12 + b), z, (char)a, z, (char)b, z,
                                   (char)(4 + a), z, (char)(4 + b), z, (char)(8 + a), z, (char)(8 + b), z,
                                   (char)(12 + a), z, (char)(12 + b), z);
    return _mm256_shuffle_epi8(v, idx);
}

/* Sub-block s's scale of each row, twice: (sc_s, sc_s). */
static inline __attribute__((always_inline)) __m256i q4r8_scale(const q4r8_scales *s, int sb) {
    return q4r8_pair(s->sc[sb / 4], sb % 4, sb % 4);
}

/* Mins 2h and 2h+1 of each row: (m_2h, m_2h+1). */
static inline __attribute__((always_inline)) __m256i q4r8_mins(const q4r8_scales *s, int h) {
    return q4r8_pair(s->mn[h / 2], 2 * (h % 2), 2 * (h % 2) + 1);
}

#endif
