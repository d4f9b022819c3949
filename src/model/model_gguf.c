/* model_gguf: r1_model <-> llama.cpp GGUF files (docs/FORMATS.md).
 * Names: the weights visitor's HF names map one to one onto llama.cpp's
 * (model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight, ...), except
 *  - routed experts, stacked per layer into one [E, out, in] tensor
 *    (blk.N.ffn_{gate,up,down}_exps.weight): expert e is a view of slice e;
 *  - MLA kv_b_proj, which new GGUFs split into attn_k_b = W_UK^T per head
 *    [H, Rkv, Dn] and attn_v_b = W_UV per head [H, Dv, Rkv]: exactly what the
 *    absorbed path multiplies by, so they are used in place (old files with
 *    attn_kv_b load as from HF);
 *  - llama's q/k rows, which llama.cpp's converter permutes so each head's
 *    rotary halves become adjacent pairs: kept as stored, and the model's rope
 *    pairs adjacent elements instead (q.k is unchanged under the same
 *    permutation of both), written back permuted.
 * Matrices stay mmap'd in the file's type, except Q4_K / Q8_0 / Q4_0 / Q6_K ones the kernel
 * table has an interleaved matvec for (copied, 8 rows interleaved: core/repack.h);
 * vectors become f32 in the slab. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/repack.h"
#include "io/file.h"
#include "io/gguf.h"
#include "io/gguf_tok.h"
#include "model/model_impl.h"

bool r1_model_path_is_gguf(const char *path) {
    if (r1_file_is_dir(path)) return false;
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    bool yes = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
    if (f) fclose(f);
    return yes;
}

/* ---- names ---- */

typedef struct {
    const char *hf, *gguf;
} name_pair;

