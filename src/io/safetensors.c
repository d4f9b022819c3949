/* safetensors: header parsing with every check, sharded folders, and the
 * writer (see safetensors.h). Entries are kept sorted by name so a lookup is
 * a binary search: DeepSeek-V3 has ~90k tensors and a model load asks for
 * each of them once. */
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; r1 reads it in place"
#endif

static const char INDEX_NAME[] = "model.safetensors.index.json";
static const char SINGLE_NAME[] = "model.safetensors";

/* Every dtype safetensors defines with a whole number of bytes per element;
 * r1 < 0 means r1 cannot compute with it. */
static const struct {
    const char *name;
    size_t size;
    int r1;
} DTYPES[] = {
    {"F32", 4, R1_DT_F32},   {"F16", 2, R1_DT_F16},  {"BF16", 2, R1_DT_BF16},
    {"F64", 8, -1},          {"I64", 8, -1},         {"I32", 4, -1},
    {"I16", 2, -1},          {"I8", 1, -1},          {"U64", 8, -1},
    {"U32", 4, -1},          {"U16", 2, -1},         {"U8", 1, -1},
    {"BOOL", 1, -1},         {"F8_E4M3", 1, -1},     {"F8_E5M2", 1, -1},
    {"F8_E8M0", 1, -1},
};
enum { N_DTYPES = sizeof DTYPES / sizeof DTYPES[0] };

typedef struct {
    r1_mmap map; /* zeroed for a caller's buffer */
    char *name;  /* base name, for messages */
} st_file;

struct r1_st {
    st_file *files;
    int nfiles, cap_files;
    r1_st_entry *ents; /* sorted by name once loading is done */
    int64_t n, cap;
    char *where; /* what was opened, for "not found" */
};

static r1_status nomem(void) { return r1_fail(R1_NOMEM, "safetensors: out of memory"); }

static r1_status st_new(r1_st **out, const char *where) {
    r1_st *st = calloc(1, sizeof *st);
    if (!st || !(st->where = strdup(where))) {
        free(st);
        *out = NULL;
        return nomem();
    }
    *out = st;
    return R1_OK;
}

void r1_st_close(r1_st *st) {
    if (!st) return;
    for (int i = 0; i < st->nfiles; i++) {
        r1_file_munmap(&st->files[i].map);
        free(st->files[i].name);
    }
    for (int64_t i = 0; i < st->n; i++) free((char *)st->ents[i].name);
    free(st->files);
    free(st->ents);
    free(st->where);
    free(st);
}

/* Adds a file slot (mapping filled in by the caller); returns its index or -1. */
static int add_file(r1_st *st, const char *name) {
    if (st->nfiles == st->cap_files) {
        int cap = st->cap_files ? st->cap_files * 2 : 4;
        st_file *f = realloc(st->files, (size_t)cap * sizeof *f);
        if (!f) return -1;
        st->files = f;
        st->cap_files = cap;
    }
    char *copy = strdup(name);
    if (!copy) return -1;
    st->files[st->nfiles] = (st_file){.name = copy};
    return st->nfiles++;
}

