/* x86_avx2: AVX2 + FMA + F16C kernels, f32 accumulation (16 ymm registers).
 * Same design as x86_avx512.c at 8 lanes:
 *  - N = 1: four weight rows from four distant parts of the rows at a time,
 *    four prefetched streams (one FMA chain each); f32 weights a row at a
 *    time (4 FMA chains), one stream, for their bits (matvec_f32);
 *  - N > 1: a 4x3 register tile (4 X rows x 3 W rows, 12 accumulators), X
 *    blocked to stay in L2, the horizontal sums of a tile row via hadd.
 * AVX2 has no 16-bit masked load, so the K tail (< 8) is summed in scalar and
 * added after the horizontal sum; ragged N and M repeat the last valid row and
 * store only valid lanes (maskstore). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "kernels/tables.h"
#define STREAM_PF_BYTES 1024 /* Zen 3: x86_stream.h */
#include "kernels/x86_stream.h"

#define INLINE static inline __attribute__((always_inline))

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* All-ones in lanes [0, n) of 8 (n may be <= 0 or >= 8). */
static inline __m256i lanes8(int64_t n) {
    int32_t c = n < 0 ? 0 : n > 8 ? 8 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m128i lanes4(int64_t n) { return _mm256_castsi256_si128(lanes8(n)); }

/* w[i .. i+8) widened to f32; t is a constant after inlining. */
INLINE __m256 wload(const void *w, int64_t i, r1_dtype t) {
    if (t == R1_DT_F32) return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (t == R1_DT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INLINE float wget(const void *w, int64_t i, r1_dtype t) {
    if (t == R1_DT_F32) return ((const float *)w)[i];
    if (t == R1_DT_F16) return r1_f16_to_f32(((const uint16_t *)w)[i]);
    return r1_bf16_to_f32(((const uint16_t *)w)[i]);
}

/* Horizontal sums of a, b, c, d as one 4-float vector. */
INLINE __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* Decode reads every weight byte from DRAM once, so its speed is the core's
 * read rate, and one core reads faster from several distant places at once
 * than from one stream: the matvec cuts its rows into VSTREAMS contiguous
 * parts and reads a row of each in lockstep, each part prefetched ahead
 * (x86_stream.h). Zen 3, 1 thread, 151936 x 1536 f16 (qwen2's output
 * matrix): 1 / 2 / 3 / 4 / 6 / 8 parts read 19.6 / 20.7 / 24.6 / 26.9 / 25.9
 * / 20.4 GB/s; 2 threads: 31.8 with 1, 34.8 with 4 each. Reading the parts
 * a whole row at a time in turn gains nothing (17.6-20.6): the lines must be
 * in flight together. */
enum { VSTREAMS = 4 };

/* y[m[s]] = W[m[s]] x for S <= VSTREAMS weight rows (S a constant after
 * inlining). Each row is one accumulator whose lanes sum in k order, reduced
 * as reduce4 does, with the K tail added after: the bits of tile_rx3, so a
 * row's result does not depend on N, on its part or on the thread count. */
INLINE void matvec_rows(float *y, const void *x, r1_dtype xt, const void *w, int64_t K, const int64_t *m, int S,
                        r1_dtype t) {
    const int64_t es = t == R1_DT_F32 ? 4 : 2;
    int64_t row[VSTREAMS];
    __m256 acc[VSTREAMS];
    #pragma GCC unroll 8
    for (int s = 0; s < S; s++) row[s] = m[s] * K, acc[s] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
        #pragma GCC unroll 8
        for (int s = 0; s < S; s++) stream_prefetch((const char *)w + (row[s] + k) * es, (int)(es / 2));
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m256 xv = wload(x, k + 8 * j, xt);
            #pragma GCC unroll 8
            for (int s = 0; s < S; s++) acc[s] = _mm256_fmadd_ps(xv, wload(w, row[s] + k + 8 * j, t), acc[s]);
        }
    }
    for (; k + 8 <= K; k += 8) {
        __m256 xv = wload(x, k, xt);
        #pragma GCC unroll 8
        for (int s = 0; s < S; s++) acc[s] = _mm256_fmadd_ps(xv, wload(w, row[s] + k, t), acc[s]);
    }
    float tail[4] = {0, 0, 0, 0};
    #pragma GCC unroll 8
    for (int s = 0; s < S; s++)
        for (int64_t i = k; i < K; i++) tail[s] += wget(x, i, xt) * wget(w, row[s] + i, t);
    __m256 z = _mm256_setzero_ps();
    float out[4];
    _mm_storeu_ps(out, _mm_add_ps(reduce4(acc[0], S > 1 ? acc[1] : z, S > 2 ? acc[2] : z, S > 3 ? acc[3] : z),
                                  _mm_loadu_ps(tail)));
    #pragma GCC unroll 8
    for (int s = 0; s < S; s++) y[m[s]] = out[s];
}

/* y[m0..m1) = W[m0..m1) x for one activation row, as VSTREAMS parts in
 * lockstep; the rows that do not divide evenly one at a time. */
INLINE void matvec(float *y, const void *x, r1_dtype xt, const void *w, int64_t K, int64_t m0, int64_t m1,
                   r1_dtype t) {
    const int64_t h = (m1 - m0) / VSTREAMS;
    for (int64_t i = 0; i < h; i++) {
        int64_t m[VSTREAMS];
        for (int s = 0; s < VSTREAMS; s++) m[s] = m0 + s * h + i;
        matvec_rows(y, x, xt, w, K, m, VSTREAMS, t);
    }
    for (int64_t r = m0 + VSTREAMS * h; r < m1; r++) matvec_rows(y, x, xt, w, K, &r, 1, t);
}

/* f32 weights keep the earlier matvec, a row at a time with 4 FMA chains in
 * one prefetched stream, and its bits: f32 models are the ones r1 trains, a
 * MoE expert that meets one token in training takes this path, and the
 * other summation order of matvec_rows changed the demo's run (pretraining
 * no longer stopped at the same step; GRPO drifted to direct answers,
 * docs/GRPO.md a11). */
INLINE void matvec_f32(float *y, const float *x, const float *w, int64_t K, int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) {
        const float *row = w + m * K;
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        int64_t k = 0;
        for (; k + 32 <= K; k += 32) {
            stream_prefetch(row + k, 2); /* 32 floats: 2 lines */
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8 * j), _mm256_loadu_ps(row + k + 8 * j), a[j]);
        }
        for (int j = 0; k + 8 <= K; k += 8, j++)
            a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(row + k), a[j]);
        float tail = 0.0f;
        for (; k < K; k++) tail += x[k] * row[k];
        __m256 z = _mm256_setzero_ps();
        __m128 s4 = reduce4(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])), z, z, z);
        y[m] = _mm_cvtss_f32(s4) + tail;
    }
}

