/* x86_avx512_qgemm: the int8 GEMM for quantized weights times many quantized
 * activation rows (prefill, batched decode), AVX-512 with VNNI.
 *
 * Design: GotoBLAS-style packing on the fly. For each panel of 8 weight rows
 * the thread unpacks their GGUF blocks once into ws, in the layout the
 * register tile wants, then runs the panel against every activation row of an
 * L2-sized block, R rows at a time. In that layout one 64-byte vector holds 8
 * consecutive k of each of the 8 rows (row j in dwords 2j and 2j+1), so 8
 * bytes of an activation row broadcast to every lane feed one vpdpbusd (Q8_0)
 * or vpmaddubsw + vpdpwssd (K types, which fold the sub-block scales in) that
 * advances 8 dot products at once; per-row scales are plain vectors (row j's
 * in lanes 2j, 2j+1) and the two half sums of a row meet only at the end.
 * The GGUF bytes stay mmap'd and untouched: no load-time repack, no copy.
 * Packing costs about 2-3 activation rows of compute per panel and activation
 * block (measured crossover vs the 4-row matvec kernel: kernels.h qgemm_min_n).
 * Integer block sums are exact, as in ref.c; only the order of the f32
 * accumulation differs, and it is fixed per output, so any M split across
 * threads gives the same bits. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/tables.h"
#include "kernels/x86_r8z.h"

#define INLINE static inline __attribute__((always_inline))
enum { R = 4,          /* activation rows per register tile */
       XBLOCK = 512 << 10 }; /* bytes of activation rows kept in L2 while panels stream past */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static inline int64_t load64(const void *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* a_i = [row 2i | row 2i+1], four 8-byte words each -> out[c] = word c of rows 0..7. */
INLINE void transpose8(__m512i out[4], __m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i i01 = _mm512_setr_epi64(0, 4, 8, 12, 1, 5, 9, 13), i23 = _mm512_setr_epi64(2, 6, 10, 14, 3, 7, 11, 15);
    __m512i t0 = _mm512_permutex2var_epi64(a0, i01, a1), t1 = _mm512_permutex2var_epi64(a0, i23, a1);
    __m512i u0 = _mm512_permutex2var_epi64(a2, i01, a3), u1 = _mm512_permutex2var_epi64(a2, i23, a3);
    out[0] = _mm512_shuffle_i64x2(t0, u0, 0x44);
    out[1] = _mm512_shuffle_i64x2(t0, u0, 0xee);
    out[2] = _mm512_shuffle_i64x2(t1, u1, 0x44);
    out[3] = _mm512_shuffle_i64x2(t1, u1, 0xee);
}

INLINE __m512i pair256(const void *lo, const void *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)lo)),
                              _mm256_loadu_si256((const __m256i *)hi), 1);
}

/* y[r][m + j] = lane 2j + lane 2j+1 of acc[r], for r < nr, j < mr. */
INLINE void store_tile(float *y, int64_t ldy, const __m512 acc[R], int nr, int mr) {
    __mmask8 mk = (__mmask8)((1u << mr) - 1u);
    for (int r = 0; r < nr; r++) {
        __m512 t = _mm512_add_ps(acc[r], _mm512_permute_ps(acc[r], 0xb1));
        _mm256_mask_storeu_ps(y + r * ldy, mk, _mm512_castps512_ps256(_mm512_maskz_compress_ps(0x5555, t)));
    }
}

/* Activation rows per L2 block: a multiple of R, at least R. */
static int64_t xblock_rows(size_t row_bytes) {
    int64_t n = (int64_t)(XBLOCK / (row_bytes + 1)) / R * R;
    return n < R ? R : n;
}

/* The table's GEMM for a weight type: per L2 block of activation rows and
 * panel of 8 weight rows, pack the panel into ws, then R rows at a time. */
