/* dtype: element types of stored tensors and the scalar conversions between them.
 * bf16 is the top half of an f32 (round-to-nearest-even when narrowing, NaN kept
 * quiet); f16 is IEEE 754 binary16 with subnormals. These scalar versions are
 * the oracles for the SIMD converters in kernels/. */
#ifndef R1_DTYPE_H
#define R1_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    R1_DT_F32 = 0,
    R1_DT_F16 = 1,
    R1_DT_BF16 = 2,
    R1_DT_COUNT
} r1_dtype;

/* Bytes per element. */
size_t r1_dtype_size(r1_dtype t);
/* "f32", "f16", "bf16". */
const char *r1_dtype_name(r1_dtype t);

static inline float r1_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t r1_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                           /* RNE */
    return (uint16_t)(u >> 16);
}

float r1_f16_to_f32(uint16_t h);
uint16_t r1_f32_to_f16(float f);

/* Converts n elements of type t at src to f32. */
void r1_to_f32(float *dst, const void *src, r1_dtype t, int64_t n);
/* Converts n f32 values to type t (rounding to nearest even). */
void r1_from_f32(void *dst, const float *src, r1_dtype t, int64_t n);

#endif
