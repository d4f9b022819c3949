/* peer_llamacpp: the llama.cpp peer (prebuilt libllama + ggml from npm
 * @node-llama-cpp/linux-x64@3.22.1, installed by scripts/peer_llamacpp.sh into
 * tests/peers/node_modules) loaded with dlopen, for tests/test_gguf_peer.c and
 * bench/bench_llamacpp.c. Only the functions r1 calls are declared, with the
 * struct layouts of that release's include/llama.h pinned by _Static_assert
 * (a different layout would silently corrupt every call). Header-only. */
#ifndef R1_PEER_LLAMACPP_H
#define R1_PEER_LLAMACPP_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- llama.h (release bundled with node-llama-cpp 3.22.1) ---- */
typedef int32_t llama_token;
typedef int32_t llama_pos;
typedef int32_t llama_seq_id;

struct llama_model;
struct llama_context;
struct llama_vocab;

struct llama_model_params {
    void *devices;
    const void *tensor_buft_overrides;
    int32_t n_gpu_layers;
    int32_t split_mode, load_mode, lazy_mode; /* enums */
    int32_t main_gpu;
    const float *tensor_split;
    bool (*progress_callback)(float progress, void *user_data);
    void *progress_callback_user_data;
    const void *kv_overrides;
    bool vocab_only, check_tensors, use_extra_bufts, no_host, no_alloc, load_mtp;
};

struct llama_context_params {
    uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max, n_outputs_max_per_seq;
    int32_t n_threads, n_threads_batch;
    int32_t ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type; /* enums */
    float rope_freq_base, rope_freq_scale, yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
    uint32_t yarn_orig_ctx;
    float defrag_thold;
    void *cb_eval;
    void *cb_eval_user_data;
    int32_t type_k, type_v; /* enum ggml_type */
    void *abort_callback;
    void *abort_callback_data;
    bool embeddings, offload_kqv, no_perf, op_offload, swa_full, kv_unified;
    void *samplers;
    size_t n_samplers;
    struct llama_context *ctx_other;
};

typedef struct llama_batch {
    int32_t n_tokens;
    llama_token *token;
    float *embd;
    llama_pos *pos;
    int32_t *n_seq_id;
    llama_seq_id **seq_id;
    int8_t *logits;
} llama_batch;

_Static_assert(sizeof(struct llama_model_params) == 80, "llama_model_params layout of llama.h v0.5.0");
_Static_assert(sizeof(struct llama_context_params) == 160, "llama_context_params layout of llama.h v0.5.0");
_Static_assert(sizeof(llama_batch) == 56, "llama_batch layout of llama.h v0.5.0");

enum { GGML_TYPE_F32_ = 0, GGML_TYPE_F16_ = 1, GGML_TYPE_Q4_0_ = 2, GGML_TYPE_Q8_0_ = 8, GGML_TYPE_Q4_K_ = 12,
       GGML_TYPE_Q6_K_ = 14, GGML_TYPE_BF16_ = 30 };
enum { LLAMA_FLASH_ATTN_DISABLED_ = 0 };

typedef void (*peer_log_fn)(int level, const char *text, void *user_data);

typedef struct {
    void *base, *ggml, *llama;
    char dir[1024];
    /* ggml-base */
    size_t (*ggml_quantize_chunk)(int type, const float *src, void *dst, int64_t start, int64_t nrows,
                                  int64_t n_per_row, const float *imatrix);
    void (*ggml_log_set)(peer_log_fn cb, void *user_data);
    /* ggml */
    void (*ggml_backend_load_all_from_path)(const char *dir);
    /* llama */
    void (*llama_backend_init)(void);
    void (*llama_log_set)(peer_log_fn cb, void *user_data);
    struct llama_model_params (*llama_model_default_params)(void);
    struct llama_context_params (*llama_context_default_params)(void);
    struct llama_model *(*llama_model_load_from_file)(const char *path, struct llama_model_params params);
    void (*llama_model_free)(struct llama_model *model);
    struct llama_context *(*llama_init_from_model)(struct llama_model *model, struct llama_context_params params);
    void (*llama_free)(struct llama_context *ctx);
    const struct llama_vocab *(*llama_model_get_vocab)(const struct llama_model *model);
    int32_t (*llama_vocab_n_tokens)(const struct llama_vocab *vocab);
    llama_batch (*llama_batch_init)(int32_t n_tokens, int32_t embd, int32_t n_seq_max);
    void (*llama_batch_free)(llama_batch batch);
    int32_t (*llama_decode)(struct llama_context *ctx, llama_batch batch);
    float *(*llama_get_logits_ith)(struct llama_context *ctx, int32_t i);
    void (*llama_set_n_threads)(struct llama_context *ctx, int32_t n_threads, int32_t n_threads_batch);
    void *(*llama_get_memory)(const struct llama_context *ctx);
    void (*llama_memory_clear)(void *mem, bool data);
} peer_llama;

