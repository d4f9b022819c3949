/* x86_quant: the quantized matmul kernels (Q8_0, Q4_0, Q4_K, Q6_K weights
 * times 8-bit activations), shared by x86_avx2.c and x86_avx512.c. Each file
 * includes this once, after defining
 *   QISA                  the name suffix (avx2, avx512)
 *   madd_acc(acc, a, b)   acc + pairwise int16 products summed to int32
 *                         (AVX2: vpmaddwd + vpaddd; AVX-512 VNNI: vpdpwssd)
 * and compiles it with its own -m flags, so no ISA test sits in a body.
 *
 * Design (256-bit vectors; per weight row, up to 4 activation rows at once so
 * a weight block is unpacked once for all of them):
 *   bytes: vpmaddubsw multiplies unsigned weight codes by signed activation
 *   bytes and adds pairs into int16 (no overflow: |q| <= 63 for Q6_K, so a
 *   pair is at most 2*63*127); Q8_0's signed weights go through |w| and
 *   sign(x, w) first. madd_acc then multiplies by the sub-block scale (or 1)
 *   and adds pairs into int32 lanes.
 *   K types keep one exact int32 sum per super-block and scale it once
 *   (d_w d_x); the mins (Q4_K) and the -32 offset (Q6_K) come from the
 *   activation block sums, so the weights never need a subtraction.
 *   _0 types scale each block of 32 into a float accumulator.
 * Activation rows are blocked so a block of them stays in L2 while every
 * weight row streams past it once. */
#include <immintrin.h>

#include "kernels/x86_stream.h"

#define QNAME2(a, b) a##_##b
#define QNAME(a, b) QNAME2(a, b)

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float f16f(uint16_t h) { return _cvtsh_ss(h); }


/* ---- Q8_0 and Q4_0 x q8: sum_b d_w d_x sum_i w_i x_i (Q4_0: w_i = q_i - 8,
 * the -8 sum_i x_i from the activation block sum) ---- */
static inline __attribute__((always_inline)) __m256 blk_q8_0(const r1_block_q8_0 *w, const r1_act_q8 *xb, __m256 acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i wq = _mm256_loadu_si256((const __m256i *)w->qs);
    __m256i xv = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xb->qs), wq);
    __m256i p = madd_acc(_mm256_setzero_si256(), _mm256_maddubs_epi16(_mm256_abs_epi8(wq), xv), ones);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16f(w->d) * xb->d), acc);
}

static inline __attribute__((always_inline)) __m256 blk_q4_0(const r1_block_q4_0 *w, const r1_act_q8 *xb, __m256 acc) {
    const __m256i ones = _mm256_set1_epi16(1), lo4 = _mm256_set1_epi8(15);
    __m128i raw = _mm_loadu_si128((const __m128i *)w->qs);
    __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), lo4); /* [0..15 | 16..31] */
    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)xb->qs));
    __m256i s = madd_acc(_mm256_zextsi128_si256(_mm_cvtsi32_si128(-8 * xb->sum)), p, ones);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(f16f(w->d) * xb->d), acc);
}

/* One weight row against nx activation rows. With one row (decode) even and
 * odd blocks go to two accumulators: a single FMA chain (4 cycles a block)
 * capped Q8_0 decode at ~25 GB/s of weights. */
#define DOT_0(name, wblock, blk)                                                                                  \
    static inline __attribute__((always_inline)) void name(float *out, const wblock *w, const r1_act_q8 *x,       \
                                                           int64_t xs, int nx, int64_t nb) {                      \
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};    \
        if (nx == 1) {                                                                                            \
            int64_t b = 0;                                                                                        \
            for (; b + 2 <= nb; b += 2) {                                                                         \
                stream_prefetch(w + b, (int)(2 * sizeof(wblock) / 64 + 1));                                            \
                acc[0] = blk(w + b, x + b, acc[0]), acc[1] = blk(w + b + 1, x + b + 1, acc[1]);                   \
            }                                                                                                     \
            if (b < nb) acc[0] = blk(w + b, x + b, acc[0]);                                                       \
            out[0] = hsum8(_mm256_add_ps(acc[0], acc[1]));                                                        \
            return;                                                                                               \
        }                                                                                                         \
        for (int64_t b = 0; b < nb; b++)                                                                          \
            _Pragma("GCC unroll 4")                                                                               \
            for (int r = 0; r < nx; r++) acc[r] = blk(w + b, x + r * xs + b, acc[r]);                             \
        _Pragma("GCC unroll 4")                                                                                   \
        for (int r = 0; r < nx; r++) out[r] = hsum8(acc[r]);                                                      \
    }
DOT_0(dot_q8_0, r1_block_q8_0, blk_q8_0)
DOT_0(dot_q4_0, r1_block_q4_0, blk_q4_0)