#define QGEMM_DRIVER(name, xblock, QB, pack, tile)                                                                 \
    void name(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0, int64_t m1, \
              void *ws) {                                                                                          \
        int64_t nb = K / QB, xb = xblock_rows((size_t)nb * sizeof(xblock));                                        \
        const xblock *x = xq;                                                                                      \
        for (int64_t n0 = 0; n0 < N; n0 += xb) {                                                                   \
            int64_t n1 = min64(N, n0 + xb);                                                                        \
            for (int64_t m = m0; m < m1; m += 8) {                                                                 \
                int mr = (int)min64(8, m1 - m);                                                                    \
                pack(ws, w, nb, m, mr);                                                                            \
                for (int64_t n = n0; n < n1; n += R)                                                               \
                    tile(y + n * ldy + m, ldy, ws, x + n * nb, nb, (int)min64(R, n1 - n), mr);                    \
            }                                                                                                      \
        }                                                                                                          \
    }

/* ---- Q8_0: sum_b d_w d_x sum_i w_i x_i ----
 * vpdpbusd wants one unsigned operand: the packed weights are w + 128, and
 * the extra 128 sum_i x_i of a block (r1_act_q8.sum) starts its accumulator
 * at -64 sum in each of the row's two lanes. */
typedef struct {
    uint8_t q[4][64]; /* vector c: w + 128 for k = 8c .. 8c+7 of each row */
    float d[16];
} pk_q8_0;
_Static_assert(sizeof(pk_q8_0) == 320, "packed Q8_0 block");

/* Rows m .. m+mr of w (mr <= 8; the last valid row fills the rest). */
static void pack_q8_0(pk_q8_0 *p, const r1_block_q8_0 *w, int64_t nb, int64_t m, int mr) {
    const r1_block_q8_0 *row[8];
    for (int j = 0; j < 8; j++) row[j] = w + (m + (j < mr ? j : mr - 1)) * nb;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
        __m512i o[4];
        transpose8(o, pair256(row[0][b].qs, row[1][b].qs), pair256(row[2][b].qs, row[3][b].qs),
                   pair256(row[4][b].qs, row[5][b].qs), pair256(row[6][b].qs, row[7][b].qs));
        for (int c = 0; c < 4; c++) _mm512_store_si512((__m512i *)p[b].q[c], _mm512_xor_si512(o[c], flip));
        uint16_t h[8];
        for (int j = 0; j < 8; j++) h[j] = row[j][b].d;
        _mm512_store_ps(p[b].d, r8z_f16x2(h));
    }
}

INLINE void tile_q8_0(float *y, int64_t ldy, const pk_q8_0 *p, const r1_act_q8 *x, int64_t nb, int nr, int mr) {
    const r1_act_q8 *xr[R];
    __m512 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) xr[r] = x + (r < nr ? r : nr - 1) * nb, acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i w[4];
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) w[c] = _mm512_load_si512((const __m512i *)p[b].q[c]);
        __m512 dw = _mm512_load_ps(p[b].d);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const r1_act_q8 *xb = xr[r] + b;
            __m512i s = _mm512_set1_epi32(-64 * xb->sum);
            #pragma GCC unroll 4
            for (int c = 0; c < 4; c++) s = _mm512_dpbusd_epi32(s, w[c], _mm512_set1_epi64(load64(xb->qs + 8 * c)));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(xb->d)), acc[r]);
        }
    }
    store_tile(y, ldy, acc, nr, mr);
}

/* The same panel from 8 interleaved rows (core/repack.h): one vpermd pairs
 * each row's code dwords (x86_r8z.h). m is a multiple of 8. */
static void pack_q8_0_r8(pk_q8_0 *p, const r1_block_q8_0_r8 *w, int64_t nb, int64_t m, int mr) {
    (void)mr;
    const r1_block_q8_0_r8 *g8 = w + (m / 8) * nb;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
        for (int c = 0; c < 4; c++) _mm512_store_si512((__m512i *)p[b].q[c], _mm512_xor_si512(r8z_pair(g8[b].qs[2 * c]), flip));
        _mm512_store_ps(p[b].d, r8z_f16x2(g8[b].d));
    }
}

QGEMM_DRIVER(r1_qgemm_q8_0_avx512, r1_act_q8, 32, pack_q8_0, tile_q8_0)
QGEMM_DRIVER(r1_qgemm_q8_0_r8_avx512, r1_act_q8, 32, pack_q8_0_r8, tile_q8_0)

