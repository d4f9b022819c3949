/* x86_avx2_qgemm: the int8 GEMM for Q8_0, Q4_K and Q6_K weights times many
 * quantized activation rows (prefill, batched decode) on AVX2, the 8-lane
 * sibling of x86_avx512_qgemm.c.
 *
 * For each panel of 8 weight rows the thread repacks their blocks once into
 * ws (an 8 x 8 dword transpose per 32 codes): one 32-byte vector holds 4
 * consecutive k of each of the 8 rows (row j in dword j). Against it, 4
 * bytes of an activation row broadcast to every lane advance 8 dot products:
 * Q8_0 keeps the signed codes and their absolute values for vpsignb +
 * vpmaddubsw + vpmaddwd; Q4_K's codes are unsigned already, and vpmaddwd
 * folds in the row's sub-block scale. Per block the int32 lane sums meet the
 * scales as one vector (d_w of the 8 rows times d_x). The 4-activation-row matvec kernel
 * (x86_quant.h) instead reloads each activation block for every weight row
 * and scales every 32 products on their own. The GGUF bytes stay mmap'd and
 * untouched. Integer block sums are exact; the f32 order over blocks is
 * fixed per output, so any M split across threads gives the same bits. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/tables.h"
#include "kernels/x86_q4r8.h"
#include "kernels/x86_q6r8.h"

#define INLINE static inline __attribute__((always_inline))
enum { R = 4,                /* activation rows per register tile */
       XBLOCK = 256 << 10,   /* bytes of activation rows kept in L2 while panels stream past */
       XROWS_MIN = 64 };     /* but at least this many rows per block: see QGEMM_DRIVER */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* All-ones in lanes [0, n) of 8. */
static inline __m256i lanes8(int64_t n) {
    int32_t c = n < 0 ? 0 : n > 8 ? 8 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Rows v[0..8) of 8 dwords -> v[c] = dword c of rows 0..7 (row j in dword j). */
INLINE void transpose8x8(__m256i v[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        v[c] = _mm256_permute2x128_si256(u[c], u[c + 4], 0x20);
        v[c + 4] = _mm256_permute2x128_si256(u[c], u[c + 4], 0x31);
    }
}

/* The nr valid rows of a tile's R accumulators, mr valid lanes each; the
 * loop's constant bounds keep acc in registers. */
INLINE void store_tile(float *y, int64_t ldy, const __m256 acc[R], int nr, int mr) {
    __m256i mk = lanes8(mr);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        if (r < nr) _mm256_maskstore_ps(y + r * ldy, mk, acc[r]);
}

/* y[n, m] for m in [m0, m1): activation rows in L2-sized blocks; per panel
 * of 8 weight rows, pack once into ws, then every R-row tile of the block.
 * A panel is packed once per block, at the cost of 2-3 rows' products, so a
 * block keeps at least XROWS_MIN rows even where they overflow L2 (long K):
 * the FFN down projection (K = 8960, 11 KB rows: 22 rows per 256 KB) went
 * from 47-78 to 76-101 GFLOP/s (Q8_0) and 50-104 to 127-129 (Q4_K), N = 128,
 * one Zen 3 core, in blocks of 64 (or 1 MB) instead of 22 rows. */
#define QGEMM_DRIVER(name, wblock, xblock, QB, pack, tile)                                                         \
    void name(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0, int64_t m1, \
              void *ws) {                                                                                          \
        int64_t nb = K / QB, row_bytes = nb * (int64_t)sizeof(xblock);                                             \
        int64_t xb = XBLOCK / (row_bytes + 1) / R * R;                                                             \
        xb = xb < XROWS_MIN ? XROWS_MIN : xb;                                                                      \
        const xblock *x = xq;                                                                                      \
        for (int64_t n0 = 0; n0 < N; n0 += xb) {                                                                   \
            int64_t n1 = min64(N, n0 + xb);                                                                        \
            for (int64_t m = m0; m < m1; m += 8) {                                                                 \
                int mr = (int)min64(8, m1 - m);                                                                    \
                pack(ws, (const wblock *)w, nb, m, mr);                                                            \
                for (int64_t n = n0; n < n1; n += R)                                                               \
                    tile(y + n * ldy + m, ldy, ws, x + n * nb, nb, (int)min64(R, n1 - n), mr);                     \
            }                                                                                                      \
        }                                                                                                          \
    }

typedef struct {
    int8_t q[8][32];  /* vector c: codes of k = 4c .. 4c+3 of each row */
    uint8_t a[8][32]; /* their absolute values (vpmaddubsw's unsigned side) */
    float d[8];
} pk_q8_0;
_Static_assert(sizeof(pk_q8_0) == 544, "packed Q8_0 block");

/* Rows m .. m+mr of w (mr <= 8; the last valid row fills the rest). */
static void pack_q8_0(pk_q8_0 *p, const r1_block_q8_0 *w, int64_t nb, int64_t m, int mr) {
    const r1_block_q8_0 *row[8];
    for (int j = 0; j < 8; j++) row[j] = w + (m + (j < mr ? j : mr - 1)) * nb;
    for (int64_t b = 0; b < nb; b++) {
        __m256i v[8];
        for (int j = 0; j < 8; j++) {
            v[j] = _mm256_loadu_si256((const __m256i *)row[j][b].qs);
            p[b].d[j] = r1_f16_to_f32(row[j][b].d);
        }
        transpose8x8(v);
        for (int c = 0; c < 8; c++) {
            _mm256_store_si256((__m256i *)p[b].q[c], v[c]);
            _mm256_store_si256((__m256i *)p[b].a[c], _mm256_abs_epi8(v[c]));
        }
    }
}

static inline int32_t load32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

INLINE void tile_q8_0(float *y, int64_t ldy, const pk_q8_0 *p, const r1_act_q8 *x, int64_t nb, int nr, int mr) {
    const __m256i ones = _mm256_set1_epi16(1);
    const r1_act_q8 *xr[R];
    __m256 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) xr[r] = x + (r < nr ? r : nr - 1) * nb, acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i isum[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) isum[r] = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int c = 0; c < 8; c++) {
            __m256i w = _mm256_load_si256((const __m256i *)p[b].q[c]);
            __m256i aw = _mm256_load_si256((const __m256i *)p[b].a[c]);
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                __m256i xb = _mm256_set1_epi32(load32(xr[r][b].qs + 4 * c));
                __m256i pr = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xb, w)); /* |w| sign(w) x, pairs */
                isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(pr, ones));
            }
        }
        __m256 dw = _mm256_load_ps(p[b].d);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_mul_ps(dw, _mm256_set1_ps(xr[r][b].d)), acc[r]);
    }
    store_tile(y, ldy, acc, nr, mr);
}

