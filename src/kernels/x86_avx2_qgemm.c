/* x86_avx2_qgemm: the int8 GEMM for Q8_0 weights times many quantized
 * activation rows (prefill, batched decode) on AVX2, the 8-lane sibling of
 * x86_avx512_qgemm.c.
 *
 * For each panel of 8 weight rows the thread repacks their Q8_0 blocks once
 * into ws: one 32-byte vector holds 4 consecutive k of each of the 8 rows
 * (row j in dword j), stored twice, as the signed codes and as their
 * absolute values. Against it, 4 bytes of an activation row broadcast to
 * every lane advance 8 dot products with one vpsignb + vpmaddubsw +
 * vpmaddwd; per block the int32 lane sums meet the scales as one vector
 * (d_w of the 8 rows times d_x). The 4-activation-row matvec kernel
 * (x86_quant.h) instead reloads each activation block for every weight row
 * and scales every 32 products on their own. The GGUF bytes stay mmap'd and
 * untouched. Integer block sums are exact; the f32 order over blocks is
 * fixed per output, so any M split across threads gives the same bits. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/tables.h"

#define INLINE static inline __attribute__((always_inline))
enum { R = 4,                /* activation rows per register tile */
       XBLOCK = 256 << 10 }; /* bytes of activation rows kept in L2 while panels stream past */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* All-ones in lanes [0, n) of 8. */
static inline __m256i lanes8(int64_t n) {
    int32_t c = n < 0 ? 0 : n > 8 ? 8 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
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
        for (int j = 0; j < 8; j++) {
            for (int c = 0; c < 8; c++) memcpy(&p[b].q[c][4 * j], row[j][b].qs + 4 * c, 4);
            p[b].d[j] = r1_f16_to_f32(row[j][b].d);
        }
        for (int c = 0; c < 8; c++)
            _mm256_store_si256((__m256i *)p[b].a[c], _mm256_abs_epi8(_mm256_load_si256((const __m256i *)p[b].q[c])));
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
    __m256i mk = lanes8(mr);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) /* constant bounds keep acc in registers */
        if (r < nr) _mm256_maskstore_ps(y + r * ldy, mk, acc[r]);
}

void r1_qgemm_q8_0_avx2(float *y, int64_t ldy, const void *xq, int64_t N, const void *w, int64_t K, int64_t m0,
                        int64_t m1, void *ws) {
    int64_t nb = K / 32, row_bytes = nb * (int64_t)sizeof(r1_act_q8);
    int64_t xb = XBLOCK / (row_bytes + 1) / R * R;
    xb = xb < R ? R : xb;
    const r1_act_q8 *x = xq;
    for (int64_t n0 = 0; n0 < N; n0 += xb) {
        int64_t n1 = min64(N, n0 + xb);
        for (int64_t m = m0; m < m1; m += 8) {
            int mr = (int)min64(8, m1 - m);
            pack_q8_0(ws, w, nb, m, mr);
            for (int64_t n = n0; n < n1; n += R)
                tile_q8_0(y + n * ldy + m, ldy, ws, x + n * nb, nb, (int)min64(R, n1 - n), mr);
        }
    }
}

size_t r1_qgemm_ws_avx2(r1_dtype wt, int64_t K) { return wt == R1_DT_Q8_0 ? (size_t)(K / 32) * sizeof(pk_q8_0) : 0; }

#else
typedef int r1_no_avx2_qgemm_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