static const name_pair LAYER_NAMES[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_a_proj.weight", "attn_q_a.weight"},
    {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
    {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"},
    {"self_attn.kv_b_proj.weight", "attn_kv_b.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate.weight", "ffn_gate_inp.weight"},
    {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
};

/* GGUF name of an HF parameter; *expert = e for a routed expert (then the
 * name is the stacked tensor's), else -1. False for an unknown name. */
static bool gguf_name(const char *hf, char *out, size_t cap, int64_t *expert) {
    *expert = -1;
    if (!strcmp(hf, "model.embed_tokens.weight")) return snprintf(out, cap, "token_embd.weight"), true;
    if (!strcmp(hf, "model.norm.weight")) return snprintf(out, cap, "output_norm.weight"), true;
    if (!strcmp(hf, "lm_head.weight")) return snprintf(out, cap, "output.weight"), true;
    long long l, e;
    int n = 0;
    if (sscanf(hf, "model.layers.%lld.%n", &l, &n) != 1 || n == 0) return false;
    const char *rest = hf + n;
    char kind[16];
    int m = 0;
    if (sscanf(rest, "mlp.experts.%lld.%15[a-z]_proj.weight%n", &e, kind, &m) == 2 && m > 0 && !rest[m]) {
        *expert = e;
        snprintf(out, cap, "blk.%lld.ffn_%s_exps.weight", l, kind);
        return true;
    }
    for (size_t i = 0; i < sizeof LAYER_NAMES / sizeof LAYER_NAMES[0]; i++)
        if (!strcmp(rest, LAYER_NAMES[i].hf)) return snprintf(out, cap, "blk.%lld.%s", l, LAYER_NAMES[i].gguf), true;
    return false;
}

static const char *arch_name(const r1_config *c) {
    return c->arch == R1_ARCH_DEEPSEEK ? "deepseek2" : c->arch == R1_ARCH_QWEN2 ? "qwen2" : "llama";
}

/* ---- config from metadata ---- */

#define GI(key, def, dst)                                                                   \
    do {                                                                                    \
        int64_t v_;                                                                         \
        snprintf(k, sizeof k, "%s." key, a);                                                \
        R1_TRY(r1_gguf_get_int(g, k, def, &v_, NULL));                                      \
        dst = v_;                                                                           \
    } while (0)
#define GF(key, def, dst)                                                                   \
    do {                                                                                    \
        double v_;                                                                          \
        snprintf(k, sizeof k, "%s." key, a);                                                \
        R1_TRY(r1_gguf_get_float(g, k, def, &v_, NULL));                                    \
        dst = v_;                                                                           \
    } while (0)

static r1_status need_key(const r1_gguf *g, const char *a, const char *key) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", a, key);
    if (!r1_gguf_find_kv(g, k)) return r1_fail(R1_FORMAT, "gguf: required key '%s' is missing", k);
    return R1_OK;
}

static r1_status config_from_gguf(r1_config *c, const r1_gguf *g) {
    memset(c, 0, sizeof *c);
    r1_gguf_str arch;
    bool found;
    R1_TRY(r1_gguf_get_str(g, "general.architecture", &arch, &found));
    if (!found) return r1_fail(R1_FORMAT, "gguf: 'general.architecture' is missing");
    char a[32];
    snprintf(a, sizeof a, "%.*s", (int)(arch.len < 31 ? arch.len : 31), arch.p);
    if (!strcmp(a, "deepseek2"))
        c->arch = R1_ARCH_DEEPSEEK;
    else if (!strcmp(a, "qwen2"))
        c->arch = R1_ARCH_QWEN2;
    else if (!strcmp(a, "llama"))
        c->arch = R1_ARCH_LLAMA;
    else
        return r1_fail(R1_UNSUPPORTED, "gguf: architecture '%s' is not supported (deepseek2, qwen2, llama)", a);
    static const char *const REQUIRED[] = {"embedding_length", "block_count", "attention.head_count"};
    for (int i = 0; i < 3; i++) R1_TRY(need_key(g, a, REQUIRED[i]));
    char k[128];
    const r1_gguf_kv *toks = r1_gguf_find_kv(g, "tokenizer.ggml.tokens");
    GI("vocab_size", toks && toks->type == R1_GGUF_ARRAY ? (int64_t)toks->n : 0, c->vocab);
    if (c->vocab == 0) { /* llama.cpp's own fallback: the token embedding's rows */
        const r1_gguf_tensor *te = r1_gguf_find_tensor(g, "token_embd.weight");
        if (te && te->t.ndim == 2) c->vocab = te->t.shape[0];
    }
    GI("embedding_length", 0, c->D);
    GI("block_count", 0, c->n_layers);
    GI("feed_forward_length", 0, c->ffn);
    GI("attention.head_count", 0, c->H);
    GI("attention.head_count_kv", c->H, c->Hkv);
    GI("context_length", 4096, c->max_pos);
    GF("attention.layer_norm_rms_epsilon", 1e-6, c->rms_eps);
    GF("rope.freq_base", 10000.0, c->rope_theta);
    R1_TRY(r1_gguf_get_int(g, "tokenizer.ggml.bos_token_id", -1, &c->bos_id, NULL));
    R1_TRY(r1_gguf_get_int(g, "tokenizer.ggml.eos_token_id", -1, &c->eos_id, NULL));
    if (c->bos_id >= c->vocab) c->bos_id = -1;
    if (c->eos_id >= c->vocab) c->eos_id = -1;
    c->tie_embeddings = r1_gguf_find_tensor(g, "output.weight") == NULL;
    c->n_group = c->topk_group = 1;
    c->moe_freq = 1;
    c->routed_scale = 1.0f;
    r1_gguf_str rs;
    snprintf(k, sizeof k, "%s.rope.scaling.type", a);
    R1_TRY(r1_gguf_get_str(g, k, &rs, &found));
    if (found && rs.len == 4 && !memcmp(rs.p, "yarn", 4)) {
        c->rope_scaling = R1_ROPE_YARN;
        GF("rope.scaling.factor", 1.0, c->rope_factor);
        GI("rope.scaling.original_context_length", c->max_pos, c->rope_orig_max_pos);
        GF("rope.scaling.yarn_beta_fast", 32.0, c->yarn_beta_fast);
        GF("rope.scaling.yarn_beta_slow", 1.0, c->yarn_beta_slow);
        double lm;
        GF("rope.scaling.yarn_log_multiplier", 0.0, lm);
        /* llama.cpp's converter writes 0.1 * mscale_all_dim and assumes
         * mscale == mscale_all_dim (cos/sin unscaled), as in R1's config */
        c->yarn_mscale_all_dim = lm / 0.1;
        R1_TRY(r1_gguf_get_float(g, "r1.rope.scaling.mscale", c->yarn_mscale_all_dim, &c->yarn_mscale, NULL));
    } else if (found && !(rs.len == 4 && !memcmp(rs.p, "none", 4))) {
        return r1_fail(R1_UNSUPPORTED, "gguf: rope scaling '%.*s' is not supported (yarn, none)", (int)(rs.len < 32 ? rs.len : 32), rs.p);
    }
    if (r1_gguf_find_tensor(g, "rope_freqs.weight"))
        return r1_fail(R1_UNSUPPORTED, "gguf: per-frequency rope factors (rope_freqs.weight, Llama 3 scaling) are not supported");
    if (c->arch != R1_ARCH_DEEPSEEK) {
        snprintf(c->model_type, sizeof c->model_type, "%s", a);
        int64_t hd = 0;
        GI("attention.key_length", c->H > 0 ? c->D / c->H : 0, hd);
        c->head_dim = hd;
        c->qkv_bias = c->arch == R1_ARCH_QWEN2;
        return r1_config_validate(c);
    }
    int64_t kl, vl, gating;
    GI("attention.q_lora_rank", 0, c->Rq);
    GI("attention.kv_lora_rank", 0, c->Rkv);
    GI("rope.dimension_count", 64, c->Dr);
    GI("attention.key_length", 0, kl);
    GI("attention.value_length", 0, vl);
    GI("attention.key_length_mla", kl, kl);
    GI("attention.value_length_mla", vl, vl);
    c->Dn = kl - c->Dr;
    c->Dv = vl;
    c->Hkv = c->H;
    c->head_dim = c->Dn + c->Dr;
    GI("leading_dense_block_count", 0, c->first_dense);
    GI("expert_count", 0, c->E);
    GI("expert_used_count", 0, c->K);
    GI("expert_shared_count", 0, c->n_shared);
    GI("expert_feed_forward_length", 0, c->moe_ffn);
    GF("expert_weights_scale", 1.0, c->routed_scale);
    GI("expert_gating_func", 1, gating);
    snprintf(k, sizeof k, "%s.expert_weights_norm", a);
    R1_TRY(r1_gguf_get_bool(g, k, false, &c->norm_topk_prob, NULL));
    GI("expert_group_count", 1, c->n_group);
    GI("expert_group_used_count", 1, c->topk_group);
    if (c->n_group < 1) c->n_group = 1;
    if (c->topk_group < 1) c->topk_group = 1;
    c->score_func = gating == 2 ? R1_SCORE_SIGMOID : R1_SCORE_SOFTMAX;
    bool bias = r1_gguf_find_tensor(g, "blk.0.exp_probs_b.bias") != NULL;
    for (int64_t l = 0; l < c->n_layers && !bias; l++) {
        snprintf(k, sizeof k, "blk.%lld.exp_probs_b.bias", (long long)l);
        bias = r1_gguf_find_tensor(g, k) != NULL;
    }
    c->topk_method = bias ? R1_TOPK_NOAUX_TC : c->n_group > 1 ? R1_TOPK_GROUP_LIMITED : R1_TOPK_GREEDY;
    snprintf(c->model_type, sizeof c->model_type, "%s", gating == 2 || bias ? "deepseek_v3" : "deepseek_v2");
    return r1_config_validate(c);
}

/* ---- loading ---- */

typedef struct {
    r1_model *m;
    const r1_gguf *g;
    size_t bytes;
    int count_only;
} gbinder;

static r1_status bind_gguf(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape, int flags) {
    gbinder *b = ctx;
    const r1_config *c = &b->m->cfg;
    char gn[128];
    int64_t e;
    if (!gguf_name(name, gn, sizeof gn, &e)) return r1_fail(R1_FORMAT, "gguf: no GGUF name for '%s'", name);
    const r1_gguf_tensor *t = r1_gguf_find_tensor(b->g, gn);
    bool kvb = strstr(gn, "attn_kv_b") != NULL;
    if (!t && kvb) return R1_OK; /* new-style MLA: attn_k_b / attn_v_b instead (bind_mla) */
    if (!t) return r1_fail(R1_FORMAT, "gguf: tensor '%s' (for %s) is missing", gn, name);
    int64_t rows = ndim > 1 ? shape[0] : 1, cols = ndim > 1 ? shape[1] : shape[0];
    int64_t want_e = e >= 0 ? c->E : 1;
    int64_t got_n = 1;
    for (int d = 0; d < t->t.ndim; d++) got_n *= t->t.shape[d];
    bool ok = t->t.shape[t->t.ndim - 1] == cols && got_n == want_e * rows * cols;
    if (ok && e >= 0) ok = t->t.ndim == 3 && t->t.shape[0] == c->E && t->t.shape[1] == rows;
    if (!ok)
        return r1_fail(R1_SHAPE, "gguf: tensor '%s' has %lld elements in rows of %lld, expected %s[%lld, %lld]", gn,
                       (long long)got_n, (long long)t->t.shape[t->t.ndim - 1], e >= 0 ? "E x " : "", (long long)rows,
                       (long long)cols);
    if (flags & R1_P_VECTOR) {
        size_t bytes = r1_align_up((size_t)(rows * cols) * sizeof(float));
        if (b->count_only) return b->bytes += bytes, R1_OK;
        *slot = (r1_tensor){.dtype = R1_DT_F32, .ndim = ndim, .shape = {shape[0], ndim > 1 ? shape[1] : 0}};
        slot->data = r1_model_slab_take(b->m, bytes);
        r1_to_f32(slot->data, t->t.data, t->t.dtype, rows * cols);
        return R1_OK;
    }
    if (b->count_only) return R1_OK;
    *slot = (r1_tensor){.dtype = t->t.dtype, .ndim = 2, .shape = {rows, cols}};
    slot->data = (char *)t->t.data + (size_t)(e >= 0 ? e : 0) * (size_t)rows * r1_dtype_row_bytes(t->t.dtype, cols);
    return R1_OK;
}

static r1_status bind_mla(r1_model *m, const r1_gguf *g) {
    const r1_config *c = &m->cfg;
    if (!r1_config_is_mla(c) || m->w.layers[0].kv_b.data) return R1_OK;
    m->kT = calloc((size_t)c->n_layers, sizeof *m->kT);
    m->vb = calloc((size_t)c->n_layers, sizeof *m->vb);
    if (!m->kT || !m->vb) return r1_fail(R1_NOMEM, "gguf: out of memory");
    for (int64_t l = 0; l < c->n_layers; l++) {
        char n[64];
        const int64_t want[2][3] = {{c->H, c->Rkv, c->Dn}, {c->H, c->Dv, c->Rkv}};
        r1_tensor *dst[2] = {&m->kT[l], &m->vb[l]};
        for (int i = 0; i < 2; i++) {
            snprintf(n, sizeof n, "blk.%lld.attn_%c_b.weight", (long long)l, i ? 'v' : 'k');
            const r1_gguf_tensor *t = r1_gguf_find_tensor(g, n);
            if (!t) return r1_fail(R1_FORMAT, "gguf: tensor '%s' is missing (and there is no attn_kv_b)", n);
            if (t->t.ndim != 3 || t->t.shape[0] != want[i][0] || t->t.shape[1] != want[i][1] || t->t.shape[2] != want[i][2])
                return r1_fail(R1_SHAPE, "gguf: tensor '%s' is not [%lld, %lld, %lld]", n, (long long)want[i][0],
                               (long long)want[i][1], (long long)want[i][2]);
            *dst[i] = t->t;
        }
    }
    return R1_OK;
}

/* ---- interleaving Q4_K / Q8_0 / Q4_0 / Q6_K matrices for the decode kernels ---- */

typedef struct {
    r1_model *m;
    char *buf; /* NULL: count into bytes */
    size_t bytes;
} repacker;

/* One matrix: moved into buf and re-pointed there, if it can be
 * interleaved and the kernel table has a kernel for that form. */
typedef struct {
    char *dst;
    const char *src;
    r1_dtype t;
    int64_t K;
    size_t group_bytes; /* 8 rows */
} repack_job;

/* Groups [lo, hi) of 8 rows: whole groups are contiguous in both layouts. */
static void repack_groups(void *p, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    const repack_job *j = p;
    r1_repack(j->dst + (size_t)lo * j->group_bytes, j->src + (size_t)lo * j->group_bytes, j->t, 8 * (hi - lo), j->K);
}

static void repack_one(repacker *r, r1_tensor *t) {
    r1_dtype t8 = r1_repack_type(t->dtype);
    if (!t->data || t->ndim != 2 || !r1_repack_ok(t->dtype, t->shape[0], t->shape[1]) || !r->m->k->qmatmul[t8])
        return;
    if (r->buf) { /* on the pool: the copy's page faults and the reads of the file scale with threads */
        repack_job j = {r->buf + r->bytes, t->data, t->dtype, t->shape[1], 8 * r1_tensor_row_bytes(t)};
        int64_t groups = t->shape[0] / 8;
        r1_pool_claim(r->m->pool, groups, groups / (4 * r1_pool_size(r->m->pool)) + 1, repack_groups, &j);
        t->data = r->buf + r->bytes;
        t->dtype = t8;
    }
    r->bytes += r1_align_up(r1_tensor_bytes(t));
}

/* A file's attn_k_b [H, Rkv, Dn] or attn_v_b [H, Dv, Rkv] as the matrix of
 * its H * rows rows: a head's rows are whole groups of 8, so every head stays
 * one block that the absorbed MLA's per-head products read (mla.c). */
static void repack_heads(repacker *r, r1_tensor *t) {
    if (!t->data || t->ndim != 3 || t->shape[1] % 8) return;
    r1_tensor v = {.dtype = t->dtype, .ndim = 2, .shape = {t->shape[0] * t->shape[1], t->shape[2]}, .data = t->data};
    repack_one(r, &v);
    t->data = v.data;
    t->dtype = v.dtype;
}

/* The matrices the forward reads only through matmul: not the embedding
 * (rows looked up; lm_head when tied to it) nor kv_b (the absorbed MLA reads
 * its rows), but the file's per-head k_b and v_b (kT and vb, not the ones
 * the model derives from kv_b, which it owns). */
static void repack_all(repacker *r) {
    r1_model *m = r->m;
    const r1_config *c = &m->cfg;
    for (int64_t l = 0; m->kT && !m->kT_owned && l < c->n_layers; l++) {
        repack_heads(r, &m->kT[l]);
        if (m->vb) repack_heads(r, &m->vb[l]);
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        r1_layer_weights *L = &m->w.layers[l];
        r1_tensor *ts[] = {&L->q_a, &L->q_b, &L->q, &L->kv_a, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down,
                           &L->sh_gate, &L->sh_up, &L->sh_down};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) repack_one(r, ts[i]);
        for (int64_t e = 0; L->e_gate && e < c->E; e++) {
            repack_one(r, &L->e_gate[e]);
            repack_one(r, &L->e_up[e]);
            repack_one(r, &L->e_down[e]);
        }
    }
    if (m->w.lm_head.data != m->w.embed.data) repack_one(r, &m->w.lm_head);
}

/* Interleaves the matrices the kernel table has an interleaved matvec for
 * (core/repack.h; R1_REPACK=0 keeps the file's layout). It costs one
 * anonymous copy of those matrices and reading them all at load, for a
 * decode matvec about 1.8x (Q4_K) faster per byte on a Zen 3 core (AVX2)
 * and 1.2-1.3x on a Zen 5 one (AVX-512, where it reaches the read rate). A copy
 * larger than half the RAM is not made (a model that size is better left
 * to the page cache), with a note on stderr. */
static r1_status repack_matrices(r1_model *m) {
    const char *env = getenv("R1_REPACK");
    if (env && strcmp(env, "0") == 0) return R1_OK;
    repacker r = {.m = m};
    repack_all(&r);
    if (r.bytes == 0) return R1_OK;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && r.bytes > (size_t)pages / 2 * (size_t)page) {
        fprintf(stderr, "r1: note: %zu MB of matrices left in the file's layout (interleaving copies them, "
                        "more than half the RAM); decode is slower\n", r.bytes >> 20);
        return R1_OK;
    }
    m->repacked = r1_alloc_huge(r.bytes);
    if (!m->repacked) return r1_fail(R1_NOMEM, "gguf: cannot allocate %zu bytes for interleaved matrices", r.bytes);
    r = (repacker){.m = m, .buf = m->repacked};
    repack_all(&r);
    return R1_OK;
}