QGEMM_DRIVER(r1_qgemm_q8_0_avx2, r1_block_q8_0, r1_act_q8, 32, pack_q8_0, tile_q8_0)

/* ---- Q4_K: sum_s sc_s sum_i q_i x_i (exact int32 per super-block), minus
 * the mins' sum_s m_s (x sums of 32) ----
 * Codes 0..15 are unsigned already: vpmaddubsw makes int16 pairs (at most
 * 2 * 15 * 128), the 8 of a sub-block add up in int16 (at most 30720, as in
 * the interleaved matvec of x86_avx2_r8.c) and one vpmaddwd multiplies them
 * by the row's sub-block scale into its int32 lane. */
typedef struct {
    uint8_t q[8][8][32]; /* sub-block s, vector c: codes of k = 32s + 4c .. +3 of each row */
    int16_t sc[8][16];   /* sub-block s: row j's scale in int16 lanes 2j, 2j+1 */
    int16_t mn[4][16];   /* pair h: row j's mins 2h, 2h+1 in int16 lanes 2j, 2j+1 */
    float d[8], dmin[8];
} pk_q4_K;
_Static_assert(sizeof(pk_q4_K) == 2496, "packed Q4_K block");

static void pack_q4_K(pk_q4_K *p, const r1_block_q4_K *w, int64_t nb, int64_t m, int mr) {
    const r1_block_q4_K *row[8];
    for (int j = 0; j < 8; j++) row[j] = w + (m + (j < mr ? j : mr - 1)) * nb;
    const __m256i lo4 = _mm256_set1_epi8(15);
    for (int64_t b = 0; b < nb; b++) {
        for (int g = 0; g < 4; g++) { /* 32 code bytes per row: sub-block 2g low nibbles, 2g+1 high */
            __m256i lo[8], hi[8];
            for (int j = 0; j < 8; j++) {
                __m256i raw = _mm256_loadu_si256((const __m256i *)(row[j][b].qs + 32 * g));
                lo[j] = _mm256_and_si256(raw, lo4);
                hi[j] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4);
            }
            transpose8x8(lo);
            transpose8x8(hi);
            for (int c = 0; c < 8; c++) {
                _mm256_store_si256((__m256i *)p[b].q[2 * g][c], lo[c]);
                _mm256_store_si256((__m256i *)p[b].q[2 * g + 1][c], hi[c]);
            }
        }
        for (int j = 0; j < 8; j++) {
            const r1_block_q4_K *wb = &row[j][b];
            uint64_t sc, mn;
            r1_q4_K_scales8(wb->scales, &sc, &mn);
            for (int sb = 0; sb < 8; sb++) p[b].sc[sb][2 * j] = p[b].sc[sb][2 * j + 1] = (int16_t)((sc >> (8 * sb)) & 255);
            for (int h = 0; h < 4; h++) {
                p[b].mn[h][2 * j] = (int16_t)((mn >> (16 * h)) & 255);
                p[b].mn[h][2 * j + 1] = (int16_t)((mn >> (16 * h + 8)) & 255);
            }
            p[b].d[j] = r1_f16_to_f32(wb->d);
            p[b].dmin[j] = r1_f16_to_f32(wb->dmin);
        }
    }
}