/* One k step of 8 lanes of the R x 3 tile: 3 weight vectors, then one X
 * vector at a time (12 accumulators + 3 + 1 = the 16 ymm registers). */
INLINE void tile_step(__m256 acc[4][3], const void *x, r1_dtype xt, int R, int64_t K, const void *w,
                      const int64_t row[3], int64_t k, r1_dtype t) {
    __m256 wv[3];
    #pragma GCC unroll 8
    for (int c = 0; c < 3; c++) {
        wv[c] = wload(w, row[c] + k, t);
        /* keep it in a register: gcc otherwise folds the loads into the
         * FMAs, 9-16 loads per 12 FMAs instead of 7 (the same for xv) */
        __asm__("" : "+x"(wv[c]));
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        __m256 xv = wload(x, r * K + k, xt);
        __asm__("" : "+x"(xv));
        #pragma GCC unroll 8
        for (int c = 0; c < 3; c++) acc[r][c] = _mm256_fmadd_ps(xv, wv[c], acc[r][c]);
    }
}

/* y[n .. n+R) x [m .. m+mr) for R <= 4 activation rows (a constant after
 * inlining) and mr <= 3 weight rows; x points at row n. Four X rows by three
 * W rows keeps 12 accumulators busy with 7 loads per 12 FMAs and covers the
 * batched decode's N = 16 (and the MoE experts' N ~ 4) with whole tiles; the
 * earlier 3 x 4 tile ran 16 rows as 18 and an expert's 4 as 3 + 1 (116M
 * bench's batched rollouts, Zen 3, 2 threads: +13-31%, docs/BENCHMARKS.md).
 * Every output element is one accumulator whose lanes sum in k order,
 * reduced as reduce4 does, so its bits do not depend on R or on which tile
 * computes it: a sequence's logits do not depend on what else is in its
 * batch. */