r1_status r1_model_load_gguf(r1_model **out, const char *path, int nthreads) {
    *out = NULL;
    r1_gguf *g = NULL;
    R1_TRY(r1_gguf_open(&g, path));
    r1_config c;
    r1_status s = config_from_gguf(&c, g);
    r1_model *m = NULL;
    if (s == R1_OK) s = r1_model_new(&m, &c, nthreads);
    if (m) m->gguf = g;
    else r1_gguf_close(g);
    if (s == R1_OK) {
        gbinder b = {.m = m, .g = g, .count_only = 1};
        s = r1_weights_visit(&m->w, &m->cfg, bind_gguf, &b);
        if (s == R1_OK) {
            m->slab_bytes = b.bytes;
            m->slab = r1_alloc_aligned(b.bytes ? b.bytes : 64);
            if (!m->slab) s = r1_fail(R1_NOMEM, "gguf: cannot allocate %zu bytes", b.bytes);
        }
        b.count_only = 0;
        if (s == R1_OK) s = r1_weights_visit(&m->w, &m->cfg, bind_gguf, &b);
        if (s == R1_OK && m->cfg.tie_embeddings) m->w.lm_head = m->w.embed;
        if (s == R1_OK) s = bind_mla(m, g);
        if (s == R1_OK) s = r1_model_build_absorbed(m);
        if (s == R1_OK) s = repack_matrices(m);
        if (s == R1_OK && c.arch == R1_ARCH_LLAMA) {
            m->qk_permuted = true;
            m->rope.adjacent = true;
        }
    }
    if (s != R1_OK) {
        r1_model_destroy(m);
        return r1_err_wrap(s, "%s", path);
    }
    *out = m;
    return R1_OK;
}