static uint64_t read_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Parses one tensor description `it` (named it->string) into e. */
static r1_status parse_entry(r1_st_entry *e, const cJSON *it, const unsigned char *base,
                             size_t dlen) {
    const char *name = it->string;
    if (!cJSON_IsObject(it)) return r1_fail(R1_FORMAT, "tensor '%s': entry is not an object", name);
    const char *dt = NULL;
    const cJSON *shape = NULL, *offs = NULL;
    r1_json_state s1, s2, s3;
    r1_status s;
    if ((s = r1_json_get_str(it, "dtype", &dt, &s1)) != R1_OK ||
        (s = r1_json_get_arr(it, "shape", &shape, &s2)) != R1_OK ||
        (s = r1_json_get_arr(it, "data_offsets", &offs, &s3)) != R1_OK)
        return r1_err_wrap(s, "tensor '%s'", name);
    if (s1 != R1_JSON_SET || s2 != R1_JSON_SET || s3 != R1_JSON_SET)
        return r1_fail(R1_FORMAT, "tensor '%s': '%s' is missing", name,
                       s1 != R1_JSON_SET ? "dtype" : s2 != R1_JSON_SET ? "shape" : "data_offsets");
    int k = 0;
    while (k < N_DTYPES && strcmp(DTYPES[k].name, dt) != 0) k++;
    if (k == N_DTYPES) return r1_fail(R1_FORMAT, "tensor '%s': unknown dtype '%.32s'", name, dt);
    e->dtype_name = DTYPES[k].name;
    e->supported = DTYPES[k].r1 >= 0;
    e->t.dtype = e->supported ? (r1_dtype)DTYPES[k].r1 : R1_DT_COUNT;

    int nd = cJSON_GetArraySize(shape);
    if (nd > R1_MAX_DIMS)
        return r1_fail(R1_UNSUPPORTED, "tensor '%s' has %d dimensions, at most %d are supported",
                       name, nd, R1_MAX_DIMS);
    e->t.ndim = nd;
    int64_t numel = 1;
    const cJSON *d = shape->child;
    for (int i = 0; i < nd; i++, d = d->next) {
        int64_t v;
        if (!r1_json_as_int(d, &v) || v < 0)
            return r1_fail(R1_FORMAT, "tensor '%s': shape[%d] is not a non-negative integer", name, i);
        e->t.shape[i] = v;
        if (__builtin_mul_overflow(numel, v, &numel))
            return r1_fail(R1_FORMAT, "tensor '%s': element count overflows", name);
    }
    for (int i = nd; i < R1_MAX_DIMS; i++) e->t.shape[i] = 0;

    int64_t begin, end;
    if (cJSON_GetArraySize(offs) != 2 || !r1_json_as_int(offs->child, &begin) ||
        !r1_json_as_int(offs->child->next, &end) || begin < 0 || end < begin)
        return r1_fail(R1_FORMAT, "tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end",
                       name);
    if ((uint64_t)end > (uint64_t)dlen)
        return r1_fail(R1_FORMAT, "tensor '%s' ends at byte %lld of the data, which has %zu bytes",
                       name, (long long)end, dlen);
    int64_t bytes;
    if (__builtin_mul_overflow(numel, (int64_t)DTYPES[k].size, &bytes) || bytes != end - begin)
        return r1_fail(R1_FORMAT,
                       "tensor '%s': %lld elements of %s do not fill the %lld bytes of data_offsets",
                       name, (long long)numel, e->dtype_name, (long long)(end - begin));
    /* numel fits the data, but a zero extent can hide others whose product overflows */
    if (!r1_shape_ok(e->t.shape, nd))
        return r1_fail(R1_FORMAT, "tensor '%s': shape of more than 2^50 elements (zero extents aside)", name);
    e->t.data = (void *)(base + begin);
    e->nbytes = (size_t)bytes;
    return R1_OK;
}

/* Parses the header of file fi (bytes data[0..len)) and appends its tensors. */
static r1_status parse_file(r1_st *st, int fi, const unsigned char *data, size_t len) {
    const char *fname = st->files[fi].name;
    if (len < 8)
        return r1_fail(R1_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length",
                       fname, len);
    uint64_t hlen = read_le64(data);
    if (hlen == 0) return r1_fail(R1_FORMAT, "%s: header length is 0", fname);
    if (hlen > len - 8)
        return r1_fail(R1_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)",
                       fname, (unsigned long long)hlen, len);
    if (hlen > R1_ST_MAX_HEADER)
        return r1_fail(R1_LIMIT, "%s: header length %llu exceeds the %d-byte cap", fname,
                       (unsigned long long)hlen, R1_ST_MAX_HEADER);
    cJSON *root = NULL;
    r1_status s = r1_json_parse(&root, (const char *)data + 8, (size_t)hlen, "header");
    if (s != R1_OK) return r1_err_wrap(s, "%s", fname);
    if (!cJSON_IsObject(root)) {
        s = r1_fail(R1_FORMAT, "%s: header is not a JSON object", fname);
        goto done;
    }
    int64_t count = cJSON_GetArraySize(root);
    if (st->n + count > st->cap) {
        int64_t cap = st->cap * 2 > st->n + count ? st->cap * 2 : st->n + count;
        r1_st_entry *e = realloc(st->ents, (size_t)cap * sizeof *e);
        if (!e) {
            s = nomem();
            goto done;
        }
        st->ents = e;
        st->cap = cap;
    }
    const unsigned char *base = data + 8 + hlen;
    size_t dlen = len - 8 - (size_t)hlen;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!it->string) {
            s = r1_fail(R1_FORMAT, "%s: header entry without a name", fname);
            goto done;
        }
        if (strcmp(it->string, "__metadata__") == 0) continue;
        r1_st_entry e = {.file = fname};
        if ((s = parse_entry(&e, it, base, dlen)) != R1_OK) {
            r1_err_wrap(s, "%s", fname);
            goto done;
        }
        if (!(e.name = strdup(it->string))) {
            s = nomem();
            goto done;
        }
        st->ents[st->n++] = e;
    }
