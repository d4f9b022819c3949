/* x86_avx512_qact: r1_act_quantize with 512-bit vectors, byte-identical to
 * the scalar version in qact.c for finite inputs (the tests compare bytes),
 * so every table still sees the same activations. The same IEEE operations
 * in the same roles: max of |x| is exact in any order, x * (127/amax) is one
 * multiply, vcvtps2dq rounds half to even like qact.c's 1.5 * 2^23 trick, and
 * F16C rounds the block scale as r1_f32_to_f16 does. The scalar version took
 * ~3 us per 1536-element row on the Zen 5 box: as long as a 256-row Q8_0
 * decode matvec. Non-finite inputs give some codes, as in qact.c, but not
 * necessarily the same ones. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "core/status.h"
#include "kernels/tables.h"

static void quantize_q8(r1_act_q8 *y, const float *x, int64_t K) {
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127); /* the clamp only NaN/Inf reach */
    for (int64_t b = 0; b < K / 32; b++, x += 32) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));
        __m512 s = _mm512_set1_ps(id);
        __m512i q0 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v0, s)), lo), hi);
        __m512i q1 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v1, s)), lo), hi);
        _mm_storeu_si128((__m128i *)y[b].qs, _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(y[b].qs + 16), _mm512_cvtsepi32_epi8(q1));
        y[b].sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

static void quantize_q8K(r1_act_q8K *y, const float *x, int64_t K, bool q4_K_order) {
    for (int64_t b = 0; b < K / 256; b++, x += 256) {
        r1_act_q8K *o = &y[b];
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < 16; i++) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)));
        float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f) {
            memset(o, 0, sizeof *o);
            continue;
        }
        /* the signed value of the first element with |x| = amax, as qact.c's strict > scan finds */
        float max = 0.0f;
        for (int i = 0; i < 16; i++) {
            __mmask16 e = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (e) {
                max = x[16 * i + __builtin_ctz(e)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m512 s = _mm512_set1_ps(iscale);
        for (int i = 0; i < 16; i++) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * i), s));
            int at = q4_K_order ? r1_act_q4_K_pos(16 * i) : 16 * i; /* runs of 16 stay contiguous */
            _mm_storeu_si128((__m128i *)(o->qs + at), _mm512_cvtsepi32_epi8(q));
            /* the sum of the clamped codes, as qact.c sums the stored bytes */
            o->bsums[i] = (int16_t)_mm512_reduce_add_epi32(_mm512_max_epi32(_mm512_min_epi32(q, _mm512_set1_epi32(127)),
                                                                            _mm512_set1_epi32(-128)));
        }
        for (int s2 = 0; s2 < 8; s2++) o->bsums32[s2] = (int16_t)(o->bsums[2 * s2] + o->bsums[2 * s2 + 1]);
        o->d = 1 / iscale;
    }
}

void r1_act_quantize_avx512(r1_dtype wt, void *xq, const float *x, int64_t K) {
    R1_ASSERT(K % r1_dtype_block(wt) == 0);
    if (r1_dtype_block(wt) == 32) /* Q8_0, Q4_0 and interleaved Q8_0 */
        quantize_q8(xq, x, K);
    else
        quantize_q8K(xq, x, K, r1_dtype_base(wt) == R1_DT_Q4_K);
}
#else
typedef int r1_no_avx512_qact_on_this_arch; /* ISO C forbids an empty translation unit */
#endif
