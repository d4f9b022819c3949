/* x86_avx512_r8.h: the pieces of the AVX-512 interleaved matvecs that two
 * translation units share: x86_avx512_r8.c (every type) and
 * x86_avx512_r8_gfni.c, the Q4_K decode compiled with GFNI, whose byte
 * affine transform takes a byte's high nibble in one instruction
 * (r8z_q4_K_codes) where the CPU has it. Include only from files built with
 * the AVX-512 flags. */
#ifndef R1_X86_AVX512_R8_H
#define R1_X86_AVX512_R8_H

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/x86_r8z.h"
#include "kernels/x86_stream.h"

#define INLINE static inline __attribute__((always_inline))

/* Decode reads each weight byte from DRAM once, and a core reads faster from
 * several distant places at once (see matvec in x86_avx512.c): one
 * activation row takes PARTS groups of 8 rows from as many contiguous parts
 * of the rows, a block of each in turn, each prefetched PF_AHEAD bytes
 * ahead. qwen2-1.5B-4L decode, Zen 5, 1 thread, tok/s over alternated
 * rounds, best of 3 each:
 *  - q4_K (row-major before: 121-123): 1 part 2 / 6 / 8 / 12 KB ahead
 *    117-145 / 150-162 / 128-144 / 108-130; 2 parts 1 / 2 / 4 / 6 KB ahead
 *    157-162 / 143-163 / 144-158 / 146-148; 3 parts 145-163; 4 parts
 *    148-154 (the roofline there was 160, at 38-39 GB/s);
 *  - q8_0, medians of 6 rounds (row-major 79.3): 1 part 6 KB ahead 78.0;
 *    2 parts 2 / 4 KB ahead 85.2 / 82.0; 3 parts 1 KB ahead 83.0.
 * An Intel core (Emerald Rapids VM) reads Q4_K a little faster from 4 parts:
 * a /tmp loop over 288 KB expert matrices in random order, 2 and 4 parts
 * alternated over 7 rounds, read a mean 13.5 / 14.2 GB/s at 1 thread (4
 * parts ahead in 5 rounds) and 22.6 / 23.3 at 2; 36 MB matrices, 3 rounds,
 * 14.2 / 14.4 and 24.5 / 27.5 (session 11, 1 thread: 14.2 / 14.7-14.9).
 * Q8_0, whose blocks take fewer operations a byte, did not gain (1 thread
 * 15.6-15.9 / 13.4-15.9), nor Q4_K on Zen 5 above, so only Q4_K on Intel
 * takes 4 (decode_q4_K in x86_avx512_r8.c). */
enum { PARTS = 2, PF_AHEAD = 2048 };

static inline int64_t load64(const void *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* acc[r] += super-block p of 8 rows against activation block x[r * nb], for
 * r < nx (1..4). */
INLINE void block_q4_K(__m512 *acc, const r1_block_q4_K_r8 *p, const r1_act_q8K *x, int64_t nb, int nx) {
    stream_prefetch_at(p, PF_AHEAD, (int)(sizeof *p / 64));
    r8z_q4_K_scales s = r8z_q4_K_unpack(p);
    /* CH chains per activation row: one vpdpwssd chain through a block (32
     * products long before the int16 sums, 8 now) bounded the matvec by its
     * latency */
    const int CH = nx == 1 ? 4 : 2;
    __m512i isum[4][4];
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++)
        #pragma GCC unroll 4
        for (int h = 0; h < CH; h++) isum[r][h] = _mm512_setzero_si512();
    #pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512i s0 = r8z_q4_K_scale(&s, 2 * c), s1 = r8z_q4_K_scale(&s, 2 * c + 1);
        const int lo_at = r1_act_q4_K_pos(64 * c), hi_at = r1_act_q4_K_pos(64 * c + 32);
        __m512i plo[4], phi[4]; /* the sub-blocks' int16 pair sums, as in tile_q4_K */
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            __m512i lo, hi;
            r8z_q4_K_codes(p, c, v, &lo, &hi);
            #pragma GCC unroll 4
            for (int r = 0; r < nx; r++) {
                const int8_t *xq = x[r * nb].qs;
                __m512i pl = _mm512_maddubs_epi16(lo, _mm512_set1_epi64(load64(xq + lo_at + 8 * v)));
                __m512i ph = _mm512_maddubs_epi16(hi, _mm512_set1_epi64(load64(xq + hi_at + 8 * v)));
                plo[r] = v ? _mm512_add_epi16(plo[r], pl) : pl;
                phi[r] = v ? _mm512_add_epi16(phi[r], ph) : ph;
            }
        }
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++)
            isum[r][c % CH] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[r][c % CH], plo[r], s0), phi[r], s1);
    }
    __m512 d = r8z_f16x2(p->d), dmin = r8z_f16x2(p->dmin);
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) {
        const r1_act_q8K *xb = &x[r * nb];
        __m512i ms = _mm512_dpwssd_epi32(_mm512_setzero_si512(), s.mn[0], _mm512_set1_epi64(load64(xb->bsums32)));
        ms = _mm512_dpwssd_epi32(ms, s.mn[1], _mm512_set1_epi64(load64(xb->bsums32 + 4)));
        __m512i is = isum[r][0]; /* exact: the chains' order does not matter */
        #pragma GCC unroll 4
        for (int h = 1; h < CH; h++) is = _mm512_add_epi32(is, isum[r][h]);
        __m512 t = _mm512_fmsub_ps(_mm512_cvtepi32_ps(is), d, _mm512_mul_ps(_mm512_cvtepi32_ps(ms), dmin));
        acc[r] = _mm512_fmadd_ps(t, _mm512_set1_ps(xb->d), acc[r]);
    }
}

