/* x86_avx2_r8: the AVX2 matvecs for interleaved Q4_K, Q8_0, Q4_0 and Q6_K
 * weights (core/repack.h) against 1-23 activation rows (decode, small
 * batches; the Q4_K / Q6_K GEMMs in x86_avx2_qgemm.c take more; Q8_0 and
 * Q4_0 have none). A 32-byte load holds 4 codes of each
 * of 8 rows; 4 activation bytes broadcast to every lane meet them in one
 * vpmaddubsw, and the lanes end as the 8 outputs (no horizontal sums).
 *
 * Q4_K: the low and high nibbles of a load are sub-blocks 2c and 2c+1. The
 * 8 groups of a chunk sum in int16 (each pair is at most 2 * 15 * 128, eight
 * of them 30720 < 2^15), so one vpmaddwd per sub-block applies the 8 rows'
 * scales: 9 multiplies per row and block against 17 in the row-major
 * dot_q4_K. Q8_0: |w| against x with w's sign (vpsignb), as dot_q8_0, the
 * 8 rows' f16 scales converted as one vector per block. Q4_0: the codes
 * (0..15) against x, the -8 from the activation block sums.
 * Block sums are exact int32; the f32 order over blocks is fixed per
 * output, so any split of the rows gives the same bits. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "core/status.h"
#include "kernels/tables.h"
#define STREAM_PF_BYTES 1024 /* Zen 3: x86_stream.h; Q4_K reads 1 KB further */
#include "kernels/x86_stream.h"
#include "kernels/x86_q4r8.h"
#include "kernels/x86_q6r8.h"
#include "kernels/x86_r8_driver.h"

#define INLINE static inline __attribute__((always_inline))

/* Decode reads each weight byte from DRAM once, and a core reads faster from
 * several distant places at once (see matvec in x86_avx2.c): one activation
 * row takes PARTS groups of 8 rows from as many contiguous parts of its rows,
 * a block of each in turn. A group's sum over its blocks keeps its order, so
 * the bits do not depend on the parts. Decode of qwen2-1.5B-4L, Zen 3, best
 * of 3 alternated runs, 1 thread / 2 threads, tok/s:
 *  - q8_0: 1 part 46-48 / 76-82, 2 parts 57-60 / 93-101, 3 parts 62-64 /
 *    102-109, 4 parts 59-64 / 97-99, 6 parts 53-56 / 88-91;
 *  - q4_0: row-major 45 / 85-86, 1 part 77 / 138-142, 2 parts 98-101 /
 *    168-175, 3 parts 100-110 / 177-185, 4 parts 103-110 / 179-187;
 *  - q6_K: row-major 45-47 / 83-86, 1 part 47-48, 2 parts 53 / 73-93, 3
 *    parts 51-52 / 89-91;
 *  - Q4_K does more arithmetic per byte and was slower in parts (4 parts
 *    77-79 against 83-86 at 1 thread, no change at 2): one stream. */
enum { Q8_PARTS = 3, Q4_0_PARTS = 4, Q6_PARTS = 2 };

