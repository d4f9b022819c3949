/* gguf_tok: tokenizer metadata between HF tokenizer.json and GGUF's
 * tokenizer.ggml.* keys (byte-level BPE, llama.cpp's "gpt2" model).
 * HF -> GGUF: tokens by id (gaps filled with "[PAD<id>]", type unused),
 * token types (1 normal, 3 control = special added token, 4 user-defined =
 * other added token), merges as "a b", bos/eos ids, add_bos_token and the
 * chat template from tokenizer_config.json, and a "pre" name llama.cpp knows
 * for the family (deepseek-v3, deepseek-r1-qwen, llama-bpe).
 * GGUF -> HF: a tokenizer.json text that r1_tok_load_mem (src/tok) and HF
 * load: the vocab, merges, added tokens, and the family's pre-tokenizer split
 * regex (llama.cpp's for that "pre"; GPT-2's for names it does not know). */
#ifndef R1_GGUF_TOK_H
#define R1_GGUF_TOK_H

#include "io/gguf.h"
#include "model/config.h"

/* Reads dir/tokenizer.json (+ tokenizer_config.json when present) and sets the
 * tokenizer keys for a model with config c (vocab padded to c->vocab). */
r1_status r1_gguf_tok_from_hf(r1_gguf_writer *w, const char *dir, const r1_config *c);
/* Copies every tokenizer.* key of g. */
r1_status r1_gguf_tok_copy(r1_gguf_writer *w, const r1_gguf *g);
/* tokenizer.ggml.model = "none" (llama.cpp then takes {arch}.vocab_size dummy tokens). */
r1_status r1_gguf_tok_none(r1_gguf_writer *w);
/* tokenizer.json text (malloc'd, caller frees) from g's tokenizer.ggml.* keys;
 * R1_UNSUPPORTED unless tokenizer.ggml.model is "gpt2". *chat_template (may
 * be NULL) receives a malloc'd copy of tokenizer.chat_template or NULL. */
r1_status r1_gguf_tok_to_json(const r1_gguf *g, char **json, char **chat_template);

#endif
