/* x86_avx512: AVX-512 kernels (F/BW/VL/DQ + FMA/F16C), f32 accumulation.
 * Y = X W^T with the reduction dimension K contiguous in both operands:
 *  - N = 1 (decode) is memory-bound: f16/bf16 read four weight rows from
 *    four distant parts of the rows in lockstep, four prefetched streams,
 *    with the bits the 4x4 tile gives the same row; f32 reads a row at a
 *    time (4 FMA chains), one stream, for its bits. bf16 (shift left 16)
 *    and f16 (vcvtph2ps) widen on the fly.
 *  - N > 1 is compute-bound: a 4x4 register tile (4 X rows x 4 W rows, 16
 *    accumulators) loads 8 vectors per 16 FMAs; X is blocked so a block stays
 *    in L2 while the 4 W rows of a tile stay in L1; the 16 horizontal sums of
 *    a tile are done together with one transpose tree.
 * Ragged K uses masked loads (masked-off memory is never touched); ragged N
 * and M repeat the last valid row inside the tile and store only valid lanes,
 * so every output element goes through the same instructions wherever it sits. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "kernels/tables.h"
#include "kernels/x86_stream.h"

#define INLINE static inline __attribute__((always_inline))

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Lanes [0, n) of a 16-lane mask, n in [0, 16]. */
static inline __mmask16 lanes(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/* w[i .. i+16) widened to f32; t is a constant after inlining. */
INLINE __m512 wload(const void *w, int64_t i, r1_dtype t) {
    if (t == R1_DT_F32) return _mm512_loadu_ps((const float *)w + i);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i));
    if (t == R1_DT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The lanes of m only (others 0). */
INLINE __m512 wload_mask(const void *w, int64_t i, __mmask16 m, r1_dtype t) {
    if (t == R1_DT_F32) return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i);
    if (t == R1_DT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Four accumulators -> [a0+a2, a1+a3 | b.. | c.. | d..] reduced to 4 partials
 * per accumulator, one 128-bit lane each. */
INLINE __m512 fold4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xee));
    return _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
}

/* Horizontal sums of a, b, c, d as one 4-float vector. */
INLINE __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m512 s = fold4(a, b, c, d);
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4e));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xb1));
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, s));
}

/* The 16 horizontal sums of a 4x4 tile: lane 4r + c of the result is sum(acc[r][c]). */
INLINE __m512 reduce16(__m512 acc[4][4]) {
    __m512 r0 = fold4(acc[0][0], acc[0][1], acc[0][2], acc[0][3]);
    __m512 r1 = fold4(acc[1][0], acc[1][1], acc[1][2], acc[1][3]);
    __m512 r2 = fold4(acc[2][0], acc[2][1], acc[2][2], acc[2][3]);
    __m512 r3 = fold4(acc[3][0], acc[3][1], acc[3][2], acc[3][3]);
    __m512 u = _mm512_add_ps(_mm512_shuffle_ps(r0, r1, 0x44), _mm512_shuffle_ps(r0, r1, 0xee));
    __m512 v = _mm512_add_ps(_mm512_shuffle_ps(r2, r3, 0x44), _mm512_shuffle_ps(r2, r3, 0xee));
    __m512 s = _mm512_add_ps(_mm512_shuffle_ps(u, v, 0x88), _mm512_shuffle_ps(u, v, 0xdd));
    /* lane 4c + r holds sum(acc[r][c]); transpose to row-major */
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(idx, s);
}

/* y[m0..m1) = W[m0..m1) x for one activation row, a weight row at a time (4
 * FMA chains), so the rows are read in address order as one prefetched stream
 * (x86_stream.h); x stays in L1/L2. This was the matvec of every type; f32
 * weights and the bf16 training product keep it and its bits: f32 models are
 * the ones r1 trains, a MoE expert that meets one token in training takes
 * this path, and another summation order changed the demo's run on AVX2
 * (docs/GRPO.md a11). */
INLINE void matvec_stream(float *y, const void *x, r1_dtype xt, const void *w, int64_t K, int64_t m0, int64_t m1,
                          r1_dtype t) {
    const int lines = t == R1_DT_F32 ? 4 : 2; /* 64 elements per step */
    for (int64_t m = m0; m < m1; m++) {
        const int64_t row = m * K;
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        int64_t k = 0;
        for (; k + 64 <= K; k += 64) {
            stream_prefetch((const char *)w + (row + k) * (t == R1_DT_F32 ? 4 : 2), lines);
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                a[j] = _mm512_fmadd_ps(wload(x, k + 16 * j, xt), wload(w, row + k + 16 * j, t), a[j]);
        }
        for (int j = 0; k < K; k += 16, j++) {
            __mmask16 mk = lanes(K - k);
            a[j] = _mm512_fmadd_ps(wload_mask(x, k, mk, xt), wload_mask(w, row + k, mk, t), a[j]);
        }
        y[m] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])));
    }
}

/* y[n .. n+nr) x [m .. m+mr) for nr, mr <= 4; x points at row n (f32, or
 * bf16 widened for the bf16 forward product on CPUs without AVX512-BF16).
 * pf: which of the next 4 weight rows this tile prefetches, one line per
 * row and step (stream_pf_rows, x86_stream.h). Small N (batched decode) is
 * weight-streaming bound: the 116M bench's batched rollouts went from 455
 * to 513 tok/s (1 thread) with the first tile prefetching all 4 rows, and to
 * ~610 with the rows spread over the tiles. */