/* The 8 scales and mins of a Q4_K block as two pairs of 32-bit words. */
static inline void q4_K_unpack(const uint8_t *p, uint32_t sc[2], uint32_t mn[2]) {
    uint64_t s, m;
    r1_q4_K_scales8(p, &s, &m);
    sc[0] = (uint32_t)s, sc[1] = (uint32_t)(s >> 32), mn[0] = (uint32_t)m, mn[1] = (uint32_t)(m >> 32);
}

/* ---- Q4_K x q8K ---- */
static inline __attribute__((always_inline)) void dot_q4_K(float *out, const r1_block_q4_K *w, const r1_act_q8K *x,
                                                           int64_t xs, int nx, int64_t nb) {
    const __m256i lo4 = _mm256_set1_epi8(15);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    __m128 macc[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const r1_block_q4_K *wb = &w[b];
        stream_prefetch(wb, 3);
        uint32_t sc[2], mn[2];
        q4_K_unpack(wb->scales, sc, mn);
        /* scales as int16 in both 128-bit lanes; mins as 8 int16 */
        __m128i sc16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc[1], (int)sc[0]));
        __m256i scv = _mm256_broadcastsi128_si256(sc16);
        __m128i mn16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn[1], (int)mn[0]));
        float d = f16f(wb->d), dmin = f16f(wb->dmin);
        __m256i isum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                           _mm256_setzero_si256()};
        /* unrolled: the shuffle masks and activation offsets below are
         * then constants (gcc kept the loop and rebuilt each mask with a
         * vmovd + vpbroadcastw per use) */
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(wb->qs + 32 * c));
            __m256i ql = _mm256_and_si256(raw, lo4), qh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4);
            /* broadcast int16 scale 2c and 2c+1 to every lane */
            __m256i s0 = _mm256_shuffle_epi8(scv, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * c))));
            __m256i s1 = _mm256_shuffle_epi8(scv, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * c + 1))));
            /* activations in r1_act_q4_K_pos order: chunk c's low half sits at
             * 128(c/2) + 32(c%2), its high half 64 bytes further */
            const int lo_off = 128 * (c / 2) + 32 * (c % 2);
            #pragma GCC unroll 4
            for (int r = 0; r < nx; r++) {
                const int8_t *xq = x[r * xs + b].qs + lo_off;
                __m256i p0 = _mm256_maddubs_epi16(ql, _mm256_loadu_si256((const __m256i *)xq));
                __m256i p1 = _mm256_maddubs_epi16(qh, _mm256_loadu_si256((const __m256i *)(xq + 64)));
                isum[r] = madd_acc(madd_acc(isum[r], p0, s0), p1, s1);
            }
        }
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++) {
            const r1_act_q8K *xb = &x[r * xs + b];
            __m128i m = _mm_madd_epi16(mn16, _mm_loadu_si128((const __m128i *)xb->bsums32));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_set1_ps(d * xb->d), acc[r]);
            macc[r] = _mm_fmadd_ps(_mm_cvtepi32_ps(m), _mm_set1_ps(dmin * xb->d), macc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) {
        __m128 m = _mm_add_ps(macc[r], _mm_movehl_ps(macc[r], macc[r]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[r] = hsum8(acc[r]) - _mm_cvtss_f32(m);
    }
}

/* ---- Q6_K x q8K: codes q in 0..63 stand for q - 32 ---- */
static inline __attribute__((always_inline)) void dot_q6_K(float *out, const r1_block_q6_K *w, const r1_act_q8K *x,
                                                           int64_t xs, int nx, int64_t nb) {
    const __m256i lo4 = _mm256_set1_epi8(15), two = _mm256_set1_epi8(3);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const r1_block_q6_K *wb = &w[b];
        stream_prefetch(wb, 4);
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wb->scales)); /* 16 int16 */
        __m256i isum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                           _mm256_setzero_si256()};
        #pragma GCC unroll 2 /* constant masks and offsets, as in dot_q4_K */
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(wb->ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(wb->ql + 64 * h + 32));
            __m256i hb = _mm256_loadu_si256((const __m256i *)(wb->qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_slli_epi16(_mm256_and_si256(hb, two), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, lo4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), two), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), two), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), two), 4));
            /* scales of this half: both lanes hold the 8 int16 of half h */
            __m256i sh = h ? _mm256_permute4x64_epi64(sc16, 0xee) : _mm256_permute4x64_epi64(sc16, 0x44);
            #pragma GCC unroll 4
            for (int g = 0; g < 4; g++) {
                /* lanes 0-7 take sub-block 2g, lanes 8-15 sub-block 2g+1 */
                __m256i idx = _mm256_setr_epi8(
                    (char)(4 * g), (char)(4 * g + 1), (char)(4 * g), (char)(4 * g + 1), (char)(4 * g), (char)(4 * g + 1),
                    (char)(4 * g), (char)(4 * g + 1), (char)(4 * g), (char)(4 * g + 1), (char)(4 * g), (char)(4 * g + 1),
                    (char)(4 * g), (char)(4 * g + 1), (char)(4 * g), (char)(4 * g + 1), (char)(4 * g + 2),
                    (char)(4 * g + 3), (char)(4 * g + 2), (char)(4 * g + 3), (char)(4 * g + 2), (char)(4 * g + 3),
                    (char)(4 * g + 2), (char)(4 * g + 3), (char)(4 * g + 2), (char)(4 * g + 3), (char)(4 * g + 2),
                    (char)(4 * g + 3), (char)(4 * g + 2), (char)(4 * g + 3), (char)(4 * g + 2), (char)(4 * g + 3));
                __m256i s = _mm256_shuffle_epi8(sh, idx);
                #pragma GCC unroll 4
                for (int r = 0; r < nx; r++) {
                    const int8_t *xq = x[r * xs + b].qs + 128 * h + 32 * g;
                    __m256i p = _mm256_maddubs_epi16(q[g], _mm256_loadu_si256((const __m256i *)xq));
                    isum[r] = madd_acc(isum[r], p, s);
                }
            }
        }
        float d = f16f(wb->d);
        #pragma GCC unroll 4
        for (int r = 0; r < nx; r++) {
            const r1_act_q8K *xb = &x[r * xs + b];
            /* the -32 offset: 32 sum_j sc_j bsum_j, exact in int32 */
            __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            __m256i t = _mm256_sub_epi32(isum[r], _mm256_slli_epi32(off, 5));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_set1_ps(d * xb->d), acc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nx; r++) out[r] = hsum8(acc[r]);
}