/* ---- saving ---- */

enum { SRC_PLAIN, SRC_STACK, SRC_KB, SRC_VB, SRC_QK_PERM };

typedef struct {
    int kind;
    const r1_tensor *src; /* plain: the tensor; stack: array of E */
    int64_t layer, heads;  /* kb/vb: layer; qk perm: heads */
    r1_dtype type;
} out_tensor;

typedef struct {
    const r1_model *m;
    r1_gguf_writer *w;
    r1_dtype type;
    out_tensor *outs;
    int64_t n, cap;
    float *row, *row2;
    size_t row_cap;
} saver;

/* The type a matrix is stored as: the request, or q8_0 / f16 when its rows
 * do not fill whole blocks (llama.cpp's converter falls back the same way). */
static r1_dtype pick_type(r1_dtype want, int64_t cols) {
    if (cols % r1_dtype_block(want) == 0) return want;
    if (r1_dtype_is_quant(want) && cols % R1_QK == 0) return R1_DT_Q8_0;
    return R1_DT_F16;
}

static r1_status add_out(saver *sv, const char *name, int ndim, const int64_t *shape, out_tensor o) {
    r1_tensor t = {.dtype = o.type, .ndim = ndim};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    R1_TRY(r1_gguf_add_tensor(sv->w, name, &t));
    if (sv->n == sv->cap) {
        int64_t cap = sv->cap ? 2 * sv->cap : 256;
        out_tensor *p = realloc(sv->outs, (size_t)cap * sizeof *p);
        if (!p) return r1_fail(R1_NOMEM, "gguf: out of memory");
        sv->outs = p;
        sv->cap = cap;
    }
    sv->outs[sv->n++] = o;
    return R1_OK;
}

