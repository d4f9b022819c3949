/* x86_avx2_qact: r1_act_quantize with 256-bit vectors, byte-identical to the
 * scalar version in qact.c for finite inputs (the tests compare bytes), the
 * 8-lane sibling of x86_avx512_qact.c and built on the same argument: max of
 * |x| is exact in any order, x * (127/amax) is one multiply, vcvtps2dq rounds
 * half to even like qact.c's 1.5 * 2^23 trick, F16C rounds the block scale as
 * r1_f32_to_f16 does, and the saturating packs clamp as qact.c clamps. The
 * scalar version was 18% of the samples of a 2-thread Q4_K prefill of the
 * qwen2 bench model on the Zen 3 box (every projection quantizes its input).
 * Non-finite inputs give some codes, as in qact.c, but not necessarily the
 * same ones. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "core/status.h"
#include "kernels/tables.h"

static inline __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

/* 32 int32 codes (4 vectors, in order) as 32 int8, saturated to [-128, 127]. */
static inline __m256i narrow32(__m256i q0, __m256i q1, __m256i q2, __m256i q3) {
    __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
    /* the packs interleave 128-bit lanes: dword j of b holds elements 4p(j) */
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The 8 lanes of each of g[0..3] summed: four int32 in order. */
static inline __m128i hsum4x8(const __m256i g[4]) {
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(g[0], g[1]), _mm256_hadd_epi32(g[2], g[3]));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

static void quantize_q8(r1_act_q8 *y, const float *x, int64_t K) {
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127); /* the clamp only NaN/Inf reach */
    for (int64_t b = 0; b < K / 32; b++, x += 32) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i), m = _mm256_max_ps(m, abs8(v[i]));
        float amax = hmax8(m);
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));
        __m256 s = _mm256_set1_ps(id);
        __m256i q[4];
        for (int i = 0; i < 4; i++)
            q[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], s)), lo), hi);
        _mm256_storeu_si256((__m256i *)y[b].qs, narrow32(q[0], q[1], q[2], q[3]));
        __m128i s4 = hsum4x8(q);
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        y[b].sum = _mm_cvtsi128_si32(_mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1)));
    }
}

static void quantize_q8K(r1_act_q8K *y, const float *x, int64_t K, bool q4_K_order) {
    const __m256i lo = _mm256_set1_epi32(-128), hi = _mm256_set1_epi32(127);
    for (int64_t b = 0; b < K / 256; b++, x += 256) {
        r1_act_q8K *o = &y[b];
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < 32; i++) m = _mm256_max_ps(m, abs8(_mm256_loadu_ps(x + 8 * i)));
        float amax = hmax8(m);
        if (amax == 0.0f) {
            memset(o, 0, sizeof *o);
            continue;
        }
        /* the signed value of the first element with |x| = amax, as qact.c's strict > scan finds */
        float max = 0.0f;
        for (int i = 0; i < 32; i++) {
            int e = _mm256_movemask_ps(_mm256_cmp_ps(abs8(_mm256_loadu_ps(x + 8 * i)), _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (e) {
                max = x[8 * i + __builtin_ctz((unsigned)e)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m256 s = _mm256_set1_ps(iscale);
        __m256i g[16]; /* per run of 16: the clamped codes, two vectors added */
        for (int j = 0; j < 8; j++) { /* 32 elements; runs of 32 stay contiguous in Q4_K order */
            __m256i q[4];
            for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * j + 8 * i), s));
            int at = q4_K_order ? r1_act_q4_K_pos(32 * j) : 32 * j;
            _mm256_storeu_si256((__m256i *)(o->qs + at), narrow32(q[0], q[1], q[2], q[3]));
            for (int i = 0; i < 4; i++) q[i] = _mm256_min_epi32(_mm256_max_epi32(q[i], lo), hi);
            g[2 * j] = _mm256_add_epi32(q[0], q[1]), g[2 * j + 1] = _mm256_add_epi32(q[2], q[3]);
        }
        /* the 16 sums (|sum| <= 2048) as int16, and the 8 pair sums */
        __m128i s16[2];
        for (int h = 0; h < 2; h++)
            s16[h] = _mm_packs_epi32(hsum4x8(g + 8 * h), hsum4x8(g + 8 * h + 4));
        _mm_storeu_si128((__m128i *)o->bsums, s16[0]);
        _mm_storeu_si128((__m128i *)(o->bsums + 8), s16[1]);
        __m128i pair = _mm_packs_epi32(_mm_madd_epi16(s16[0], _mm_set1_epi16(1)), _mm_madd_epi16(s16[1], _mm_set1_epi16(1)));
        _mm_storeu_si128((__m128i *)o->bsums32, pair);
        o->d = 1 / iscale;
    }
}

void r1_act_quantize_avx2(r1_dtype wt, void *xq, const float *x, int64_t K) {
    R1_ASSERT(K % r1_dtype_block(wt) == 0);
    if (r1_dtype_block(wt) == 32) /* Q8_0, Q4_0 and interleaved Q8_0 */
        quantize_q8(xq, x, K);
    else
        quantize_q8K(xq, x, K, r1_dtype_base(wt) == R1_DT_Q4_K);
}
#else
typedef int r1_no_avx2_qact_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