static inline int32_t load32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The int16 pair (lo, hi) as one dword. */
static inline int32_t pair16(int16_t lo, int16_t hi) {
    return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

/* vpshufb indices: int16 half hh of every dword, twice. */
static inline __m256i dup16(int hh) {
    const char a = (char)(2 * hh), b = (char)(2 * hh + 1);
    return _mm256_setr_epi8(a, b, a, b, (char)(4 + a), (char)(4 + b), (char)(4 + a), (char)(4 + b), (char)(8 + a),
                            (char)(8 + b), (char)(8 + a), (char)(8 + b), (char)(12 + a), (char)(12 + b), (char)(12 + a),
                            (char)(12 + b), a, b, a, b, (char)(4 + a), (char)(4 + b), (char)(4 + a), (char)(4 + b),
                            (char)(8 + a), (char)(8 + b), (char)(8 + a), (char)(8 + b), (char)(12 + a), (char)(12 + b),
                            (char)(12 + a), (char)(12 + b));
}

/* 8 outputs (rows of one group) for nx activation rows (1 or 2) at y,
 * y + ldy: w is the group's nb blocks, x the first activation row. */
INLINE void group_q4_K(float *y, int64_t ldy, const r1_block_q4_K_r8 *w, const r1_act_q8K *x, int64_t nb, int nx) {
    const __m256i lo4 = _mm256_set1_epi8(15);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const r1_block_q4_K_r8 *p = &w[b];
        /* 2 KB ahead: Q4_K FFN and lm_head matrices from DRAM, one Zen 3
         * thread, ran 2-8% faster than at 1 KB, and 3 KB was slower (Q8_0 is
         * best at 1 KB) */
        stream_prefetch((const char *)p + 1024, (int)(sizeof *p / 64));
        q4r8_scales s = q4r8_unpack(p);
        __m256i isum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            /* chunk c: low nibbles are sub-block 2c (activations from
             * r1_act_q4_K_pos(64c)), high nibbles sub-block 2c+1 */
            const int lo_at = r1_act_q4_K_pos(64 * c), hi_at = r1_act_q4_K_pos(64 * c + 32);
            __m256i al[2], ah[2];
            #pragma GCC unroll 8
            for (int g = 0; g < 8; g++) {
                __m256i raw = _mm256_loadu_si256((const __m256i *)p->qs[c][g]);
                __m256i ql = _mm256_and_si256(raw, lo4), qh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4);
                #pragma GCC unroll 2
                for (int r = 0; r < nx; r++) {
                    const int8_t *xq = x[r * nb + b].qs;
                    __m256i pl = _mm256_maddubs_epi16(ql, _mm256_set1_epi32(load32(xq + lo_at + 4 * g)));
                    __m256i ph = _mm256_maddubs_epi16(qh, _mm256_set1_epi32(load32(xq + hi_at + 4 * g)));
                    al[r] = g ? _mm256_add_epi16(al[r], pl) : pl;
                    ah[r] = g ? _mm256_add_epi16(ah[r], ph) : ph;
                }
            }
            __m256i s0 = q4r8_scale(&s, 2 * c), s1 = q4r8_scale(&s, 2 * c + 1);
            #pragma GCC unroll 2
            for (int r = 0; r < nx; r++)
                isum[r] = _mm256_add_epi32(isum[r], _mm256_add_epi32(_mm256_madd_epi16(al[r], s0),
                                                                      _mm256_madd_epi16(ah[r], s1)));
        }
        __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->d));
        __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->dmin));
        #pragma GCC unroll 2
        for (int r = 0; r < nx; r++) {
            const r1_act_q8K *xb = &x[r * nb + b];
            __m256i msum = _mm256_setzero_si256();
            #pragma GCC unroll 4
            for (int h = 0; h < 4; h++) /* mins: (m_2h, m_2h+1) . (bsum_2h, bsum_2h+1) per row */
                msum = _mm256_add_epi32(msum, _mm256_madd_epi16(q4r8_mins(&s, h),
                                                                _mm256_set1_epi32(load32(xb->bsums32 + 2 * h))));
            __m256 dx = _mm256_set1_ps(xb->d);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_mul_ps(d, dx), acc[r]);
            acc[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin, dx), acc[r]);
        }
    }
    #pragma GCC unroll 2
    for (int r = 0; r < nx; r++) _mm256_storeu_ps(y + r * ldy, acc[r]);
}

/* y[n, m] for m in [m0, m1) (multiples of 8): per group of 8 weight rows,
 * the activation rows two at a time while the group's blocks stay in cache. */
void r1_qmatmul_q4_K_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1) {
    R1_ASSERT(m0 % 8 == 0 && m1 % 8 == 0); /* whole groups: the splits are multiples of 16, M of 8 */
    int64_t nb = K / 256;
    const r1_block_q4_K_r8 *wr = w;
    const r1_act_q8K *x = xq;
    /* the first 2 KB, which the blocks' prefetch skips: 256-row calls in
     * random order (a MoE step's tiles) went from 20-22 to 22-24 GB/s at 1
     * thread (the avx2 table on Zen 5; not measured on Zen 3) */
    if (m0 < m1) stream_prefetch_at(wr + (m0 / 8) * nb, 0, 2048 / 64);
    for (int64_t m = m0; m < m1; m += 8)
        for (int64_t n = 0; n < N; n += 2) {
            if (N - n >= 2)
                group_q4_K(y + n * ldy + m, ldy, wr + (m / 8) * nb, x + n * nb, nb, 2);
            else
                group_q4_K(y + n * ldy + m, ldy, wr + (m / 8) * nb, x + n * nb, nb, 1);
        }
}

/* Block p of one group of 8 Q8_0 rows against nx activation rows (1..4):
 * acc[r] += the 8 rows' products with activation block x[r * nb]. */
INLINE void block_q8_0(__m256 *acc, const r1_block_q8_0_r8 *p, const r1_act_q8 *x, int64_t nb, int nx) {
    const __m256i ones = _mm256_set1_epi16(1);
    stream_prefetch(p, 5); /* 272 bytes: 4.25 lines a block */
    __m256i isum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                       _mm256_setzero_si256()};
    #pragma GCC unroll 8
    for (int g = 0; g < 8; g++) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)p->qs[g]), aw = _mm256_abs_epi8(wv);
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++) {
            __m256i xs = _mm256_sign_epi8(_mm256_set1_epi32(load32(x[r * nb].qs + 4 * g)), wv);
            isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, xs), ones));
        }
    }
    __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->d));
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++)
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_mul_ps(d, _mm256_set1_ps(x[r * nb].d)), acc[r]);
}