INLINE void tile_rx3(float *y, int64_t ldy, const void *x, r1_dtype xt, int R, const void *w, int64_t m, int64_t mr,
                     int64_t K, r1_dtype t, unsigned pf) {
    const int64_t es = t == R1_DT_F32 ? 4 : 2;
    enum { C = 3 };
    int64_t row[C];
    #pragma GCC unroll 8
    for (int c = 0; c < C; c++) row[c] = (m + min64(c, mr - 1)) * K;
    __m256 acc[4][C];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 8
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    /* prefetch addresses, branch-free: the next 3 rows' line where this tile
     * is asked to (x86_stream.h), else the line about to be read anyway */
    const char *pfp[C];
    #pragma GCC unroll 8
    for (int c = 0; c < C; c++) pfp[c] = (const char *)w + (row[c] + (pf >> c & 1 ? C * K : 0)) * es;
    const int64_t kl = 64 / es, k8 = K & ~(int64_t)7; /* elements per cache line */
    int64_t k = 0;
    for (; k + kl <= K; k += kl) {
        #pragma GCC unroll 8
        for (int c = 0; c < C; c++) _mm_prefetch(pfp[c] + k * es, _MM_HINT_T0);
        _Pragma("GCC unroll 1") for (int64_t j = k; j < k + kl; j += 8) tile_step(acc, x, xt, R, K, w, row, j, t);
    }
    for (; k < k8; k += 8) tile_step(acc, x, xt, R, K, w, row, k, t);
    __m128i ms = lanes4(mr);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float tail[4] = {0, 0, 0, 0};
        #pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            for (int64_t k = k8; k < K; k++) tail[c] += wget(x, r * K + k, xt) * wget(w, row[c] + k, t);
        __m128 s = reduce4(acc[r][0], acc[r][1], acc[r][2], _mm256_setzero_ps());
        _mm_maskstore_ps(y + r * ldy + m, ms, _mm_add_ps(s, _mm_loadu_ps(tail)));
    }
}

INLINE void matmul(float *y, int64_t ldy, const void *x, r1_dtype xt, int64_t N, const void *w, int64_t K,
                   int64_t m0, int64_t m1, r1_dtype t) {
    const int64_t xs = xt == R1_DT_F32 ? 4 : 2;
    if (N == 1 && t == R1_DT_F32 && xt == R1_DT_F32) {
        matvec_f32(y, x, w, K, m0, m1);
        return;
    }
    if (N == 1) {
        matvec(y, x, xt, w, K, m0, m1, t);
        return;
    }
    /* X rows per block: the block (nb x K floats) stays within 256 KB of L2 */
    int64_t nb = ((int64_t)65536 / (K > 0 ? K : 1)) & ~(int64_t)3;
    if (nb < 4) nb = 4;
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        int64_t n1 = min64(N, n0 + nb), tiles = (n1 - n0 + 3) / 4;
        for (int64_t m = m0; m < m1; m += 3)
            for (int64_t n = n0; n < n1; n += 4) {
                float *yt = y + n * ldy;
                const char *xt0 = (const char *)x + n * K * xs;
                int64_t mr = min64(3, m1 - m);
                unsigned pf = m + 3 < m1 ? stream_pf_rows((n - n0) / 4, tiles, 3) : 0;
                switch (min64(4, n1 - n)) { /* one instance per tile height */
                case 4: tile_rx3(yt, ldy, xt0, xt, 4, w, m, mr, K, t, pf); break;
                case 3: tile_rx3(yt, ldy, xt0, xt, 3, w, m, mr, K, t, pf); break;
                case 2: tile_rx3(yt, ldy, xt0, xt, 2, w, m, mr, K, t, pf); break;
                default: tile_rx3(yt, ldy, xt0, xt, 1, w, m, mr, K, t, pf); break;
                }
            }
    }
}

