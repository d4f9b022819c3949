/* recipe: the fixed choices of `r1 demo`, in one place so the demo, its test
 * and bench/bench_rollout.c use the same model: a tiny DeepSeek-V3-style MoE
 * (MLA with a latent KV cache, 1 dense layer then MoE layers of routed +
 * shared experts, sigmoid router with selection bias) and the tokenizer's
 * pre-tokenizer pattern that spells numbers digit by digit. */
#ifndef R1_RECIPE_H
#define R1_RECIPE_H

#include <stdint.h>

#include "model/config.h"

/* Digits one by one: one-step arithmetic on digit tokens generalises across
 * numbers instead of memorising a table of number tokens. */
#define R1_RECIPE_PATTERN                                                                                   \
    "'(?:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" \
    "\\s+(?!\\S)|\\s+"

/* The demo model for a tokenizer of `vocab` ids. */
r1_status r1_recipe_model(r1_config *c, int64_t vocab, int64_t bos, int64_t eos);

#endif