done:
    cJSON_Delete(root);
    return s;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const r1_st_entry *)a)->name, ((const r1_st_entry *)b)->name);
}

/* Sorts by name and rejects duplicates (within a header or across shards). */
static r1_status finish(r1_st *st) {
    if (st->n > 1) qsort(st->ents, (size_t)st->n, sizeof *st->ents, cmp_entry);
    for (int64_t i = 1; i < st->n; i++)
        if (strcmp(st->ents[i - 1].name, st->ents[i].name) == 0)
            return r1_fail(R1_FORMAT, "%s: tensor '%s' appears twice (in %s and %s)", st->where,
                           st->ents[i].name, st->ents[i - 1].file, st->ents[i].file);
    return R1_OK;
}

r1_status r1_st_parse_buffer(r1_st **out, const void *data, size_t len, const char *where) {
    r1_st *st;
    R1_TRY(st_new(&st, where));
    r1_status s = add_file(st, where) < 0 ? nomem() : R1_OK;
    if (s == R1_OK) s = parse_file(st, 0, data, len);
    if (s == R1_OK) s = finish(st);
    if (s != R1_OK) {
        r1_st_close(st);
        st = NULL;
    }
    *out = st;
    return s;
}

/* Maps path as a new file of st and parses its header. */
static r1_status map_and_parse(r1_st *st, const char *path) {
    int fi = add_file(st, r1_path_base(path));
    if (fi < 0) return nomem();
    R1_TRY(r1_file_mmap(&st->files[fi].map, path));
    return parse_file(st, fi, st->files[fi].map.data, st->files[fi].map.len);
}

/* A shard name from an index must be a plain file name in the same folder. */
static bool safe_shard_name(const char *s) {
    return s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < 256;
}