static void k_matmul_f32_f32_avx2(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                  int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_F32, N, w, K, m0, m1, R1_DT_F32);
}

static void k_matmul_f16_f32_avx2(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                  int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_F32, N, w, K, m0, m1, R1_DT_F16);
}

static void k_matmul_bf16_f32_avx2(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                   int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_F32, N, w, K, m0, m1, R1_DT_BF16);
}

/* x rounded to the nearest bf16, kept as f32 (NaN made quiet as r1_f32_to_bf16). */
INLINE __m256 round_bf16(__m256 x) {
    __m256i u = _mm256_castps_si256(x);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    r = _mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u));
    __m256i q = _mm256_and_si256(_mm256_or_si256(u, _mm256_set1_epi32(0x00400000)), _mm256_set1_epi32((int)0xffff0000u));
    return _mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(q), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* ---- the training products: a packed "NN" GEMM ----
 * c[i, k] (+)= sum_j a[i*a_si + j*a_sj] * b[j*ldb + k] (x86_avx512.c at 8
 * lanes). Blocks of C's columns (G_NC) x the reduction (G_KC) of B are packed
 * into 16-column panels (16 KB, in L1; the block 256 KB in L2), and a 6 x 16
 * tile of C (12 accumulators) per step loads 2 panel vectors and broadcasts 6
 * values of A read in place. rnd (the bf16 path; no AVX512-BF16 here): B is
 * rounded to bf16 as it is packed, A as it is broadcast, the exact products
 * summed with FMA. Every element of C is one chain in the order j = 0..J-1,
 * partial sums passing through C between reduction blocks, so the bits do not
 * depend on the blocking or the thread split. The earlier unpacked kernel ran
 * dX and dW at the demo's shapes at 23-29 GFLOP/s on one Zen 3 core, and
 * packing alone did not change that: its store loop kept the accumulators in
 * memory (see ukr's). Both together: 67-84 (docs/KERNELS.md). */
enum { G_MR = 6, G_NR = 16, G_KC = 256, G_NC = 256 };

static _Thread_local float g_bpack[G_KC * G_NC] __attribute__((aligned(32)));

/* B rows [jb, jb + kc) x columns [kb, kb + nc) into panels of 16 (zero padded). */
INLINE void pack_b(const float *b, int64_t ldb, int64_t jb, int64_t kc, int64_t kb, int64_t nc, bool rnd) {
    for (int64_t q = 0; q * G_NR < nc; q++) {
        __m256i mk0 = lanes8(nc - q * G_NR), mk1 = lanes8(nc - q * G_NR - 8);
        const float *src = b + jb * ldb + kb + q * G_NR;
        float *dst = g_bpack + q * kc * G_NR;
        for (int64_t j = 0; j < kc; j++, src += ldb, dst += G_NR) {
            __m256 lo = _mm256_maskload_ps(src, mk0), hi = _mm256_maskload_ps(src + 8, mk1);
            _mm256_store_ps(dst, rnd ? round_bf16(lo) : lo);
            _mm256_store_ps(dst + 8, rnd ? round_bf16(hi) : hi);
        }
    }
}

/* One 6 x 16 tile: c rows [0, ir), columns by mk; bp is its packed panel. */
INLINE void ukr(float *c, int64_t ldc, int64_t ir, const __m256i mk[2], const float *a, int64_t a_si, int64_t a_sj,
                const float *bp, int64_t kc, bool load, bool rnd) {
    __m256 acc[G_MR][2];
    #pragma GCC unroll 8
    for (int r = 0; r < G_MR; r++)
        #pragma GCC unroll 2
        for (int v = 0; v < 2; v++)
            acc[r][v] = load ? _mm256_maskload_ps(c + min64(r, ir - 1) * ldc + 8 * v, mk[v]) : _mm256_setzero_ps();
    const float *ar[G_MR];
    #pragma GCC unroll 8
    for (int r = 0; r < G_MR; r++) ar[r] = a + min64(r, ir - 1) * a_si;
    for (int64_t j = 0; j < kc; j++, bp += G_NR) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
        #pragma GCC unroll 8
        for (int r = 0; r < G_MR; r++) {
            __m256 s = _mm256_broadcast_ss(ar[r] + j * a_sj);
            if (rnd) s = round_bf16(s);
            acc[r][0] = _mm256_fmadd_ps(s, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(s, b1, acc[r][1]);
        }
    }
    /* constant bounds: a runtime r < ir loop would index acc, and gcc then
     * keeps acc in memory, storing all 12 accumulators every step */
    #pragma GCC unroll 8
    for (int r = 0; r < G_MR; r++)
        if (r < ir)
            #pragma GCC unroll 2
            for (int v = 0; v < 2; v++) _mm256_maskstore_ps(c + r * ldc + 8 * v, mk[v], acc[r][v]);
}

/* Up to F_MR rows of C, IR (<= 4) at a time over 24 columns, with B read
 * in place: a decoded row's attention output P C (as in x86_avx512.c, where
 * packing B cost more than the products). deepseek2-tiny-24L q4_K decode,
 * 8 heads over ~160 positions x 256 latents, 1 thread (Intel VM, this
 * table): 23 -> 9.9 us a layer. Each element is the same FMA chain as in ukr. */
enum { F_MR = 8 };

/* Columns [k, k + 24) of rows [0, IR) (masked past k1 unless FULL: AVX2's
 * masked loads cost more than plain ones). */
INLINE void few_rows_tile(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                          int64_t J, int64_t k, int64_t k1, bool accumulate, const int IR, const bool FULL) {
    __m256i mk[3];
    __m256 acc[4][3];
    #pragma GCC unroll 3
    for (int v = 0; v < 3; v++) mk[v] = lanes8(k1 - k - 8 * v);
    #pragma GCC unroll 4
    for (int r = 0; r < IR; r++)
        #pragma GCC unroll 3
        for (int v = 0; v < 3; v++)
            acc[r][v] = !accumulate ? _mm256_setzero_ps()
                        : FULL      ? _mm256_loadu_ps(c + r * ldc + k + 8 * v)
                                    : _mm256_maskload_ps(c + r * ldc + k + 8 * v, mk[v]);
    const float *bj = b + k;
    for (int64_t j = 0; j < J; j++, bj += ldb) {
        __m256 bv[3];
        #pragma GCC unroll 3
        for (int v = 0; v < 3; v++) bv[v] = FULL ? _mm256_loadu_ps(bj + 8 * v) : _mm256_maskload_ps(bj + 8 * v, mk[v]);
        #pragma GCC unroll 4
        for (int r = 0; r < IR; r++) {
            __m256 s = _mm256_broadcast_ss(a + r * a_si + j * a_sj);
            #pragma GCC unroll 3
            for (int v = 0; v < 3; v++) acc[r][v] = _mm256_fmadd_ps(s, bv[v], acc[r][v]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < IR; r++)
        #pragma GCC unroll 3
        for (int v = 0; v < 3; v++)
            if (FULL)
                _mm256_storeu_ps(c + r * ldc + k + 8 * v, acc[r][v]);
            else
                _mm256_maskstore_ps(c + r * ldc + k + 8 * v, mk[v], acc[r][v]);
}

INLINE void few_rows(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                     int64_t J, int64_t k0, int64_t k1, bool accumulate, const int IR) {
    int64_t k = k0;
    for (; k + 24 <= k1; k += 24) few_rows_tile(c, ldc, a, a_si, a_sj, b, ldb, J, k, k1, accumulate, IR, true);
    if (k < k1) few_rows_tile(c, ldc, a, a_si, a_sj, b, ldb, J, k, k1, accumulate, IR, false);
}

/* Rows [0, ir) of few_rows, ir <= F_MR, in passes of 4 (each count compiled on its own). */
static void few_rows_any(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                         int64_t J, int64_t ir, int64_t k0, int64_t k1, bool accumulate) {
    for (int64_t i = 0; i < ir; i += 4) {
        float *ci = c + i * ldc;
        const float *ai = a + i * a_si;
        switch (ir - i < 4 ? ir - i : 4) {
        case 1: few_rows(ci, ldc, ai, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 1); break;
        case 2: few_rows(ci, ldc, ai, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 2); break;
        case 3: few_rows(ci, ldc, ai, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 3); break;
        default: few_rows(ci, ldc, ai, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 4); break;
        }
    }
}

INLINE void gemm_nn(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                    int64_t J, int64_t i0, int64_t i1, int64_t k0, int64_t k1, bool accumulate, bool rnd) {
    if (!rnd && i1 - i0 <= F_MR) {
        if (i1 > i0) few_rows_any(c + i0 * ldc, ldc, a + i0 * a_si, a_si, a_sj, b, ldb, J, i1 - i0, k0, k1, accumulate);
        return;
    }
    for (int64_t kb = k0; kb < k1; kb += G_NC) {
        int64_t nc = min64(G_NC, k1 - kb);
        for (int64_t jb = 0; jb < J || jb == 0; jb += G_KC) {
            int64_t kc = min64(G_KC, J - jb);
            bool load = accumulate || jb > 0;
            pack_b(b, ldb, jb, kc, kb, nc, rnd);
            for (int64_t i = i0; i < i1; i += G_MR)
                for (int64_t q = 0; q * G_NR < nc; q++) {
                    __m256i mk[2] = {lanes8(nc - q * G_NR), lanes8(nc - q * G_NR - 8)};
                    ukr(c + i * ldc + kb + q * G_NR, ldc, min64(G_MR, i1 - i), mk, a + i * a_si + jb * a_sj, a_si, a_sj,
                        g_bpack + q * kc * G_NR, kc, load, rnd);
                }
        }
    }
}

static void k_gemm_nn_f32_f32_avx2(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                   const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                   int64_t k1, bool accumulate) {
    gemm_nn(c, ldc, a, a_si, a_sj, b, ldb, J, i0, i1, k0, k1, accumulate, false);
}

static void k_gemm_nn_bf16_bf16_avx2(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                     const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                     int64_t k1, bool accumulate) {
    gemm_nn(c, ldc, a, a_si, a_sj, b, ldb, J, i0, i1, k0, k1, accumulate, true);
}

static void k_matmul_bf16_bf16_avx2(float *y, int64_t ldy, const uint16_t *x, int64_t N, const uint16_t *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_BF16, N, w, K, m0, m1, R1_DT_BF16);
}

/* AdamW, the oracle's operations in its order (mul and add, no FMA). */
static void k_adamw_avx2(float *p, float *g, float *m, float *v, uint16_t *pb, int64_t n, float gs, float lr, float b1,
                         float b2, float eps, float wd, float c1, float c2) {
    __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
    __m256 vb1c = _mm256_set1_ps(1.0f - b1), vb2c = _mm256_set1_ps(1.0f - b2), veps = _mm256_set1_ps(eps);
    __m256 vlr = _mm256_set1_ps(lr), vwd = _mm256_set1_ps(wd), vgs = _mm256_set1_ps(gs);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_mul_ps(_mm256_loadu_ps(g + i), vgs), pv = _mm256_loadu_ps(p + i);
        __m256 mv = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vb1c, gv));
        __m256 vv = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(vb2c, gv), gv));
        __m256 upd = _mm256_div_ps(_mm256_div_ps(mv, vc1), _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vv, vc2)), veps));
        pv = _mm256_sub_ps(pv, _mm256_mul_ps(vlr, _mm256_add_ps(_mm256_mul_ps(vwd, pv), upd)));
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
        _mm256_storeu_ps(p + i, pv);
        _mm256_storeu_ps(g + i, _mm256_setzero_ps());
        if (pb) {
            __m256i h = _mm256_srli_epi32(_mm256_castps_si256(round_bf16(pv)), 16);
            __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            _mm_storeu_si128((__m128i *)(pb + i), w);
        }
    }
    for (; i < n; i++) {
        float gi = g[i] * gs;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float upd = (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
        p[i] -= lr * (wd * p[i] + upd);
        g[i] = 0.0f;
        if (pb) pb[i] = r1_f32_to_bf16(p[i]);
    }
}