INLINE void tile4x4(float *y, int64_t ldy, const void *x, r1_dtype xt, int64_t nr, const void *w, int64_t m,
                    int64_t mr, int64_t K, r1_dtype t, unsigned pf) {
    int64_t xr[4];
    int64_t row[4];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) xr[r] = min64(r, nr - 1) * K;
    #pragma GCC unroll 8
    for (int c = 0; c < 4; c++) row[c] = (m + min64(c, mr - 1)) * K;
    __m512 acc[4][4];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++)
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 xv[4];
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) xv[r] = wload(x, xr[r] + k, xt);
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) {
            if (pf >> c & 1) _mm_prefetch((const char *)w + (row[c] + 4 * K + k) * (t == R1_DT_F32 ? 4 : 2), _MM_HINT_T0);
            __m512 wv = wload(w, row[c] + k, t);
            #pragma GCC unroll 8
            for (int r = 0; r < 4; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
    if (k < K) {
        __mmask16 mk = lanes(K - k);
        __m512 xv[4];
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) xv[r] = wload_mask(x, xr[r] + k, mk, xt);
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) {
            __m512 wv = wload_mask(w, row[c] + k, mk, t);
            #pragma GCC unroll 8
            for (int r = 0; r < 4; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
    __m512 s = reduce16(acc);
    __mmask8 ms = (__mmask8)lanes(mr);
    _mm_mask_storeu_ps(y + m, ms, _mm512_castps512_ps128(s));
    if (nr > 1) _mm_mask_storeu_ps(y + ldy + m, ms, _mm512_extractf32x4_ps(s, 1));
    if (nr > 2) _mm_mask_storeu_ps(y + 2 * ldy + m, ms, _mm512_extractf32x4_ps(s, 2));
    if (nr > 3) _mm_mask_storeu_ps(y + 3 * ldy + m, ms, _mm512_extractf32x4_ps(s, 3));
}

/* Decode reads every weight byte from DRAM once, and one core reads faster
 * from several distant places at once than from one stream (x86_avx2.c has
 * the Zen 3 table): the f16/bf16 matvec cuts its rows into VSTREAMS
 * contiguous parts and reads a row of each in lockstep, each prefetched
 * VSTREAM_PF_BYTES ahead (4 streams need less distance each than one).
 * qwen2-1.5B-4L f16 decode, Zen 5, 1 thread, tok/s over 3 alternated rounds:
 * one stream 6 KB ahead (the matvec before) 33-36; 2 parts 2 KB ahead 37-39;
 * 3 parts 1-2 KB 40-43; 4 parts 0.5 / 1 / 1.5 / 2 / 3 / 6 / 12 KB ahead
 * 39-41 / 38-43 / 36-42 / 39-42 / 34-38 / 35-36 / 32-37. 2 threads: 55.6
 * -> 66-68 (4 parts, 1-1.5 KB). */
enum { VSTREAMS = 4, VSTREAM_PF_BYTES = 1024 };

/* y[m[s]] = W[m[s]] x for S <= VSTREAMS rows (S a constant after inlining),
 * x f32. Row s is one FMA chain over k in steps of 16 (the masked tail last)
 * reduced by reduce16 as the tile's acc[0][s]: the bits tile4x4 gives the
 * same row, so a decoded row does not depend on N, its part or the threads. */
INLINE void matvec_rows(float *y, const float *x, const void *w, int64_t K, const int64_t *m, int S, r1_dtype t) {
    int64_t row[VSTREAMS];
    __m512 acc[4][4];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++)
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    #pragma GCC unroll 8
    for (int s = 0; s < S; s++) row[s] = m[s] * K;
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) { /* 64 bytes of each row */
        #pragma GCC unroll 8
        for (int s = 0; s < S; s++) stream_prefetch_at((const uint16_t *)w + row[s] + k, VSTREAM_PF_BYTES, 1);
        #pragma GCC unroll 2
        for (int j = 0; j < 2; j++) {
            __m512 xv = _mm512_loadu_ps(x + k + 16 * j);
            #pragma GCC unroll 8
            for (int s = 0; s < S; s++) acc[0][s] = _mm512_fmadd_ps(xv, wload(w, row[s] + k + 16 * j, t), acc[0][s]);
        }
    }
    for (; k < K; k += 16) {
        __mmask16 mk = lanes(K - k);
        __m512 xv = _mm512_maskz_loadu_ps(mk, x + k);
        #pragma GCC unroll 8
        for (int s = 0; s < S; s++) acc[0][s] = _mm512_fmadd_ps(xv, wload_mask(w, row[s] + k, mk, t), acc[0][s]);
    }
    float out[16];
    _mm512_storeu_ps(out, reduce16(acc));
    #pragma GCC unroll 8
    for (int s = 0; s < S; s++) y[m[s]] = out[s];
}

INLINE void matvec(float *y, const void *x, r1_dtype xt, const void *w, int64_t K, int64_t m0, int64_t m1,
                   r1_dtype t) {
    if (t == R1_DT_F32 || xt != R1_DT_F32) {
        matvec_stream(y, x, xt, w, K, m0, m1, t);
        return;
    }
    const int64_t h = (m1 - m0) / VSTREAMS;
    for (int64_t i = 0; i < h; i++) {
        int64_t m[VSTREAMS];
        for (int s = 0; s < VSTREAMS; s++) m[s] = m0 + s * h + i;
        matvec_rows(y, x, w, K, m, VSTREAMS, t);
    }
    for (int64_t r = m0 + VSTREAMS * h; r < m1; r++) matvec_rows(y, x, w, K, &r, 1, t);
}

INLINE void matmul(float *y, int64_t ldy, const void *x, r1_dtype xt, int64_t N, const void *w, int64_t K,
                   int64_t m0, int64_t m1, r1_dtype t) {
    const int64_t xs = xt == R1_DT_F32 ? 4 : 2;
    if (N == 1) {
        matvec(y, x, xt, w, K, m0, m1, t);
        return;
    }
    /* X rows per block: the block (nb x K floats) stays within 256 KB of L2 */
    int64_t nb = ((int64_t)65536 / (K > 0 ? K : 1)) & ~(int64_t)3;
    if (nb < 4) nb = 4;
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        int64_t n1 = min64(N, n0 + nb);
        for (int64_t m = m0; m < m1; m += 4)
            for (int64_t n = n0; n < n1; n += 4)
                tile4x4(y + n * ldy, ldy, (const char *)x + n * K * xs, xt, min64(4, n1 - n), w, m, min64(4, m1 - m),
                        K, t, m + 4 < m1 ? stream_pf_rows((n - n0) / 4, (n1 - n0 + 3) / 4, 4) : 0);
    }
}

static void k_matmul_f32_f32_avx512(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_F32, N, w, K, m0, m1, R1_DT_F32);
}

static void k_matmul_f16_f32_avx512(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_F32, N, w, K, m0, m1, R1_DT_F16);
}

static void k_matmul_bf16_f32_avx512(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                     int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_F32, N, w, K, m0, m1, R1_DT_BF16);
}

/* ---- the training products: a packed "NN" GEMM ----
 * c[i, k] (+)= sum_j a[i*a_si + j*a_sj] * b[j*ldb + k], i in [i0, i1), k in [k0, k1).
 * Blocks of C's columns (NC) x the reduction (KC) of B are packed into
 * 64-column panels (one per microkernel call, contiguous, ~32 KB: in L1),
 * the whole block (~256 KB) stays in L2 while every 6-row tile of C passes
 * over it. The microkernel holds a 6 x 64 tile of C in 24 registers and per
 * reduction step loads 4 vectors of the panel and broadcasts 6 values of A.
 * f32 reads A in place (any strides: dY rows for dX, dY columns for dW);
 * bf16 packs a tile's A as pairs (a[j], a[j+1]) in one dword for vdpbf16ps,
 * [row][pair] when A's rows are contiguous and [pair][row] when its columns
 * are, so packing is a straight vector conversion either way. Every element
 * of C is one accumulation chain in the order j = 0..J-1 (pairs of j for
 * bf16); partial sums pass through C between reduction blocks, which is exact,
 * so results do not depend on how rows or columns are split among threads.
 * Measured on the bench's shapes (Zen 5, 1 thread): the unpacked 6x64 kernel
 * ran dX = dY W at 47 and dW at 55 GFLOP/s; packing B lifts both (see
 * docs/KERNELS.md). */