/* The 8 outputs of a row's accumulator: lane 2j + lane 2j+1 (store_tile's sum). */
INLINE void store8(float *y, __m512 acc) {
    __m512 t = _mm512_add_ps(acc, _mm512_permute_ps(acc, 0xb1));
    _mm256_storeu_ps(y, _mm512_castps512_ps256(_mm512_maskz_compress_ps(0x5555, t)));
}

/* For a type T with block_T(acc, p, x, nb, nx):
 *  - group_T: the 8 outputs of one group for nx activation rows (1..4) at
 *    y, y + ldy, ...: w is the group's nb blocks, x the first activation row;
 *  - decode_T: groups [g0, g1) for one activation row, NP groups (PARTS, or
 *    4 for Q4_K on Intel) from as many distant parts at a time, a block of
 *    each in turn, then the groups left over one at a time. Each part's
 *    first PF_AHEAD bytes are prefetched at the start, as the blocks
 *    prefetch the bytes after them: a MoE decode
 *    step is many short products (a 256-row tile of an expert), and Q4_K
 *    calls on 1024-wide matrices in random order went, 1 / 2 threads, from
 *    19 / 38 to 22-24 / 50 GB/s at 64 rows a call, 30-34 / 63-71 to
 *    35-38 / 72-77 at 256 rows, 36 / 75-77 to 38-39 / 76-78 at 512 (Zen 5);
 *  - the table's kernel from them (x86_r8_driver.h). */
#define R8Z_GROUP(T, wblock, xblock)                                                                               \
    INLINE void group_##T(float *y, int64_t ldy, const wblock *w, const xblock *x, int64_t nb, int nx) {           \
        __m512 acc[4];                                                                                             \
        _Pragma("GCC unroll 4") for (int r = 0; r < nx; r++) acc[r] = _mm512_setzero_ps();                        \
        for (int64_t b = 0; b < nb; b++) block_##T(acc, &w[b], x + b, nb, nx);                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < nx; r++) store8(y + r * ldy, acc[r]);                         \
    }

#define R8Z_DECODE(name, T, wblock, xblock, NP)                                                                    \
    static void name(float *y, const wblock *w, const xblock *x, int64_t nb, int64_t g0, int64_t g1) {             \
        const int64_t h = (g1 - g0) / NP;                                                                          \
        for (int64_t i = 0; i < h; i++) {                                                                          \
            __m512 acc[NP];                                                                                        \
            const wblock *p[NP];                                                                                   \
            _Pragma("GCC unroll 8") for (int s = 0; s < NP; s++) {                                                 \
                acc[s] = _mm512_setzero_ps();                                                                      \
                p[s] = w + (g0 + s * h + i) * nb;                                                                  \
                if (i == 0) stream_prefetch_at(p[s], 0, PF_AHEAD / 64);                                            \
            }                                                                                                      \
            for (int64_t b = 0; b < nb; b++)                                                                       \
                _Pragma("GCC unroll 8") for (int s = 0; s < NP; s++) block_##T(&acc[s], p[s] + b, x + b, nb, 1);   \
            _Pragma("GCC unroll 8") for (int s = 0; s < NP; s++) store8(y + 8 * (g0 + s * h + i), acc[s]);         \
        }                                                                                                          \
        for (int64_t g = g0 + NP * h; g < g1; g++) group_##T(y + 8 * g, 0, w + g * nb, x, nb, 1);                 \
    }

/* x86_avx512_r8_gfni.c: decode_q4_K (2 or 4 parts as above) built with GFNI;
 * call only where r1_cpu_get()->gfni. */
void r1_avx512_decode_q4_K_gfni(float *y, const r1_block_q4_K_r8 *w, const r1_act_q8K *x, int64_t nb, int64_t g0,
                                int64_t g1);

#endif