static void k_to_bf16_avx2(uint16_t *dst, const float *src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i h = _mm256_srli_epi32(_mm256_castps_si256(round_bf16(_mm256_loadu_ps(src + i))), 16);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
    }
    for (; i < n; i++) dst[i] = r1_f32_to_bf16(src[i]);
}

/* The softmax and SwiGLU exps stay libm's expf on AVX2, as in ref: a vector
 * exp (x86_avx512.c's exp512 at 8 lanes: 2-5% faster 2-thread qwen2
 * prefill) moved the loss and the rollouts by an ulp here and there, and
 * make demo's R1-Zero run on this table then took another path (session 7:
 * greedy +20.5 points with the think block dropped, against +33.2 with it
 * growing; docs/GRPO.md). */
static double k_lse_avx2(const float *z, int64_t n) {
    float mx = z[0];
    for (int64_t i = 1; i < n; i++) mx = z[i] > mx ? z[i] : mx;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)expf(z[i] - mx);
    return (double)mx + log(s);
}

static void k_exp_scale_avx2(float *z, int64_t n, float shift, float s) {
    for (int64_t i = 0; i < n; i++) z[i] = s * expf(z[i] - shift);
}

/* ref's operations (so the same bits), the products and divisions 8 wide. */
static void k_silu_mul_avx2(float *g, float *u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i mk = lanes8(n - i);
        float e[8];
        for (int64_t l = 0; l < 8 && i + l < n; l++) e[l] = expf(-g[i + l]);
        __m256 gv = _mm256_maskload_ps(g + i, mk), uv = _mm256_mul_ps(_mm256_maskload_ps(u + i, mk), gv);
        _mm256_maskstore_ps(u + i, mk, uv);
        _mm256_maskstore_ps(g + i, mk, _mm256_div_ps(uv, _mm256_add_ps(one, _mm256_maskload_ps(e, mk))));
    }
}