enum { G_MR = 6, G_NR = 64, G_KC = 128, G_NC = 512 };

typedef enum { G_F32, G_BF16_DP, G_BF16_EMU } gmode;

/* Packed B (f32: [panel][j][64]; bf16: [panel][j/2][64][2]) and bf16 A. */
static _Thread_local float g_bpack[G_KC * G_NC] __attribute__((aligned(64)));
static _Thread_local uint32_t g_apack[G_KC * G_MR] __attribute__((aligned(64)));

/* x rounded to the nearest bf16, kept as f32 (NaN passed through). */
INLINE __m512 round_bf16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    r = _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000)); /* quiet, as r1_f32_to_bf16 */
    return _mm512_castsi512_ps(r);
}

/* The 16 bf16 bit patterns of round_bf16(x). */
INLINE __m256i to_bf16_bits(__m512 x) {
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(round_bf16(x)), 16));
}

/* Two rows of 16 f32 -> 16 dwords (lo[c] as the low bf16, hi[c] the high one). */
INLINE __m512i pair_bf16(__m512 lo, __m512 hi) {
    const __m512i idx = _mm512_setr_epi32(0x00100000, 0x00110001, 0x00120002, 0x00130003, 0x00140004, 0x00150005,
                                          0x00160006, 0x00170007, 0x00180008, 0x00190009, 0x001a000a, 0x001b000b,
                                          0x001c000c, 0x001d000d, 0x001e000e, 0x001f000f);
    __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* bf16 0..15 = lo, 16..31 = hi */
    return _mm512_permutexvar_epi16(idx, v);
}

/* B rows [jb, jb + kc) x columns [kb, kb + nc) into panels of 64 (zero padded). */
INLINE void pack_b(const float *b, int64_t ldb, int64_t jb, int64_t kc, int64_t kb, int64_t nc, gmode md) {
    int64_t np = (nc + G_NR - 1) / G_NR;
    for (int64_t q = 0; q < np; q++) {
        __mmask16 mk[4];
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) mk[v] = lanes(nc - q * G_NR - 16 * v > 0 ? nc - q * G_NR - 16 * v : 0);
        const float *src = b + jb * ldb + kb + q * G_NR;
        if (md == G_BF16_DP) {
            uint32_t *dst = (uint32_t *)g_bpack + q * ((kc + 1) / 2) * G_NR;
            for (int64_t j = 0; j < kc; j += 2, src += 2 * ldb, dst += G_NR) {
                bool two = j + 1 < kc;
                #pragma GCC unroll 4
                for (int v = 0; v < 4; v++) {
                    __m512 lo = _mm512_maskz_loadu_ps(mk[v], src + 16 * v);
                    __m512 hi = two ? _mm512_maskz_loadu_ps(mk[v], src + ldb + 16 * v) : _mm512_setzero_ps();
                    _mm512_store_si512(dst + 16 * v, pair_bf16(lo, hi));
                }
            }
        } else {
            float *dst = g_bpack + q * kc * G_NR;
            for (int64_t j = 0; j < kc; j++, src += ldb, dst += G_NR)
                #pragma GCC unroll 4
                for (int v = 0; v < 4; v++) {
                    __m512 x = _mm512_maskz_loadu_ps(mk[v], src + 16 * v);
                    _mm512_store_ps(dst + 16 * v, md == G_BF16_EMU ? round_bf16(x) : x);
                }
        }
    }
}

/* A rows [i, i + ir) x reduction [jb, jb + kc) as bf16 pairs; returns the
 * dword strides (per row, per pair) of the packed tile. */
INLINE void pack_a_bf16(const float *a, int64_t a_si, int64_t a_sj, int64_t i, int64_t ir, int64_t jb, int64_t kc,
                        int64_t *sr, int64_t *sp) {
    int64_t kp = (kc + 1) / 2;
    if (a_sj == 1) { /* rows contiguous: [row][pair] */
        *sr = kp, *sp = 1;
        for (int64_t r = 0; r < G_MR; r++) {
            const float *src = a + (i + min64(r, ir - 1)) * a_si + jb;
            uint32_t *dst = g_apack + r * kp;
            for (int64_t j = 0; j < kc; j += 32) {
                __m512 lo = _mm512_maskz_loadu_ps(lanes(kc - j), src + j);
                __m512 hi = _mm512_maskz_loadu_ps(lanes(kc - j - 16 > 0 ? kc - j - 16 : 0), src + j + 16);
                __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* bf16 in order: dwords are pairs */
                _mm512_mask_storeu_epi32(dst + j / 2, lanes((kc - j + 1) / 2), v);
            }
        }
    } else { /* columns: [pair][row], rows i.. adjacent when a_si == 1 */
        *sr = 1, *sp = G_MR;
        __mmask16 mr = lanes(G_MR);
        for (int64_t j = 0; j < kc; j += 2) {
            __m512 lo, hi;
            if (a_si == 1) {
                __mmask16 mv = lanes(ir);
                lo = _mm512_maskz_loadu_ps(mv, a + i + (jb + j) * a_sj);
                hi = j + 1 < kc ? _mm512_maskz_loadu_ps(mv, a + i + (jb + j + 1) * a_sj) : _mm512_setzero_ps();
            } else {
                float l[16] = {0}, h[16] = {0};
                for (int64_t r = 0; r < ir; r++) {
                    l[r] = a[(i + r) * a_si + (jb + j) * a_sj];
                    h[r] = j + 1 < kc ? a[(i + r) * a_si + (jb + j + 1) * a_sj] : 0.0f;
                }
                lo = _mm512_loadu_ps(l), hi = _mm512_loadu_ps(h);
            }
            _mm512_mask_storeu_epi32(g_apack + (j / 2) * G_MR, mr, pair_bf16(lo, hi));
        }
    }
}

