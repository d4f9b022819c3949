/* gguf: llama.cpp's model file format, version 3 (version 2 reads the same),
 * read through mmap with zero copies and written atomically.
 * Layout (ggml/docs/gguf.md): "GGUF", u32 version, u64 tensor count, u64 kv
 * count; kv pairs (string key, u32 type, value; strings are u64 length +
 * bytes, arrays u32 element type + u64 count + elements); tensor infos
 * (string name, u32 n_dims, u64 dims innermost first, u32 ggml type, u64
 * offset); padding to general.alignment (default 32); the data section.
 * The reader checks every count, length, offset and size against the bytes
 * left before it allocates or indexes, so a lying file gets an error naming
 * the key or tensor, never an out-of-bounds read. r1 tensors list shapes
 * outermost first, so a GGUF {in, out} weight is the r1 [out, in] tensor. */
#ifndef R1_GGUF_H
#define R1_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

typedef enum {
    R1_GGUF_U8 = 0,
    R1_GGUF_I8 = 1,
    R1_GGUF_U16 = 2,
    R1_GGUF_I16 = 3,
    R1_GGUF_U32 = 4,
    R1_GGUF_I32 = 5,
    R1_GGUF_F32 = 6,
    R1_GGUF_BOOL = 7,
    R1_GGUF_STRING = 8,
    R1_GGUF_ARRAY = 9,
    R1_GGUF_U64 = 10,
    R1_GGUF_I64 = 11,
    R1_GGUF_F64 = 12,
    R1_GGUF_TYPE_COUNT
} r1_gguf_type;

enum { R1_GGUF_DEFAULT_ALIGNMENT = 32, R1_GGUF_MAX_DIMS = 4 };

/* A string inside the mapping: not NUL-terminated. */
typedef struct {
    const char *p;
    uint64_t len;
} r1_gguf_str;

typedef struct {
    const char *key;      /* NUL-terminated copy */
    r1_gguf_type type;    /* R1_GGUF_ARRAY for arrays */
    r1_gguf_type elem;    /* arrays: element type; scalars: = type */
    uint64_t n;           /* arrays: element count; scalars: 1 */
    const void *data;     /* numeric values, little-endian, possibly unaligned (use the getters) */
    const r1_gguf_str *str; /* strings: n entries */
} r1_gguf_kv;

typedef struct {
    const char *name;     /* NUL-terminated copy */
    int ggml_type;
    r1_tensor t;          /* dtype, shape (outermost first), data in the mapping */
    size_t nbytes;
    uint64_t offset;      /* from the start of the data section */
} r1_gguf_tensor;

typedef struct r1_gguf r1_gguf;

/* Opens and maps path. *out is NULL on failure. */
r1_status r1_gguf_open(r1_gguf **out, const char *path);
/* Parses an in-memory file (the checks of r1_gguf_open); data must outlive *out. */
r1_status r1_gguf_parse_buffer(r1_gguf **out, const void *data, size_t len, const char *where);
void r1_gguf_close(r1_gguf *g);

uint32_t r1_gguf_version(const r1_gguf *g);
size_t r1_gguf_alignment(const r1_gguf *g);
int64_t r1_gguf_kv_count(const r1_gguf *g);
const r1_gguf_kv *r1_gguf_kv_at(const r1_gguf *g, int64_t i);
const r1_gguf_kv *r1_gguf_find_kv(const r1_gguf *g, const char *key);
int64_t r1_gguf_tensor_count(const r1_gguf *g);
const r1_gguf_tensor *r1_gguf_tensor_at(const r1_gguf *g, int64_t i);
const r1_gguf_tensor *r1_gguf_find_tensor(const r1_gguf *g, const char *name);

/* Typed getters. A missing key returns R1_OK with *out = def and *found =
 * false (found may be NULL); a present key of the wrong type fails with
 * R1_FORMAT naming it. Integers accept every integer type whose value fits. */
r1_status r1_gguf_get_int(const r1_gguf *g, const char *key, int64_t def, int64_t *out, bool *found);
r1_status r1_gguf_get_float(const r1_gguf *g, const char *key, double def, double *out, bool *found);
r1_status r1_gguf_get_bool(const r1_gguf *g, const char *key, bool def, bool *out, bool *found);
/* A string value (not NUL-terminated); NULL/0 when missing. */
r1_status r1_gguf_get_str(const r1_gguf *g, const char *key, r1_gguf_str *out, bool *found);
/* Element i of a numeric array as int64 / double (asserts i < n and a numeric element type). */
int64_t r1_gguf_arr_int(const r1_gguf_kv *kv, uint64_t i);
double r1_gguf_arr_float(const r1_gguf_kv *kv, uint64_t i);

/* ggml type numbers <-> r1 dtypes: -1 when r1 has no such dtype. */
int r1_gguf_ggml_type(r1_dtype t);
int r1_gguf_dtype(int ggml_type);
/* "q5_K", "f16", ... or "?" */
const char *r1_gguf_ggml_type_name(int ggml_type);

/* ---- writing ---- */
typedef struct r1_gguf_writer r1_gguf_writer;
/* Produces tensor i's bytes at write time when it was added without data
 * (so a converter holds one tensor at a time); bytes = the tensor's size. */
typedef r1_status (*r1_gguf_fill_fn)(void *ctx, int64_t i, void *dst, size_t bytes);

r1_status r1_gguf_writer_create(r1_gguf_writer **out);
void r1_gguf_writer_destroy(r1_gguf_writer *w);
/* Key-value pairs, written in the order they are set; a repeated key fails. */
r1_status r1_gguf_set_u32(r1_gguf_writer *w, const char *key, uint32_t v);
r1_status r1_gguf_set_i32(r1_gguf_writer *w, const char *key, int32_t v);
r1_status r1_gguf_set_f32(r1_gguf_writer *w, const char *key, float v);
r1_status r1_gguf_set_bool(r1_gguf_writer *w, const char *key, bool v);
r1_status r1_gguf_set_str(r1_gguf_writer *w, const char *key, const char *s, size_t len);
/* A numeric array of n elements of type elem (data in host = little-endian order). */
r1_status r1_gguf_set_arr(r1_gguf_writer *w, const char *key, r1_gguf_type elem, const void *data, uint64_t n);
/* A string array: strs[i] of lens[i] bytes (lens NULL: NUL-terminated). */
r1_status r1_gguf_set_str_arr(r1_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                              uint64_t n);
/* Copies a pair from an open file (any type). */
r1_status r1_gguf_copy_kv(r1_gguf_writer *w, const r1_gguf_kv *kv);
/* Adds a tensor; t->data is kept (not copied) and must live until
 * r1_gguf_write, or be NULL to be produced by the fill function. */
r1_status r1_gguf_add_tensor(r1_gguf_writer *w, const char *name, const r1_tensor *t);
void r1_gguf_set_fill(r1_gguf_writer *w, r1_gguf_fill_fn fn, void *ctx);
/* Writes the file atomically (alignment 32). */
r1_status r1_gguf_write(r1_gguf_writer *w, const char *path);

#endif
