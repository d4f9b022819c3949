/* gguf: reader and writer (see gguf.h).
 * The reader walks the header with a cursor that refuses to move past the end;
 * every count is compared with the bytes left (an entry takes at least its
 * minimum encoded size) before anything is allocated, so memory use is
 * bounded by a small multiple of the file size whatever the counts claim.
 * Tensor data are views into the mapping; each tensor's size comes from its
 * dims and type (overflow-checked) and must lie inside the data section at an
 * offset that is a multiple of the alignment. */
#include "io/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

static const char *const GGML_NAMES[] = {
    "f32",  "f16",  "q4_0", "q4_1", "q4_2", "q4_3", "q5_0",    "q5_1",    "q8_0",   "q8_1",  "q2_K",
    "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s",
    "iq2_s", "iq4_xs", "i8", "i16", "i32",  "i64",     "f64",     "iq1_m",  "bf16"};

const char *r1_gguf_ggml_type_name(int t) {
    return t >= 0 && t < (int)(sizeof GGML_NAMES / sizeof GGML_NAMES[0]) ? GGML_NAMES[t] : "?";
}

static const int GGML_OF_DT[R1_DT_FILE_COUNT] = {[R1_DT_F32] = 0,  [R1_DT_F16] = 1,  [R1_DT_BF16] = 30, [R1_DT_Q8_0] = 8,
                                            [R1_DT_Q4_0] = 2, [R1_DT_Q4_K] = 12, [R1_DT_Q6_K] = 14};

int r1_gguf_ggml_type(r1_dtype t) { return (int)t >= 0 && (int)t < R1_DT_FILE_COUNT ? GGML_OF_DT[t] : -1; }

int r1_gguf_dtype(int ggml_type) {
    for (int t = 0; t < R1_DT_FILE_COUNT; t++)
        if (GGML_OF_DT[t] == ggml_type) return t;
    return -1;
}

/* ---- reading ---- */

struct r1_gguf {
    r1_mmap map;
    const unsigned char *base;
    size_t len;
    uint32_t version;
    size_t alignment;
    int64_t n_kv, n_tensors;
    r1_gguf_kv *kv;
    r1_gguf_tensor *tensors;
    r1_gguf_str *strs; /* every string value and string-array element */
    char *names;       /* NUL-terminated keys and tensor names */
};

typedef struct {
    const unsigned char *p, *end;
    const char *where;
} cursor;

static size_t left(const cursor *c) { return (size_t)(c->end - c->p); }

static r1_status take(cursor *c, void *out, size_t n, const char *what) {
    if (left(c) < n) return r1_fail(R1_FORMAT, "%s: truncated reading %s", c->where, what);
    memcpy(out, c->p, n);
    c->p += n;
    return R1_OK;
}

static r1_status take_str(cursor *c, r1_gguf_str *s, const char *what) {
    uint64_t n = 0;
    R1_TRY(take(c, &n, 8, what));
    if (n > left(c))
        return r1_fail(R1_FORMAT, "%s: %s claims %llu bytes, %zu left", c->where, what, (unsigned long long)n, left(c));
    s->p = (const char *)c->p;
    s->len = n;
    c->p += n;
    return R1_OK;
}

static size_t scalar_size(r1_gguf_type t) {
    switch (t) {
    case R1_GGUF_U8:
    case R1_GGUF_I8:
    case R1_GGUF_BOOL: return 1;
    case R1_GGUF_U16:
    case R1_GGUF_I16: return 2;
    case R1_GGUF_U32:
    case R1_GGUF_I32:
    case R1_GGUF_F32: return 4;
    case R1_GGUF_U64:
    case R1_GGUF_I64:
    case R1_GGUF_F64: return 8;
    default: return 0;
    }
}

/* Counts the string values the kv section will need (pass 1), so one
 * allocation holds them all. Each string takes >= 8 bytes of the file. */