/* ---- Q4_K: sum_j sc_j sum_i q_i x_i (exact int32 per super-block), minus
 * the mins' sum_j m_j (x sums of 32) ----
 * Codes 0..15 are already unsigned; vpmaddubsw makes int16 pairs (at most
 * 2 * 15 * 128), the 4 of a sub-block add up in int16 (at most 15360), and
 * one vpdpwssd multiplies them by the sub-block scale into the row's int32
 * lanes, so one super-block is one exact integer per lane. Summing in int16
 * first takes 3 of every 8 multiplies off the vector port they share on
 * Intel: qwen2-1.5B-4L q4_K prefill, 1 thread, Emerald Rapids, 3 alternated
 * rounds: 405-527 -> 589-646 tok/s. */
typedef struct {
    uint8_t q[8][4][64]; /* sub-block s, vector c: codes of k = 32s + 8c .. +7 of each row */
    int16_t sc[8][32];   /* sub-block s: row j's scale in int16 lanes 4j .. 4j+3 */
    int16_t mn[2][32];   /* row j's mins 4h .. 4h+3 in int16 lanes 4j .. 4j+3 */
    float d[16], dmin[16];
} pk_q4_K;
_Static_assert(sizeof(pk_q4_K) == 2816, "packed Q4_K block");

static void pack_q4_K(pk_q4_K *p, const r1_block_q4_K *w, int64_t nb, int64_t m, int mr) {
    const r1_block_q4_K *row[8];
    for (int j = 0; j < 8; j++) row[j] = w + (m + (j < mr ? j : mr - 1)) * nb;
    const __m512i lo4 = _mm512_set1_epi8(15);
    /* int16 lane 4j+t takes element 8j + s of the [row][sub-block] matrix (scales), 8j + 4h + t (mins) */
    __m512i isc[8], imn[2];
    for (int s = 0; s < 8; s++) {
        int16_t ix[32];
        for (int e = 0; e < 32; e++) ix[e] = (int16_t)(8 * (e / 4) + s);
        isc[s] = _mm512_loadu_si512(ix);
    }
    for (int h = 0; h < 2; h++) {
        int16_t ix[32];
        for (int e = 0; e < 32; e++) ix[e] = (int16_t)(8 * (e / 4) + 4 * h + e % 4);
        imn[h] = _mm512_loadu_si512(ix);
    }
    for (int64_t b = 0; b < nb; b++) {
        /* 32 code bytes of a row hold sub-block 2c in the low nibbles, 2c+1 in the high */
        for (int c = 0; c < 4; c++) {
            __m512i a[4];
            for (int i = 0; i < 4; i++) a[i] = pair256(row[2 * i][b].qs + 32 * c, row[2 * i + 1][b].qs + 32 * c);
            __m512i o[4];
            transpose8(o, _mm512_and_si512(a[0], lo4), _mm512_and_si512(a[1], lo4), _mm512_and_si512(a[2], lo4),
                       _mm512_and_si512(a[3], lo4));
            for (int v = 0; v < 4; v++) _mm512_store_si512((__m512i *)p[b].q[2 * c][v], o[v]);
            transpose8(o, _mm512_and_si512(_mm512_srli_epi16(a[0], 4), lo4),
                       _mm512_and_si512(_mm512_srli_epi16(a[1], 4), lo4),
                       _mm512_and_si512(_mm512_srli_epi16(a[2], 4), lo4),
                       _mm512_and_si512(_mm512_srli_epi16(a[3], 4), lo4));
            for (int v = 0; v < 4; v++) _mm512_store_si512((__m512i *)p[b].q[2 * c + 1][v], o[v]);
        }
        uint64_t sc[8], mn[8];
        uint16_t d[8], dmin[8];
        for (int j = 0; j < 8; j++) {
            r1_q4_K_scales8(row[j][b].scales, &sc[j], &mn[j]);
            d[j] = row[j][b].d, dmin[j] = row[j][b].dmin;
        }
        __m512i s8 = _mm512_loadu_si512(sc), m8 = _mm512_loadu_si512(mn);
        __m512i slo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(s8)), shi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(s8, 1));
        __m512i mlo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(m8)), mhi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(m8, 1));
        for (int s = 0; s < 8; s++) _mm512_store_si512((__m512i *)p[b].sc[s], _mm512_permutex2var_epi16(slo, isc[s], shi));
        for (int h = 0; h < 2; h++) _mm512_store_si512((__m512i *)p[b].mn[h], _mm512_permutex2var_epi16(mlo, imn[h], mhi));
        _mm512_store_ps(p[b].d, r8z_f16x2(d));
        _mm512_store_ps(p[b].dmin, r8z_f16x2(dmin));
    }
}