INLINE void tile_q4_K(float *y, int64_t ldy, const pk_q4_K *p, const r1_act_q8K *x, int64_t nb, int nr, int mr) {
    const r1_act_q8K *xr[R];
    __m256 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) xr[r] = x + (r < nr ? r : nr - 1) * nb, acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i isum[R], msum[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            isum[r] = _mm256_setzero_si256();
            msum[r] = _mm256_setzero_si256();
            #pragma GCC unroll 4
            for (int h = 0; h < 4; h++) /* mins: (m_2h, m_2h+1) . (bsum_2h, bsum_2h+1) per row */
                msum[r] = _mm256_add_epi32(msum[r], _mm256_madd_epi16(_mm256_load_si256((const __m256i *)p[b].mn[h]),
                                                                      _mm256_set1_epi32(load32(xr[r][b].bsums32 + 2 * h))));
        }
        for (int sb = 0; sb < 8; sb++) {
            __m256i sc = _mm256_load_si256((const __m256i *)p[b].sc[sb]);
            int at = r1_act_q4_K_pos(32 * sb); /* the activations' Q4_K order keeps each 32 together */
            __m256i ps[R]; /* the sub-block's int16 pair sums */
            #pragma GCC unroll 8
            for (int c = 0; c < 8; c++) {
                __m256i q = _mm256_load_si256((const __m256i *)p[b].q[sb][c]);
                #pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    __m256i pr = _mm256_maddubs_epi16(q, _mm256_set1_epi32(load32(xr[r][b].qs + at + 4 * c)));
                    ps[r] = c ? _mm256_add_epi16(ps[r], pr) : pr;
                }
            }
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(ps[r], sc));
        }
        __m256 d = _mm256_load_ps(p[b].d), dmin = _mm256_load_ps(p[b].dmin);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m256 dx = _mm256_set1_ps(xr[r][b].d);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_mul_ps(d, dx), acc[r]);
            acc[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[r]), _mm256_mul_ps(dmin, dx), acc[r]);
        }
    }
    store_tile(y, ldy, acc, nr, mr);
}

QGEMM_DRIVER(r1_qgemm_q4_K_avx2, r1_block_q4_K, r1_act_q8K, 256, pack_q4_K, tile_q4_K)

/* The same panel from interleaved rows (core/repack.h), which already hold 4
 * codes of each row per dword: no transposes, the scales of 8 rows unpacked
 * at once (x86_q4r8.h). m is a multiple of 8 and mr 8 (r1_repack_ok). */