/* As block_q8_0 for Q4_0 (codes 0..15 standing for q - 8): a load's low
 * nibbles are codes 4g.., its high nibbles codes 16 + 4g... A block's 8
 * products per row sum in int16 (each pair at most 2 * 15 * 128, eight of
 * them 30720 < 2^15); the -8 comes from the activation block sum. */
INLINE void block_q4_0(__m256 *acc, const r1_block_q4_0_r8 *p, const r1_act_q8 *x, int64_t nb, int nx) {
    const __m256i lo4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    stream_prefetch(p, 3); /* 144 bytes: 2.25 lines a block */
    __m256i s16[4];
    #pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)p->qs[g]);
        __m256i ql = _mm256_and_si256(raw, lo4), qh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4);
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++) {
            const int8_t *xq = x[r * nb].qs;
            __m256i pl = _mm256_maddubs_epi16(ql, _mm256_set1_epi32(load32(xq + 4 * g)));
            __m256i ph = _mm256_maddubs_epi16(qh, _mm256_set1_epi32(load32(xq + 16 + 4 * g)));
            __m256i pg = _mm256_add_epi16(pl, ph);
            s16[r] = g ? _mm256_add_epi16(s16[r], pg) : pg;
        }
    }
    __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->d));
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) {
        __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s16[r], ones), _mm256_set1_epi32(8 * x[r * nb].sum));
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, _mm256_set1_ps(x[r * nb].d)), acc[r]);
    }
}

/* For a type T with a block_T over 32-element blocks (Q8_0, Q4_0):
 *  - group_T: the 8 outputs of one group for nx activation rows (1..4);
 *  - decode_T: groups [g0, g1) for one activation row, PARTS groups from
 *    distant parts at a time, a block of each in turn, then the groups left
 *    over one at a time;
 *  - the table's kernel from them (x86_r8_driver.h). */
#define R8_Q8_KERNELS(T, wblock, PARTS)                                                                             \
    INLINE void group_##T(float *y, int64_t ldy, const wblock *w, const r1_act_q8 *x, int64_t nb, int nx) {        \
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};      \
        for (int64_t b = 0; b < nb; b++) block_##T(acc, &w[b], x + b, nb, nx);                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < nx; r++) _mm256_storeu_ps(y + r * ldy, acc[r]);               \
    }                                                                                                              \
    static void decode_##T(float *y, const wblock *w, const r1_act_q8 *x, int64_t nb, int64_t g0, int64_t g1) {    \
        const int64_t h = (g1 - g0) / PARTS;                                                                       \
        for (int64_t i = 0; i < h; i++) {                                                                          \
            __m256 acc[PARTS];                                                                                     \
            const wblock *p[PARTS];                                                                                \
            _Pragma("GCC unroll 8") for (int s = 0; s < PARTS; s++) {                                              \
                acc[s] = _mm256_setzero_ps();                                                                      \
                p[s] = w + (g0 + s * h + i) * nb;                                                                  \
            }                                                                                                      \
            for (int64_t b = 0; b < nb; b++)                                                                       \
                _Pragma("GCC unroll 8") for (int s = 0; s < PARTS; s++) block_##T(&acc[s], p[s] + b, x + b, nb, 1); \
            _Pragma("GCC unroll 8") for (int s = 0; s < PARTS; s++)                                                \
                _mm256_storeu_ps(y + 8 * (g0 + s * h + i), acc[s]);                                                \
        }                                                                                                          \
        for (int64_t g = g0 + PARTS * h; g < g1; g++) group_##T(y + 8 * g, 0, w + g * nb, x, nb, 1);               \
    }                                                                                                              \
    R8_QMATMUL(r1_qmatmul_##T##_r8_avx2, T, wblock, r1_act_q8, 32)

R8_Q8_KERNELS(q8_0, r1_block_q8_0_r8, Q8_PARTS)
R8_Q8_KERNELS(q4_0, r1_block_q4_0_r8, Q4_0_PARTS)

/* ---- Q6_K: codes 0..63 stand for q - 32 ----
 * Per half and group q of 4 ql / qh bytes, the 4 code vectors (x86_q6r8.h);
 * the two groups of a 16-element sub-block sum in int16 (each pair at most
 * 2 * 63 * 128, two of them 32256 < 2^15), one vpmaddwd applies the 8 rows'
 * scales, sign-extended from the stored bytes as int16 pairs. The -32 offset
 * is 32 sum_s sc_s bsum_s. noinline: inlined next to another block (the
 * decode's parts) gcc spilled the block's values to the stack. */
static __attribute__((noinline)) __m256 block_q6_K(__m256 acc, const r1_block_q6_K_r8 *p, const r1_act_q8K *x) {
    stream_prefetch((const char *)p + 1024, (int)(sizeof *p / 64));
    /* scales 4m, 4m+2 (ev) and 4m+1, 4m+3 (od) of row j as the int16 pair in dword j */
    __m256i ev[4], od[4], off = _mm256_setzero_si256();
    #pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p->sc[m]);
        ev[m] = _mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8);
        od[m] = _mm256_srai_epi16(v, 8);
        const int16_t *bs = x->bsums + 4 * m;
        off = _mm256_add_epi32(off, _mm256_madd_epi16(ev[m], _mm256_set1_epi32(pair16(bs[0], bs[2]))));
        off = _mm256_add_epi32(off, _mm256_madd_epi16(od[m], _mm256_set1_epi32(pair16(bs[1], bs[3]))));
    }
    __m256i isum = _mm256_setzero_si256();
    #pragma GCC unroll 2
    for (int h = 0; h < 2; h++)
        #pragma GCC unroll 4
        for (int pq = 0; pq < 4; pq++) { /* groups 2pq, 2pq+1: sub-blocks 8h + pq/2 + 2i for i = 0..3 */
            __m256i s16[4];
            #pragma GCC unroll 2
            for (int t = 0; t < 2; t++) {
                const int q = 2 * pq + t;
                __m256i c[4];
                q6r8_codes(p, h, q, c);
                const int8_t *xq = x->qs + 128 * h + 4 * q;
                #pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    __m256i pr = _mm256_maddubs_epi16(c[i], _mm256_set1_epi32(load32(xq + 32 * i)));
                    s16[i] = t ? _mm256_add_epi16(s16[i], pr) : pr;
                }
            }
            #pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                const int sb = 8 * h + pq / 2 + 2 * i, m = sb / 4, k = sb % 4;
                __m256i sc = _mm256_shuffle_epi8(k % 2 ? od[m] : ev[m], dup16(k / 2));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(s16[i], sc));
            }
        }
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 5));
    __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->d));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, _mm256_set1_ps(x->d)), acc);
}

