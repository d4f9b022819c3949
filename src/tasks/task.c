/* task: the registry of built-in tasks and shared answer checking. */
#include "tasks/task.h"

#include <string.h>

extern const r1_task r1_task_arith, r1_task_chain, r1_task_countdown, r1_task_lineq;

static const r1_task *const TASKS[] = {&r1_task_arith, &r1_task_chain, &r1_task_countdown, &r1_task_lineq, NULL};

const r1_task *const *r1_task_all(void) { return TASKS; }

const r1_task *r1_task_find(const char *name) {
    for (int i = 0; TASKS[i]; i++)
        if (!strcmp(TASKS[i]->name, name)) return TASKS[i];
    return NULL;
}

bool r1_task_check_int(const char *s, size_t len, int64_t want) {
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t')) i++;
    bool neg = false;
    if (i < len && s[i] == '-') neg = true, i++;
    if (i >= len || s[i] < '0' || s[i] > '9') return false;
    int64_t v = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > 100000000000000000ll) return false; /* 18+ digits: no task answer is that large */
        v = v * 10 + (s[i] - '0');
    }
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '.')) i++;
    return i == len && (neg ? -v : v) == want;
}
