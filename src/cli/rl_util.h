/* rl_util: what the RL subcommands share — loading a model folder as a
 * trainable policy with its tokenizer, saving a trained model with the
 * tokenizer files copied next to it, and the task/difficulty options. */
#ifndef R1_CLI_RL_UTIL_H
#define R1_CLI_RL_UTIL_H

#include "rl/policy.h"
#include "rl/taskset.h"
#include "tok/tokenizer.h"

/* Loads MODEL (HF folder with tokenizer.json) into p and *tok. */
r1_status cli_rl_load(const char *dir, int threads, r1_policy *p, r1_tok **tok);
/* Saves m to dst and copies tokenizer.json (+ tokenizer_config.json) from tok_dir. */
r1_status cli_rl_save(const r1_model *m, const char *tok_dir, const char *dst);
/* Parses "A-B" or "A" into a difficulty range; 0 on success. */
int cli_parse_range(const char *s, int *lo, int *hi);
/* End-of-sequence id of a model + tokenizer pair. */
int32_t cli_rl_eos(const r1_model *m, const r1_tok *tok);

#endif