/* One 6 x 64 tile: c rows [0, ir), columns by mk; bp is its packed panel. */
INLINE void ukr(float *c, int64_t ldc, int64_t ir, const __mmask16 mk[4], const float *a, int64_t a_si, int64_t a_sj,
                const uint32_t *ap, int64_t sr, int64_t sp, const float *bp, int64_t kc, bool load, gmode md) {
    __m512 acc[G_MR][4];
    #pragma GCC unroll 8
    for (int r = 0; r < G_MR; r++)
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
            acc[r][v] = load ? _mm512_maskz_loadu_ps(mk[v], c + min64(r, ir - 1) * ldc + 16 * v) : _mm512_setzero_ps();
    if (md == G_BF16_DP) {
        const uint32_t *ar[G_MR];
        #pragma GCC unroll 8
        for (int r = 0; r < G_MR; r++) ar[r] = ap + r * sr;
        const uint32_t *bq = (const uint32_t *)bp;
        for (int64_t j = 0; j < (kc + 1) / 2; j++, bq += G_NR) {
            __m512i bv[4];
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) bv[v] = _mm512_load_si512(bq + 16 * v);
            #pragma GCC unroll 8
            for (int r = 0; r < G_MR; r++) {
                __m512i s = _mm512_set1_epi32((int)ar[r][j * sp]);
                #pragma GCC unroll 4
                for (int v = 0; v < 4; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)bv[v], (__m512bh)s);
            }
        }
    } else {
        const float *ar[G_MR];
        #pragma GCC unroll 8
        for (int r = 0; r < G_MR; r++) ar[r] = a + min64(r, ir - 1) * a_si;
        for (int64_t j = 0; j < kc; j++, bp += G_NR) {
            __m512 bv[4];
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) bv[v] = _mm512_load_ps(bp + 16 * v);
            #pragma GCC unroll 8
            for (int r = 0; r < G_MR; r++) {
                __m512 s = _mm512_set1_ps(ar[r][j * a_sj]);
                if (md == G_BF16_EMU) s = round_bf16(s);
                #pragma GCC unroll 4
                for (int v = 0; v < 4; v++) acc[r][v] = _mm512_fmadd_ps(s, bv[v], acc[r][v]);
            }
        }
    }
    for (int64_t r = 0; r < ir; r++)
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mk[v], acc[r][v]);
}

/* A few rows of C (IR <= F_MR), NV vectors of columns at a time, with B read
 * in place: a decoded row's attention output P C (8 heads over its cached
 * latents) reads every element of B once, so packing it is pure cost, and
 * the 6-row kernel took two passes over it for 8 heads. deepseek2-tiny-24L
 * q4_K decode, 8 heads over ~160 positions x 256 latents, 1 thread: 15.7 ->
 * 5.4 us a layer. Each element is the same FMA chain as in ukr, so the bits
 * do not change (test gemm_nn_few_rows_same_bits). */
enum { F_MR = 8 };

INLINE void few_rows(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                     int64_t J, int64_t k0, int64_t k1, bool accumulate, const int IR, const int NV) {
    for (int64_t k = k0; k < k1; k += 16 * NV) {
        __mmask16 mk[6];
        __m512 acc[F_MR][6];
        #pragma GCC unroll 6
        for (int v = 0; v < NV; v++) mk[v] = lanes(k1 - k - 16 * v > 0 ? k1 - k - 16 * v : 0);
        #pragma GCC unroll 8
        for (int r = 0; r < IR; r++)
            #pragma GCC unroll 6
            for (int v = 0; v < NV; v++)
                acc[r][v] = accumulate ? _mm512_maskz_loadu_ps(mk[v], c + r * ldc + k + 16 * v) : _mm512_setzero_ps();
        const float *bj = b + k;
        for (int64_t j = 0; j < J; j++, bj += ldb) {
            __m512 bv[6];
            #pragma GCC unroll 6
            for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], bj + 16 * v);
            #pragma GCC unroll 8
            for (int r = 0; r < IR; r++) {
                __m512 s = _mm512_set1_ps(a[r * a_si + j * a_sj]);
                #pragma GCC unroll 6
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(s, bv[v], acc[r][v]);
            }
        }
        #pragma GCC unroll 8
        for (int r = 0; r < IR; r++)
            #pragma GCC unroll 6
            for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(c + r * ldc + k + 16 * v, mk[v], acc[r][v]);
    }
}

/* few_rows for 1..F_MR rows, each count compiled on its own (24 accumulators at most). */
static void few_rows_any(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                         int64_t J, int64_t ir, int64_t k0, int64_t k1, bool accumulate) {
    switch (ir) {
    case 1: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 1, 6); break;
    case 2: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 2, 6); break;
    case 3: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 3, 6); break;
    case 4: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 4, 6); break;
    case 5: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 5, 4); break;
    case 6: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 6, 4); break;
    case 7: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 7, 3); break;
    default: few_rows(c, ldc, a, a_si, a_sj, b, ldb, J, k0, k1, accumulate, 8, 3); break;
    }
}

INLINE void gemm_nn(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj, const float *b, int64_t ldb,
                    int64_t J, int64_t i0, int64_t i1, int64_t k0, int64_t k1, bool accumulate, gmode md) {
    if (md == G_F32 && i1 - i0 <= F_MR) {
        if (i1 > i0) few_rows_any(c + i0 * ldc, ldc, a + i0 * a_si, a_si, a_sj, b, ldb, J, i1 - i0, k0, k1, accumulate);
        return;
    }
    for (int64_t kb = k0; kb < k1; kb += G_NC) {
        int64_t nc = min64(G_NC, k1 - kb), np = (nc + G_NR - 1) / G_NR;
        for (int64_t jb = 0; jb < J || jb == 0; jb += G_KC) {
            int64_t kc = min64(G_KC, J - jb);
            bool load = accumulate || jb > 0;
            pack_b(b, ldb, jb, kc, kb, nc, md);
            int64_t pstride = md == G_BF16_DP ? ((kc + 1) / 2) * G_NR : kc * G_NR;
            for (int64_t i = i0; i < i1; i += G_MR) {
                int64_t ir = min64(G_MR, i1 - i), sr = 0, sp = 0;
                if (md == G_BF16_DP && kc > 0) pack_a_bf16(a, a_si, a_sj, i, ir, jb, kc, &sr, &sp);
                for (int64_t q = 0; q < np; q++) {
                    __mmask16 mk[4];
                    #pragma GCC unroll 4
                    for (int v = 0; v < 4; v++) {
                        int64_t left = nc - q * G_NR - 16 * v;
                        mk[v] = lanes(left > 0 ? left : 0);
                    }
                    ukr(c + i * ldc + kb + q * G_NR, ldc, ir, mk, a + i * a_si + jb * a_sj, a_si, a_sj, g_apack, sr, sp,
                        g_bpack + q * pstride, kc, load, md);
                }
            }
        }
    }
}

static void k_gemm_nn_f32_f32_avx512(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                     const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                     int64_t k1, bool accumulate) {
    gemm_nn(c, ldc, a, a_si, a_sj, b, ldb, J, i0, i1, k0, k1, accumulate, G_F32);
}

static void k_gemm_nn_bf16_bf16_avx512bf16(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                           const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                           int64_t k1, bool accumulate) {
    gemm_nn(c, ldc, a, a_si, a_sj, b, ldb, J, i0, i1, k0, k1, accumulate, G_BF16_DP);
}

