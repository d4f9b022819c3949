/* status: the thread-local error message behind r1_status (see status.h). */
#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MSG_CAP = 1024 };
static _Thread_local char g_msg[MSG_CAP];

const char *r1_status_str(r1_status s) {
    switch (s) {
#define R1_STATUS_CASE(name, code, text) \
    case R1_##name:                      \
        return text;
        R1_STATUS_LIST(R1_STATUS_CASE)
#undef R1_STATUS_CASE
    }
    return "unknown status";
}

r1_status r1_fail(r1_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, MSG_CAP, fmt, ap);
    va_end(ap);
    return s;
}

r1_status r1_err_wrap(r1_status s, const char *fmt, ...) {
    /* Builds "prefix: old" in a scratch buffer; truncation at MSG_CAP is intended. */
    char out[MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, MSG_CAP, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < MSG_CAP ? (size_t)n : MSG_CAP - 1;
    const char *old = g_msg[0] ? g_msg : r1_status_str(s);
    const char *parts[2] = {": ", old};
    for (int i = 0; i < 2; i++) {
        size_t k = strlen(parts[i]);
        if (k > MSG_CAP - 1 - len) k = MSG_CAP - 1 - len;
        memcpy(out + len, parts[i], k);
        len += k;
    }
    out[len] = '\0';
    memcpy(g_msg, out, len + 1);
    return s;
}

const char *r1_errmsg(void) { return g_msg[0] ? g_msg : ""; }

void r1_err_clear(void) { g_msg[0] = '\0'; }

void r1_assert_fail(const char *what, const char *file, int line) {
    fprintf(stderr, "r1: internal error: assertion '%s' failed at %s:%d\n", what, file, line);
    abort();
}