INLINE void tile_q4_K(float *y, int64_t ldy, const pk_q4_K *p, const r1_act_q8K *x, int64_t nb, int nr, int mr) {
    const r1_act_q8K *xr[R];
    __m512 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) xr[r] = x + (r < nr ? r : nr - 1) * nb, acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i isum[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) isum[r] = _mm512_setzero_si512();
        #pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            __m512i w[4];
            #pragma GCC unroll 4
            for (int c = 0; c < 4; c++) w[c] = _mm512_load_si512((const __m512i *)p[b].q[s][c]);
            __m512i sc = _mm512_load_si512((const __m512i *)p[b].sc[s]);
            const int off = r1_act_q4_K_pos(32 * s); /* activations in the Q4_K partner order */
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                const int8_t *xq = xr[r][b].qs + off;
                __m512i pr = _mm512_maddubs_epi16(w[0], _mm512_set1_epi64(load64(xq)));
                #pragma GCC unroll 4
                for (int c = 1; c < 4; c++)
                    pr = _mm512_add_epi16(pr, _mm512_maddubs_epi16(w[c], _mm512_set1_epi64(load64(xq + 8 * c))));
                isum[r] = _mm512_dpwssd_epi32(isum[r], pr, sc);
            }
        }
        __m512i mn0 = _mm512_load_si512((const __m512i *)p[b].mn[0]), mn1 = _mm512_load_si512((const __m512i *)p[b].mn[1]);
        __m512 d = _mm512_load_ps(p[b].d), dmin = _mm512_load_ps(p[b].dmin);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const r1_act_q8K *xb = xr[r] + b;
            __m512i ms = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mn0, _mm512_set1_epi64(load64(xb->bsums32)));
            ms = _mm512_dpwssd_epi32(ms, mn1, _mm512_set1_epi64(load64(xb->bsums32 + 4)));
            __m512 dx = _mm512_set1_ps(xb->d);
            __m512 t = _mm512_fmsub_ps(_mm512_cvtepi32_ps(isum[r]), d, _mm512_mul_ps(_mm512_cvtepi32_ps(ms), dmin));
            acc[r] = _mm512_fmadd_ps(t, dx, acc[r]);
        }
    }
    store_tile(y, ldy, acc, nr, mr);
}

/* The same panel from 8 interleaved rows (core/repack.h): one vpermd pairs
 * each row's code dwords (x86_r8z.h), the scales unpack for all 8 rows at
 * once. m is a multiple of 8 and the group is whole. */
static void pack_q4_K_r8(pk_q4_K *p, const r1_block_q4_K_r8 *w, int64_t nb, int64_t m, int mr) {
    (void)mr;
    const r1_block_q4_K_r8 *g8 = w + (m / 8) * nb;
    for (int64_t b = 0; b < nb; b++) {
        for (int c = 0; c < 4; c++)
            for (int v = 0; v < 4; v++) {
                __m512i lo, hi;
                r8z_q4_K_codes(&g8[b], c, v, &lo, &hi);
                _mm512_store_si512((__m512i *)p[b].q[2 * c][v], lo);
                _mm512_store_si512((__m512i *)p[b].q[2 * c + 1][v], hi);
            }
        r8z_q4_K_scales s = r8z_q4_K_unpack(&g8[b]);
        for (int sb = 0; sb < 8; sb++) _mm512_store_si512((__m512i *)p[b].sc[sb], r8z_q4_K_scale(&s, sb));
        for (int h = 0; h < 2; h++) _mm512_store_si512((__m512i *)p[b].mn[h], s.mn[h]);
        _mm512_store_ps(p[b].d, r8z_f16x2(g8[b].d));
        _mm512_store_ps(p[b].dmin, r8z_f16x2(g8[b].dmin));
    }
}