static r1_status collect_param(void *ctx, const char *name, r1_tensor *slot, int ndim, const int64_t *shape,
                               int flags) {
    saver *sv = ctx;
    const r1_config *c = &sv->m->cfg;
    char gn[128];
    int64_t e;
    if (!gguf_name(name, gn, sizeof gn, &e)) return r1_fail(R1_INVALID, "gguf: no GGUF name for '%s'", name);
    int64_t rows = ndim > 1 ? shape[0] : 1, cols = ndim > 1 ? shape[1] : shape[0];
    bool vec = (flags & R1_P_VECTOR) || strstr(gn, "ffn_gate_inp");
    r1_dtype type = vec ? R1_DT_F32 : pick_type(sv->type, cols);
    if (e > 0) return R1_OK; /* the stack was added with expert 0 */
    if (e == 0) {
        /* slot is &L->e_x[0]: the whole array follows it */
        int64_t sh[3] = {c->E, rows, cols};
        return add_out(sv, gn, 3, sh, (out_tensor){SRC_STACK, slot, 0, 0, type});
    }
    if (strstr(gn, "attn_kv_b")) {
        long long l = 0;
        sscanf(gn, "blk.%lld.", &l);
        int64_t kb[3] = {c->H, c->Rkv, c->Dn}, vb[3] = {c->H, c->Dv, c->Rkv};
        char n2[128];
        snprintf(n2, sizeof n2, "blk.%lld.attn_k_b.weight", l);
        R1_TRY(add_out(sv, n2, 3, kb, (out_tensor){SRC_KB, slot, l, 0, pick_type(sv->type, c->Dn)}));
        snprintf(n2, sizeof n2, "blk.%lld.attn_v_b.weight", l);
        return add_out(sv, n2, 3, vb, (out_tensor){SRC_VB, slot, l, 0, pick_type(sv->type, c->Rkv)});
    }
    int64_t sh[2] = {rows, cols};
    if (c->arch == R1_ARCH_LLAMA && !sv->m->qk_permuted && (strstr(gn, "attn_q.weight") || strstr(gn, "attn_k.weight")))
        return add_out(sv, gn, 2, sh,
                       (out_tensor){SRC_QK_PERM, slot, 0, strstr(gn, "attn_q.") ? c->H : c->Hkv, type});
    return add_out(sv, gn, ndim, vec && ndim == 1 ? (int64_t[]){cols} : sh, (out_tensor){SRC_PLAIN, slot, 0, 0, type});
}