static float k_dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

/* x86_avx512.c's two passes: the maximum (vmaxps never takes a NaN from
 * its first operand), then the first element equal to it. */
static int32_t k_argmax_avx2(const float *x, int64_t n) {
    if (n <= 0 || !(x[0] == x[0])) return 0; /* NaN at 0: every > is false */
    __m256 m0 = _mm256_set1_ps(x[0]), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
        m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
        m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
    }
    float mv[8], mx = x[0];
    _mm256_storeu_ps(mv, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (int l = 0; l < 8; l++) mx = mv[l] > mx ? mv[l] : mx;
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    const __m256 mxv = _mm256_set1_ps(mx);
    for (i = 0; i + 32 <= n; i += 32) {
        uint32_t e = 0;
        for (int a = 0; a < 4; a++)
            e |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i + 8 * a), mxv, _CMP_EQ_OQ)) << (8 * a);
        if (e) return (int32_t)(i + __builtin_ctz(e));
    }
    for (; i < n; i++)
        if (x[i] == mx) return (int32_t)i;
    return 0; /* not reached: mx is one of the elements */
}

/* kernels.h's order: the lanes of two 4-wide double sums are s_0..s_7. */
static double k_sumsq_avx2(const float *x, int64_t n) {
    __m256d lo = _mm256_setzero_pd(), hi = lo;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        lo = _mm256_fmadd_pd(a, a, lo);
        hi = _mm256_fmadd_pd(b, b, hi);
    }
    double p[8];
    _mm256_storeu_pd(p, lo);
    _mm256_storeu_pd(p + 4, hi);
    for (; i < n; i++) p[0] += (double)x[i] * x[i];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