static void k_gemm_nn_bf16_bf16_avx512(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                       const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                       int64_t k1, bool accumulate) {
    gemm_nn(c, ldc, a, a_si, a_sj, b, ldb, J, i0, i1, k0, k1, accumulate, G_BF16_EMU);
}

/* ---- bf16 forward product y = x w^T (x, w bf16) ----
 * With AVX512-BF16: the 4x4 tile of the f32 kernel, 32 k per step, vdpbf16ps
 * (16 pair sums per FMA-slot). Without it: both operands widened to f32. */
INLINE void tile4x4_bb(float *y, int64_t ldy, const uint16_t *x, int64_t nr, const uint16_t *w, int64_t m, int64_t mr,
                       int64_t K) {
    const uint16_t *xr[4], *wr[4];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) xr[r] = x + min64(r, nr - 1) * K;
    #pragma GCC unroll 8
    for (int c = 0; c < 4; c++) wr[c] = w + (m + min64(c, mr - 1)) * K;
    __m512 acc[4][4];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++)
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 32) {
        __mmask32 mk = K - k >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << (K - k)) - 1u);
        __m512i xv[4];
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) xv[r] = _mm512_maskz_loadu_epi16(mk, xr[r] + k);
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) {
            __m512i wv = _mm512_maskz_loadu_epi16(mk, wr[c] + k);
            #pragma GCC unroll 8
            for (int r = 0; r < 4; r++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)xv[r], (__m512bh)wv);
        }
    }
    __m512 s = reduce16(acc);
    __mmask8 ms = (__mmask8)lanes(mr);
    _mm_mask_storeu_ps(y + m, ms, _mm512_castps512_ps128(s));
    if (nr > 1) _mm_mask_storeu_ps(y + ldy + m, ms, _mm512_extractf32x4_ps(s, 1));
    if (nr > 2) _mm_mask_storeu_ps(y + 2 * ldy + m, ms, _mm512_extractf32x4_ps(s, 2));
    if (nr > 3) _mm_mask_storeu_ps(y + 3 * ldy + m, ms, _mm512_extractf32x4_ps(s, 3));
}

static void k_matmul_bf16_bf16_avx512bf16(float *y, int64_t ldy, const uint16_t *x, int64_t N, const uint16_t *w,
                                          int64_t K, int64_t m0, int64_t m1) {
    /* X rows per block: the block (nb x K bf16) stays within 256 KB of L2 */
    int64_t nb = ((int64_t)131072 / (K > 0 ? K : 1)) & ~(int64_t)3;
    if (nb < 4) nb = 4;
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        int64_t n1 = min64(N, n0 + nb);
        for (int64_t m = m0; m < m1; m += 4)
            for (int64_t n = n0; n < n1; n += 4)
                tile4x4_bb(y + n * ldy, ldy, x + n * K, min64(4, n1 - n), w, m, min64(4, m1 - m), K);
    }
}

static void k_matmul_bf16_bf16_avx512(float *y, int64_t ldy, const uint16_t *x, int64_t N, const uint16_t *w,
                                      int64_t K, int64_t m0, int64_t m1) {
    matmul(y, ldy, x, R1_DT_BF16, N, w, K, m0, m1, R1_DT_BF16);
}

/* AdamW, the oracle's operations in its order (mul and add, no FMA). */
static void k_adamw_avx512(float *p, float *g, float *m, float *v, uint16_t *pb, int64_t n, float gs, float lr,
                           float b1, float b2, float eps, float wd, float c1, float c2) {
    __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2), vc1 = _mm512_set1_ps(c1), vc2 = _mm512_set1_ps(c2);
    __m512 vb1c = _mm512_set1_ps(1.0f - b1), vb2c = _mm512_set1_ps(1.0f - b2), veps = _mm512_set1_ps(eps);
    __m512 vlr = _mm512_set1_ps(lr), vwd = _mm512_set1_ps(wd), vgs = _mm512_set1_ps(gs);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = lanes(n - i);
        __m512 gv = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, g + i), vgs), pv = _mm512_maskz_loadu_ps(mk, p + i);
        __m512 mv = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_maskz_loadu_ps(mk, m + i)), _mm512_mul_ps(vb1c, gv));
        __m512 vv = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_maskz_loadu_ps(mk, v + i)),
                                  _mm512_mul_ps(_mm512_mul_ps(vb2c, gv), gv));
        __m512 upd = _mm512_div_ps(_mm512_div_ps(mv, vc1),
                                   _mm512_add_ps(_mm512_sqrt_ps(_mm512_div_ps(vv, vc2)), veps));
        pv = _mm512_sub_ps(pv, _mm512_mul_ps(vlr, _mm512_add_ps(_mm512_mul_ps(vwd, pv), upd)));
        _mm512_mask_storeu_ps(m + i, mk, mv);
        _mm512_mask_storeu_ps(v + i, mk, vv);
        _mm512_mask_storeu_ps(p + i, mk, pv);
        _mm512_mask_storeu_ps(g + i, mk, _mm512_setzero_ps());
        if (pb) _mm256_mask_storeu_epi16(pb + i, mk, to_bf16_bits(pv));
    }
}

static float k_dot_f32_avx512(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* Two passes: the maximum (four chains of vmaxps, which returns its second
 * operand when either is NaN, so max(x, m) never takes a NaN), then the
 * first element equal to it (equality holds +0 and -0 alike, as the scan's
 * strict > does). Tracking indices in one pass was twice as slow: every
 * compare to a mask register goes to one port on Intel. */
static int32_t k_argmax_avx512(const float *x, int64_t n) {
    if (n <= 0 || !(x[0] == x[0])) return 0; /* NaN at 0: every > is false */
    __m512 m0 = _mm512_set1_ps(x[0]), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
        m2 = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), m2);
        m3 = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), m3);
    }
    for (; i < n; i += 16) m0 = _mm512_mask_max_ps(m0, lanes(n - i), _mm512_maskz_loadu_ps(lanes(n - i), x + i), m0);
    __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3))));
    for (i = 0; i + 64 <= n; i += 64) {
        uint64_t e = 0;
        for (int a = 0; a < 4; a++)
            e |= (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 16 * a), mx, _CMP_EQ_OQ) << (16 * a);
        if (e) return (int32_t)(i + __builtin_ctzll(e));
    }
    for (; i < n; i += 16) {
        __mmask16 e = _mm512_mask_cmp_ps_mask(lanes(n - i), _mm512_maskz_loadu_ps(lanes(n - i), x + i), mx, _CMP_EQ_OQ);
        if (e) return (int32_t)(i + __builtin_ctz(e));
    }
    return 0; /* not reached: mx is one of the elements */
}

