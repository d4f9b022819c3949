/* safetensors: HF weight files, read through mmap with zero copies, and
 * written atomically.
 * Format (huggingface/safetensors): u64 little-endian header length N, then N
 * bytes of JSON {"name": {"dtype": "BF16", "shape": [..], "data_offsets":
 * [begin, end]}, "__metadata__": {..}}, then the data section; offsets are
 * relative to the data section. A model is one file or a folder with
 * model.safetensors.index.json whose "weight_map" names the shard of every
 * tensor. Every count, offset and product is checked against the bytes that
 * exist before anything is indexed (header capped at 100 MB). Tensors of
 * dtypes r1 cannot compute with (I64, U8, F8_E4M3, ...) are accepted when the
 * file is opened and reported as R1_UNSUPPORTED only when someone asks for one. */
#ifndef R1_SAFETENSORS_H
#define R1_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

enum { R1_ST_MAX_HEADER = 100 * 1000 * 1000 };

/* Passed as the dtype to r1_st_get to accept F32, F16 and BF16 alike. */
enum { R1_ST_ANY = -1 };

/* One tensor as the file describes it. */
typedef struct {
    const char *name;
    const char *dtype_name; /* as written in the header: "BF16", "F8_E4M3", ... */
    bool supported;         /* F32/F16/BF16: t.dtype is valid */
    r1_tensor t;            /* shape and data always valid; t.dtype only if supported */
    size_t nbytes;          /* bytes of data */
    const char *file;       /* base name of the file that holds it */
} r1_st_entry;

typedef struct r1_st r1_st;

/* Opens path: a .safetensors file, a model.safetensors.index.json, or a
 * folder holding either (the index wins). Maps every shard read-only and
 * checks every header. *out is NULL on failure. */
r1_status r1_st_open(r1_st **out, const char *path);
/* Parses an in-memory file (the same checks as a file on disk; r1_st_open
 * uses this for every shard). data must outlive *out and is not copied or
 * freed; `where` names it in messages. */
r1_status r1_st_parse_buffer(r1_st **out, const void *data, size_t len, const char *where);
/* Unmaps and frees everything; NULL is a no-op. */
void r1_st_close(r1_st *st);

/* The tensor called name, or NULL when there is none or its dtype is not
 * F32/F16/BF16. data points into the read-only mapping (valid until
 * r1_st_close; writing through it faults). Alignment is whatever the file
 * gives: files from r1_st_write and HF's writer are aligned to the element
 * size, other writers' need not be. */
const r1_tensor *r1_st_find(const r1_st *st, const char *name);
/* The tensor called name, checked: dtype (an r1_dtype or R1_ST_ANY) and shape
 * (ndim extents; shape may be NULL or ndim < 0 to accept any shape, and an
 * extent of -1 accepts any size in that dimension). Fails with a message
 * naming the file and tensor: R1_FORMAT when it is missing or of another
 * dtype, R1_UNSUPPORTED for a dtype r1 cannot use, R1_SHAPE for a wrong shape
 * ("model.safetensors: tensor 'w' has shape [8,32], expected [8,48]"). */
r1_status r1_st_get(const r1_st *st, const char *name, int dtype, int ndim, const int64_t *shape,
                    r1_tensor *out);

/* Iteration over every tensor (including unsupported dtypes), ordered by name. */
int64_t r1_st_count(const r1_st *st);
const r1_st_entry *r1_st_at(const r1_st *st, int64_t i);

/* Writes n tensors (F32/F16/BF16) to one file, atomically. Data is packed
 * without gaps (as the safetensors library requires), the widest dtypes first
 * so every tensor starts aligned to its element size; the header is padded
 * with spaces so the data section starts 8-byte aligned. Names must be
 * distinct and non-empty. */
r1_status r1_st_write(const char *path, const r1_tensor *tensors, const char *const *names,
                      int64_t n);
/* Writes n tensors into folder dir (which must exist), in the given order,
 * starting a new shard whenever the next tensor would take the current one
 * past max_shard_bytes (a larger tensor gets a shard of its own). One shard
 * is written as model.safetensors; more as model-00001-of-0000N.safetensors
 * plus model.safetensors.index.json (written last). *n_shards (may be NULL)
 * receives the count. */
r1_status r1_st_write_sharded(const char *dir, const r1_tensor *tensors, const char *const *names,
                              int64_t n, size_t max_shard_bytes, int *n_shards);

#endif