static void pack_q4_K_r8(pk_q4_K *p, const r1_block_q4_K_r8 *w, int64_t nb, int64_t m, int mr) {
    (void)mr;
    const r1_block_q4_K_r8 *g8 = w + (m / 8) * nb;
    const __m256i lo4 = _mm256_set1_epi8(15);
    for (int64_t b = 0; b < nb; b++) {
        for (int c = 0; c < 4; c++)
            for (int g = 0; g < 8; g++) {
                __m256i raw = _mm256_loadu_si256((const __m256i *)g8[b].qs[c][g]);
                _mm256_store_si256((__m256i *)p[b].q[2 * c][g], _mm256_and_si256(raw, lo4));
                _mm256_store_si256((__m256i *)p[b].q[2 * c + 1][g], _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4));
            }
        q4r8_scales s = q4r8_unpack(&g8[b]);
        for (int sb = 0; sb < 8; sb++) _mm256_store_si256((__m256i *)p[b].sc[sb], q4r8_scale(&s, sb));
        for (int h = 0; h < 4; h++) _mm256_store_si256((__m256i *)p[b].mn[h], q4r8_mins(&s, h));
        _mm256_store_ps(p[b].d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g8[b].d)));
        _mm256_store_ps(p[b].dmin, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g8[b].dmin)));
    }
}

QGEMM_DRIVER(r1_qgemm_q4_K_r8_avx2, r1_block_q4_K_r8, r1_act_q8K, 256, pack_q4_K_r8, tile_q4_K)

/* ---- Q6_K: codes q in 0..63 stand for q - 32 ----
 * As Q4_K with 16 sub-blocks of 16 (signed 8-bit scales; a vpmaddubsw pair
 * is at most 2 * 63 * 128). The -32 offset, -32 sum_s sc_s (x sums of 16),
 * enters the same int32 lanes through eight more vpmaddwd with the scales
 * premultiplied by -32 at packing time (|-32 sc| <= 4096). Every term is an
 * exact int32 (|sum| < 63 * 128 * 128 * 256 < 2^31). */
typedef struct {
    uint8_t q[64][32];  /* vector t: codes of k = 4t .. 4t+3 of each row (sub-block t / 4) */
    int16_t sc[16][16]; /* sub-block s: row j's scale in int16 lanes 2j, 2j+1 */
    int16_t off[8][16]; /* pair h: -32 * row j's scales 2h, 2h+1 in int16 lanes 2j, 2j+1 */
    float d[8];
} pk_q6_K;
_Static_assert(sizeof(pk_q6_K) == 2848, "packed Q6_K block");

static void pack_q6_K(pk_q6_K *p, const r1_block_q6_K *w, int64_t nb, int64_t m, int mr) {
    const r1_block_q6_K *row[8];
    for (int j = 0; j < 8; j++) row[j] = w + (m + (j < mr ? j : mr - 1)) * nb;
    const __m256i lo4 = _mm256_set1_epi8(15), three = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < nb; b++) {
        for (int h = 0; h < 2; h++)
            for (int g = 0; g < 4; g++) { /* elements 128h + 32g .. +31 of each row, as dot_q6_K unpacks them */
                __m256i v[8];
                for (int j = 0; j < 8; j++) {
                    const r1_block_q6_K *wb = &row[j][b];
                    __m256i l = _mm256_loadu_si256((const __m256i *)(wb->ql + 64 * h + 32 * (g % 2)));
                    __m256i hb = _mm256_loadu_si256((const __m256i *)(wb->qh + 32 * h));
                    l = _mm256_and_si256(g < 2 ? l : _mm256_srli_epi16(l, 4), lo4);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * g), three);
                    v[j] = _mm256_or_si256(l, _mm256_slli_epi16(hi, 4));
                }
                transpose8x8(v);
                for (int c = 0; c < 8; c++) _mm256_store_si256((__m256i *)p[b].q[8 * (4 * h + g) + c], v[c]);
            }
        for (int j = 0; j < 8; j++) {
            const r1_block_q6_K *wb = &row[j][b];
            for (int s = 0; s < 16; s++) p[b].sc[s][2 * j] = p[b].sc[s][2 * j + 1] = wb->scales[s];
            for (int h = 0; h < 8; h++) {
                p[b].off[h][2 * j] = (int16_t)(-32 * wb->scales[2 * h]);
                p[b].off[h][2 * j + 1] = (int16_t)(-32 * wb->scales[2 * h + 1]);
            }
            p[b].d[j] = r1_f16_to_f32(wb->d);
        }
    }
}