/* kernels.h's order: lane l of one 8-wide double sum is the partial s_l. */
static double k_sumsq_avx512(const float *x, int64_t n) {
    __m512d s = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        s = _mm512_fmadd_pd(v, v, s);
    }
    double p[8];
    _mm512_storeu_pd(p, s);
    for (; i < n; i++) p[0] += (double)x[i] * x[i];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

static void k_axpy_f32_avx512(float *y, float a, const float *x, int64_t n) {
    __m512 av = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 r = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}

static void k_scale_avx512(float *x, int64_t n, float s) {
    __m512 sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(sv, _mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void k_to_f32_f32_avx512(float *dst, const void *src, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        _mm512_mask_storeu_ps(dst + i, m, wload_mask(src, i, m, R1_DT_F32));
    }
}

static void k_to_f32_f16_avx512(float *dst, const void *src, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        _mm512_mask_storeu_ps(dst + i, m, wload_mask(src, i, m, R1_DT_F16));
    }
}

static void k_to_f32_bf16_avx512(float *dst, const void *src, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        _mm512_mask_storeu_ps(dst + i, m, wload_mask(src, i, m, R1_DT_BF16));
    }
}

/* ---- quantized weights (x86_quant.h) ----
 * This table needs AVX512-VNNI (cpu_features.c checks it): vpdpwssd fuses the
 * scale multiply and the int32 accumulation. */
#include <string.h>

/* acc + pairwise int16 products summed into int32 lanes, one instruction. */
static inline __m256i madd_acc(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
#define QISA avx512
#include "kernels/x86_quant.h"

/* Q4_K with 512-bit vectors: 64 weight bytes (128 elements) per step. Their
 * low nibbles are elements 0..31 and 64..95 of the 128 and the high nibbles
 * 32..63 and 96..127, which is why the activations come in r1_act_q4_K_pos
 * order: one 64-byte load meets each. Each 256-bit half is one sub-block, so
 * the int16 scale vector holds two scales (per half). On the Zen 5 box a
 * decode matvec (1536 x 8960, 1 thread) went from 0.36 ms with the 256-bit
 * kernel (21.5 GB/s of weights) to 0.27 ms (29 GB/s). */
/* The 8 scales and 8 mins of a Q4_K block as int16 [sc0..7 | mn0..7], with
 * vector ops on the 12 packed bytes (r1_q4_K_scales8's layout: bytes 0-3
 * scales 0-3 and 4-7 mins 0-3 in their low 6 bits, bytes 8-11 the low
 * nibbles of scales 4-7 and high nibbles of mins 4-7, whose top 2 bits are
 * the top bits of bytes 0-7). The scalar unpacking was a third of the
 * instructions per super-block of the decode loop. */
static inline __m256i q4_K_scales16(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p); /* bytes 12-15 are codes of the same block, unused */
    __m128i lo = _mm_and_si128(v, _mm_set1_epi8(63));
    __m128i top = _mm_and_si128(_mm_srli_epi16(v, 6), _mm_set1_epi8(3));
    __m128i b8 = _mm_shuffle_epi8(v, _mm_setr_epi8(8, 9, 10, 11, 8, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1));
    __m128i nib = _mm_blend_epi16(_mm_and_si128(b8, _mm_set1_epi8(15)),
                                  _mm_and_si128(_mm_srli_epi16(b8, 4), _mm_set1_epi8(15)), 0x0c);
    __m128i hi = _mm_or_si128(nib, _mm_slli_epi16(top, 4)); /* scales 4-7 | mins 4-7 */
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi32(lo, hi));
}

/* acc[r] = 16 lane sums of weight row w against activation row r (the mins
 * folded into lanes 0-3): the horizontal sum is the caller's. */
static inline __attribute__((always_inline)) void dot_q4_K_zv(__m512 *acc, const r1_block_q4_K *w,
                                                              const r1_act_q8K *x, int64_t xs, int nx, int64_t nb) {
    const __m512i lo4 = _mm512_set1_epi8(15);
    __m128 macc[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const r1_block_q4_K *wb = &w[b];
        stream_prefetch(wb, 3);
        __m256i sm = q4_K_scales16(wb->scales);
        __m512i scz = _mm512_broadcast_i32x4(_mm256_castsi256_si128(sm));
        __m128i mn16 = _mm256_extracti128_si256(sm, 1);
        float d = f16f(wb->d), dmin = f16f(wb->dmin);
        __m512i isum[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                           _mm512_setzero_si512()};
        #pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m512i raw = _mm512_loadu_si512((const void *)(wb->qs + 64 * h));
            __m512i ql = _mm512_and_si512(raw, lo4), qh = _mm512_and_si512(_mm512_srli_epi16(raw, 4), lo4);
            /* int16 word j of every 128-bit lane, j = sub-block: low 256 bits chunk 2h, high 256 chunk 2h+1 */
            short j0 = (short)(0x0100 + 0x0202 * (4 * h)), j1 = (short)(0x0100 + 0x0202 * (4 * h + 2));
            short k0 = (short)(0x0100 + 0x0202 * (4 * h + 1)), k1 = (short)(0x0100 + 0x0202 * (4 * h + 3));
            __m512i s_lo = _mm512_shuffle_epi8(
                scz, _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(j0)), _mm256_set1_epi16(j1), 1));
            __m512i s_hi = _mm512_shuffle_epi8(
                scz, _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(k0)), _mm256_set1_epi16(k1), 1));
            #pragma GCC unroll 4
            for (int r = 0; r < nx; r++) {
                const int8_t *xq = x[r * xs + b].qs + 128 * h;
                __m512i p0 = _mm512_maddubs_epi16(ql, _mm512_loadu_si512((const void *)xq));
                __m512i p1 = _mm512_maddubs_epi16(qh, _mm512_loadu_si512((const void *)(xq + 64)));
                isum[r] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[r], p0, s_lo), p1, s_hi);
            }
        }
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++) {
            const r1_act_q8K *xb = &x[r * xs + b];
            __m128i m = _mm_madd_epi16(mn16, _mm_loadu_si128((const __m128i *)xb->bsums32));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_set1_ps(d * xb->d), acc[r]);
            macc[r] = _mm_fmadd_ps(_mm_cvtepi32_ps(m), _mm_set1_ps(dmin * xb->d), macc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) acc[r] = _mm512_sub_ps(acc[r], _mm512_zextps128_ps512(macc[r]));
}

static inline __attribute__((always_inline)) void dot_q4_K_z(float *out, const r1_block_q4_K *w, const r1_act_q8K *x,
                                                             int64_t xs, int nx, int64_t nb) {
    __m512 acc[4];
    dot_q4_K_zv(acc, w, x, xs, nx, nb);
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) out[r] = _mm512_reduce_add_ps(acc[r]);
}
QMM_DRIVER(k_qmatmul_q4_K_zn, r1_block_q4_K, r1_act_q8K, dot_q4_K_z, 256)

