/* bpe_train: learns a byte-level BPE tokenizer from text and writes it as an
 * HF tokenizer.json (+ tokenizer_config.json) that r1 and transformers.js
 * load and encode identically. */
#ifndef R1_TOK_BPE_TRAIN_H
#define R1_TOK_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    int32_t vocab_size;    /* total ids, added tokens included (>= 256 + 6) */
    int64_t min_frequency; /* stop when the best pair occurs fewer times (default 2) */
    const char *pattern;   /* pre-tokenizer regex; NULL = R1_BPE_DEFAULT_PATTERN */
    const char *chat_template; /* tokenizer_config.json chat_template; NULL = R1_CHAT_TEMPLATE_R1 */
} r1_bpe_train_opts;

/* GPT-style split: contractions, letter runs with one leading non-letter,
 * digit runs of 1-3, punctuation runs, newlines, spaces (as Llama 3/Qwen2). */
#define R1_BPE_DEFAULT_PATTERN                                                          \
    "'(?:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Trains on text[0..len) and returns two malloc'd NUL-terminated JSON texts
 * (caller frees): *tokenizer_json and *config_json. Ids: the 256 byte tokens
 * in byte order, then merges in the order learned, then the added tokens
 * <｜begin▁of▁sentence｜>, <｜end▁of▁sentence｜>, <｜User｜>, <｜Assistant｜>
 * (special) and <think>, </think> (not special, as in the R1 distills).
 * Deterministic: the most frequent pair wins; ties go to the pair of smaller
 * ids (left id, then right id). Occurrences of the added tokens in the text
 * are not learned from. */
r1_status r1_bpe_train(const char *text, size_t len, const r1_bpe_train_opts *opt,
                       char **tokenizer_json, char **config_json);

#endif