static r1_status skip_value(cursor *c, uint32_t type, const char *key, uint64_t *n_strings) {
    if (type == R1_GGUF_STRING) {
        r1_gguf_str s;
        (*n_strings)++;
        return take_str(c, &s, key);
    }
    if (type == R1_GGUF_ARRAY) {
        uint32_t elem = 0;
        uint64_t n = 0;
        R1_TRY(take(c, &elem, 4, key));
        R1_TRY(take(c, &n, 8, key));
        if (elem == R1_GGUF_ARRAY)
            return r1_fail(R1_UNSUPPORTED, "%s: key '%s' is an array of arrays", c->where, key);
        if (elem == R1_GGUF_STRING) {
            if (n > left(c) / 8)
                return r1_fail(R1_FORMAT, "%s: key '%s' claims %llu strings, %zu bytes left", c->where, key,
                               (unsigned long long)n, left(c));
            for (uint64_t i = 0; i < n; i++) R1_TRY(skip_value(c, R1_GGUF_STRING, key, n_strings));
            return R1_OK;
        }
        size_t es = scalar_size(elem);
        if (!es) return r1_fail(R1_FORMAT, "%s: key '%s' has unknown array element type %u", c->where, key, elem);
        if (n > left(c) / es)
            return r1_fail(R1_FORMAT, "%s: key '%s' claims %llu elements, %zu bytes left", c->where, key,
                           (unsigned long long)n, left(c));
        c->p += n * es;
        return R1_OK;
    }
    size_t es = scalar_size(type);
    if (!es) return r1_fail(R1_FORMAT, "%s: key '%s' has unknown type %u", c->where, key, type);
    if (left(c) < es) return r1_fail(R1_FORMAT, "%s: truncated value of key '%s'", c->where, key);
    c->p += es;
    return R1_OK;
}

/* Pass 2: fills kv from the (already validated) bytes. */
static void read_value(cursor *c, r1_gguf_kv *kv, uint32_t type, r1_gguf_str **strs) {
    kv->type = (r1_gguf_type)type;
    kv->elem = kv->type;
    kv->n = 1;
    if (type == R1_GGUF_STRING) {
        kv->str = *strs;
        take_str(c, (*strs)++, "string");
        return;
    }
    if (type == R1_GGUF_ARRAY) {
        uint32_t elem = 0;
        take(c, &elem, 4, "array");
        take(c, &kv->n, 8, "array");
        kv->elem = (r1_gguf_type)elem;
        if (elem == R1_GGUF_STRING) {
            kv->str = *strs;
            for (uint64_t i = 0; i < kv->n; i++) take_str(c, (*strs)++, "string");
            return;
        }
        kv->data = c->p;
        c->p += kv->n * scalar_size(kv->elem);
        return;
    }
    kv->data = c->p;
    c->p += scalar_size(kv->type);
}

static bool bool_value(const r1_gguf_kv *kv) { return *(const unsigned char *)kv->data != 0; }

