/* model: loading, random initialisation, saving and the inference forward.
 * The forward is the textbook pre-norm decoder (ARCH.md §2.1):
 *   h = x + attn(norm(x));  x' = h + ffn_or_moe(norm(h));  logits = lm_head(norm(x_L))
 * with every buffer carved from one workspace arena planned up front. */
#include "model/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/repack.h"
#include "core/rng.h"
#include "io/file.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "kernels/matmul.h"
#include "model/layers.h"
#include "model/model_impl.h"

static int64_t max3(int64_t a, int64_t b, int64_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

size_t r1_layers_plan(const r1_config *c, int64_t N, int64_t P, int nth) {
    int64_t attn, ffn, H = c->H;
    if (r1_config_is_mla(c)) {
        int64_t qk = c->Dn + c->Dr, R = c->Rkv;
        int64_t per = max3(N * c->Dn, N * R, H * P) + 16; /* mla.c's mla_scratch */
        attn = N * H * qk + N * (R + c->Dr) + N * H * c->Dv + N * c->Rq + nth * per + N * H * (2 * R + c->Dr);
        attn += 3 * N + P * R + P * H * (c->Dn + c->Dv); /* naive path (rows as int64 = 2 floats) */
    } else {
        attn = 2 * N * H * c->head_dim + 2 * N * c->Hkv * c->head_dim + nth * (P + 16);
    }
    ffn = 2 * N * c->ffn + (int64_t)r1_swiglu_groups_ws(1, N, c->ffn, c->D) / 4;
    if (c->E > 0) { /* moe.c's buffers */
        int64_t Fe = c->moe_ffn, Fs = c->n_shared * Fe;
        int64_t moe = N * c->E + 5 * N * c->K + 4 * (c->E + 1) + 2 * N * c->K * c->D + 2 * N * c->K * Fe + 2 * N * Fs +
                      (c->E + 1) * 32 + (int64_t)r1_swiglu_groups_ws(c->E + 1, N + N * c->K, Fe > Fs ? Fe : Fs, c->D) / 4;
        ffn = max3(ffn, moe, 0);
    }
    int64_t rope = r1_config_is_mla(c) ? c->Dr : c->head_dim;
    int64_t top = 4 * N * c->D + N * rope;
    return (size_t)(top + (attn > ffn ? attn : ffn)) * sizeof(float) + 64 * R1_ALIGN;
}

r1_status r1_model_reserve(r1_model *m, int64_t rows, int64_t ctx) {
    if (rows <= m->ws_rows && ctx <= m->ws_ctx) return R1_OK;
    rows = rows > m->ws_rows ? rows : m->ws_rows;
    /* decode asks for one position more every token: grow geometrically (up
     * to the model's context) instead of re-planning the workspace each step */
    int64_t want = ctx;
    if (ctx > m->ws_ctx && ctx < 2 * m->ws_ctx) ctx = 2 * m->ws_ctx;
    if (ctx > m->cfg.max_pos) ctx = want > m->cfg.max_pos ? want : m->cfg.max_pos;
    ctx = ctx > m->ws_ctx ? ctx : m->ws_ctx;
    r1_arena_free(&m->ws);
    R1_TRY(r1_arena_init(&m->ws, r1_layers_plan(&m->cfg, rows, ctx, r1_pool_size(m->pool))));
    m->ws_rows = rows;
    m->ws_ctx = ctx;
    return R1_OK;
}

void r1_fwd_cols(const r1_kernels *k, float *y, int64_t ldy, const float *x, int64_t n, const r1_tensor *w, int64_t K,
                 int64_t m0, int64_t m1) {
    r1_matmul_cols_k(k, y, ldy, x, n, w->data, w->dtype, K, m0, m1);
}

typedef struct {
    const r1_kernels *k;
    float *y;
    const float *x;
    int64_t N;
    const r1_tensor *w;
} fwd_mm;

static void fwd_mm_task(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const fwd_mm *j = p;
    int64_t M = j->w->shape[0];
    r1_fwd_cols(j->k, j->y, M, j->x, j->N, j->w, j->w->shape[1], lo * 16, hi * 16 < M ? hi * 16 : M);
}

void r1_fwd_matmul(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *w) {
    r1_pool *pool = r1_fwd_pool(m, N * w->shape[0] * w->shape[1]);
    if (N < 2 || r1_dtype_is_quant(w->dtype)) { /* the kernels' own split (matvec prefetches; quantized x once) */
        r1_matmul(pool, y, x, N, w);
        return;
    }
    /* claimed in chunks of about 1/(4 nth) of the columns: long weight
     * streams, and a thread slowed by memory takes fewer */
    fwd_mm j = {m->k, y, x, N, w};
    int64_t units = (w->shape[0] + 15) / 16;
    r1_pool_claim(pool, units, units / (4 * r1_pool_size(pool)), fwd_mm_task, &j);
}

void r1_embed_row(float *dst, const r1_tensor *table, int64_t row) {
    r1_to_f32(dst, r1_tensor_row(table, row), table->dtype, table->shape[1]);
}

/* ---- parameter binding: counting, loading, random init ---- */

typedef struct {
    r1_model *m;
    r1_st *st;
    r1_dtype dtype; /* random init: matrix dtype */
    r1_rng rng;
    size_t bytes; /* counting pass */
    int count_only, random;
} binder;

static size_t param_bytes(const binder *b, int ndim, const int64_t *shape, int flags) {
    int64_t rows = ndim > 1 ? shape[0] : 1, cols = ndim > 1 ? shape[1] : shape[0];
    r1_dtype dt = (flags & R1_P_VECTOR) || !b->random ? R1_DT_F32 : b->dtype;
    return r1_align_up((size_t)rows * r1_dtype_row_bytes(dt, cols));
}

void *r1_model_slab_take(r1_model *m, size_t n) {
    R1_ASSERT(m->slab_used + n <= m->slab_bytes);
    void *p = (char *)m->slab + m->slab_used;
    m->slab_used += n;
    return p;
}

/* A file from a writer that does not align tensors to their element size
 * would make kernels read misaligned floats: such tensors get an aligned copy. */
static bool misaligned(const r1_tensor *t) {
    return !r1_dtype_is_quant(t->dtype) && (uintptr_t)t->data % r1_dtype_size(t->dtype) != 0;
}

static r1_status bind_param(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape, int flags) {
    binder *b = ctx;
    int64_t n = shape[0] * (ndim > 1 ? shape[1] : 1);
    if (b->count_only) {
        r1_tensor t;
        if (b->random || (flags & R1_P_VECTOR))
            b->bytes += param_bytes(b, ndim, shape, flags);
        else if (r1_st_get(b->st, name, R1_ST_ANY, ndim, shape, &t) == R1_OK && misaligned(&t))
            b->bytes += r1_align_up(r1_tensor_bytes(&t));
        return R1_OK;
    }
    *slot = (r1_tensor){.ndim = ndim, .shape = {shape[0], ndim > 1 ? shape[1] : 0}};
    if (b->random) {
        slot->dtype = (flags & R1_P_VECTOR) ? R1_DT_F32 : b->dtype;
        slot->data = r1_model_slab_take(b->m, param_bytes(b, ndim, shape, flags));
        if (flags & R1_P_VECTOR) {
            float *v = slot->data;
            for (int64_t i = 0; i < n; i++) v[i] = (flags & R1_P_NORM) ? 1.0f : 0.0f;
        } else {
            float row[4096];
            for (int64_t i = 0; i < n; i += 4096) {
                int64_t k = n - i < 4096 ? n - i : 4096;
                for (int64_t t = 0; t < k; t++) row[t] = (float)(0.02 * r1_rng_normal(&b->rng));
                r1_from_f32((char *)slot->data + r1_dtype_row_bytes(slot->dtype, i), row, slot->dtype, k);
            }
        }
        return R1_OK;
    }
    r1_tensor t;
    R1_TRY(r1_st_get(b->st, name, R1_ST_ANY, ndim, shape, &t));
    if (flags & R1_P_VECTOR) { /* norms and biases: f32 copies */
        *slot = t;
        slot->dtype = R1_DT_F32;
        slot->data = r1_model_slab_take(b->m, param_bytes(b, ndim, shape, flags));
        r1_to_f32(slot->data, t.data, t.dtype, n);
    } else {
        *slot = t;
        if (misaligned(&t)) {
            slot->data = r1_model_slab_take(b->m, r1_align_up(r1_tensor_bytes(&t)));
            memcpy(slot->data, t.data, r1_tensor_bytes(&t));
        }
    }
    return R1_OK;
}

/* kT[h][r][d] = kv_b[h*(Dn+Dv)+d][r]: W_UK^T per head for the absorbed path.
 * kT has kv_b's dtype, or f32 when kv_b is quantized (old-style GGUF
 * attn_kv_b); only that case needs a conversion row. */
static r1_status fill_absorbed(r1_model *m, int64_t l) {
    const r1_config *c = &m->cfg;
    const r1_tensor *kvb = &m->w.layers[l].kv_b;
    r1_tensor *t = &m->kT[l];
    size_t es = r1_dtype_size(t->dtype);
    float *row = NULL;
    if (t->dtype != kvb->dtype && !(row = malloc((size_t)c->Rkv * sizeof(float))))
        return r1_fail(R1_NOMEM, "model: cannot allocate absorbed weights");
    for (int64_t h = 0; h < c->H; h++)
        for (int64_t d = 0; d < c->Dn; d++) {
            const char *src = r1_tensor_row(kvb, h * (c->Dn + c->Dv) + d);
            if (row) {
                r1_to_f32(row, src, kvb->dtype, c->Rkv);
                src = (const char *)row;
            }
            for (int64_t r = 0; r < c->Rkv; r++)
                memcpy((char *)t->data + (size_t)((h * c->Rkv + r) * c->Dn + d) * es, src + (size_t)r * es, es);
        }
    free(row);
    return R1_OK;
}

static r1_dtype absorbed_dtype(const r1_tensor *kvb) {
    return r1_dtype_is_quant(kvb->dtype) ? R1_DT_F32 : kvb->dtype;
}

r1_status r1_model_build_absorbed(r1_model *m) {
    const r1_config *c = &m->cfg;
    if (!r1_config_is_mla(c) || m->kT) return R1_OK;
    m->kT = calloc((size_t)c->n_layers, sizeof *m->kT);
    if (!m->kT) return r1_fail(R1_NOMEM, "model: cannot allocate absorbed weights");
    m->kT_owned = true;
    for (int64_t l = 0; l < c->n_layers; l++) {
        r1_tensor *t = &m->kT[l];
        *t = (r1_tensor){.dtype = absorbed_dtype(&m->w.layers[l].kv_b), .ndim = 3, .shape = {c->H, c->Rkv, c->Dn}};
        t->data = r1_alloc_aligned(r1_tensor_bytes(t));
        if (!t->data) return r1_fail(R1_NOMEM, "model: cannot allocate absorbed weights");
        R1_TRY(fill_absorbed(m, l));
    }
    return R1_OK;
}

r1_status r1_model_weights_changed(r1_model *m) {
    if (!r1_config_is_mla(&m->cfg) || (m->kT && !m->kT_owned)) return R1_OK; /* GGUF k_b: no kv_b to derive from */
    bool same = m->kT != NULL;
    for (int64_t l = 0; same && l < m->cfg.n_layers; l++) same = m->kT[l].dtype == absorbed_dtype(&m->w.layers[l].kv_b);
    if (same) { /* refill in place: no allocation in the training step */
        for (int64_t l = 0; l < m->cfg.n_layers; l++) R1_TRY(fill_absorbed(m, l));
        return R1_OK;
    }
    if (m->kT) {
        for (int64_t l = 0; l < m->cfg.n_layers; l++) free(m->kT[l].data);
        free(m->kT);
        m->kT = NULL;
    }
    return r1_model_build_absorbed(m);
}

r1_status r1_model_new(r1_model **out, const r1_config *c, int nthreads) {
    r1_model *m = calloc(1, sizeof *m);
    if (!m) return r1_fail(R1_NOMEM, "model: cannot allocate");
    *out = m;
    m->cfg = *c;
    m->k = r1_kernels_get();
    m->par_macs = R1_FWD_PAR_MACS;
    R1_TRY(r1_config_validate(c));
    if (c->E > R1_MAX_EXPERTS)
        return r1_fail(R1_UNSUPPORTED, "model: %lld routed experts (at most %d)", (long long)c->E, R1_MAX_EXPERTS);
    R1_TRY(r1_rope_init(&m->rope, c));
    R1_TRY(r1_weights_init(&m->w, c));
    return r1_pool_create(&m->pool, nthreads > 0 ? nthreads : r1_cpu_count());
}

static r1_status bind_all(r1_model *m, binder *b) {
    b->m = m;
    b->count_only = 1;
    R1_TRY(r1_weights_visit(&m->w, &m->cfg, bind_param, b));
    m->slab_bytes = b->bytes;
    m->slab = r1_alloc_aligned(b->bytes);
    if (!m->slab) return r1_fail(R1_NOMEM, "model: cannot allocate %zu bytes of weights", b->bytes);
    b->count_only = 0;
    R1_TRY(r1_weights_visit(&m->w, &m->cfg, bind_param, b));
    if (m->cfg.tie_embeddings) m->w.lm_head = m->w.embed;
    return r1_model_build_absorbed(m);
}

r1_status r1_model_load(r1_model **out, const char *dir, int nthreads) {
    r1_config c;
    *out = NULL;
    if (r1_model_path_is_gguf(dir)) return r1_model_load_gguf(out, dir, nthreads);
    R1_TRY(r1_config_load(&c, dir));
    r1_model *m = NULL;
    r1_status s = r1_model_new(&m, &c, nthreads);
    if (s == R1_OK) s = r1_st_open((r1_st **)&m->st, dir);
    if (s == R1_OK) {
        binder b = {.st = m->st};
        s = bind_all(m, &b);
    }
    if (s != R1_OK) {
        r1_model_destroy(m);
        return r1_err_wrap(s, "%s", dir);
    }
    *out = m;
    return R1_OK;
}

r1_status r1_model_create_random(r1_model **out, const r1_config *c, r1_dtype dtype, uint64_t seed, int nthreads) {
    *out = NULL;
    r1_model *m = NULL;
    r1_status s = r1_model_new(&m, c, nthreads);
    if (s == R1_OK) {
        binder b = {.dtype = dtype, .random = 1};
        r1_rng_seed(&b.rng, seed);
        s = bind_all(m, &b);
    }
    if (s != R1_OK) {
        r1_model_destroy(m);
        return s;
    }
    *out = m;
    return R1_OK;
}

void r1_model_destroy(r1_model *m) {
    if (!m) return;
    if (m->kT && m->kT_owned)
        for (int64_t l = 0; l < m->cfg.n_layers; l++) free(m->kT[l].data);
    free(m->kT);
    free(m->vb);
    r1_weights_free(&m->w, &m->cfg);
    r1_st_close(m->st);
    r1_gguf_close(m->gguf);
    free(m->slab);
    free(m->repacked);
    r1_arena_free(&m->ws);
    r1_pool_destroy(m->pool);
    free(m);
}

/* ---- saving ---- */

typedef struct {
    const r1_model *m;
    r1_tensor *t;
    char **names;
    void **owned; /* f32 copies made for the file (quantized or rebuilt tensors) */
    int64_t n, cap;
} collector;

/* An f32 [rows, cols] tensor in a new buffer, from f(ctx, row, dst). */
static r1_status f32_copy(collector *c, r1_tensor *out, int64_t rows, int64_t cols) {
    *out = (r1_tensor){.dtype = R1_DT_F32, .ndim = 2, .shape = {rows, cols}};
    out->data = malloc((size_t)(rows * cols) * sizeof(float));
    if (!out->data) return r1_fail(R1_NOMEM, "save: out of memory");
    c->owned[c->n] = out->data;
    return R1_OK;
}

/* kv_b [H*(Dn+Dv), Rkv] rebuilt from kT [H, Rkv, Dn] and vb [H, Dv, Rkv] (a GGUF model). */
static r1_status rebuild_kv_b(collector *c, int64_t l, r1_tensor *out) {
    const r1_config *cf = &c->m->cfg;
    int64_t H = cf->H, Dn = cf->Dn, Dv = cf->Dv, R = cf->Rkv;
    R1_TRY(f32_copy(c, out, H * (Dn + Dv), R));
    float *kv = out->data, *kt = malloc((size_t)(R * Dn) * sizeof(float));
    if (!kt) return r1_fail(R1_NOMEM, "save: out of memory");
    const r1_tensor *k = &c->m->kT[l], *v = &c->m->vb[l];
    for (int64_t h = 0; h < H; h++) {
        r1_tensor_rows_f32(kt, k, h * R, R);
        for (int64_t d = 0; d < Dn; d++)
            for (int64_t r = 0; r < R; r++) kv[(h * (Dn + Dv) + d) * R + r] = kt[r * Dn + d];
        r1_tensor_rows_f32(kv + (h * (Dn + Dv) + Dn) * R, v, h * Dv, Dv);
    }
    free(kt);
    return R1_OK;
}

static r1_status collect(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape, int flags) {
    (void)flags;
    collector *c = ctx;
    if (c->n == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 256;
        r1_tensor *t = realloc(c->t, (size_t)cap * sizeof *t);
        if (t) c->t = t;
        char **nm = realloc(c->names, (size_t)cap * sizeof *nm);
        if (nm) c->names = nm;
        void **ow = realloc(c->owned, (size_t)cap * sizeof *ow);
        if (ow) c->owned = ow;
        if (!t || !nm || !ow) return r1_fail(R1_NOMEM, "save: out of memory");
        c->cap = cap;
    }
    c->owned[c->n] = NULL;
    c->t[c->n] = *slot;
    int64_t rows = ndim > 1 ? shape[0] : 1, cols = ndim > 1 ? shape[1] : shape[0];
    long long l = 0;
    bool qk = c->m->qk_permuted && (strstr(name, "q_proj.weight") || strstr(name, "k_proj.weight"));
    if (!slot->data && strstr(name, "kv_b_proj") && sscanf(name, "model.layers.%lld.", &l) == 1 && c->m->kT) {
        R1_TRY(rebuild_kv_b(c, l, &c->t[c->n]));
    } else if (r1_dtype_is_quant(slot->dtype) || qk) {
        /* safetensors holds no quantized types: dequantize (and undo llama.cpp's q/k row order) */
        R1_TRY(f32_copy(c, &c->t[c->n], rows, cols));
        int64_t heads = strstr(name, "q_proj") ? c->m->cfg.H : c->m->cfg.Hkv, hd = rows / heads;
        for (int64_t r = 0; r < rows; r++) {
            int64_t src = r;
            if (qk) { /* HF row h*hd + j*hd/2 + i  <-  GGUF row h*hd + 2i + j */
                int64_t h = r / hd, k = r % hd;
                src = h * hd + 2 * (k % (hd / 2)) + k / (hd / 2);
            }
            r1_tensor_row_f32((float *)c->t[c->n].data + r * cols, slot, src);
        }
    }
    c->names[c->n] = strdup(name);
    if (!c->names[c->n]) return r1_fail(R1_NOMEM, "save: out of memory");
    c->n++;
    return R1_OK;
}

r1_status r1_model_save(const r1_model *m, const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return r1_fail(R1_IO, "%s: cannot create folder: %s", dir, strerror(errno));
    char path[4096], *json = NULL;
    R1_TRY(r1_config_to_json(&m->cfg, &json));
    snprintf(path, sizeof path, "%s/config.json", dir);
    r1_status s = r1_file_write_atomic(path, json, strlen(json));
    free(json);
    if (s != R1_OK) return s;
    collector col = {.m = m};
    s = r1_weights_visit((r1_weights *)&m->w, &m->cfg, collect, &col);
    /* 5 GB shards, as HF's save_pretrained; small models get one model.safetensors. */
    if (s == R1_OK) s = r1_st_write_sharded(dir, col.t, (const char *const *)col.names, col.n, (size_t)5000000000ull, NULL);
    for (int64_t i = 0; i < col.n; i++) free(col.names[i]), free(col.owned[i]);
    if (s != R1_OK && col.n < col.cap && col.owned) free(col.owned[col.n]); /* a copy made before a failure */
    free(col.names);
    free(col.owned);
    free(col.t);
    return s;
}

/* ---- forward ---- */

static r1_status check_batch(const r1_model *m, const r1_kvcache *kv, const r1_batch *b) {
    if (b->N < 1) return r1_fail(R1_INVALID, "forward: empty batch");
    for (int64_t i = 0; i < b->N; i++) {
        int32_t t = b->tok[i], s = b->slot[i];
        if (t < 0 || t >= m->cfg.vocab) return r1_fail(R1_INVALID, "forward: token %d outside vocab of %lld", t, (long long)m->cfg.vocab);
        if (s < 0 || s >= kv->n_slots) return r1_fail(R1_INVALID, "forward: slot %d outside 0..%lld", s, (long long)kv->n_slots - 1);
        int64_t expect = kv->len[s];
        for (int64_t j = 0; j < i; j++) expect += b->slot[j] == s;
        if (b->pos[i] != expect)
            return r1_fail(R1_INVALID, "forward: row %lld has position %lld, slot %d expects %lld", (long long)i,
                           (long long)b->pos[i], s, (long long)expect);
        if (b->pos[i] >= kv->max_ctx)
            return r1_fail(R1_LIMIT, "forward: position %lld exceeds the context of %lld", (long long)b->pos[i],
                           (long long)kv->max_ctx);
    }
    return R1_OK;
}

static void add_into(float *x, const float *t, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += t[i];
}

r1_status r1_model_forward(r1_model *m, r1_kvcache *kv, const r1_batch *b, const int64_t *out_rows, int64_t n_out,
                           float *logits) {
    const r1_config *c = &m->cfg;
    R1_TRY(check_batch(m, kv, b));
    int64_t N = b->N, D = c->D, P = 0;
    for (int64_t i = 0; i < N; i++) P = b->pos[i] + 1 > P ? b->pos[i] + 1 : P;
    R1_TRY(r1_model_reserve(m, N, P));
    r1_arena_reset(&m->ws);
    int64_t rd = m->rope.dim;
    float *x = r1_arena_floats(&m->ws, N * D), *xn = r1_arena_floats(&m->ws, N * D);
    float *t = r1_arena_floats(&m->ws, N * D), *cs = r1_arena_floats(&m->ws, N * rd);
    R1_ASSERT(x && xn && t && cs);
    for (int64_t i = 0; i < N; i++) {
        r1_embed_row(x + i * D, &m->w.embed, b->tok[i]);
        r1_rope_table(&m->rope, b->pos[i], cs + i * rd);
    }
    r1_fwd f = {.m = m, .c = c, .kv = kv, .b = b, .cs = cs, .ws = &m->ws};
    for (int64_t l = 0; l < c->n_layers; l++) {
        const r1_layer_weights *L = &m->w.layers[l];
        r1_rmsnorm_forward(xn, x, L->attn_norm.data, N, D, c->rms_eps);
        if (r1_config_is_mla(c))
            r1_mla_forward(&f, l, t, xn);
        else
            r1_gqa_forward(&f, l, t, xn);
        add_into(x, t, N * D);
        r1_rmsnorm_forward(xn, x, L->ffn_norm.data, N, D, c->rms_eps);
        if (r1_config_layer_is_moe(c, l)) {
            r1_moe_forward(&f, l, t, xn);
        } else {
            float *h = r1_arena_floats(&m->ws, 2 * N * c->ffn);
            R1_ASSERT(h);
            r1_swiglu_forward(m, t, xn, N, &L->gate, &L->up, &L->down, h);
            m->ws.used -= r1_align_up((size_t)(2 * N * c->ffn) * sizeof(float));
        }
        add_into(x, t, N * D);
    }
    for (int64_t i = 0; i < N; i++) kv->len[b->slot[i]]++;
    if (!logits || n_out == 0) return R1_OK;
    for (int64_t r = 0; r < n_out; r++) {
        int64_t row = out_rows ? out_rows[r] : r;
        R1_ASSERT(row >= 0 && row < N);
        r1_rmsnorm_forward(xn + r * D, x + row * D, m->w.norm.data, 1, D, c->rms_eps);
    }
    r1_fwd_matmul(m, logits, xn, n_out, &m->w.lm_head);
    return R1_OK;
}

void r1_model_count_params(const r1_config *c, int64_t *total, int64_t *active) {
    /* active = weights read per token: one embedding row, the whole head. */
    int64_t D = c->D, tot = c->vocab * D * (c->tie_embeddings ? 1 : 2) + D, act = c->vocab * D + 2 * D;
    int64_t attn, H = c->H;
    if (r1_config_is_mla(c)) {
        int64_t qk = c->Dn + c->Dr;
        attn = (c->Rq > 0 ? c->Rq * D + c->Rq + H * qk * c->Rq : H * qk * D) + (c->Rkv + c->Dr) * D + c->Rkv +
               H * (c->Dn + c->Dv) * c->Rkv + D * H * c->Dv;
    } else {
        attn = 2 * H * c->head_dim * D + 2 * c->Hkv * c->head_dim * D + (c->qkv_bias ? (H + 2 * c->Hkv) * c->head_dim : 0);
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        int64_t base = attn + 2 * D;
        tot += base;
        act += base;
        if (!r1_config_layer_is_moe(c, l)) {
            tot += 3 * D * c->ffn;
            act += 3 * D * c->ffn;
            continue;
        }
        int64_t expert = 3 * D * c->moe_ffn, shared = c->n_shared * expert, router = c->E * D;
        tot += router + c->E * expert + shared;
        act += router + c->K * expert + shared;
    }
    *total = tot;
    *active = act;
}