INLINE void tile_q6_K(float *y, int64_t ldy, const pk_q6_K *p, const r1_act_q8K *x, int64_t nb, int nr, int mr) {
    const r1_act_q8K *xr[R];
    __m256 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) xr[r] = x + (r < nr ? r : nr - 1) * nb, acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i isum[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            isum[r] = _mm256_setzero_si256();
            #pragma GCC unroll 8
            for (int h = 0; h < 8; h++) /* the offset: (-32 sc_2h, -32 sc_2h+1) . (bsum_2h, bsum_2h+1) per row */
                isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(_mm256_load_si256((const __m256i *)p[b].off[h]),
                                                                      _mm256_set1_epi32(load32(xr[r][b].bsums + 2 * h))));
        }
        for (int s = 0; s < 16; s++) {
            __m256i sc = _mm256_load_si256((const __m256i *)p[b].sc[s]);
            #pragma GCC unroll 2
            for (int c = 0; c < 4; c += 2) { /* two pairs add up in int16: at most 2 * 2 * 63 * 128 = 32256 */
                __m256i q0 = _mm256_load_si256((const __m256i *)p[b].q[4 * s + c]);
                __m256i q1 = _mm256_load_si256((const __m256i *)p[b].q[4 * s + c + 1]);
                #pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    const int8_t *xq = xr[r][b].qs + 16 * s + 4 * c;
                    __m256i pr = _mm256_add_epi16(_mm256_maddubs_epi16(q0, _mm256_set1_epi32(load32(xq))),
                                                  _mm256_maddubs_epi16(q1, _mm256_set1_epi32(load32(xq + 4))));
                    isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(pr, sc));
                }
            }
        }
        __m256 d = _mm256_load_ps(p[b].d);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_mul_ps(d, _mm256_set1_ps(xr[r][b].d)), acc[r]);
    }
    store_tile(y, ldy, acc, nr, mr);
}

QGEMM_DRIVER(r1_qgemm_q6_K_avx2, r1_block_q6_K, r1_act_q8K, 256, pack_q6_K, tile_q6_K)

/* The same panel from interleaved rows (core/repack.h): a group of ql / qh
 * bytes already holds 4 codes of each row per dword (x86_q6r8.h), so there
 * are no transposes. m is a multiple of 8 and mr 8 (r1_repack_ok). */
static void pack_q6_K_r8(pk_q6_K *p, const r1_block_q6_K_r8 *w, int64_t nb, int64_t m, int mr) {
    (void)mr;
    const r1_block_q6_K_r8 *g8 = w + (m / 8) * nb;
    for (int64_t b = 0; b < nb; b++) {
        for (int h = 0; h < 2; h++)
            for (int q = 0; q < 8; q++) {
                __m256i c[4];
                q6r8_codes(&g8[b], h, q, c);
                for (int i = 0; i < 4; i++) _mm256_store_si256((__m256i *)p[b].q[32 * h + 8 * i + q], c[i]);
            }
        for (int j = 0; j < 8; j++) {
            int8_t sc[16];
            for (int s = 0; s < 16; s++) sc[s] = g8[b].sc[s / 4][4 * j + s % 4];
            for (int s = 0; s < 16; s++) p[b].sc[s][2 * j] = p[b].sc[s][2 * j + 1] = sc[s];
            for (int h = 0; h < 8; h++) {
                p[b].off[h][2 * j] = (int16_t)(-32 * sc[2 * h]);
                p[b].off[h][2 * j + 1] = (int16_t)(-32 * sc[2 * h + 1]);
            }
            p[b].d[j] = r1_f16_to_f32(g8[b].d[j]);
        }
    }
}

QGEMM_DRIVER(r1_qgemm_q6_K_r8_avx2, r1_block_q6_K_r8, r1_act_q8K, 256, pack_q6_K_r8, tile_q6_K)

size_t r1_qgemm_ws_avx2(r1_dtype wt, int64_t K) {
    switch (r1_dtype_base(wt)) {
    case R1_DT_Q8_0: return (size_t)(K / 32) * sizeof(pk_q8_0);
    case R1_DT_Q4_K:
    case R1_DT_Q4_K_R8: return (size_t)(K / 256) * sizeof(pk_q4_K);
    case R1_DT_Q6_K: return (size_t)(K / 256) * sizeof(pk_q6_K);
    default: return 0;
    }
}

#else
typedef int r1_no_avx2_qgemm_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
