/* batch: continuous batching. Up to n_slots sequences share one model call
 * per step: every decoding sequence contributes one row, and prompts waiting
 * for prefill contribute chunks within a per-step row budget, so a new
 * request starts while others are mid-generation and finished ones free
 * their slot at once. GRPO rollouts (G completions per prompt decoded
 * together) and the server both run on this engine. */
#ifndef R1_BATCH_H
#define R1_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "infer/generate.h"
#include "infer/sampler.h"
#include "model/model.h"

typedef enum { R1_SEQ_FREE = 0, R1_SEQ_PREFILL, R1_SEQ_DECODE, R1_SEQ_DONE } r1_seq_state;

typedef struct {
    int64_t max_new;
    r1_sampler_params sampling;
    const int32_t *stop_ids; /* copied */
    int64_t n_stop_ids;
    /* Called with each generated token; returning false finishes the sequence. */
    bool (*on_token)(void *ctx, int slot, int32_t tok);
    void *ctx;
} r1_seq_params;

typedef struct {
    r1_seq_state state;
    r1_seq_params p;
    int32_t *prompt, *out, *stop_ids;
    int64_t n_prompt, n_fed, n_out;
    int32_t next; /* sampled, not yet fed */
    bool waiting; /* this step: a lower slot is prefilling a longer shared prefix */
    r1_sampler sampler;
    r1_stop_reason reason;
} r1_seq;

typedef struct {
    r1_model *m;
    r1_kvcache kv;
    r1_seq *seqs;
    int n_slots;
    int64_t step_rows; /* row budget per step (decode rows + prefill chunks) */
    int32_t *tok, *slot;
    int64_t *pos, *out_rows;
    int *out_seq;
    int32_t *sampled; /* [step_rows]: the token drawn for each output row */
    float *logits; /* [n_slots, vocab] */
    int64_t steps, rows_done;
} r1_engine;

/* An engine for m with n_slots concurrent sequences of up to max_ctx tokens
 * (prompt + generated) and at most step_rows rows per model call. */
r1_status r1_engine_create(r1_engine **out, r1_model *m, int n_slots, int64_t max_ctx, int64_t step_rows);
void r1_engine_destroy(r1_engine *e);
/* Queues a prompt (copied) into a free slot; *slot gets its index.
 * R1_LIMIT when every slot is busy or the prompt cannot fit the context. */
r1_status r1_engine_add(r1_engine *e, const int32_t *prompt, int64_t n, const r1_seq_params *p, int *slot);
/* One model call over all active sequences. Finished sequences go to
 * R1_SEQ_DONE and keep their output until released. A prefilling sequence
 * first takes the cached positions of the longest prompt prefix it shares
 * with another slot (see batch.c), so G copies of one prompt prefill it once. */
r1_status r1_engine_step(r1_engine *e);
/* True while some sequence is prefilling or decoding. */
bool r1_engine_busy(const r1_engine *e);
/* Frees a slot (a finished sequence, or a cancelled one mid-flight). */
void r1_engine_release(r1_engine *e, int slot);

#endif
