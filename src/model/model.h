/* model: a loaded (or freshly initialised) model and its inference forward.
 * The forward runs over a flat batch of N token rows; each row names its
 * sequence (cache slot) and position, so one call does a whole-prompt prefill
 * (N rows of one slot) or a batched decode step (one row of each of N slots).
 * Projections are matmuls over all N rows; attention reads each row's slot.
 *
 * MLA attention has two algorithms over the same latent cache (ARCH.md §2.6,
 * §2.7): "naive" decompresses K/V from the latents (cheap per position, used
 * for prefill) and "absorbed" folds W_UK into the query and W_UV after the
 * weighted sum (reads only Rkv+Dr floats per cached token, used for decode). */
#ifndef R1_MODEL_H
#define R1_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/threads.h"
#include "infer/kvcache.h"
#include "kernels/kernels.h"
#include "model/config.h"
#include "model/rope.h"
#include "model/weights.h"

typedef enum { R1_MLA_AUTO = 0, R1_MLA_NAIVE, R1_MLA_ABSORBED } r1_mla_mode;

typedef struct {
    r1_config cfg;
    r1_weights w;
    r1_rope rope;
    r1_pool *pool;
    const r1_kernels *k;
    r1_mla_mode mla_mode;
    /* Storage: weights either view an open safetensors/GGUF mapping or an owned slab. */
    void *st;           /* safetensors handle, or NULL */
    void *gguf;         /* r1_gguf handle, or NULL */
    void *slab;         /* owned tensor memory (vectors converted to f32, random init) */
    size_t slab_bytes, slab_used;
    void *repacked;     /* owned: Q4_K matrices interleaved by 8 rows (model_gguf.c), or NULL */
    /* MLA absorbed weights per layer: kT = W_UK^T per head [H, Rkv, Dn] (GGUF
     * attn_k_b), vb = W_UV per head [H, Dv, Rkv] (GGUF attn_v_b). From an HF
     * file kT is built from kv_b (owned) and vb is empty (its rows are read
     * from kv_b); from a new-style GGUF both view the file and kv_b is empty,
     * so attention always takes the absorbed path. */
    r1_tensor *kT, *vb;
    bool kT_owned;
    /* llama GGUF: q/k rows are in llama.cpp's order (each head's two rotary
     * halves interleaved), so rope pairs adjacent elements instead. */
    bool qk_permuted;
    /* Inference products below par_macs multiply-adds run on the calling
     * thread (layers.h; 0: every region on the pool, for tests). */
    int64_t par_macs;
    /* Forward workspace for up to ws_rows rows and ws_ctx positions. */
    r1_arena ws;
    int64_t ws_rows, ws_ctx;
} r1_model;

/* Loads an HF folder (config.json + model.safetensors[.index.json]) or a
 * .gguf file (llama.cpp's deepseek2/qwen2/llama). Matrices stay mmap'd in
 * their file dtype (quantized ones too), except that Q4_K, Q8_0, Q4_0 and
 * Q6_K matrices are copied with 8 rows interleaved (R1_DT_Q4_K_R8 /
 * _Q8_0_R8 / _Q4_0_R8 / _Q6_K_R8) when the
 * kernel table has a matvec for that form (R1_REPACK=0 turns it off); vectors
 * are converted to f32.
 * nthreads <= 0 means all online CPUs. */
r1_status r1_model_load(r1_model **out, const char *path, int nthreads);
/* True when path names a GGUF file (by its magic). */
bool r1_model_path_is_gguf(const char *path);

/* Writes the model as a GGUF file llama.cpp loads (model_gguf.c): every
 * matrix as `type` (rows whose length is not a multiple of the type's block
 * fall back to q8_0, then f16), vectors and the router in f32. Tokenizer
 * metadata come from tok_dir's tokenizer.json (+ tokenizer_config.json) when
 * tok_dir is given, else from the GGUF the model was loaded from, else
 * tokenizer.ggml.model = "none". */
r1_status r1_model_save_gguf(const r1_model *m, const char *path, r1_dtype type, const char *tok_dir);
/* A model with random weights (std 0.02 matrices, unit norms) stored as dtype,
 * for benchmarks and training from scratch. Deterministic in seed. */
r1_status r1_model_create_random(r1_model **out, const r1_config *c, r1_dtype dtype, uint64_t seed, int nthreads);
/* Writes DIR/config.json and DIR/model.safetensors (or 5 GB shards + an
 * index, as HF's save_pretrained), each file atomically. */
r1_status r1_model_save(const r1_model *m, const char *dir);
void r1_model_destroy(r1_model *m);
/* Rebuilds what the forward derives from the weights (MLA's absorbed W_UK^T)
 * after they were changed in place or re-pointed (training does both). */
r1_status r1_model_weights_changed(r1_model *m);

/* Sizes the forward workspace for batches of up to rows tokens and contexts of
 * up to ctx positions (called implicitly by forward when a batch is larger). */
r1_status r1_model_reserve(r1_model *m, int64_t rows, int64_t ctx);

typedef struct {
    int64_t N;
    const int32_t *tok;  /* [N] token ids */
    const int32_t *slot; /* [N] cache slot of each row */
    const int64_t *pos;  /* [N] position of each row in its sequence */
} r1_batch;

/* Runs the batch through the model, appending each row's K/V (latent) to its
 * slot at its position (rows of one slot must come in increasing position
 * order, contiguous with what the slot holds). Writes logits [n_out, vocab]
 * for the rows listed in out_rows (all N rows when out_rows is NULL and
 * n_out == N). kv->len is updated. */
r1_status r1_model_forward(r1_model *m, r1_kvcache *kv, const r1_batch *b, const int64_t *out_rows, int64_t n_out,
                           float *logits);

/* Parameter counts: total, and active per token (embedding + K of E experts). */
void r1_model_count_params(const r1_config *c, int64_t *total, int64_t *active);

#endif