static void peer_quiet(int level, const char *text, void *user_data) {
    (void)level, (void)text, (void)user_data;
}

/* Installs the peer if needed (scripts/peer_llamacpp.sh, npm registry only)
 * and loads it. Returns 0, or -1 with a reason in err. */
static inline int peer_open(peer_llama *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    FILE *f = popen("scripts/peer_llamacpp.sh", "r");
    if (!f || !fgets(p->dir, sizeof p->dir, f)) {
        if (f) pclose(f);
        snprintf(err, errlen, "scripts/peer_llamacpp.sh could not install the llama.cpp peer");
        return -1;
    }
    pclose(f);
    p->dir[strcspn(p->dir, "\n")] = 0;
    char path[1200];
    snprintf(path, sizeof path, "%s/libggml-base.so", p->dir);
    p->base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    snprintf(path, sizeof path, "%s/libggml.v0.5.0.so", p->dir);
    p->ggml = p->base ? dlopen(path, RTLD_NOW | RTLD_GLOBAL) : NULL;
    snprintf(path, sizeof path, "%s/libllama.v0.5.0.so", p->dir);
    p->llama = p->ggml ? dlopen(path, RTLD_NOW | RTLD_GLOBAL) : NULL;
    if (!p->llama) {
        snprintf(err, errlen, "dlopen: %s", dlerror());
        return -1;
    }
#define PEER_SYM(lib, name)                                                                    \
    do {                                                                                       \
        *(void **)&p->name = dlsym(p->lib, #name);                                             \
        if (!p->name) {                                                                        \
            snprintf(err, errlen, "dlsym %s: %s", #name, dlerror());                           \
            return -1;                                                                         \
        }                                                                                      \
    } while (0)
    PEER_SYM(base, ggml_quantize_chunk);
    PEER_SYM(base, ggml_log_set);
    PEER_SYM(ggml, ggml_backend_load_all_from_path);
    PEER_SYM(llama, llama_backend_init);
    PEER_SYM(llama, llama_log_set);
    PEER_SYM(llama, llama_model_default_params);
    PEER_SYM(llama, llama_context_default_params);
    PEER_SYM(llama, llama_model_load_from_file);
    PEER_SYM(llama, llama_model_free);
    PEER_SYM(llama, llama_init_from_model);
    PEER_SYM(llama, llama_free);
    PEER_SYM(llama, llama_model_get_vocab);
    PEER_SYM(llama, llama_vocab_n_tokens);
    PEER_SYM(llama, llama_batch_init);
    PEER_SYM(llama, llama_batch_free);
    PEER_SYM(llama, llama_decode);
    PEER_SYM(llama, llama_get_logits_ith);
    PEER_SYM(llama, llama_set_n_threads);
    PEER_SYM(llama, llama_get_memory);
    PEER_SYM(llama, llama_memory_clear);
#undef PEER_SYM
    p->ggml_log_set(peer_quiet, NULL);
    p->llama_log_set(peer_quiet, NULL);
    p->ggml_backend_load_all_from_path(p->dir); /* the CPU backends are plugins: no device without this */
    p->llama_backend_init();
    return 0;
}

/* A context for exact comparisons: F32 K/V cache, no flash attention, logits
 * for every row the caller marks. */
static inline struct llama_context *peer_context(peer_llama *p, struct llama_model *m, int n_ctx, int n_batch,
                                                 int threads) {
    struct llama_context_params cp = p->llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t)n_batch;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_DISABLED_;
    cp.type_k = cp.type_v = GGML_TYPE_F32_;
    cp.no_perf = true;
    return p->llama_init_from_model(m, cp);
}

#endif
