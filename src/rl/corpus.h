/* corpus: pretraining text made from the built-in tasks — prompt (the
 * R1-Zero template) followed by a completion in one of three styles, so that
 * the base model has more than one behaviour for GRPO to choose between
 * (R1ZERO_NOTES: GRPO sharpens the best mode the base already has):
 *   steps   <think> 7*3=21. 12+21=33. </think> <answer> 33 </answer>
 *   direct  <think> </think> <answer> 33 </answer>
 *   bare    33                          (no tags: the format reward's signal)
 * Documents are tokenised with BOS (as the tokenizer config says) and end
 * with EOS, then concatenated into one stream. */
#ifndef R1_CORPUS_H
#define R1_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "rl/taskset.h"
#include "tok/tokenizer.h"

typedef struct {
    float p_steps; /* share of documents with worked steps */
    float p_bare;  /* share without tags; the rest answer directly */
} r1_corpus_mix;

typedef enum { R1_DOC_STEPS = 0, R1_DOC_DIRECT, R1_DOC_BARE } r1_doc_style;

/* The completion text of a style for a problem (what GRPO's rollouts and SFT
 * targets look like). Returns the length written. */
size_t r1_corpus_completion(char *out, size_t cap, const r1_problem *p, r1_doc_style style);
/* Style drawn from the mix. */
r1_doc_style r1_corpus_pick(const r1_corpus_mix *mix, r1_rng *rng);

/* Token stream of documents first..first+n-1 of a split: *ids (malloc'd) of
 * *n_ids tokens; the style of each document is drawn from mix with seed. */
r1_status r1_corpus_stream(const r1_taskset *ts, r1_task_split split, uint64_t first, int64_t n,
                           const r1_corpus_mix *mix, uint64_t seed, const r1_tok *tok, int32_t **ids, int64_t *n_ids);
/* Text only (no tokenizer yet): n documents, newline-separated, malloc'd. */
r1_status r1_corpus_text(const r1_taskset *ts, r1_task_split split, uint64_t first, int64_t n, const r1_corpus_mix *mix,
                         uint64_t seed, char **text, size_t *len);

#endif