static r1_status parse_tensors(r1_gguf *g, cursor *c, char **names) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        r1_gguf_tensor *t = &g->tensors[i];
        r1_gguf_str name;
        uint32_t nd = 0, type = 0;
        char what[64];
        snprintf(what, sizeof what, "tensor %lld name", (long long)i);
        R1_TRY(take_str(c, &name, what));
        memcpy(*names, name.p, name.len);
        (*names)[name.len] = 0;
        t->name = *names;
        *names += name.len + 1;
        if (strlen(t->name) != name.len) return r1_fail(R1_FORMAT, "%s: tensor %lld has a NUL in its name", c->where, (long long)i);
        R1_TRY(take(c, &nd, 4, t->name));
        if (nd < 1 || nd > R1_GGUF_MAX_DIMS)
            return r1_fail(R1_FORMAT, "%s: tensor '%s' has %u dimensions (1..%d)", c->where, t->name, nd, R1_GGUF_MAX_DIMS);
        uint64_t ne[R1_GGUF_MAX_DIMS];
        for (uint32_t d = 0; d < nd; d++) R1_TRY(take(c, &ne[d], 8, t->name));
        R1_TRY(take(c, &type, 4, t->name));
        R1_TRY(take(c, &t->offset, 8, t->name));
        t->ggml_type = (int)type;
        int dt = type < 1000 ? r1_gguf_dtype((int)type) : -1;
        if (dt < 0)
            return r1_fail(R1_UNSUPPORTED, "%s: tensor '%s' has ggml type %u (%s); r1 reads f32, f16, bf16, q8_0, q4_0, q4_K, q6_K",
                           c->where, t->name, type, r1_gguf_ggml_type_name((int)type));
        t->t.dtype = (r1_dtype)dt;
        t->t.ndim = (int)nd;
        for (uint32_t d = 0; d < nd; d++) {
            if (ne[d] > (uint64_t)R1_MAX_NUMEL)
                return r1_fail(R1_FORMAT, "%s: tensor '%s' has an absurd shape (dim %u = %llu)", c->where, t->name, d,
                               (unsigned long long)ne[d]);
            t->t.shape[nd - 1 - d] = (int64_t)ne[d];
        }
        if (!r1_shape_ok(t->t.shape, t->t.ndim))
            return r1_fail(R1_FORMAT, "%s: tensor '%s' has an absurd shape (more than 2^50 elements, zero extents aside)",
                           c->where, t->name);
        int64_t blk = r1_dtype_block(t->t.dtype);
        if ((int64_t)ne[0] % blk != 0)
            return r1_fail(R1_FORMAT, "%s: tensor '%s' has rows of %llu, not a multiple of the %s block of %lld", c->where,
                           t->name, (unsigned long long)ne[0], r1_dtype_name(t->t.dtype), (long long)blk);
        t->nbytes = r1_tensor_bytes(&t->t); /* countable in any order: r1_shape_ok above */
        for (int64_t j = 0; j < i; j++)
            if (strcmp(g->tensors[j].name, t->name) == 0)
                return r1_fail(R1_FORMAT, "%s: tensor '%s' appears twice", c->where, t->name);
    }
    return R1_OK;
}

