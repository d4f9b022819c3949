/* reward: R1-Zero's rule-based rewards (GRPO.md §2.1). A completion is
 * parsed as  <think> reasoning </think> <answer> answer </answer>  (only
 * whitespace around and between the blocks, one of each tag):
 *   accuracy  1 when the task's verifier accepts the answer (the well-formed
 *             answer block, else the last complete <answer>...</answer>);
 *   format    1 when the completion is well formed;
 *   language  share of the reasoning's words written in ASCII (the target
 *             language of the built-in tasks), DeepSeek-R1's consistency reward.
 * total = w_acc*accuracy + w_fmt*format + w_lang*language. */
#ifndef R1_REWARD_H
#define R1_REWARD_H

#include <stdbool.h>
#include <stddef.h>

#include "tasks/task.h"

typedef struct {
    float w_acc, w_fmt, w_lang;
} r1_reward_weights;

static inline r1_reward_weights r1_reward_defaults(void) { return (r1_reward_weights){1.0f, 0.1f, 0.0f}; }

typedef struct {
    const char *think, *answer; /* NULL when absent */
    size_t think_len, answer_len;
    bool well_formed;
} r1_parsed;

typedef struct {
    float total, accuracy, format, language;
} r1_reward;

/* Splits a completion (which must include the opening <think> if the prompt
 * pre-filled it: pass the prefix and the generated text joined). */
r1_parsed r1_reward_parse(const char *text, size_t len);
r1_reward r1_reward_score(const r1_task *t, const r1_problem *p, const char *text, size_t len,
                          const r1_reward_weights *w);

/* The R1-Zero prompt (GRPO.md §2.2) for a problem, ending with "Assistant:"
 * (no <think>: the model opens it). compact = 1 gives the short form
 * "User: {question} Assistant:" used by tiny models with short contexts.
 * Returns the length written (truncated to cap). */
size_t r1_task_prompt(char *out, size_t cap, const r1_problem *p, int compact);

#endif