/* Q6_K with 512-bit vectors: the 64 low-bit bytes of a half (ql[64h ..
 * 64h+63]) are one load whose low nibbles are elements 0..63 of the half and
 * high nibbles 64..127; the 32 high-bit bytes go to both 256-bit halves and
 * vpsrlvw shifts each half by its own amount. A vector of codes then meets 64
 * contiguous activation bytes, and its int16 scale vector holds 4 sub-block
 * scales (8 lanes each). The -32 offset comes from the activation sums of 16. */
/* acc[r] = 16 lane sums of weight row w against activation row r. */
static inline __attribute__((always_inline)) void dot_q6_K_zv(__m512 *acc, const r1_block_q6_K *w,
                                                              const r1_act_q8K *x, int64_t xs, int nx, int64_t nb) {
    const __m512i lo4 = _mm512_set1_epi8(15), three = _mm512_set1_epi8(3);
    const __m512i sh_a = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1); /* g = 0 | 1 */
    const __m512i sh_b = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);  /* g = 2 | 3 */
    __m512i isc[4]; /* int16 lane i takes scale 4v + i / 8 */
    #pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        int16_t ix[32];
        for (int i = 0; i < 32; i++) ix[i] = (int16_t)(4 * v + i / 8);
        isc[v] = _mm512_loadu_si512(ix);
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const r1_block_q6_K *wb = &w[b];
        stream_prefetch(wb, 4);
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wb->scales));
        __m512i scz = _mm512_castsi256_si512(sc16);
        __m512i isum[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                           _mm512_setzero_si512()};
        #pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m512i l = _mm512_loadu_si512((const void *)(wb->ql + 64 * h));
            __m512i hb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(wb->qh + 32 * h)));
            __m512i qa = _mm512_or_si512(_mm512_and_si512(l, lo4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, sh_a), three), 4));
            __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), lo4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, sh_b), three), 4));
            __m512i sa = _mm512_permutexvar_epi16(isc[2 * h], scz), sb = _mm512_permutexvar_epi16(isc[2 * h + 1], scz);
            #pragma GCC unroll 4
            for (int r = 0; r < nx; r++) {
                const int8_t *xq = x[r * xs + b].qs + 128 * h;
                __m512i pa = _mm512_maddubs_epi16(qa, _mm512_loadu_si512((const void *)xq));
                __m512i pb = _mm512_maddubs_epi16(qb, _mm512_loadu_si512((const void *)(xq + 64)));
                isum[r] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[r], pa, sa), pb, sb);
            }
        }
        float d = f16f(wb->d);
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++) {
            const r1_act_q8K *xb = &x[r * xs + b];
            /* the -32 offset: 32 sum_j sc_j bsum_j, exact in int32 */
            __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            __m512i t = _mm512_sub_epi32(isum[r], _mm512_zextsi256_si512(_mm256_slli_epi32(off, 5)));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(d * xb->d), acc[r]);
        }
    }
}

static inline __attribute__((always_inline)) void dot_q6_K_z(float *out, const r1_block_q6_K *w, const r1_act_q8K *x,
                                                             int64_t xs, int nx, int64_t nb) {
    __m512 acc[4];
    dot_q6_K_zv(acc, w, x, xs, nx, nb);
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) out[r] = _mm512_reduce_add_ps(acc[r]);
}
QMM_DRIVER(k_qmatmul_q6_K_zn, r1_block_q6_K, r1_act_q8K, dot_q6_K_z, 256)

/* K-type decode (N = 1): weight rows one after the other (one prefetched
 * stream), their lane sums reduced 4 rows at a time. With K = 1024 (4
 * super-blocks a row) the per-row horizontal sums and the scalar store of
 * each result were about a third of the Q4_K kernel's samples in `perf`. */
INLINE void kq_decode(float *y, const void *xq, const void *w, int64_t K, int64_t m0, int64_t m1, r1_dtype t) {
    const int64_t nb = K / 256;
    for (int64_t m = m0; m < m1; m += 4) {
        int64_t mr = min64(4, m1 - m);
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t c = 0; c < mr; c++) {
            if (t == R1_DT_Q4_K)
                dot_q4_K_zv(&acc[c], (const r1_block_q4_K *)w + (m + c) * nb, xq, nb, 1, nb);
            else
                dot_q6_K_zv(&acc[c], (const r1_block_q6_K *)w + (m + c) * nb, xq, nb, 1, nb);
        }
        _mm_mask_storeu_ps(y + m, (__mmask8)lanes(mr), reduce4(acc[0], acc[1], acc[2], acc[3]));
    }
}

static void k_qmatmul_q4_K_z_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    if (N == 1)
        kq_decode(y, xq, w, K, m0, m1, R1_DT_Q4_K);
    else
        k_qmatmul_q4_K_zn_avx512(y, ldy, xq, N, w, K, m0, m1);
}

static void k_qmatmul_q6_K_z_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    if (N == 1)
        kq_decode(y, xq, w, K, m0, m1, R1_DT_Q6_K);
    else
        k_qmatmul_q6_K_zn_avx512(y, ldy, xq, N, w, K, m0, m1);
}

/* Q8_0 decode (N = 1) with 512-bit vectors: two blocks per vector, one
 * weight row at a time (two FMA chains), so the rows are read in address
 * order as one prefetched stream (x86_stream.h). AVX-512 has no vpsignb, so
 * the activation bytes are negated under the mask of negative weights and
 * vpdpbusd multiplies |w| by them. Why one stream: the lm_head of
 * qwen2-1.5B (151936 x 1536) from the mmap'd GGUF streamed at 22-27 GB/s
 * with 4 rows interleaved and a prefetch 4 rows ahead, 25-35 GB/s this way
 * (1 thread, same runs). */
static inline __m512i pair_qs(const int8_t *lo, const int8_t *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)lo)),
                              _mm256_loadu_si256((const __m256i *)hi), 1);
}

/* acc + blocks b and b1 of one weight row times the same activation blocks
 * (b1 == b: the odd last block, counted once through a zero scale). */
static inline __attribute__((always_inline)) __m512 q8_0_pair(__m512 acc, const r1_block_q8_0 *w,
                                                              const r1_act_q8 *x, int64_t b, int64_t b1) {
    __m512i xv = pair_qs(x[b].qs, x[b1].qs);
    __m512 dx = _mm512_insertf32x8(_mm512_set1_ps(x[b].d), _mm256_set1_ps(b1 > b ? x[b1].d : 0.0f), 1);
    __m512i wv = pair_qs(w[b].qs, w[b1].qs);
    __m512i xs = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(wv), _mm512_setzero_si512(), xv);
    __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(wv), xs);
    __m512 dw = _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16((short)w[b1].d), _mm_set1_epi16((short)w[b].d)));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, dx), acc);
}