static r1_status open_index(r1_st *st, const char *index_path, const char *dir) {
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    const cJSON *wm = NULL;
    r1_json_state ws;
    r1_status s = r1_file_read_all(index_path, &text, &len, R1_ST_MAX_HEADER);
    if (s != R1_OK) return s;
    if ((s = r1_json_parse(&root, text, len, INDEX_NAME)) != R1_OK) goto done;
    if ((s = r1_json_get_obj(root, "weight_map", &wm, &ws)) != R1_OK) {
        r1_err_wrap(s, "%s", INDEX_NAME);
        goto done;
    }
    if (ws != R1_JSON_SET) {
        s = r1_fail(R1_FORMAT, "%s: 'weight_map' is missing", INDEX_NAME);
        goto done;
    }
    int last = -1;
    for (const cJSON *it = wm->child; it; it = it->next) {
        const char *shard = cJSON_IsString(it) ? it->valuestring : NULL;
        if (!shard || !safe_shard_name(shard)) {
            s = r1_fail(R1_FORMAT, "%s: tensor '%s' maps to an invalid shard name", INDEX_NAME,
                        it->string ? it->string : "?");
            goto done;
        }
        if (last >= 0 && strcmp(st->files[last].name, shard) == 0) continue;
        last = -1;
        for (int i = 0; i < st->nfiles && last < 0; i++)
            if (strcmp(st->files[i].name, shard) == 0) last = i;
        if (last >= 0) continue;
        char *p = r1_path_join(dir, shard);
        if (!p) {
            s = nomem();
            goto done;
        }
        s = map_and_parse(st, p);
        free(p);
        if (s != R1_OK) goto done;
        last = st->nfiles - 1;
    }
    if ((s = finish(st)) != R1_OK) goto done;
    for (const cJSON *it = wm->child; it; it = it->next) {
        r1_st_entry key = {.name = it->string};
        const r1_st_entry *e =
            it->string ? bsearch(&key, st->ents, (size_t)st->n, sizeof key, cmp_entry) : NULL;
        if (!e || strcmp(e->file, it->valuestring) != 0) {
            s = r1_fail(R1_FORMAT, "%s: tensor '%s' is mapped to %s, which does not contain it",
                        INDEX_NAME, it->string ? it->string : "?", it->valuestring);
            goto done;
        }
    }
done:
    cJSON_Delete(root);
    free(text);
    return s;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

r1_status r1_st_open(r1_st **out, const char *path) {
    *out = NULL;
    r1_st *st = NULL;
    char *index = NULL, *single = NULL, *dir = NULL;
    r1_status s = R1_OK;
    if (r1_file_is_dir(path)) {
        index = r1_path_join(path, INDEX_NAME);
        single = r1_path_join(path, SINGLE_NAME);
        dir = strdup(path);
        if (!index || !single || !dir) {
            s = nomem();
            goto done;
        }
        if (!r1_file_exists(index)) {
            free(index);
            index = NULL;
            if (!r1_file_exists(single)) {
                s = r1_fail(R1_IO, "%s: no %s or %s in this folder", path, SINGLE_NAME, INDEX_NAME);
                goto done;
            }
        }
    } else if (ends_with(path, ".index.json")) {
        index = strdup(path);
        const char *slash = strrchr(path, '/');
        dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup(".");
        if (!index || !dir) {
            s = nomem();
            goto done;
        }
    } else if (!(single = strdup(path))) {
        s = nomem();
        goto done;
    }
    if ((s = st_new(&st, r1_path_base(index ? index : single))) != R1_OK) goto done;
    if (index) {
        s = open_index(st, index, dir);
    } else {
        s = map_and_parse(st, single);
        if (s == R1_OK) s = finish(st);
    }
done:
    if (s != R1_OK) {
        r1_st_close(st);
        st = NULL;
    }
    free(index);
    free(single);
    free(dir);
    *out = st;
    return s;
}

static const r1_st_entry *lookup(const r1_st *st, const char *name) {
    if (!st || st->n == 0) return NULL;
    r1_st_entry key = {.name = name};
    return bsearch(&key, st->ents, (size_t)st->n, sizeof key, cmp_entry);
}

const r1_tensor *r1_st_find(const r1_st *st, const char *name) {
    const r1_st_entry *e = lookup(st, name);
    return e && e->supported ? &e->t : NULL;
}

int64_t r1_st_count(const r1_st *st) { return st ? st->n : 0; }

const r1_st_entry *r1_st_at(const r1_st *st, int64_t i) {
    return st && i >= 0 && i < st->n ? &st->ents[i] : NULL;
}

/* "[8,32]" into buf. */
static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

r1_status r1_st_get(const r1_st *st, const char *name, int dtype, int ndim, const int64_t *shape,
                    r1_tensor *out) {
    memset(out, 0, sizeof *out);
    const r1_st_entry *e = lookup(st, name);
    if (!e) return r1_fail(R1_FORMAT, "%s: tensor '%s' not found", st ? st->where : "?", name);
    if (!e->supported)
        return r1_fail(R1_UNSUPPORTED, "%s: tensor '%s' has dtype %s (r1 reads F32, F16, BF16)",
                       e->file, name, e->dtype_name);
    if (dtype != R1_ST_ANY && (int)e->t.dtype != dtype)
        return r1_fail(R1_FORMAT, "%s: tensor '%s' has dtype %s, expected %s", e->file, name,
                       r1_dtype_name(e->t.dtype),
                       dtype >= 0 && dtype < R1_DT_COUNT ? r1_dtype_name((r1_dtype)dtype) : "?");
    if (shape && ndim >= 0) {
        bool ok = ndim == e->t.ndim;
        for (int i = 0; ok && i < ndim; i++) ok = shape[i] < 0 || shape[i] == e->t.shape[i];
        if (!ok) {
            char have[128], want[128];
            return r1_fail(R1_SHAPE, "%s: tensor '%s' has shape %s, expected %s", e->file, name,
                           fmt_shape(have, sizeof have, e->t.ndim, e->t.shape),
                           fmt_shape(want, sizeof want, ndim > R1_MAX_DIMS ? R1_MAX_DIMS : ndim,
                                     shape));
        }
    }
    *out = e->t;
    return R1_OK;
}

/* ---- writer ---- */

static const char *st_dtype_name(r1_dtype t) {
    return t == R1_DT_F32 ? "F32" : t == R1_DT_F16 ? "F16" : "BF16";
}

/* Checks tensor i for writing and returns its byte count in *bytes. */
static r1_status check_out(const r1_tensor *t, const char *name, size_t *bytes) {
    if (!name || !name[0]) return r1_fail(R1_INVALID, "safetensors: empty tensor name");
    if ((int)t->dtype < 0 || (int)t->dtype >= R1_DT_COUNT)
        return r1_fail(R1_INVALID, "safetensors: tensor '%s' has an invalid dtype", name);
    if (r1_dtype_is_quant(t->dtype))
        return r1_fail(R1_UNSUPPORTED, "safetensors: tensor '%s' is %s; safetensors holds f32/f16/bf16 only", name,
                       r1_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > R1_MAX_DIMS)
        return r1_fail(R1_INVALID, "safetensors: tensor '%s' has %d dimensions", name, t->ndim);
    if (!r1_shape_ok(t->shape, t->ndim))
        return r1_fail(R1_INVALID, "safetensors: tensor '%s' has an invalid shape", name);
    *bytes = (size_t)r1_tensor_numel(t) * r1_dtype_size(t->dtype);
    if (*bytes && !t->data) return r1_fail(R1_INVALID, "safetensors: tensor '%s' has no data", name);
    return R1_OK;
}

typedef struct {
    const r1_tensor *ts;
    const char *const *names;
} sort_ctx;
static _Thread_local sort_ctx g_sort;

/* Widest dtype first, then by name: every tensor starts aligned to its element size. */
static int cmp_write_order(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    size_t si = r1_dtype_size(g_sort.ts[i].dtype), sj = r1_dtype_size(g_sort.ts[j].dtype);
    if (si != sj) return si > sj ? -1 : 1;
    return strcmp(g_sort.names[i], g_sort.names[j]);
}

static int cmp_name_order(const void *a, const void *b) {
    return strcmp(g_sort.names[*(const int64_t *)a], g_sort.names[*(const int64_t *)b]);
}

/* Writes tensors idx[0..n) (reordered in place) to path. */
static r1_status write_file(const char *path, const r1_tensor *ts, const char *const *names,
                            int64_t *idx, int64_t n) {
    r1_status s = R1_OK;
    char *json = NULL;
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    if (!root || !meta || !cJSON_AddStringToObject(meta, "format", "pt")) {
        cJSON_Delete(meta);
        s = nomem();
        goto done;
    }
    cJSON_AddItemToObject(root, "__metadata__", meta);
    g_sort = (sort_ctx){ts, names};
    qsort(idx, (size_t)n, sizeof *idx, cmp_write_order);
    uint64_t off = 0;
    for (int64_t k = 0; k < n; k++) {
        const r1_tensor *t = &ts[idx[k]];
        size_t bytes = 0;
        if ((s = check_out(t, names[idx[k]], &bytes)) != R1_OK) goto done;
        double shape[R1_MAX_DIMS], offs[2] = {(double)off, (double)(off + bytes)};
        for (int i = 0; i < t->ndim; i++) shape[i] = (double)t->shape[i];
        cJSON *e = cJSON_CreateObject();
        cJSON *sh = cJSON_CreateDoubleArray(shape, t->ndim), *of = cJSON_CreateDoubleArray(offs, 2);
        if (!e || !sh || !of || !cJSON_AddStringToObject(e, "dtype", st_dtype_name(t->dtype))) {
            cJSON_Delete(e);
            cJSON_Delete(sh);
            cJSON_Delete(of);
            s = nomem();
            goto done;
        }
        cJSON_AddItemToObject(e, "shape", sh);
        cJSON_AddItemToObject(e, "data_offsets", of);
        cJSON_AddItemToObject(root, names[idx[k]], e);
        off += bytes;
    }
    if (!(json = cJSON_PrintUnformatted(root))) {
        s = nomem();
        goto done;
    }
    size_t hlen = strlen(json), padded = (hlen + 7) & ~(size_t)7;
    unsigned char head[8];
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";
    r1_file_atomic f;
    if ((s = r1_file_atomic_open(&f, path)) != R1_OK) goto done;
    if ((s = r1_file_atomic_write(&f, head, 8)) != R1_OK) goto done;
    if ((s = r1_file_atomic_write(&f, json, hlen)) != R1_OK) goto done;
    if ((s = r1_file_atomic_write(&f, spaces, padded - hlen)) != R1_OK) goto done;
    for (int64_t k = 0; k < n; k++)
        if ((s = r1_file_atomic_write(&f, ts[idx[k]].data, r1_tensor_bytes(&ts[idx[k]]))) != R1_OK)
            goto done;
    s = r1_file_atomic_commit(&f);
done:
    free(json);
    cJSON_Delete(root);
    return s;
}

/* idx = 0..n-1, after checking every tensor and that names are distinct. */
static r1_status prepare(const r1_tensor *ts, const char *const *names, int64_t n, int64_t **idx) {
    *idx = NULL;
    if (n < 0 || n > ((int64_t)1 << 24)) return r1_fail(R1_INVALID, "safetensors: bad tensor count");
    int64_t *ix = malloc((size_t)(n ? n : 1) * sizeof *ix);
    if (!ix) return nomem();
    for (int64_t i = 0; i < n; i++) {
        size_t bytes;
        r1_status s = check_out(&ts[i], names[i], &bytes);
        if (s != R1_OK) {
            free(ix);
            return s;
        }
        ix[i] = i;
    }
    g_sort = (sort_ctx){ts, names};
    qsort(ix, (size_t)n, sizeof *ix, cmp_name_order);
    for (int64_t i = 1; i < n; i++)
        if (strcmp(names[ix[i - 1]], names[ix[i]]) == 0) {
            r1_status s = r1_fail(R1_INVALID, "safetensors: tensor name '%s' given twice", names[ix[i]]);
            free(ix);
            return s;
        }
    for (int64_t i = 0; i < n; i++) ix[i] = i;
    *idx = ix;
    return R1_OK;
}

r1_status r1_st_write(const char *path, const r1_tensor *tensors, const char *const *names,
                      int64_t n) {
    int64_t *idx;
    R1_TRY(prepare(tensors, names, n, &idx));
    r1_status s = write_file(path, tensors, names, idx, n);
    free(idx);
    return s;
}

r1_status r1_st_write_sharded(const char *dir, const r1_tensor *tensors, const char *const *names,
                              int64_t n, size_t max_shard_bytes, int *n_shards) {
    if (n_shards) *n_shards = 0;
    int64_t *idx, *start = NULL;
    R1_TRY(prepare(tensors, names, n, &idx));
    r1_status s = R1_OK;
    char *path = NULL, *json = NULL;
    cJSON *root = NULL;
    int64_t ns = 0;
    size_t cur = 0, total = 0;
    /* start[k] = first tensor (in given order) of shard k. */
    start = malloc((size_t)(n + 1) * sizeof *start);
    if (!start) {
        s = nomem();
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        size_t b = r1_tensor_bytes(&tensors[i]);
        if (i == 0 || (cur > 0 && cur + b > max_shard_bytes)) {
            start[ns++] = i;
            cur = 0;
        }
        cur += b;
        total += b;
    }
    if (ns == 0) start[ns++] = 0;
    start[ns] = n;
    if (ns > 99999) {
        s = r1_fail(R1_LIMIT, "safetensors: %lld shards, at most 99999", (long long)ns);
        goto done;
    }
    if (ns == 1) {
        if (!(path = r1_path_join(dir, SINGLE_NAME))) s = nomem();
        else s = write_file(path, tensors, names, idx, n);
        goto done;
    }
    cJSON *meta, *wm;
    if (!(root = cJSON_CreateObject()) || !(meta = cJSON_AddObjectToObject(root, "metadata")) ||
        !cJSON_AddNumberToObject(meta, "total_size", (double)total) ||
        !(wm = cJSON_AddObjectToObject(root, "weight_map"))) {
        s = nomem();
        goto done;
    }
    for (int64_t k = 0; k < ns; k++) {
        char shard[64];
        snprintf(shard, sizeof shard, "model-%05lld-of-%05lld.safetensors", (long long)k + 1,
                 (long long)ns);
        for (int64_t i = start[k]; i < start[k + 1]; i++)
            if (!cJSON_AddStringToObject(wm, names[i], shard)) {
                s = nomem();
                goto done;
            }
        free(path);
        if (!(path = r1_path_join(dir, shard))) {
            s = nomem();
            goto done;
        }
        if ((s = write_file(path, tensors, names, idx + start[k], start[k + 1] - start[k])) != R1_OK)
            goto done;
    }
    free(path);
    path = NULL;
    if (!(json = cJSON_Print(root)) || !(path = r1_path_join(dir, INDEX_NAME))) {
        s = nomem();
        goto done;
    }
    s = r1_file_write_atomic(path, json, strlen(json));
done:
    if (s == R1_OK && n_shards) *n_shards = (int)ns;
    cJSON_Delete(root);
    free(json);
    free(path);
    free(start);
    free(idx);
    return s;
}
