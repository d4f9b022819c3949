/* task: built-in verifiable problems for R1-Zero training. A task makes a
 * problem deterministically from (seed, difficulty) — question text, the
 * canonical answer and a worked solution made of short single-operation
 * steps — and verifies an answer text with an exact checker (never by
 * evaluating arbitrary text). Training and held-out evaluation draw seeds
 * from disjoint ranges (r1_task_seed). */
#ifndef R1_TASK_H
#define R1_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { R1_TASK_MAX_NUMS = 6, R1_TASK_TEXT = 512 };

typedef struct {
    char question[R1_TASK_TEXT]; /* the user's request, e.g. "Compute 12 + 7 * 3." */
    char answer[64];             /* canonical answer text, e.g. "33" */
    char steps[R1_TASK_TEXT];    /* worked reasoning, one operation per step: "7*3=21. 12+21=33." */
    int64_t nums[R1_TASK_MAX_NUMS];
    int n_nums;
    int64_t target; /* the value the answer must equal */
} r1_problem;

typedef struct {
    const char *name;
    const char *about;
    /* Fills p from the seed; difficulty 1..r1_task.max_difficulty. */
    void (*make)(r1_problem *p, uint64_t seed, int difficulty);
    /* 1 when answer[0..len) is correct for p. */
    bool (*check)(const r1_problem *p, const char *answer, size_t len);
    int max_difficulty;
} r1_task;

/* "arith", "chain", "countdown", "lineq"; NULL if unknown. */
const r1_task *r1_task_find(const char *name);
/* The registry, NULL-terminated. */
const r1_task *const *r1_task_all(void);

typedef enum { R1_SPLIT_TRAIN = 0, R1_SPLIT_EVAL = 1 } r1_task_split;
/* The seed of problem i of a split: train seeds are i, eval seeds 2^62 + i. */
static inline uint64_t r1_task_seed(r1_task_split split, uint64_t i) {
    return split == R1_SPLIT_EVAL ? ((uint64_t)1 << 62) + i : i;
}

/* Checks an integer answer: optional spaces, optional '-', digits, spaces. */
bool r1_task_check_int(const char *s, size_t len, int64_t want);

#endif