/* y[n, m] for m in [m0, m1), all N rows: activation rows in L2-sized blocks,
 * each weight row against 4 activation rows at a time. */
#define QMM_DRIVER(fn, wblock, xblock, dot, QB)                                                                    \
    __attribute__((unused)) static void QNAME(fn, QISA)(float *y, int64_t ldy, const void *xq, int64_t N,         \
                                                        const void *w, int64_t K, int64_t m0, int64_t m1) {        \
        int64_t nb = K / QB;                                                                                       \
        const xblock *x = xq;                                                                                      \
        const wblock *wr = w;                                                                                      \
        int64_t rows = (int64_t)(192 * 1024) / (int64_t)(nb * (int64_t)sizeof(xblock) + 1);                      \
        rows = rows < 4 ? 4 : rows & ~(int64_t)3;                                                                  \
        float out[4];                                                                                              \
        for (int64_t n0 = 0; n0 < N; n0 += rows) {                                                                 \
            int64_t n1 = N < n0 + rows ? N : n0 + rows;                                                            \
            for (int64_t m = m0; m < m1; m++) {                                                                    \
                const wblock *wm = wr + m * nb;                                                                    \
                for (int64_t n = n0; n < n1; n += 4) {                                                             \
                    int nx = n1 - n < 4 ? (int)(n1 - n) : 4;                                                       \
                    switch (nx) {                                                                                  \
                    case 1: dot(out, wm, x + n * nb, nb, 1, nb); break;                                            \
                    case 2: dot(out, wm, x + n * nb, nb, 2, nb); break;                                            \
                    case 3: dot(out, wm, x + n * nb, nb, 3, nb); break;                                            \
                    default: dot(out, wm, x + n * nb, nb, 4, nb); break;                                           \
                    }                                                                                              \
                    for (int r = 0; r < nx; r++) y[(n + r) * ldy + m] = out[r];                                    \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }

QMM_DRIVER(k_qmatmul_q8_0, r1_block_q8_0, r1_act_q8, dot_q8_0, 32)
QMM_DRIVER(k_qmatmul_q4_0, r1_block_q4_0, r1_act_q8, dot_q4_0, 32)
QMM_DRIVER(k_qmatmul_q4_K, r1_block_q4_K, r1_act_q8K, dot_q4_K, 256)
QMM_DRIVER(k_qmatmul_q6_K, r1_block_q6_K, r1_act_q8K, dot_q6_K, 256)

/* The table's .qmatmul entries for the row-major types. */
#define QMATMUL_ENTRIES(isa)                                                                                       \
    [R1_DT_Q8_0] = QNAME(k_qmatmul_q8_0, isa), [R1_DT_Q4_0] = QNAME(k_qmatmul_q4_0, isa),                         \
    [R1_DT_Q4_K] = QNAME(k_qmatmul_q4_K, isa), [R1_DT_Q6_K] = QNAME(k_qmatmul_q6_K, isa)
