/* sft: supervised fine-tuning on prompt/response pairs with the loss on the
 * response tokens only (R1's cold start, rejection-sampling SFT and
 * distillation all use it). An example is prompt ids (BOS first) followed by
 * the response ids and EOS; each one is a row of the [B,T] batch, T = the
 * longest example, and the cross-entropy weights are 1/(response tokens in the
 * batch), so each batch is a token-level mean. Examples are shuffled per epoch
 * (seeded). JSONL input: one {"prompt": ..., "response": ...} object a line. */
#ifndef R1_SFT_H
#define R1_SFT_H

#include <stdbool.h>
#include <stdint.h>

#include "rl/policy.h"
#include "tok/tokenizer.h"

typedef struct {
    int32_t *ids; /* prompt + response + EOS */
    int64_t n, from; /* targets are ids[from..n) */
} r1_sft_example;

typedef struct {
    int64_t B;          /* examples per step (the global batch: split over the ranks of an MPI job) */
    int64_t epochs;
    int64_t max_steps;  /* 0: epochs decide */
    float lr, min_lr, wd;
    int64_t warmup;
    uint64_t seed;
    bool quiet;
    const char *metrics; /* metrics.jsonl path or NULL */
} r1_sft_cfg;

typedef struct {
    int64_t steps, examples, tokens;
    double first_loss, last_loss, seconds;
} r1_sft_result;

void r1_sft_defaults(r1_sft_cfg *c);
/* Tokenises one pair into ex (ex->ids malloc'd). */
r1_status r1_sft_example_make(const r1_tok *tok, const char *prompt, const char *response, r1_sft_example *ex);
/* Reads a JSONL file of pairs; *ex (malloc'd array) and its ids are freed with r1_sft_examples_free. */
r1_status r1_sft_load_jsonl(const char *path, const r1_tok *tok, r1_sft_example **ex, int64_t *n);
void r1_sft_examples_free(r1_sft_example *ex, int64_t n);
/* Trains p on the examples (its trainer is replaced). Examples longer than the
 * model's context are rejected. */
r1_status r1_sft_run(r1_policy *p, const r1_sft_example *ex, int64_t n, const r1_sft_cfg *c, r1_sft_result *res);

#endif