static r1_status need_rows(saver *sv, int64_t n) {
    if ((size_t)n <= sv->row_cap) return R1_OK;
    free(sv->row);
    free(sv->row2);
    sv->row = malloc((size_t)n * sizeof(float));
    sv->row2 = malloc((size_t)n * sizeof(float));
    sv->row_cap = (size_t)n;
    return sv->row && sv->row2 ? R1_OK : r1_fail(R1_NOMEM, "gguf: out of memory");
}

/* Row r of a 2-D tensor as f32. */
static void get_row(const r1_tensor *t, int64_t r, float *dst) { r1_tensor_row_f32(dst, t, r); }

static r1_status fill_tensor(void *ctx, int64_t i, void *dst, size_t bytes) {
    saver *sv = ctx;
    const out_tensor *o = &sv->outs[i];
    const r1_config *c = &sv->m->cfg;
    char *out = dst;
    (void)bytes;
    if (o->kind == SRC_STACK) {
        for (int64_t e = 0; e < c->E; e++) {
            const r1_tensor *t = &o->src[e];
            R1_TRY(need_rows(sv, t->shape[1]));
            for (int64_t r = 0; r < t->shape[0]; r++) {
                get_row(t, r, sv->row);
                r1_from_f32(out, sv->row, o->type, t->shape[1]);
                out += r1_dtype_row_bytes(o->type, t->shape[1]);
            }
        }
        return R1_OK;
    }
    if (o->kind == SRC_KB || o->kind == SRC_VB) {
        const r1_model *m = sv->m;
        int64_t l = o->layer, H = c->H, Dn = c->Dn, Dv = c->Dv, R = c->Rkv;
        R1_TRY(need_rows(sv, (Dn + Dv) * R + R + Dn));
        float *blk = malloc((size_t)((Dn > Dv ? Dn : Dv) * R) * sizeof(float));
        if (!blk) return r1_fail(R1_NOMEM, "gguf: out of memory");
        for (int64_t h = 0; h < H; h++) {
            /* blk = this head's output block: kb [Rkv, Dn] or vb [Dv, Rkv] */
            if (o->kind == SRC_KB) {
                if (m->kT && m->kT[l].data) {
                    r1_tensor_rows_f32(blk, &m->kT[l], h * R, R);
                } else {
                    for (int64_t d = 0; d < Dn; d++) {
                        get_row(o->src, h * (Dn + Dv) + d, sv->row);
                        for (int64_t r = 0; r < R; r++) blk[r * Dn + d] = sv->row[r];
                    }
                }
                r1_from_f32(out, blk, o->type, R * Dn);
                out += (size_t)R * r1_dtype_row_bytes(o->type, Dn);
            } else {
                if (m->vb && m->vb[l].data)
                    r1_tensor_rows_f32(blk, &m->vb[l], h * Dv, Dv);
                else
                    for (int64_t d = 0; d < Dv; d++) get_row(o->src, h * (Dn + Dv) + Dn + d, blk + d * R);
                r1_from_f32(out, blk, o->type, Dv * R);
                out += (size_t)Dv * r1_dtype_row_bytes(o->type, R);
            }
        }
        free(blk);
        return R1_OK;
    }
    const r1_tensor *t = o->src;
    if (t->ndim == 1) {
        R1_TRY(need_rows(sv, t->shape[0]));
        r1_to_f32(sv->row, t->data, t->dtype, t->shape[0]);
        r1_from_f32(out, sv->row, o->type, t->shape[0]);
        return R1_OK;
    }
    int64_t rows = t->shape[0], cols = t->shape[1];
    R1_TRY(need_rows(sv, cols));
    int64_t hd = o->kind == SRC_QK_PERM ? rows / o->heads : 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t src = r;
        if (o->kind == SRC_QK_PERM) { /* GGUF row h*hd + 2i + j  <-  HF row h*hd + j*hd/2 + i */
            int64_t h = r / hd, k = r % hd;
            src = h * hd + (k % 2) * (hd / 2) + k / 2;
        }
        get_row(t, src, sv->row);
        r1_from_f32(out, sv->row, o->type, cols);
        out += r1_dtype_row_bytes(o->type, cols);
    }
    return R1_OK;
}