static r1_status parse(r1_gguf *g, const char *where) {
    cursor c = {g->base, g->base + g->len, where};
    uint32_t magic = 0;
    uint64_t nt = 0, nkv = 0;
    R1_TRY(take(&c, &magic, 4, "the magic"));
    if (memcmp(&magic, "GGUF", 4) != 0) return r1_fail(R1_FORMAT, "%s: not a GGUF file (bad magic)", where);
    R1_TRY(take(&c, &g->version, 4, "the version"));
    if (g->version != 2 && g->version != 3)
        return r1_fail(R1_UNSUPPORTED, "%s: GGUF version %u (r1 reads 2 and 3)", where, g->version);
    R1_TRY(take(&c, &nt, 8, "the tensor count"));
    R1_TRY(take(&c, &nkv, 8, "the key count"));
    /* a kv pair takes >= 13 bytes (key length, type, 1-byte value), a tensor info >= 32 */
    if (nkv > left(&c) / 13) return r1_fail(R1_FORMAT, "%s: %llu keys cannot fit in %zu bytes", where, (unsigned long long)nkv, left(&c));
    if (nt > left(&c) / 32) return r1_fail(R1_FORMAT, "%s: %llu tensors cannot fit in %zu bytes", where, (unsigned long long)nt, left(&c));
    g->n_kv = (int64_t)nkv;
    g->n_tensors = (int64_t)nt;

    /* pass 1 over the kv section: validate, count strings and name bytes */
    const unsigned char *kv_start = c.p;
    uint64_t n_strings = 0;
    size_t name_bytes = 0;
    for (uint64_t i = 0; i < nkv; i++) {
        r1_gguf_str key;
        uint32_t type = 0;
        char what[64];
        snprintf(what, sizeof what, "key %llu", (unsigned long long)i);
        R1_TRY(take_str(&c, &key, what));
        name_bytes += key.len + 1;
        char kname[96];
        snprintf(kname, sizeof kname, "%.*s", (int)(key.len < 80 ? key.len : 80), key.p);
        R1_TRY(take(&c, &type, 4, kname));
        R1_TRY(skip_value(&c, type, kname, &n_strings));
    }
    /* tensor names: bounded by the bytes left */
    name_bytes += left(&c) + (size_t)nt;
    g->kv = calloc((size_t)nkv + 1, sizeof *g->kv);
    g->tensors = calloc((size_t)nt + 1, sizeof *g->tensors);
    g->strs = calloc((size_t)n_strings + 1, sizeof *g->strs);
    g->names = malloc(name_bytes + 1);
    if (!g->kv || !g->tensors || !g->strs || !g->names) return r1_fail(R1_NOMEM, "%s: out of memory", where);

    /* pass 2: fill */
    c.p = kv_start;
    r1_gguf_str *sp = g->strs;
    char *np = g->names;
    for (uint64_t i = 0; i < nkv; i++) {
        r1_gguf_str key;
        uint32_t type = 0;
        take_str(&c, &key, "key");
        memcpy(np, key.p, key.len);
        np[key.len] = 0;
        g->kv[i].key = np;
        np += key.len + 1;
        take(&c, &type, 4, "type");
        read_value(&c, &g->kv[i], type, &sp);
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->kv[j].key, g->kv[i].key) == 0)
                return r1_fail(R1_FORMAT, "%s: key '%s' appears twice", where, g->kv[i].key);
    }
    g->alignment = R1_GGUF_DEFAULT_ALIGNMENT;
    const r1_gguf_kv *al = r1_gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != R1_GGUF_U32) return r1_fail(R1_FORMAT, "%s: 'general.alignment' must be a u32", where);
        uint32_t a;
        memcpy(&a, al->data, 4);
        if (a == 0 || (a & (a - 1)) || a > (1u << 20))
            return r1_fail(R1_FORMAT, "%s: 'general.alignment' is %u, not a power of two up to 1 MiB", where, a);
        g->alignment = a;
    }
    R1_TRY(parse_tensors(g, &c, &np));
    size_t header = (size_t)(c.p - g->base), data = (header + g->alignment - 1) / g->alignment * g->alignment;
    if (nt > 0 && data > g->len)
        return r1_fail(R1_FORMAT, "%s: the data section would start at %zu, past the end (%zu bytes)", where, data, g->len);
    size_t data_len = data <= g->len ? g->len - data : 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        r1_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return r1_fail(R1_FORMAT, "%s: tensor '%s' at offset %llu is not aligned to %zu", where, t->name,
                           (unsigned long long)t->offset, g->alignment);
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            return r1_fail(R1_FORMAT, "%s: tensor '%s' ends at %.1f MB, the data section is %.1f MB", where, t->name,
                           ((double)t->offset + (double)t->nbytes) / 1e6, (double)data_len / 1e6);
        t->t.data = (void *)(g->base + data + t->offset);
    }
    return R1_OK;
}

r1_status r1_gguf_parse_buffer(r1_gguf **out, const void *data, size_t len, const char *where) {
    *out = NULL;
    r1_gguf *g = calloc(1, sizeof *g);
    if (!g) return r1_fail(R1_NOMEM, "%s: out of memory", where);
    g->base = data;
    g->len = len;
    r1_status s = parse(g, where);
    if (s != R1_OK) {
        r1_gguf_close(g);
        return s;
    }
    *out = g;
    return R1_OK;
}

r1_status r1_gguf_open(r1_gguf **out, const char *path) {
    *out = NULL;
    r1_mmap m;
    R1_TRY(r1_file_mmap(&m, path));
    r1_status s = r1_gguf_parse_buffer(out, m.data, m.len, path);
    if (s != R1_OK) {
        r1_file_munmap(&m);
        return s;
    }
    (*out)->map = m;
    return R1_OK;
}

void r1_gguf_close(r1_gguf *g) {
    if (!g) return;
    r1_file_munmap(&g->map);
    free(g->kv);
    free(g->tensors);
    free(g->strs);
    free(g->names);
    free(g);
}

