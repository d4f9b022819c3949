/* status: r1's error convention.
 * Every fallible function returns an r1_status (R1_OK = 0, negative codes from
 * the one X-macro list below) and leaves a human-readable detail in a
 * thread-local message. Callers add context on the way up with r1_err_wrap();
 * only cli/ turns a status into an exit code. */
#ifndef R1_STATUS_H
#define R1_STATUS_H

#include <stdarg.h>

#define R1_STATUS_LIST(X)                      \
    X(OK, 0, "ok")                             \
    X(NOMEM, -1, "out of memory")              \
    X(IO, -2, "i/o error")                     \
    X(FORMAT, -3, "malformed input")           \
    X(SHAPE, -4, "shape mismatch")             \
    X(INVALID, -5, "invalid argument")         \
    X(UNSUPPORTED, -6, "unsupported")          \
    X(LIMIT, -7, "limit exceeded")             \
    X(CANCELLED, -8, "cancelled")

typedef enum {
#define R1_STATUS_ENUM(name, code, text) R1_##name = code,
    R1_STATUS_LIST(R1_STATUS_ENUM)
#undef R1_STATUS_ENUM
} r1_status;

/* Short fixed description of a status code ("malformed input"). */
const char *r1_status_str(r1_status s);

/* Sets the thread-local message (printf-style) and returns s, so that
 * `return r1_fail(R1_FORMAT, "bad %s", x);` reads as one statement. */
r1_status r1_fail(r1_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context: "ctx: <old message>". Returns s. */
r1_status r1_err_wrap(r1_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message set on this thread ("" if none). Valid until the next
 * r1_fail/r1_err_wrap on this thread. */
const char *r1_errmsg(void);

/* Clears the message (used by tests and long-running loops). */
void r1_err_clear(void);

/* Always-on invariant check: a broken internal invariant is a bug, never bad
 * input, so it aborts with file:line even in release builds. */
#define R1_ASSERT(cond)                                                    \
    do {                                                                   \
        if (!(cond)) r1_assert_fail(#cond, __FILE__, __LINE__);            \
    } while (0)
_Noreturn void r1_assert_fail(const char *what, const char *file, int line);

/* Propagate a failing status unchanged. */
#define R1_TRY(expr)                         \
    do {                                     \
        r1_status r1_try_s_ = (expr);        \
        if (r1_try_s_ != R1_OK) return r1_try_s_; \
    } while (0)

#endif