static int file_type_of(r1_dtype t) {
    switch (t) { /* llama_ftype */
    case R1_DT_F32: return 0;
    case R1_DT_F16: return 1;
    case R1_DT_Q4_0: return 2;
    case R1_DT_Q8_0: return 7;
    case R1_DT_Q4_K: return 15;
    case R1_DT_Q6_K: return 18;
    default: return 32; /* bf16 */
    }
}

static r1_status write_meta(r1_gguf_writer *w, const r1_config *c, r1_dtype type) {
    const char *a = arch_name(c);
    char k[128];
#define SK(key) (snprintf(k, sizeof k, "%s." key, a), k)
    R1_TRY(r1_gguf_set_str(w, "general.architecture", a, strlen(a)));
    R1_TRY(r1_gguf_set_str(w, "general.name", "r1", 2));
    R1_TRY(r1_gguf_set_u32(w, "general.file_type", (uint32_t)file_type_of(type)));
    R1_TRY(r1_gguf_set_u32(w, "general.quantization_version", 2));
    R1_TRY(r1_gguf_set_u32(w, SK("vocab_size"), (uint32_t)c->vocab));
    R1_TRY(r1_gguf_set_u32(w, SK("context_length"), (uint32_t)c->max_pos));
    R1_TRY(r1_gguf_set_u32(w, SK("embedding_length"), (uint32_t)c->D));
    R1_TRY(r1_gguf_set_u32(w, SK("block_count"), (uint32_t)c->n_layers));
    R1_TRY(r1_gguf_set_u32(w, SK("feed_forward_length"), (uint32_t)c->ffn));
    R1_TRY(r1_gguf_set_u32(w, SK("attention.head_count"), (uint32_t)c->H));
    R1_TRY(r1_gguf_set_f32(w, SK("attention.layer_norm_rms_epsilon"), c->rms_eps));
    R1_TRY(r1_gguf_set_f32(w, SK("rope.freq_base"), (float)c->rope_theta));
    if (c->rope_scaling == R1_ROPE_YARN) {
        R1_TRY(r1_gguf_set_str(w, SK("rope.scaling.type"), "yarn", 4));
        R1_TRY(r1_gguf_set_f32(w, SK("rope.scaling.factor"), (float)c->rope_factor));
        R1_TRY(r1_gguf_set_u32(w, SK("rope.scaling.original_context_length"), (uint32_t)c->rope_orig_max_pos));
        R1_TRY(r1_gguf_set_f32(w, SK("rope.scaling.yarn_log_multiplier"), (float)(0.1 * c->yarn_mscale_all_dim)));
        R1_TRY(r1_gguf_set_f32(w, SK("rope.scaling.yarn_beta_fast"), (float)c->yarn_beta_fast));
        R1_TRY(r1_gguf_set_f32(w, SK("rope.scaling.yarn_beta_slow"), (float)c->yarn_beta_slow));
        /* llama.cpp assumes mscale == mscale_all_dim; r1 keeps the HF value when it differs */
        if (c->yarn_mscale != c->yarn_mscale_all_dim)
            R1_TRY(r1_gguf_set_f32(w, "r1.rope.scaling.mscale", (float)c->yarn_mscale));
    } else if (c->rope_scaling == R1_ROPE_LLAMA3) {
        return r1_fail(R1_UNSUPPORTED, "gguf: writing Llama 3 rope scaling (rope_freqs) is not supported yet");
    }
    if (c->arch != R1_ARCH_DEEPSEEK) {
        R1_TRY(r1_gguf_set_u32(w, SK("attention.head_count_kv"), (uint32_t)c->Hkv));
        R1_TRY(r1_gguf_set_u32(w, SK("attention.key_length"), (uint32_t)c->head_dim));
        R1_TRY(r1_gguf_set_u32(w, SK("attention.value_length"), (uint32_t)c->head_dim));
        return r1_gguf_set_u32(w, SK("rope.dimension_count"), (uint32_t)c->head_dim);
    }
    /* deepseek2 in llama.cpp's MLA layout (PR #12801): one KV head of Rkv+Dr */
    R1_TRY(r1_gguf_set_u32(w, SK("attention.head_count_kv"), 1));
    R1_TRY(r1_gguf_set_u32(w, SK("attention.key_length"), (uint32_t)(c->Rkv + c->Dr)));
    R1_TRY(r1_gguf_set_u32(w, SK("attention.value_length"), (uint32_t)c->Rkv));
    R1_TRY(r1_gguf_set_u32(w, SK("attention.key_length_mla"), (uint32_t)(c->Dn + c->Dr)));
    R1_TRY(r1_gguf_set_u32(w, SK("attention.value_length_mla"), (uint32_t)c->Dv));
    R1_TRY(r1_gguf_set_u32(w, SK("attention.q_lora_rank"), (uint32_t)c->Rq)); /* 0 = q_proj, as llama.cpp's saver */
    R1_TRY(r1_gguf_set_u32(w, SK("attention.kv_lora_rank"), (uint32_t)c->Rkv));
    R1_TRY(r1_gguf_set_u32(w, SK("rope.dimension_count"), (uint32_t)c->Dr));
    R1_TRY(r1_gguf_set_u32(w, SK("leading_dense_block_count"), (uint32_t)(c->E ? c->first_dense : c->n_layers)));
    R1_TRY(r1_gguf_set_u32(w, SK("expert_count"), (uint32_t)c->E));
    R1_TRY(r1_gguf_set_u32(w, SK("expert_used_count"), (uint32_t)c->K));
    R1_TRY(r1_gguf_set_u32(w, SK("expert_shared_count"), (uint32_t)c->n_shared));
    R1_TRY(r1_gguf_set_u32(w, SK("expert_feed_forward_length"), (uint32_t)c->moe_ffn));
    R1_TRY(r1_gguf_set_f32(w, SK("expert_weights_scale"), c->routed_scale));
    if (c->norm_topk_prob) R1_TRY(r1_gguf_set_bool(w, SK("expert_weights_norm"), true));
    R1_TRY(r1_gguf_set_u32(w, SK("expert_gating_func"), c->score_func == R1_SCORE_SIGMOID ? 2 : 1));
    if (c->n_group > 1) {
        R1_TRY(r1_gguf_set_u32(w, SK("expert_group_count"), (uint32_t)c->n_group));
        R1_TRY(r1_gguf_set_u32(w, SK("expert_group_used_count"), (uint32_t)c->topk_group));
    }
#undef SK
    return R1_OK;
}

