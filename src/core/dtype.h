/* dtype: element types of stored tensors and the scalar conversions between them.
 * bf16 is the top half of an f32 (round-to-nearest-even when narrowing, NaN kept
 * quiet); f16 is IEEE 754 binary16 with subnormals. These scalar versions are
 * the oracles for the SIMD converters in kernels/.
 *
 * Quantized types store a row in blocks with llama.cpp's exact byte layouts
 * (ggml-common.h), so GGUF tensors are used in place: Q8_0 and Q4_0 are blocks
 * of 32 with one f16 scale; Q4_K and Q6_K are super-blocks of 256 with 6- or
 * 8-bit sub-block scales under an f16 super-scale. A type has a block of
 * r1_dtype_block() elements taking r1_dtype_size() bytes (1 and the element
 * size for the float types); a row's length must be a multiple of the block.
 * The quantizers and dequantizers are in core/quant.c. */
#ifndef R1_DTYPE_H
#define R1_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    R1_DT_F32 = 0,
    R1_DT_F16 = 1,
    R1_DT_BF16 = 2,
    R1_DT_Q8_0 = 3,
    R1_DT_Q4_0 = 4,
    R1_DT_Q4_K = 5,
    R1_DT_Q6_K = 6,
    R1_DT_Q4_K_R8 = 7, /* in memory only: Q4_K / Q8_0 / Q4_0 / Q6_K with 8 rows interleaved (core/repack.h) */
    R1_DT_Q8_0_R8 = 8,
    R1_DT_Q4_0_R8 = 9,
    R1_DT_Q6_K_R8 = 10,
    R1_DT_COUNT
} r1_dtype;

/* The file type an interleaved type holds the blocks of (t itself otherwise):
 * sizes, block length and activation format are the base type's. */
static inline r1_dtype r1_dtype_base(r1_dtype t) {
    return t == R1_DT_Q4_K_R8   ? R1_DT_Q4_K
           : t == R1_DT_Q8_0_R8 ? R1_DT_Q8_0
           : t == R1_DT_Q4_0_R8 ? R1_DT_Q4_0
           : t == R1_DT_Q6_K_R8 ? R1_DT_Q6_K
                                : t;
}

/* Types a file can hold (GGUF, safetensors, --type): t < R1_DT_FILE_COUNT. */
enum { R1_DT_FILE_COUNT = 7 };

/* The unquantized types come first: t < R1_DT_FLOAT_COUNT. */
enum { R1_DT_FLOAT_COUNT = 3 };
static inline int r1_dtype_is_quant(r1_dtype t) { return (int)t >= (int)R1_DT_FLOAT_COUNT; }

enum { R1_QK = 32, R1_QK_K = 256 }; /* block sizes of the _0 and the K-quant types */

/* ggml_half is stored as raw f16 bits. */
typedef struct {
    uint16_t d;         /* f16 scale: x = d * q */
    int8_t qs[R1_QK];
} r1_block_q8_0;
typedef struct {
    uint16_t d;               /* f16 scale: x = d * (q - 8) */
    uint8_t qs[R1_QK / 2];    /* element j in the low nibble of qs[j], element j+16 in the high one */
} r1_block_q4_0;
typedef struct {
    uint16_t d, dmin;         /* f16 super-scales of the 6-bit scales and mins */
    uint8_t scales[12];       /* 8 (scale, min) pairs of 6 bits, packed as llama.cpp's get_scale_min_k4 */
    uint8_t qs[R1_QK_K / 2];  /* per 64: 32 bytes, low nibbles = elements 0..31, high = 32..63 */
} r1_block_q4_K;              /* x = d*sc_j * q - dmin*m_j for sub-block j of 32 */
typedef struct {
    uint8_t ql[R1_QK_K / 2];  /* low 4 bits */
    uint8_t qh[R1_QK_K / 4];  /* high 2 bits */
    int8_t scales[R1_QK_K / 16]; /* 16 sub-blocks of 16 */
    uint16_t d;               /* f16 super-scale: x = d * sc_j * (q - 32) */
} r1_block_q6_K;
_Static_assert(sizeof(r1_block_q8_0) == 34, "block_q8_0 is 34 bytes in ggml");
_Static_assert(sizeof(r1_block_q4_0) == 18, "block_q4_0 is 18 bytes in ggml");
_Static_assert(sizeof(r1_block_q4_K) == 144, "block_q4_K is 144 bytes in ggml");
_Static_assert(sizeof(r1_block_q6_K) == 210, "block_q6_K is 210 bytes in ggml");