static void k_qmatmul_q8_0_z_avx512(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    if (N != 1) {
        k_qmatmul_q8_0_avx512(y, ldy, xq, N, w, K, m0, m1);
        return;
    }
    const int64_t nb = K / 32;
    const r1_act_q8 *x = xq;
    for (int64_t m = m0; m < m1; m++) {
        const r1_block_q8_0 *wr = (const r1_block_q8_0 *)w + m * nb;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        int64_t b = 0;
        for (; b + 4 <= nb; b += 4) {
            stream_prefetch(wr + b, 3); /* 136 bytes of blocks per step */
            a0 = q8_0_pair(a0, wr, x, b, b + 1);
            a1 = q8_0_pair(a1, wr, x, b + 2, b + 3);
        }
        for (; b < nb; b += 2) a0 = q8_0_pair(a0, wr, x, b, b + 1 < nb ? b + 1 : b);
        y[m] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
}

/* exp(x) for x <= 0 down to underflow (the loss only needs that range; larger
 * x are clamped at 88.7): x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6
 * polynomial (Cephes expf coefficients, FMA), 2^n via the exponent field.
 * Measured against expf: <= 2 ulp over [-104, 0]. */
INLINE __m512 exp512(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n); /* p * 2^n, gradual underflow included */
}

static double k_lse_avx512(const float *z, int64_t n) {
    __m512 mv = _mm512_set1_ps(z[0]);
    for (int64_t i = 0; i < n; i += 16) mv = _mm512_mask_max_ps(mv, lanes(n - i), mv, _mm512_maskz_loadu_ps(lanes(n - i), z + i));
    float mx = _mm512_reduce_max_ps(mv);
    __m512 sh = _mm512_set1_ps(mx);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 e = _mm512_maskz_mov_ps(m, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + i), sh)));
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    return (double)mx + log(_mm512_reduce_add_pd(_mm512_add_pd(s0, s1)));
}

static void k_exp_scale_avx512(float *z, int64_t n, float shift, float s) {
    __m512 sh = _mm512_set1_ps(shift), sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + i), sh));
        _mm512_mask_storeu_ps(z + i, m, _mm512_mul_ps(sv, e));
    }
}

static void k_silu_mul_avx512(float *g, float *u, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 gv = _mm512_maskz_loadu_ps(m, g + i), uv = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, u + i), gv);
        _mm512_mask_storeu_ps(u + i, m, uv);
        __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), gv));
        _mm512_mask_storeu_ps(g + i, m, _mm512_div_ps(uv, _mm512_add_ps(one, e)));
    }
}

static void k_to_bf16_avx512(uint16_t *dst, const float *src, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        _mm256_mask_storeu_epi16(dst + i, m, to_bf16_bits(_mm512_maskz_loadu_ps(m, src + i)));
    }
}

/* Activation rows from which the packed GEMM beats the 4-row kernels
 * (1024 x 1536 weights streamed from DRAM, 1 thread, Zen 5 box under load:
 * Q8_0 at N = 6 by 12%, Q4_K at N = 8 by 30% and even at 6; Q6_K, whose
 * packing is the dearest, lost at N = 8 by 20%). */
#define QGEMM_MIN_N {[R1_DT_Q8_0] = 6, [R1_DT_Q4_K] = 6, [R1_DT_Q6_K] = 12, [R1_DT_Q4_K_R8] = 6, [R1_DT_Q8_0_R8] = 6}

/* Two tables: the bf16 products use vdpbf16ps only where the CPU has
 * AVX512-BF16 (cpu_features.c picks); otherwise they widen to f32. */
#define AVX512_COMMON                                                                                      \
    .isa = "avx512",                                                                                       \
    .matmul = {[R1_DT_F32] = k_matmul_f32_f32_avx512, [R1_DT_F16] = k_matmul_f16_f32_avx512,               \
               [R1_DT_BF16] = k_matmul_bf16_f32_avx512},                                                   \
    .qmatmul = {[R1_DT_Q8_0] = k_qmatmul_q8_0_z_avx512, [R1_DT_Q4_0] = k_qmatmul_q4_0_avx512,               \
                [R1_DT_Q4_K] = k_qmatmul_q4_K_z_avx512, [R1_DT_Q6_K] = k_qmatmul_q6_K_z_avx512,              \
                [R1_DT_Q4_K_R8] = r1_qmatmul_q4_K_r8_avx512, [R1_DT_Q8_0_R8] = r1_qmatmul_q8_0_r8_avx512,   \
                [R1_DT_Q4_0_R8] = r1_qmatmul_q4_0_r8_avx512},                                               \
    .qgemm = {[R1_DT_Q8_0] = r1_qgemm_q8_0_avx512, [R1_DT_Q4_K] = r1_qgemm_q4_K_avx512,                    \
              [R1_DT_Q6_K] = r1_qgemm_q6_K_avx512, [R1_DT_Q4_K_R8] = r1_qgemm_q4_K_r8_avx512,              \
              [R1_DT_Q8_0_R8] = r1_qgemm_q8_0_r8_avx512},                                                  \
    .qgemm_min_n = QGEMM_MIN_N, .qgemm_ws = r1_qgemm_ws_avx512, .act_quantize = r1_act_quantize_avx512,   \
    .gemm_nn = k_gemm_nn_f32_f32_avx512, .dot = k_dot_f32_avx512, .axpy = k_axpy_f32_avx512,              \
    .scale = k_scale_avx512,                                                                               \
    .argmax = k_argmax_avx512, .sumsq = k_sumsq_avx512,                                                    \
    .adamw = k_adamw_avx512, .to_bf16 = k_to_bf16_avx512, .lse = k_lse_avx512, .exp_scale = k_exp_scale_avx512, .silu_mul = k_silu_mul_avx512, \
    .to_f32 = {[R1_DT_F32] = k_to_f32_f32_avx512, [R1_DT_F16] = k_to_f32_f16_avx512,                       \
               [R1_DT_BF16] = k_to_f32_bf16_avx512}

const r1_kernels r1_kernels_table_avx512 = {
    AVX512_COMMON,
    .gemm_nn_bb = k_gemm_nn_bf16_bf16_avx512,
    .matmul_bb = k_matmul_bf16_bf16_avx512,
};

const r1_kernels r1_kernels_table_avx512bf16 = {
    AVX512_COMMON,
    .gemm_nn_bb = k_gemm_nn_bf16_bf16_avx512bf16,
    .matmul_bb = k_matmul_bf16_bf16_avx512bf16,
};
#else
typedef int r1_no_avx512_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
