/* pretrain: data streams, checkpoints and the pretraining loop behind
 * `r1 pretrain`.
 * Data: a token file (little-endian uint32 or int32 ids, read as a ring of
 * overlapping windows of T+1 tokens, cursor = next offset) or a built-in
 * synthetic task stream ("copy": random symbols, a separator, the same
 * symbols again), whose generator state is part of the trainer state.
 * Checkpoint = OUT/checkpoint/: config.json + model.safetensors (f32, MTP
 * included as model.layers.{L}.*) + optimizer.safetensors (<name>.exp_avg,
 * <name>.exp_avg_sq) + trainer_state.json (step, data cursor, rng state),
 * replaced atomically as a directory (r1_file_dir_*), so a kill at any moment
 * leaves the last good checkpoint. Resuming restores every bit that the next
 * step reads, so losses continue exactly as in an uninterrupted run with the
 * same seed and thread count. Under MPI the batch is global: every rank
 * reads the same stream and trains its share of the rows, and the checkpoint
 * holds only global state, so it resumes on any rank count that divides the
 * batch (docs/DISTRIBUTED.md). */
#ifndef R1_PRETRAIN_H
#define R1_PRETRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/rng.h"
#include "io/file.h"
#include "train/train.h"

typedef enum { R1_DATA_FILE = 0, R1_DATA_COPY } r1_data_kind;

typedef struct {
    r1_data_kind kind;
    r1_mmap map;
    const uint8_t *ids; /* file: n little-endian 32-bit ids */
    int64_t n, vocab;
    int64_t cursor;     /* file: next token offset; task: sequences made */
    r1_rng rng;         /* task generator */
} r1_data;

/* A token file; every id must be < vocab (checked once, R1_FORMAT naming the offset). */
r1_status r1_data_open_file(r1_data *d, const char *path, int64_t vocab, int64_t T);
/* A built-in stream: "copy". */
r1_status r1_data_open_task(r1_data *d, const char *name, int64_t vocab, uint64_t seed);
void r1_data_close(r1_data *d);
/* B sequences of T inputs and their next-token targets, row b*T + t. */
void r1_data_next(r1_data *d, int64_t B, int64_t T, int32_t *tok, int32_t *tgt);

/* Writes the checkpoint folder dir atomically. */
r1_status r1_ckpt_save(const char *dir, r1_train *t, const r1_model *m, const r1_data *d);
/* Restores optimizer moments, step and data position from dir (the model
 * itself is loaded with r1_model_load(dir) before r1_train_create). */
r1_status r1_ckpt_load(const char *dir, r1_train *t, r1_data *d);

typedef struct {
    int64_t step;
    r1_train_loss loss; /* mean over the step's micro-batches */
    r1_train_stats st;
    double tokens_per_s;  /* global: all ranks' tokens */
    double allreduce_s;   /* time in the gradient allreduce (0 on one rank) */
} r1_step_report;

typedef struct {
    const char *config;   /* CFG.json (fresh runs) */
    const char *data;     /* token file, or NULL */
    const char *task;     /* built-in stream when data is NULL */
    const char *out;      /* run folder */
    int64_t steps;        /* total optimizer steps */
    int64_t save_every;   /* checkpoint period in steps (the last step always saves) */
    int threads;          /* <= 0: all CPUs */
    uint64_t seed;        /* model init and task stream */
    bool resume;          /* continue from OUT/checkpoint if present */
    bool quiet;           /* no progress output */
    int64_t stop_at;      /* > 0: stop (after checkpointing) once this step is done (tests) */
    r1_train_opts opts;   /* B (the global batch: split over the ranks), T, lr, ... (total_steps is set to steps) */
    void (*on_step)(void *ctx, const r1_step_report *r); /* optional (tests) */
    void *ctx;
} r1_pretrain_cfg;

r1_status r1_pretrain_run(const r1_pretrain_cfg *pc);

#endif