static void k_axpy_f32_avx2(float *y, float a, const float *x, int64_t n) {
    __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

static void k_scale_avx2(float *x, int64_t n, float s) {
    __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(sv, _mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] *= s;
}

INLINE void to_f32(float *dst, const void *src, int64_t n, r1_dtype t) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, wload(src, i, t));
    for (; i < n; i++) dst[i] = wget(src, i, t);
}

static void k_to_f32_f32_avx2(float *dst, const void *src, int64_t n) { to_f32(dst, src, n, R1_DT_F32); }
static void k_to_f32_f16_avx2(float *dst, const void *src, int64_t n) { to_f32(dst, src, n, R1_DT_F16); }
static void k_to_f32_bf16_avx2(float *dst, const void *src, int64_t n) { to_f32(dst, src, n, R1_DT_BF16); }

/* ---- quantized weights (x86_quant.h) ---- */
#include <string.h>

/* acc + pairwise int16 products summed into int32 lanes. */
static inline __m256i madd_acc(__m256i acc, __m256i a, __m256i b) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
}
#define QISA avx2
#include "kernels/x86_quant.h"

const r1_kernels r1_kernels_table_avx2 = {
    .isa = "avx2",
    .matmul = {[R1_DT_F32] = k_matmul_f32_f32_avx2, [R1_DT_F16] = k_matmul_f16_f32_avx2,
               [R1_DT_BF16] = k_matmul_bf16_f32_avx2},
    .qmatmul = {QMATMUL_ENTRIES(avx2), [R1_DT_Q4_K_R8] = r1_qmatmul_q4_K_r8_avx2,
                [R1_DT_Q8_0_R8] = r1_qmatmul_q8_0_r8_avx2, [R1_DT_Q4_0_R8] = r1_qmatmul_q4_0_r8_avx2,
                [R1_DT_Q6_K_R8] = r1_qmatmul_q6_K_r8_avx2},
    /* 1536 x 1536 from DRAM, one Zen 3 core, the GEMM against the 4-row
     * kernel: Q8_0 1.25-1.36x at N = 24-32, 1.5-1.6x at 64-128; Q4_K
     * 1.05-1.09x at 24-32, 1.4x at 64-128; about even at 16 */
    .qgemm = {[R1_DT_Q8_0] = r1_qgemm_q8_0_avx2, [R1_DT_Q4_K] = r1_qgemm_q4_K_avx2, [R1_DT_Q6_K] = r1_qgemm_q6_K_avx2,
              [R1_DT_Q4_K_R8] = r1_qgemm_q4_K_r8_avx2, [R1_DT_Q6_K_R8] = r1_qgemm_q6_K_r8_avx2},
    /* interleaved Q8_0 has no GEMM: its 8-row x 4-activation-row matvec
     * tiles ran 107-112 GFLOP/s at every N from 16 to 512 against the
     * GEMM's 90-108 (1536 x 1536, 1536 x 8960, 8960 x 1536, one Zen 3 core);
     * Q4_0 has none either, interleaved or not */
    .qgemm_min_n = {[R1_DT_Q8_0] = 24, [R1_DT_Q4_K] = 24, [R1_DT_Q6_K] = 24, [R1_DT_Q4_K_R8] = 24,
                    [R1_DT_Q6_K_R8] = 24},
    .qgemm_ws = r1_qgemm_ws_avx2,
    .act_quantize = r1_act_quantize_avx2,
    .gemm_nn = k_gemm_nn_f32_f32_avx2,
    /* one Zen 3 core, the demo model's shapes (M, K in 96-384): the packed
     * GEMM 57-81 GFLOP/s against the 4x3 tile's 35-59 at N = 1024, 52-60
     * against 37-57 at N = 128, mixed at 64 */
    .fwd_gemm_min_n = 128,
    .gemm_nn_bb = k_gemm_nn_bf16_bf16_avx2,
    .matmul_bb = k_matmul_bf16_bf16_avx2,
    .adamw = k_adamw_avx2,
    .to_bf16 = k_to_bf16_avx2,
    .lse = k_lse_avx2,
    .exp_scale = k_exp_scale_avx2,
    .silu_mul = k_silu_mul_avx2,
    .dot = k_dot_f32_avx2,
    .argmax = k_argmax_avx2,
    .sumsq = k_sumsq_avx2,
    .axpy = k_axpy_f32_avx2,
    .scale = k_scale_avx2,
    .to_f32 = {[R1_DT_F32] = k_to_f32_f32_avx2, [R1_DT_F16] = k_to_f32_f16_avx2, [R1_DT_BF16] = k_to_f32_bf16_avx2},
};
#else
typedef int r1_no_avx2_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