/* The 8 outputs of group g for one activation row x. */
static void group_q6_K(float *y, const r1_block_q6_K_r8 *w, const r1_act_q8K *x, int64_t nb, int64_t g) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) acc = block_q6_K(acc, w + g * nb + b, x + b);
    _mm256_storeu_ps(y + 8 * g, acc);
}

/* Groups [g0, g1) for one activation row: Q6_PARTS groups from distant parts
 * at a time, a block of each in turn, then the groups left over. */
static void decode_q6_K(float *y, const r1_block_q6_K_r8 *w, const r1_act_q8K *x, int64_t nb, int64_t g0,
                        int64_t g1) {
    const int64_t h = (g1 - g0) / Q6_PARTS;
    for (int64_t i = 0; i < h; i++) {
        __m256 acc[Q6_PARTS];
        for (int s = 0; s < Q6_PARTS; s++) acc[s] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++)
            for (int s = 0; s < Q6_PARTS; s++) acc[s] = block_q6_K(acc[s], w + (g0 + s * h + i) * nb + b, x + b);
        for (int s = 0; s < Q6_PARTS; s++) _mm256_storeu_ps(y + 8 * (g0 + s * h + i), acc[s]);
    }
    for (int64_t g = g0 + Q6_PARTS * h; g < g1; g++) group_q6_K(y, w, x, nb, g);
}

/* y[n, m] for m in [m0, m1) (multiples of 8), N below the GEMM's threshold:
 * decode, or per group of 8 weight rows every activation row while the
 * group's blocks stay in cache (the same block sums in the same order, so a
 * row gets the bits decode gives it). */
void r1_qmatmul_q6_K_r8_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                             int64_t m1) {
    R1_ASSERT(m0 % 8 == 0 && m1 % 8 == 0);
    int64_t nb = K / 256;
    const r1_act_q8K *x = xq;
    if (N == 1) {
        decode_q6_K(y, w, x, nb, m0 / 8, m1 / 8);
        return;
    }
    for (int64_t g = m0 / 8; g < m1 / 8; g++)
        for (int64_t n = 0; n < N; n++) group_q6_K(y + n * ldy, w, x + n * nb, nb, g);
}

#else
typedef int r1_no_avx2_r8_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
