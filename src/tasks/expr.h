/* expr: a small, safe evaluator for the arithmetic a model writes in an
 * <answer> (Countdown equations). Grammar, whitespace allowed between tokens:
 *   expr := term (('+' | '-') term)*     term := atom (('*' | '/') atom)*
 *   atom := integer | '(' expr ')'
 * Exact rational arithmetic over int64 with overflow checks; no unary minus,
 * no decimals, at most R1_EXPR_MAX_DEPTH nested parentheses and
 * R1_EXPR_MAX_NUMS numbers, literals at most 10^9. Division by zero, overflow,
 * anything outside the grammar: invalid. Never evaluates arbitrary text. */
#ifndef R1_EXPR_H
#define R1_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { R1_EXPR_MAX_DEPTH = 32, R1_EXPR_MAX_NUMS = 16 };

typedef struct {
    int64_t num, den; /* den > 0, gcd(num, den) = 1 */
} r1_rational;

typedef struct {
    bool ok;
    r1_rational value;
    int64_t nums[R1_EXPR_MAX_NUMS]; /* the integer literals, in order of appearance */
    int n_nums;
    const char *error; /* static text when !ok */
} r1_expr_result;

/* Evaluates s[0..len). */
r1_expr_result r1_expr_eval(const char *s, size_t len);

#endif
