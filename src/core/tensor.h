/* tensor: a typed view of up to 4 dimensions over memory someone else owns
 * (an mmap'd file, an arena, a training slab). Shapes are listed outermost
 * first, as in safetensors: a Linear weight is [out, in], row-major. */
#ifndef R1_TENSOR_H
#define R1_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"

enum { R1_MAX_DIMS = 4 };

typedef struct {
    r1_dtype dtype;
    int ndim;
    int64_t shape[R1_MAX_DIMS];
    void *data; /* not owned */
} r1_tensor;

/* Largest element count, and extent, a file may declare: 2^50. */
#define R1_MAX_NUMEL ((int64_t)1 << 50)

/* Whether shape[0..ndim) is one the tensor helpers can count: every extent
 * in 0..R1_MAX_NUMEL and the product of the nonzero ones at most
 * R1_MAX_NUMEL. A zero extent makes the count 0 but must not hide the
 * others: the product of the rest, taken in another order (numel below
 * multiplies outermost first, GGUF lists innermost first), would overflow. */
static inline bool r1_shape_ok(const int64_t *shape, int ndim) {
    int64_t span = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] > R1_MAX_NUMEL) return false;
        if (shape[i] == 0) continue;
        if (span > R1_MAX_NUMEL / shape[i]) return false;
        span *= shape[i];
    }
    return true;
}

/* Number of elements (product of the shape; 1 for a scalar). */
static inline int64_t r1_tensor_numel(const r1_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* Bytes of one innermost row (quantized types: whole blocks; a 0-d tensor is one element). */
static inline size_t r1_tensor_row_bytes(const r1_tensor *t) {
    return r1_dtype_row_bytes(t->dtype, t->ndim > 0 ? t->shape[t->ndim - 1] : 1);
}

/* Bytes of data. */
static inline size_t r1_tensor_bytes(const r1_tensor *t) {
    int64_t inner = t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
    return inner == 0 ? 0 : (size_t)(r1_tensor_numel(t) / inner) * r1_tensor_row_bytes(t);
}

/* Row r of a 2-D (or stacked) tensor whose innermost extent is shape[ndim-1]. */
static inline void *r1_tensor_row(const r1_tensor *t, int64_t r) {
    return (char *)t->data + (size_t)r * r1_tensor_row_bytes(t);
}

#endif
