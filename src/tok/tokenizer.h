/* tokenizer: r1's public tokenizer API (byte-level BPE from an HF tokenizer.json).
 *
 * Loads the tokenizer of DeepSeek-V3/R1 and of the R1-Distill students (Qwen2,
 * Llama 3) from their own files: the BPE vocab and merges, the added/special
 * tokens (matched whole inside text, with HF's lstrip/rstrip/single_word
 * flags), the pre_tokenizer section (Split regexes compiled with PCRE2, UTF +
 * UCP, JIT) and tokenizer_config.json (BOS/EOS, add_bos_token, chat template).
 * Ids are int32_t. Text is UTF-8 bytes with an explicit length; invalid UTF-8
 * is still encoded (its bytes go through the byte tokens), so encode→decode is
 * lossless for any input. A loaded tokenizer is immutable and every function
 * here is safe to call from several threads at once. See docs/TOKENIZER.md. */
#ifndef R1_TOK_TOKENIZER_H
#define R1_TOK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct r1_tok r1_tok;

/* Loads a tokenizer. `path` is a tokenizer.json file or a folder holding one;
 * tokenizer_config.json next to it is read when present (BOS/EOS, add_bos_token,
 * add_eos_token, chat_template). On success *out owns everything (release with
 * r1_tok_free); on failure *out is NULL and r1_errmsg() says what is wrong
 * ("tokenizer.json: model.merges[12]: 'a' is not in the vocab"). */
r1_status r1_tok_load(r1_tok **out, const char *path);

/* Same from memory: `json` is tokenizer.json's text, `config` the text of
 * tokenizer_config.json or NULL. Neither buffer needs a terminating NUL nor is
 * kept after the call. */
r1_status r1_tok_load_mem(r1_tok **out, const char *json, size_t json_len, const char *config,
                          size_t config_len);

/* Releases a tokenizer (NULL is fine). */
void r1_tok_free(r1_tok *tok);

/* Encodes len bytes of text. Added tokens written in the text are always
 * matched whole. add_special != 0 also adds BOS/EOS as HF add_special_tokens=True
 * does (tokenizer_config.json's add_bos_token/add_eos_token, else the
 * TemplateProcessing post-processor of tokenizer.json). On success *ids is a
 * malloc'd array of *n ids that the caller frees (non-NULL even when *n == 0). */
r1_status r1_tok_encode(const r1_tok *tok, const char *text, size_t len, int add_special,
                        int32_t **ids, int64_t *n);

/* Decodes ids to the exact bytes they stand for (added tokens as their
 * content). *text is malloc'd, NUL-terminated, *len bytes long (may contain
 * invalid UTF-8 if the ids split a character; use the stream for display).
 * An id outside the vocab is R1_INVALID. */
r1_status r1_tok_decode(const r1_tok *tok, const int32_t *ids, int64_t n, char **text,
                        size_t *len);

/* Streaming decoder for generation: push ids one at a time and get text that is
 * always valid UTF-8. Bytes of a character split across tokens are held until
 * the character is complete; bytes that can never form a character become
 * U+FFFD (one per maximal invalid subpart, as the WHATWG decoder does).
 * init/free pair; the struct belongs to the caller. */
typedef struct {
    const r1_tok *tok;
    unsigned char pend[4]; /* an incomplete UTF-8 prefix held back */
    int npend;
    char *buf; /* output of the last call, valid until the next call */
    size_t cap;
} r1_tok_stream;

void r1_tok_stream_init(r1_tok_stream *s, const r1_tok *tok);
void r1_tok_stream_free(r1_tok_stream *s);
/* Appends the token; text and len receive the newly completed text (possibly
 * empty), valid until the next call on s. */
r1_status r1_tok_stream_push(r1_tok_stream *s, int32_t id, const char **text, size_t *len);
/* End of stream: emits whatever is held (an incomplete tail becomes U+FFFD)
 * and resets s for reuse. */
r1_status r1_tok_stream_flush(r1_tok_stream *s, const char **text, size_t *len);

/* Size of the id space (largest id + 1, added tokens included). */
int32_t r1_tok_n_vocab(const r1_tok *tok);
/* BOS / EOS ids from tokenizer_config.json (or -1 when there are none). */
int32_t r1_tok_bos(const r1_tok *tok);
int32_t r1_tok_eos(const r1_tok *tok);
/* Id of a token given by its text: an added token's content, or the UTF-8
 * text a vocab token stands for ("Hello", " the"). -1 if no such token. */
int32_t r1_tok_id(const r1_tok *tok, const char *s, size_t len);
/* The bytes token `id` decodes to (not NUL-terminated), or NULL if id is not a
 * token. Points into tok. */
const char *r1_tok_piece(const r1_tok *tok, int32_t id, size_t *len);
/* 1 if id is an added token marked "special" (BOS, EOS, <｜User｜>...), else 0. */
int r1_tok_is_special(const r1_tok *tok, int32_t id);
/* The chat_template string of tokenizer_config.json, or NULL. */
const char *r1_tok_chat_template(const r1_tok *tok);

#endif
