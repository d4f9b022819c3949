/* x86_avx512: AVX-512 kernels (F/BW/VL/DQ + FMA/F16C), f32 accumulation.
 * Y = X W^T with the reduction dimension K contiguous in both operands:
 *  - N = 1 (decode) is memory-bound: 4 weight rows stream together, two
 *    16-wide accumulators per row hide the FMA latency, bf16 (shift left 16)
 *    and f16 (vcvtph2ps) widen on the fly; one horizontal sum per row.
 *  - N > 1 is compute-bound: a 4x4 register tile (4 X rows x 4 W rows, 16
 *    accumulators) loads 8 vectors per 16 FMAs; X is blocked so a block stays
 *    in L2 while the 4 W rows of a tile stay in L1; the 16 horizontal sums of
 *    a tile are done together with one transpose tree.
 * Ragged K uses masked loads (masked-off memory is never touched); ragged N
 * and M repeat the last valid row inside the tile and store only valid lanes,
 * so every output element goes through the same instructions wherever it sits. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/tables.h"

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

/* y[m0..m1) = W[m0..m1) x for one activation row. */
INLINE void matvec(float *y, const float *x, const void *w, int64_t K, int64_t m0, int64_t m1, r1_dtype t) {
    const int64_t es = t == R1_DT_F32 ? 4 : 2;
    for (int64_t m = m0; m < m1; m += 4) {
        int64_t mr = min64(4, m1 - m), row[4];
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) row[c] = (m + min64(c, mr - 1)) * K;
        __m512 a[4][2];
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) a[c][0] = a[c][1] = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 32 <= K; k += 32) {
            __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
            #pragma GCC unroll 8
            for (int c = 0; c < 4; c++) {
                /* the same columns of the next 4 rows: short rows give the
                 * hardware prefetcher too little to lock on to */
                const char *pf = (const char *)w + (size_t)(row[c] + 4 * K + k) * es;
                _mm_prefetch(pf, _MM_HINT_T0);
                if (es == 4) _mm_prefetch(pf + 64, _MM_HINT_T0);
                a[c][0] = _mm512_fmadd_ps(x0, wload(w, row[c] + k, t), a[c][0]);
                a[c][1] = _mm512_fmadd_ps(x1, wload(w, row[c] + k + 16, t), a[c][1]);
            }
        }
        for (; k < K; k += 16) {
            __mmask16 mk = lanes(K - k);
            __m512 x0 = _mm512_maskz_loadu_ps(mk, x + k);
            #pragma GCC unroll 8
            for (int c = 0; c < 4; c++) a[c][0] = _mm512_fmadd_ps(x0, wload_mask(w, row[c] + k, mk, t), a[c][0]);
        }
        __m128 s = reduce4(_mm512_add_ps(a[0][0], a[0][1]), _mm512_add_ps(a[1][0], a[1][1]),
                           _mm512_add_ps(a[2][0], a[2][1]), _mm512_add_ps(a[3][0], a[3][1]));
        _mm_mask_storeu_ps(y + m, (__mmask8)lanes(mr), s);
    }
}

