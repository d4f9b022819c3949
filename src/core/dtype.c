/* dtype: block sizes, names, and the scalar f16/bf16 conversions (the
 * reference twins of the SIMD ones); quantized types go to core/quant.c. */
#include "core/dtype.h"

#include <strings.h>

#include "core/status.h"

size_t r1_dtype_size(r1_dtype t) {
    switch (r1_dtype_base(t)) {
    case R1_DT_F32: return 4;
    case R1_DT_F16: return 2;
    case R1_DT_BF16: return 2;
    case R1_DT_Q8_0: return sizeof(r1_block_q8_0);
    case R1_DT_Q4_0: return sizeof(r1_block_q4_0);
    case R1_DT_Q4_K: return sizeof(r1_block_q4_K);
    case R1_DT_Q6_K: return sizeof(r1_block_q6_K);
    default: break;
    }
    R1_ASSERT(!"unknown dtype");
}

int64_t r1_dtype_block(r1_dtype t) {
    switch (r1_dtype_base(t)) {
    case R1_DT_Q8_0:
    case R1_DT_Q4_0: return R1_QK;
    case R1_DT_Q4_K:
    case R1_DT_Q6_K: return R1_QK_K;
    default: return 1;
    }
}

size_t r1_dtype_row_bytes(r1_dtype t, int64_t n) {
    int64_t b = r1_dtype_block(t);
    R1_ASSERT(n >= 0 && n % b == 0);
    return (size_t)(n / b) * r1_dtype_size(t);
}

static const char *const NAMES[R1_DT_COUNT] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_K", "q6_K", "q4_K_r8", "q8_0_r8",
                                                   "q4_0_r8", "q6_K_r8"};

const char *r1_dtype_name(r1_dtype t) { return (int)t >= 0 && t < R1_DT_COUNT ? NAMES[t] : "?"; }

int r1_dtype_from_name(const char *s) {
    for (int t = 0; s && t < R1_DT_FILE_COUNT; t++)
        if (strcasecmp(s, NAMES[t]) == 0) return t;
    return -1;
}

float r1_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise the mantissa */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t r1_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to inf */
    if (a < 0x38800000u) { /* result is subnormal or zero: round at 2^-24 */
        if (a < 0x33000000u) return (uint16_t)sign;
        uint32_t man = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(a >> 23); /* 14..24 */
        uint32_t half = 1u << (shift - 1), rest = man & ((1u << shift) - 1);
        uint32_t r = man >> shift;
        if (rest > half || (rest == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a - 0x38000000u; /* rebias exponent 127 -> 15 */
    r += 0xfffu + ((r >> 13) & 1u);
    return (uint16_t)(sign | (r >> 13));
}

void r1_to_f32(float *dst, const void *src, r1_dtype t, int64_t n) {
    const uint16_t *h = src;
    switch (t) {
    case R1_DT_F32: memcpy(dst, src, (size_t)n * 4); break;
    case R1_DT_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = r1_f16_to_f32(h[i]);
        break;
    case R1_DT_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = r1_bf16_to_f32(h[i]);
        break;
    case R1_DT_Q8_0: r1_dequantize_q8_0(dst, src, n); break;
    case R1_DT_Q4_0: r1_dequantize_q4_0(dst, src, n); break;
    case R1_DT_Q4_K: r1_dequantize_q4_K(dst, src, n); break;
    case R1_DT_Q6_K: r1_dequantize_q6_K(dst, src, n); break;
    default: R1_ASSERT(!"unknown dtype");
    }
}

void r1_from_f32(void *dst, const float *src, r1_dtype t, int64_t n) {
    uint16_t *h = dst;
    switch (t) {
    case R1_DT_F32: memcpy(dst, src, (size_t)n * 4); break;
    case R1_DT_F16:
        for (int64_t i = 0; i < n; i++) h[i] = r1_f32_to_f16(src[i]);
        break;
    case R1_DT_BF16:
        for (int64_t i = 0; i < n; i++) h[i] = r1_f32_to_bf16(src[i]);
        break;
    case R1_DT_Q8_0: r1_quantize_q8_0(dst, src, n); break;
    case R1_DT_Q4_0: r1_quantize_q4_0(dst, src, n); break;
    case R1_DT_Q4_K: r1_quantize_q4_K(dst, src, n); break;
    case R1_DT_Q6_K: r1_quantize_q6_K(dst, src, n); break;
    default: R1_ASSERT(!"unknown dtype");
    }
}