QGEMM_DRIVER(r1_qgemm_q4_K_avx512, r1_act_q8K, 256, pack_q4_K, tile_q4_K)
QGEMM_DRIVER(r1_qgemm_q4_K_r8_avx512, r1_act_q8K, 256, pack_q4_K_r8, tile_q4_K)

/* ---- Q6_K: codes q in 0..63 stand for q - 32 ----
 * As Q4_K with 16 sub-blocks of 16 (signed 8-bit scales; a vpmaddubsw pair
 * is at most 2 * 63 * 128, so a sub-block's two add up in int16: at most
 * 32256). The -32 offset, -32 sum_s sc_s (x sums of 16),
 * goes into the same int32 lanes through four more vpdpwssd with the scales
 * premultiplied by -32 at packing time (|-32 sc| <= 4096). */
typedef struct {
    uint8_t q[32][64];  /* vector v: codes of k = 8v .. 8v+7 of each row */
    int16_t sc[16][32]; /* sub-block s: row j's scale in int16 lanes 4j .. 4j+3 */
    int16_t off[4][32]; /* -32 * row j's scales 4h .. 4h+3 in int16 lanes 4j .. 4j+3 */
    float d[16];
} pk_q6_K;
_Static_assert(sizeof(pk_q6_K) == 3392, "packed Q6_K block");

static void pack_q6_K(pk_q6_K *p, const r1_block_q6_K *w, int64_t nb, int64_t m, int mr) {
    const r1_block_q6_K *row[8];
    for (int j = 0; j < 8; j++) row[j] = w + (m + (j < mr ? j : mr - 1)) * nb;
    const __m512i lo4 = _mm512_set1_epi8(15), three = _mm512_set1_epi8(3);
    /* int16 lane 4j+t takes element 16 (j % 4) + s of rows 4 (j / 4) .. +3 (scales), 16 (j % 4) + 4h + t (offsets) */
    __m512i isc[16], ioff[4];
    for (int s = 0; s < 16; s++) {
        int16_t ix[32];
        for (int e = 0; e < 32; e++) ix[e] = (int16_t)(16 * ((e / 4) % 4) + s);
        isc[s] = _mm512_loadu_si512(ix);
    }
    for (int h = 0; h < 4; h++) {
        int16_t ix[32];
        for (int e = 0; e < 32; e++) ix[e] = (int16_t)(16 * ((e / 4) % 4) + 4 * h + e % 4);
        ioff[h] = _mm512_loadu_si512(ix);
    }
    for (int64_t b = 0; b < nb; b++) {
        for (int h = 0; h < 2; h++) {
            __m512i l0[4], l1[4], hb[4];
            for (int i = 0; i < 4; i++) {
                const r1_block_q6_K *x0 = &row[2 * i][b], *x1 = &row[2 * i + 1][b];
                l0[i] = pair256(x0->ql + 64 * h, x1->ql + 64 * h);
                l1[i] = pair256(x0->ql + 64 * h + 32, x1->ql + 64 * h + 32);
                hb[i] = pair256(x0->qh + 32 * h, x1->qh + 32 * h);
            }
            for (int g = 0; g < 4; g++) { /* elements 128h + 32g .. +31 of each row */
                __m512i c[4];
                for (int i = 0; i < 4; i++) {
                    __m512i l = g % 2 ? l1[i] : l0[i];
                    l = g < 2 ? _mm512_and_si512(l, lo4) : _mm512_and_si512(_mm512_srli_epi16(l, 4), lo4);
                    __m512i hi = _mm512_and_si512(_mm512_srli_epi16(hb[i], 2 * g), three);
                    c[i] = _mm512_or_si512(l, _mm512_slli_epi16(hi, 4));
                }
                __m512i o[4];
                transpose8(o, c[0], c[1], c[2], c[3]);
                for (int v = 0; v < 4; v++) _mm512_store_si512((__m512i *)p[b].q[16 * h + 4 * g + v], o[v]);
            }
        }
        int8_t sc[8][16];
        uint16_t d[8];
        for (int j = 0; j < 8; j++) memcpy(sc[j], row[j][b].scales, 16), d[j] = row[j][b].d;
        __m512i a[4];
        for (int i = 0; i < 4; i++) a[i] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)sc[2 * i]));
        const __mmask32 top = 0xffff0000u; /* lanes of rows 4..7 */
        for (int s = 0; s < 16; s++) {
            __m512i v = _mm512_mask_blend_epi16(top, _mm512_permutex2var_epi16(a[0], isc[s], a[1]),
                                                _mm512_permutex2var_epi16(a[2], isc[s], a[3]));
            _mm512_store_si512((__m512i *)p[b].sc[s], v);
        }
        for (int h = 0; h < 4; h++) {
            __m512i v = _mm512_mask_blend_epi16(top, _mm512_permutex2var_epi16(a[0], ioff[h], a[1]),
                                                _mm512_permutex2var_epi16(a[2], ioff[h], a[3]));
            _mm512_store_si512((__m512i *)p[b].off[h], _mm512_mullo_epi16(v, _mm512_set1_epi16(-32)));
        }
        _mm512_store_ps(p[b].d, r8z_f16x2(d));
    }
}