uint32_t r1_gguf_version(const r1_gguf *g) { return g->version; }
size_t r1_gguf_alignment(const r1_gguf *g) { return g->alignment; }
int64_t r1_gguf_kv_count(const r1_gguf *g) { return g->n_kv; }
const r1_gguf_kv *r1_gguf_kv_at(const r1_gguf *g, int64_t i) { return i >= 0 && i < g->n_kv ? &g->kv[i] : NULL; }
int64_t r1_gguf_tensor_count(const r1_gguf *g) { return g->n_tensors; }
const r1_gguf_tensor *r1_gguf_tensor_at(const r1_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const r1_gguf_kv *r1_gguf_find_kv(const r1_gguf *g, const char *key) {
    for (int64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const r1_gguf_tensor *r1_gguf_find_tensor(const r1_gguf *g, const char *name) {
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

/* One numeric element as int64 / double; *ok false for non-numeric types. */
static int64_t elem_int(r1_gguf_type t, const unsigned char *p, bool *ok, bool *fits) {
    *ok = true;
    *fits = true;
    switch (t) {
    case R1_GGUF_U8: return p[0];
    case R1_GGUF_I8: return (int8_t)p[0];
    case R1_GGUF_BOOL: return p[0] != 0;
    case R1_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case R1_GGUF_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case R1_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case R1_GGUF_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case R1_GGUF_I64: { int64_t v; memcpy(&v, p, 8); return v; }
    case R1_GGUF_U64: { uint64_t v; memcpy(&v, p, 8); *fits = v <= (uint64_t)INT64_MAX; return (int64_t)(v & INT64_MAX); }
    default: *ok = false; return 0;
    }
}

static double elem_float(r1_gguf_type t, const unsigned char *p, bool *ok) {
    if (t == R1_GGUF_F32) { float v; memcpy(&v, p, 4); *ok = true; return v; }
    if (t == R1_GGUF_F64) { double v; memcpy(&v, p, 8); *ok = true; return v; }
    bool fits;
    return (double)elem_int(t, p, ok, &fits);
}

int64_t r1_gguf_arr_int(const r1_gguf_kv *kv, uint64_t i) {
    R1_ASSERT(i < kv->n && kv->data);
    bool ok, fits;
    int64_t v = elem_int(kv->elem, (const unsigned char *)kv->data + i * scalar_size(kv->elem), &ok, &fits);
    if (!ok) { /* a float array read as integers: truncate what fits, 0 otherwise */
        double f = elem_float(kv->elem, (const unsigned char *)kv->data + i * scalar_size(kv->elem), &ok);
        v = f > -9.2e18 && f < 9.2e18 ? (int64_t)f : 0;
    }
    return v;
}

double r1_gguf_arr_float(const r1_gguf_kv *kv, uint64_t i) {
    R1_ASSERT(i < kv->n && kv->data);
    bool ok;
    return elem_float(kv->elem, (const unsigned char *)kv->data + i * scalar_size(kv->elem), &ok);
}

r1_status r1_gguf_get_int(const r1_gguf *g, const char *key, int64_t def, int64_t *out, bool *found) {
    const r1_gguf_kv *kv = r1_gguf_find_kv(g, key);
    if (found) *found = kv != NULL;
    *out = def;
    if (!kv) return R1_OK;
    bool ok = false, fits = true;
    if (kv->type != R1_GGUF_ARRAY && kv->type != R1_GGUF_STRING) *out = elem_int(kv->type, kv->data, &ok, &fits);
    if (!ok || kv->type == R1_GGUF_BOOL) return r1_fail(R1_FORMAT, "gguf: key '%s' must be an integer", key);
    if (!fits) return r1_fail(R1_FORMAT, "gguf: key '%s' is out of range", key);
    return R1_OK;
}

r1_status r1_gguf_get_float(const r1_gguf *g, const char *key, double def, double *out, bool *found) {
    const r1_gguf_kv *kv = r1_gguf_find_kv(g, key);
    if (found) *found = kv != NULL;
    *out = def;
    if (!kv) return R1_OK;
    bool ok = false;
    if (kv->type != R1_GGUF_ARRAY && kv->type != R1_GGUF_STRING && kv->type != R1_GGUF_BOOL)
        *out = elem_float(kv->type, kv->data, &ok);
    if (!ok) return r1_fail(R1_FORMAT, "gguf: key '%s' must be a number", key);
    return R1_OK;
}

r1_status r1_gguf_get_bool(const r1_gguf *g, const char *key, bool def, bool *out, bool *found) {
    const r1_gguf_kv *kv = r1_gguf_find_kv(g, key);
    if (found) *found = kv != NULL;
    *out = def;
    if (!kv) return R1_OK;
    if (kv->type != R1_GGUF_BOOL) return r1_fail(R1_FORMAT, "gguf: key '%s' must be a bool", key);
    *out = bool_value(kv);
    return R1_OK;
}

r1_status r1_gguf_get_str(const r1_gguf *g, const char *key, r1_gguf_str *out, bool *found) {
    const r1_gguf_kv *kv = r1_gguf_find_kv(g, key);
    if (found) *found = kv != NULL;
    *out = (r1_gguf_str){NULL, 0};
    if (!kv) return R1_OK;
    if (kv->type != R1_GGUF_STRING) return r1_fail(R1_FORMAT, "gguf: key '%s' must be a string", key);
    *out = kv->str[0];
    return R1_OK;
}

/* ---- writing ---- */

typedef struct {
    char *name;
    r1_tensor t;
    size_t nbytes, offset;
} wtensor;

struct r1_gguf_writer {
    unsigned char *kv;
    size_t kv_len, kv_cap;
    int64_t n_kv;
    char **keys;
    wtensor *ts;
    int64_t n_t, cap_t;
    r1_gguf_fill_fn fill;
    void *fill_ctx;
};

r1_status r1_gguf_writer_create(r1_gguf_writer **out) {
    *out = calloc(1, sizeof **out);
    return *out ? R1_OK : r1_fail(R1_NOMEM, "gguf: out of memory");
}

void r1_gguf_writer_destroy(r1_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    for (int64_t i = 0; i < w->n_t; i++) free(w->ts[i].name);
    free(w->keys);
    free(w->ts);
    free(w->kv);
    free(w);
}

static r1_status put(r1_gguf_writer *w, const void *p, size_t n) {
    if (n == 0) return R1_OK; /* p may be NULL then (a file without keys), and memcpy must not see it */
    if (w->kv_len + n > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 4096;
        while (cap < w->kv_len + n) cap *= 2;
        unsigned char *q = realloc(w->kv, cap);
        if (!q) return r1_fail(R1_NOMEM, "gguf: out of memory");
        w->kv = q;
        w->kv_cap = cap;
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
    return R1_OK;
}

static r1_status put_str(r1_gguf_writer *w, const char *s, size_t len) {
    uint64_t n = len;
    R1_TRY(put(w, &n, 8));
    return put(w, s, len);
}

/* Key and type; fails on a repeated key. */
static r1_status begin_kv(r1_gguf_writer *w, const char *key, r1_gguf_type type) {
    for (int64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0) return r1_fail(R1_INVALID, "gguf: key '%s' set twice", key);
    char **k = realloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *k);
    if (!k) return r1_fail(R1_NOMEM, "gguf: out of memory");
    w->keys = k;
    if (!(k[w->n_kv] = strdup(key))) return r1_fail(R1_NOMEM, "gguf: out of memory");
    w->n_kv++;
    uint32_t t = type;
    R1_TRY(put_str(w, key, strlen(key)));
    return put(w, &t, 4);
}

r1_status r1_gguf_set_u32(r1_gguf_writer *w, const char *key, uint32_t v) {
    R1_TRY(begin_kv(w, key, R1_GGUF_U32));
    return put(w, &v, 4);
}
r1_status r1_gguf_set_i32(r1_gguf_writer *w, const char *key, int32_t v) {
    R1_TRY(begin_kv(w, key, R1_GGUF_I32));
    return put(w, &v, 4);
}
r1_status r1_gguf_set_f32(r1_gguf_writer *w, const char *key, float v) {
    R1_TRY(begin_kv(w, key, R1_GGUF_F32));
    return put(w, &v, 4);
}
r1_status r1_gguf_set_bool(r1_gguf_writer *w, const char *key, bool v) {
    unsigned char b = v;
    R1_TRY(begin_kv(w, key, R1_GGUF_BOOL));
    return put(w, &b, 1);
}
r1_status r1_gguf_set_str(r1_gguf_writer *w, const char *key, const char *s, size_t len) {
    R1_TRY(begin_kv(w, key, R1_GGUF_STRING));
    return put_str(w, s, len);
}

r1_status r1_gguf_set_arr(r1_gguf_writer *w, const char *key, r1_gguf_type elem, const void *data, uint64_t n) {
    size_t es = scalar_size(elem);
    if (!es) return r1_fail(R1_INVALID, "gguf: key '%s': arrays of type %d are not numeric", key, (int)elem);
    uint32_t e = elem;
    R1_TRY(begin_kv(w, key, R1_GGUF_ARRAY));
    R1_TRY(put(w, &e, 4));
    R1_TRY(put(w, &n, 8));
    return put(w, data, (size_t)n * es);
}

r1_status r1_gguf_set_str_arr(r1_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                              uint64_t n) {
    uint32_t e = R1_GGUF_STRING;
    R1_TRY(begin_kv(w, key, R1_GGUF_ARRAY));
    R1_TRY(put(w, &e, 4));
    R1_TRY(put(w, &n, 8));
    for (uint64_t i = 0; i < n; i++) R1_TRY(put_str(w, strs[i], lens ? lens[i] : strlen(strs[i])));
    return R1_OK;
}

r1_status r1_gguf_copy_kv(r1_gguf_writer *w, const r1_gguf_kv *kv) {
    R1_TRY(begin_kv(w, kv->key, kv->type));
    if (kv->type == R1_GGUF_STRING) return put_str(w, kv->str[0].p, kv->str[0].len);
    if (kv->type != R1_GGUF_ARRAY) return put(w, kv->data, scalar_size(kv->type));
    uint32_t e = kv->elem;
    R1_TRY(put(w, &e, 4));
    R1_TRY(put(w, &kv->n, 8));
    if (kv->elem != R1_GGUF_STRING) return put(w, kv->data, (size_t)kv->n * scalar_size(kv->elem));
    for (uint64_t i = 0; i < kv->n; i++) R1_TRY(put_str(w, kv->str[i].p, kv->str[i].len));
    return R1_OK;
}

r1_status r1_gguf_add_tensor(r1_gguf_writer *w, const char *name, const r1_tensor *t) {
    if (!name || !name[0]) return r1_fail(R1_INVALID, "gguf: empty tensor name");
    if ((int)t->dtype < 0 || (int)t->dtype >= R1_DT_FILE_COUNT || t->ndim < 1 || t->ndim > R1_GGUF_MAX_DIMS)
        return r1_fail(R1_INVALID, "gguf: tensor '%s' has an invalid dtype or rank", name);
    if (t->shape[t->ndim - 1] % r1_dtype_block(t->dtype) != 0)
        return r1_fail(R1_INVALID, "gguf: tensor '%s': rows of %lld are not a multiple of the %s block", name,
                       (long long)t->shape[t->ndim - 1], r1_dtype_name(t->dtype));
    for (int64_t i = 0; i < w->n_t; i++)
        if (strcmp(w->ts[i].name, name) == 0) return r1_fail(R1_INVALID, "gguf: tensor '%s' added twice", name);
    if (w->n_t == w->cap_t) {
        int64_t cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *ts = realloc(w->ts, (size_t)cap * sizeof *ts);
        if (!ts) return r1_fail(R1_NOMEM, "gguf: out of memory");
        w->ts = ts;
        w->cap_t = cap;
    }
    wtensor *o = &w->ts[w->n_t];
    if (!(o->name = strdup(name))) return r1_fail(R1_NOMEM, "gguf: out of memory");
    o->t = *t;
    o->nbytes = r1_tensor_bytes(t);
    w->n_t++;
    return R1_OK;
}

void r1_gguf_set_fill(r1_gguf_writer *w, r1_gguf_fill_fn fn, void *ctx) {
    w->fill = fn;
    w->fill_ctx = ctx;
}

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

r1_status r1_gguf_write(r1_gguf_writer *w, const char *path) {
    const size_t A = R1_GGUF_DEFAULT_ALIGNMENT;
    /* header: magic, version, counts, kv blob, tensor infos */
    unsigned char *hdr = NULL;
    size_t hlen = 0, hcap = 0, off = 0, maxb = 0;
    r1_gguf_writer hw = {0}; /* reuse put() for the header buffer */
    r1_status s = R1_OK;
    uint32_t ver = 3;
    uint64_t nt = (uint64_t)w->n_t, nkv = (uint64_t)w->n_kv;
    if ((s = put(&hw, "GGUF", 4)) || (s = put(&hw, &ver, 4)) || (s = put(&hw, &nt, 8)) || (s = put(&hw, &nkv, 8)) ||
        (s = put(&hw, w->kv, w->kv_len)))
        goto done;
    for (int64_t i = 0; i < w->n_t; i++) {
        wtensor *t = &w->ts[i];
        uint32_t nd = (uint32_t)t->t.ndim, type = (uint32_t)r1_gguf_ggml_type(t->t.dtype);
        if ((s = put_str(&hw, t->name, strlen(t->name))) || (s = put(&hw, &nd, 4))) goto done;
        for (int d = t->t.ndim - 1; d >= 0; d--) {
            uint64_t ne = (uint64_t)t->t.shape[d];
            if ((s = put(&hw, &ne, 8))) goto done;
        }
        uint64_t o = off;
        if ((s = put(&hw, &type, 4)) || (s = put(&hw, &o, 8))) goto done;
        t->offset = off;
        off = align_up(off + t->nbytes, A);
        maxb = t->nbytes > maxb ? t->nbytes : maxb;
    }
    hdr = hw.kv;
    hlen = hw.kv_len;
    hcap = align_up(hlen, A);
    r1_file_atomic f;
    if ((s = r1_file_atomic_open(&f, path))) goto done;
    static const unsigned char zeros[64];
    s = r1_file_atomic_write(&f, hdr, hlen);
    if (s == R1_OK && hcap > hlen) s = r1_file_atomic_write(&f, zeros, hcap - hlen);
    void *buf = NULL;
    if (s == R1_OK && w->fill && maxb && !(buf = malloc(maxb))) s = r1_fail(R1_NOMEM, "gguf: out of memory");
    for (int64_t i = 0; s == R1_OK && i < w->n_t; i++) {
        wtensor *t = &w->ts[i];
        const void *src = t->t.data;
        if (!src && t->nbytes) {
            if (!w->fill) {
                s = r1_fail(R1_INVALID, "gguf: tensor '%s' has no data and no fill function", t->name);
                break;
            }
            if ((s = w->fill(w->fill_ctx, i, buf, t->nbytes)) != R1_OK) {
                s = r1_err_wrap(s, "gguf: tensor '%s'", t->name);
                break;
            }
            src = buf;
        }
        if (t->nbytes) s = r1_file_atomic_write(&f, src, t->nbytes);
        size_t pad = align_up(t->nbytes, A) - t->nbytes;
        if (s == R1_OK && pad) s = r1_file_atomic_write(&f, zeros, pad);
    }
    free(buf);
    if (s == R1_OK)
        s = r1_file_atomic_commit(&f);
    else
        r1_file_atomic_abort(&f);
done:
    free(hw.kv);
    free(hw.keys);
    return s == R1_OK ? R1_OK : r1_err_wrap(s, "%s", path);
}