/* Bytes per block (the element size for the float types). */
size_t r1_dtype_size(r1_dtype t);
/* Elements per block (1 for the float types). */
int64_t r1_dtype_block(r1_dtype t);
/* Bytes of n elements; n must be a multiple of the block (asserted). */
size_t r1_dtype_row_bytes(r1_dtype t, int64_t n);
/* "f32", "f16", "bf16", "q8_0", "q4_0", "q4_K", "q6_K", "q4_K_r8", "q8_0_r8", "q4_0_r8",
 * "q6_K_r8". */
const char *r1_dtype_name(r1_dtype t);
/* The file type named s (case-insensitive, as r1_dtype_name or llama.cpp
 * writes it), or -1. */
int r1_dtype_from_name(const char *s);

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

/* Converts n elements of type t at src to f32 (dequantizes; n a multiple of
 * the block; not for the interleaved types, whose rows are not contiguous). */
void r1_to_f32(float *dst, const void *src, r1_dtype t, int64_t n);
/* Converts n f32 values to type t (rounding to nearest even; quantized types
 * with llama.cpp's reference quantizers, bit for bit; n a multiple of the block). */
void r1_from_f32(void *dst, const float *src, r1_dtype t, int64_t n);

/* The reference quantizers and dequantizers of core/quant.c (n a multiple of
 * the block; the block arrays hold n / block entries). */
void r1_quantize_q8_0(r1_block_q8_0 *y, const float *x, int64_t n);
void r1_quantize_q4_0(r1_block_q4_0 *y, const float *x, int64_t n);
void r1_quantize_q4_K(r1_block_q4_K *y, const float *x, int64_t n);
void r1_quantize_q6_K(r1_block_q6_K *y, const float *x, int64_t n);
void r1_dequantize_q8_0(float *y, const r1_block_q8_0 *x, int64_t n);
void r1_dequantize_q4_0(float *y, const r1_block_q4_0 *x, int64_t n);
void r1_dequantize_q4_K(float *y, const r1_block_q4_K *x, int64_t n);
void r1_dequantize_q6_K(float *y, const r1_block_q6_K *x, int64_t n);
/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K block. */
static inline void r1_q4_K_scale_min(const uint8_t *scales, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = scales[j] & 63;
        *m = scales[j + 4] & 63;
    } else { /* low 4 bits in bytes 8..11, high 2 bits in the top of bytes 0..7 */
        *sc = (uint8_t)((scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4));
        *m = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

/* All 8 scales and mins of a Q4_K block at once, one byte per sub-block
 * (byte j of *sc is sub-block j's scale): the words u0, u1, u2 of the 12
 * packed bytes give scales 0-3 = u0 & 63, mins 0-3 = u1 & 63, scales 4-7 =
 * low nibbles of u2 | top bits of u0, mins 4-7 = high nibbles of u2 | top
 * bits of u1 (the SIMD kernels' form of r1_q4_K_scale_min). */
static inline void r1_q4_K_scales8(const uint8_t *scales, uint64_t *sc, uint64_t *mn) {
    uint32_t u0, u1, u2;
    memcpy(&u0, scales, 4);
    memcpy(&u1, scales + 4, 4);
    memcpy(&u2, scales + 8, 4);
    uint32_t s_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
    uint32_t m_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
    *sc = (uint64_t)(u0 & 0x3f3f3f3fu) | (uint64_t)s_hi << 32;
    *mn = (uint64_t)(u1 & 0x3f3f3f3fu) | (uint64_t)m_hi << 32;
}

#endif
