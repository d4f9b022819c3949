/* chat: the DeepSeek-R1 conversation format and the think/answer split.
 *
 * R1 (tokenizer_config.json of DeepSeek-R1 and of the R1-Distill models, which
 * share the template; only the ids of the special tokens differ):
 *   <｜begin▁of▁sentence｜>{sys1}\n\n{sys2}<｜User｜>{u1}<｜Assistant｜>{a1}<｜end▁of▁sentence｜><｜User｜>{u2}<｜Assistant｜><think>\n
 * where a past assistant turn keeps only the text after its last </think>.
 * V3 (DeepSeek-V3's template): the same without the </think> stripping and
 * with "<｜Assistant｜>" alone as the generation prompt.
 * ZERO (the R1-Zero paper's plain-text form, what `r1 demo` trains on):
 *   <｜begin▁of▁sentence｜>{sys1}\n\n{sys2} User: {u1} Assistant:{a1}<｜end▁of▁sentence｜>User: {u2} Assistant:
 * where the model opens <think> itself and a past turn keeps only the text
 * after its last </think>; the system text, if any, is followed by one space.
 * The rendered text is meant to be encoded with add_special = 0: the BOS is
 * already in it and is matched as an added token. */
#ifndef R1_TOK_CHAT_H
#define R1_TOK_CHAT_H

#include <stddef.h>

#include "core/status.h"

typedef enum { R1_ROLE_SYSTEM, R1_ROLE_USER, R1_ROLE_ASSISTANT } r1_chat_role;

typedef struct {
    r1_chat_role role;
    const char *content; /* UTF-8, NUL-terminated */
} r1_chat_msg;

typedef enum { R1_CHAT_R1, R1_CHAT_V3, R1_CHAT_ZERO } r1_chat_style;

/* Jinja chat_template texts equivalent to the R1 and ZERO renderings, for the
 * tokenizer_config.json of tokenizers r1 trains. */
extern const char R1_CHAT_TEMPLATE_R1[], R1_CHAT_TEMPLATE_ZERO[];

/* The style a tokenizer_config.json chat_template asks for: R1 when it opens
 * <think> after "<｜Assistant｜>" (or when there is no template), V3 for
 * "<｜Assistant｜>" alone, ZERO for a plain "Assistant:" turn. */
r1_chat_style r1_chat_style_of(const char *chat_template);

#define R1_CHAT_BOS "<｜begin▁of▁sentence｜>"
#define R1_CHAT_EOS "<｜end▁of▁sentence｜>"
#define R1_CHAT_USER "<｜User｜>"
#define R1_CHAT_ASSISTANT "<｜Assistant｜>"

/* Renders msgs[0..n) into a malloc'd NUL-terminated *out (*len bytes, caller
 * frees). add_generation_prompt appends the assistant opening. */
r1_status r1_chat_render(const r1_chat_msg *msgs, int n, int add_generation_prompt, r1_chat_style style,
                         char **out, size_t *len);

/* A model response split into reasoning and answer (slices of the input). */
typedef struct {
    const char *reasoning, *answer;
    size_t reasoning_len, answer_len;
    int closed; /* 1 if a </think> was seen */
} r1_chat_split_t;

/* Splits text: reasoning runs from after an opening <think> (optional: R1's
 * prompt already opened it) to the first </think>, the answer is the rest
 * after it. Without </think>: everything is reasoning if the text opened a
 * think block or prompt_opened_think is set (generation still thinking),
 * else everything is answer. Leading whitespace before <think> is skipped. */
void r1_chat_split(const char *text, size_t len, int prompt_opened_think, r1_chat_split_t *out);

/* The streaming form for generated text, used by the CLI and the server.
 * Starting in reasoning (the R1 generation prompt opened <think>), text up to
 * the first "</think>" goes to the sink as part R1_CHAT_REASONING; the tag is
 * dropped and whitespace right after it skipped, the rest goes as
 * R1_CHAT_ANSWER. With R1_THINK_MAYBE leading whitespace is skipped and an
 * opening "<think>" written by the model itself starts the reasoning; any
 * other text is answer. R1_THINK_NONE passes everything on as answer. A tail that could be the start of a tag is held back
 * until the next feed, so a tag split across tokens is still found. */
enum { R1_CHAT_REASONING = 0, R1_CHAT_ANSWER = 1 };
/* Where generated text starts: plain text that is never split (NONE), inside
 * a think block the prompt opened (OPENED, R1), or possibly opening one
 * itself (MAYBE, ZERO). */
typedef enum { R1_THINK_NONE = 0, R1_THINK_OPENED = 1, R1_THINK_MAYBE = 2 } r1_think_start;
r1_think_start r1_chat_think_start(r1_chat_style style);
typedef void (*r1_chat_sink)(void *ctx, int part, const char *s, size_t n);
typedef struct {
    int state; /* 0 reasoning, 1 after </think> (skipping whitespace), 2 answer, 3 before a possible <think> */
    char held[8];
    size_t n_held;
} r1_chat_stream;

void r1_chat_stream_init(r1_chat_stream *t, r1_think_start start);
r1_status r1_chat_stream_feed(r1_chat_stream *t, const char *text, size_t len, r1_chat_sink sink, void *ctx);
/* End of generation: whatever is held belongs to the current part. */
void r1_chat_stream_flush(r1_chat_stream *t, r1_chat_sink sink, void *ctx);

#endif