INLINE void tile_q6_K(float *y, int64_t ldy, const pk_q6_K *p, const r1_act_q8K *x, int64_t nb, int nr, int mr) {
    const r1_act_q8K *xr[R];
    __m512 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) xr[r] = x + (r < nr ? r : nr - 1) * nb, acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i isum[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) isum[r] = _mm512_setzero_si512();
        #pragma GCC unroll 4
        for (int h = 0; h < 4; h++) {
            __m512i off = _mm512_load_si512((const __m512i *)p[b].off[h]);
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++)
                isum[r] = _mm512_dpwssd_epi32(isum[r], off, _mm512_set1_epi64(load64(xr[r][b].bsums + 4 * h)));
        }
        #pragma GCC unroll 16
        for (int s = 0; s < 16; s++) {
            __m512i w0 = _mm512_load_si512((const __m512i *)p[b].q[2 * s]);
            __m512i w1 = _mm512_load_si512((const __m512i *)p[b].q[2 * s + 1]);
            __m512i sc = _mm512_load_si512((const __m512i *)p[b].sc[s]);
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                const int8_t *xq = xr[r][b].qs + 16 * s;
                __m512i pr = _mm512_add_epi16(_mm512_maddubs_epi16(w0, _mm512_set1_epi64(load64(xq))),
                                              _mm512_maddubs_epi16(w1, _mm512_set1_epi64(load64(xq + 8))));
                isum[r] = _mm512_dpwssd_epi32(isum[r], pr, sc);
            }
        }
        __m512 d = _mm512_load_ps(p[b].d);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_mul_ps(d, _mm512_set1_ps(xr[r][b].d)), acc[r]);
    }
    store_tile(y, ldy, acc, nr, mr);
}

QGEMM_DRIVER(r1_qgemm_q6_K_avx512, r1_act_q8K, 256, pack_q6_K, tile_q6_K)

size_t r1_qgemm_ws_avx512(r1_dtype wt, int64_t K) {
    switch (wt) {
    case R1_DT_Q8_0:
    case R1_DT_Q8_0_R8: return (size_t)(K / 32) * sizeof(pk_q8_0);
    case R1_DT_Q4_K:
    case R1_DT_Q4_K_R8: return (size_t)(K / 256) * sizeof(pk_q4_K);
    case R1_DT_Q6_K: return (size_t)(K / 256) * sizeof(pk_q6_K);
    default: return 0;
    }
}

#else
typedef int r1_no_avx512_qgemm_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
