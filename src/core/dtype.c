/* dtype: scalar f16/bf16 conversions (the reference twins of the SIMD ones). */
#include "core/dtype.h"

#include "core/status.h"

size_t r1_dtype_size(r1_dtype t) {
    switch (t) {
    case R1_DT_F32: return 4;
    case R1_DT_F16: return 2;
    case R1_DT_BF16: return 2;
    default: break;
    }
    R1_ASSERT(!"unknown dtype");
}

const char *r1_dtype_name(r1_dtype t) {
    switch (t) {
    case R1_DT_F32: return "f32";
    case R1_DT_F16: return "f16";
    case R1_DT_BF16: return "bf16";
    default: break;
    }
    return "?";
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
    default: R1_ASSERT(!"unknown dtype");
    }
}