r1_status r1_model_save_gguf(const r1_model *m, const char *path, r1_dtype type, const char *tok_dir) {
    const r1_config *c = &m->cfg;
    if (c->arch == R1_ARCH_DEEPSEEK && c->E > 0 && c->n_shared == 0)
        return r1_fail(R1_UNSUPPORTED, "gguf: llama.cpp's deepseek2 needs shared experts (n_shared_experts = 0)");
    if (c->moe_freq != 1 && c->E > 0)
        return r1_fail(R1_UNSUPPORTED, "gguf: moe_layer_freq %lld has no deepseek2 key", (long long)c->moe_freq);
    saver sv = {.m = m, .type = type};
    r1_status s = r1_gguf_writer_create(&sv.w);
    if (s == R1_OK) s = write_meta(sv.w, c, type);
    if (s == R1_OK) {
        if (tok_dir)
            s = r1_gguf_tok_from_hf(sv.w, tok_dir, c);
        else if (m->gguf)
            s = r1_gguf_tok_copy(sv.w, m->gguf);
        else
            s = r1_gguf_tok_none(sv.w);
    }
    if (s == R1_OK) s = r1_weights_visit((r1_weights *)&m->w, c, collect_param, &sv);
    if (s == R1_OK) {
        r1_gguf_set_fill(sv.w, fill_tensor, &sv);
        s = r1_gguf_write(sv.w, path);
    }
    r1_gguf_writer_destroy(sv.w);
    free(sv.outs);
    free(sv.row);
    free(sv.row2);
    return s;
}