/* y[n .. n+nr) x [m .. m+mr) for nr, mr <= 4; x points at row n. */
INLINE void tile4x4(float *y, int64_t ldy, const float *x, int64_t nr, const void *w, int64_t m, int64_t mr,
                    int64_t K, r1_dtype t) {
    const float *xr[4];
    int64_t row[4];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) xr[r] = x + min64(r, nr - 1) * K;
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
        for (int r = 0; r < 4; r++) xv[r] = _mm512_loadu_ps(xr[r] + k);
        #pragma GCC unroll 8
        for (int c = 0; c < 4; c++) {
            __m512 wv = wload(w, row[c] + k, t);
            #pragma GCC unroll 8
            for (int r = 0; r < 4; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
    if (k < K) {
        __mmask16 mk = lanes(K - k);
        __m512 xv[4];
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) xv[r] = _mm512_maskz_loadu_ps(mk, xr[r] + k);
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

INLINE void matmul(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K, int64_t m0,
                   int64_t m1, r1_dtype t) {
    if (N == 1) {
        matvec(y, x, w, K, m0, m1, t);
        return;
    }
    /* X rows per block: the block (nb x K floats) stays within 256 KB of L2 */
    int64_t nb = ((int64_t)65536 / (K > 0 ? K : 1)) & ~(int64_t)3;
    if (nb < 4) nb = 4;
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        int64_t n1 = min64(N, n0 + nb);
        for (int64_t m = m0; m < m1; m += 4)
            for (int64_t n = n0; n < n1; n += 4)
                tile4x4(y + n * ldy, ldy, x + n * K, min64(4, n1 - n), w, m, min64(4, m1 - m), K, t);
    }
}

static void k_matmul_f32_f32_avx512(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    matmul(y, ldy, x, N, w, K, m0, m1, R1_DT_F32);
}

static void k_matmul_f16_f32_avx512(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                    int64_t m0, int64_t m1) {
    matmul(y, ldy, x, N, w, K, m0, m1, R1_DT_F16);
}

static void k_matmul_bf16_f32_avx512(float *y, int64_t ldy, const float *x, int64_t N, const void *w, int64_t K,
                                     int64_t m0, int64_t m1) {
    matmul(y, ldy, x, N, w, K, m0, m1, R1_DT_BF16);
}

/* C rows [i0, i1) x columns [k0, k1): tiles of 6 rows x 64 columns (24
 * accumulators), a broadcast from A times 4 vectors of a row of B per j, so
 * every element is one FMA chain in the order j = 0..J-1. Columns are the
 * outer loop and j is blocked by 256 so a 256 x 64 panel of B (64 KB) stays
 * in L2 across the row tiles: rows of B lie 4 KB apart and alias in the
 * caches, and without the j blocks dX = dY W ran at 43 GFLOP/s instead of
 * the figure in docs/KERNELS.md. Partial sums go through C between j blocks,
 * which is exact, so the order per element is unchanged. */
static void k_gemm_nn_f32_f32_avx512(float *c, int64_t ldc, const float *a, int64_t a_si, int64_t a_sj,
                                     const float *b, int64_t ldb, int64_t J, int64_t i0, int64_t i1, int64_t k0,
                                     int64_t k1, bool accumulate) {
    enum { R = 6, V = 4, JB = 256 };
    for (int64_t k = k0; k < k1; k += 16 * V) {
        __mmask16 mk[V];
        #pragma GCC unroll 8
        for (int v = 0; v < V; v++) mk[v] = k + 16 * v < k1 ? lanes(k1 - k - 16 * v) : 0;
        for (int64_t j0 = 0; j0 < J || j0 == 0; j0 += JB) {
            int64_t j1 = min64(J, j0 + JB);
            bool load = accumulate || j0 > 0;
            for (int64_t i = i0; i < i1; i += R) {
                int64_t ir = min64(R, i1 - i);
                const float *ar[R];
                #pragma GCC unroll 8
                for (int r = 0; r < R; r++) ar[r] = a + (i + min64(r, ir - 1)) * a_si;
                __m512 acc[R][V];
                #pragma GCC unroll 8
                for (int r = 0; r < R; r++)
                    #pragma GCC unroll 8
                    for (int v = 0; v < V; v++)
                        acc[r][v] = load ? _mm512_maskz_loadu_ps(mk[v], c + (i + min64(r, ir - 1)) * ldc + k + 16 * v)
                                               : _mm512_setzero_ps();
                for (int64_t j = j0; j < j1; j++) {
                    const float *bj = b + j * ldb + k;
                    __m512 bv[V];
                    #pragma GCC unroll 8
                    for (int v = 0; v < V; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], bj + 16 * v);
                    #pragma GCC unroll 8
                    for (int r = 0; r < R; r++) {
                        __m512 s = _mm512_set1_ps(ar[r][j * a_sj]);
                        #pragma GCC unroll 8
                        for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(s, bv[v], acc[r][v]);
                    }
                }
                for (int r = 0; r < ir; r++)
                    #pragma GCC unroll 8
                    for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(c + (i + r) * ldc + k + 16 * v, mk[v], acc[r][v]);
            }
        }
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

static void k_axpy_f32_avx512(float *y, float a, const float *x, int64_t n) {
    __m512 av = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 r = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
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
static inline __attribute__((always_inline)) void dot_q4_K_z(float *out, const r1_block_q4_K *w, const r1_act_q8K *x,
                                                             int64_t xs, int nx, int64_t nb) {
    const __m512i lo4 = _mm512_set1_epi8(15);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    __m128 macc[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const r1_block_q4_K *wb = &w[b];
        uint32_t sc[2], mn[2];
        q4_K_unpack(wb->scales, sc, mn);
        __m512i scz = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc[1], (int)sc[0])));
        __m128i mn16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn[1], (int)mn[0]));
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
            for (int r = 0; r < nx; r++) {
                const int8_t *xq = x[r * xs + b].qs + 128 * h;
                __m512i p0 = _mm512_maddubs_epi16(ql, _mm512_loadu_si512((const void *)xq));
                __m512i p1 = _mm512_maddubs_epi16(qh, _mm512_loadu_si512((const void *)(xq + 64)));
                isum[r] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[r], p0, s_lo), p1, s_hi);
            }
        }
        for (int r = 0; r < nx; r++) {
            const r1_act_q8K *xb = &x[r * xs + b];
            __m128i m = _mm_madd_epi16(mn16, _mm_loadu_si128((const __m128i *)xb->bsums32));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_set1_ps(d * xb->d), acc[r]);
            macc[r] = _mm_fmadd_ps(_mm_cvtepi32_ps(m), _mm_set1_ps(dmin * xb->d), macc[r]);
        }
    }
    for (int r = 0; r < nx; r++) {
        __m128 m = _mm_add_ps(macc[r], _mm_movehl_ps(macc[r], macc[r]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[r] = _mm512_reduce_add_ps(acc[r]) - _mm_cvtss_f32(m);
    }
}
QMM_DRIVER(k_qmatmul_q4_K_z, r1_block_q4_K, r1_act_q8K, dot_q4_K_z, 256)

const r1_kernels r1_kernels_table_avx512 = {
    .isa = "avx512",
    .matmul = {[R1_DT_F32] = k_matmul_f32_f32_avx512, [R1_DT_F16] = k_matmul_f16_f32_avx512,
               [R1_DT_BF16] = k_matmul_bf16_f32_avx512},
    .qmatmul = {[R1_DT_Q8_0] = k_qmatmul_q8_0_avx512, [R1_DT_Q4_0] = k_qmatmul_q4_0_avx512,
                [R1_DT_Q4_K] = k_qmatmul_q4_K_z_avx512, [R1_DT_Q6_K] = k_qmatmul_q6_K_avx512},
    .gemm_nn = k_gemm_nn_f32_f32_avx512,
    .dot = k_dot_f32_avx512,
    .axpy = k_axpy_f32_avx512,
    .to_f32 = {[R1_DT_F32] = k_to_f32_f32_avx512, [R1_DT_F16] = k_to_f32_f16_avx512,
               [R1_DT_BF16] = k_to_f32_bf16_avx512},
};
#else
typedef int r1_no_avx512_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
