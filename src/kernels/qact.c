/* qact: on-the-fly 8-bit quantization of activation rows for the quantized
 * matmuls (see kernels.h). One scalar version serves every ISA: it costs K
 * operations per row against M*K for the product, and sharing it keeps the
 * activations identical across tables, so ISAs differ only in how they add. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/status.h"
#include "kernels/kernels.h"

/* Round half to even via the 1.5 * 2^23 trick (exact for |f| < 2^22). */
static inline int round_even(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static void quantize_q8(r1_act_q8 *y, const float *x, int64_t K) {
    for (int64_t b = 0; b < K / 32; b++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = r1_f16_to_f32(r1_f32_to_f16(amax / 127.0f));
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = round_even(x[j] * id);
            q = q > 127 ? 127 : q < -127 ? -127 : q; /* only NaN/Inf get here */
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        y[b].sum = sum;
    }
}

static void quantize_q8K(r1_act_q8K *y, const float *x, int64_t K, bool q4_K_order) {
    for (int64_t b = 0; b < K / 256; b++, x += 256) {
        r1_act_q8K *o = &y[b];
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; j++)
            if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
        if (amax == 0.0f) {
            memset(o, 0, sizeof *o);
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            int q = round_even(iscale * x[j]);
            o->qs[j] = (int8_t)(q > 127 ? 127 : q < -128 ? -128 : q);
        }
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += o->qs[16 * s + i];
            o->bsums[s] = (int16_t)sum;
        }
        for (int s = 0; s < 8; s++) o->bsums32[s] = (int16_t)(o->bsums[2 * s] + o->bsums[2 * s + 1]);
        o->d = 1 / iscale;
        if (q4_K_order) /* per 128: swap the 2nd and 3rd 32 (see r1_act_q4_K_pos) */
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 32; i++) {
                    int8_t t = o->qs[128 * h + 32 + i];
                    o->qs[128 * h + 32 + i] = o->qs[128 * h + 64 + i];
                    o->qs[128 * h + 64 + i] = t;
                }
    }
}

size_t r1_act_row_bytes(r1_dtype wt, int64_t K) {
    switch (r1_dtype_base(wt)) {
    case R1_DT_Q8_0:
    case R1_DT_Q4_0: return (size_t)(K / 32) * sizeof(r1_act_q8);
    case R1_DT_Q4_K:
    case R1_DT_Q6_K: return (size_t)(K / 256) * sizeof(r1_act_q8K);
    default: R1_ASSERT(!"not a quantized dtype");
    }
}

void r1_act_quantize(r1_dtype wt, void *xq, const float *x, int64_t K) {
    R1_ASSERT(K % r1_dtype_block(wt) == 0);
    if (r1_dtype_block(wt) == 32) /* Q8_0, Q4_0 and interleaved Q8_0 */
        quantize_q8(xq, x, K);
    else
        quantize_q8K(xq, x, K, r1_dtype_base(wt) == R1_DT_Q4_K);
}
