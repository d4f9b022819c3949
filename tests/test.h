/* test.h: r1's minimal test harness. Each tests/test_<module>.c defines
 * TEST(name) functions and lists them in main() with RUN(name); every failed
 * CHECK prints both values with file:line and marks the test failed; the
 * binary prints "<file>: N passed, M failed" and exits non-zero on failure.
 * tests/run.sh sums the lines of all binaries. */
#ifndef R1_TEST_H
#define R1_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_checks, t_passed, t_failed;
static const char *t_current;

#define TEST(name) static void name(void)

#define RUN(name)                                                        \
    do {                                                                 \
        int before_ = t_failed_checks;                                   \
        t_current = #name;                                               \
        name();                                                          \
        if (t_failed_checks == before_) {                                \
            t_passed++;                                                  \
            printf("  ok   %s\n", #name);                                \
        } else {                                                         \
            t_failed++;                                                  \
            printf("  FAIL %s\n", #name);                                \
        }                                                                \
        fflush(stdout);                                                  \
    } while (0)

#define T_FAIL_AT(...)                                                   \
    do {                                                                 \
        t_failed_checks++;                                               \
        printf("    %s:%d: [%s] ", __FILE__, __LINE__, t_current);       \
        printf(__VA_ARGS__);                                             \
        printf("\n");                                                    \
    } while (0)

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) T_FAIL_AT("check failed: %s", #cond);               \
    } while (0)

#define CHECK_EQ_INT(a, b)                                               \
    do {                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);              \
        if (a_ != b_) T_FAIL_AT("%s == %s: %lld vs %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_STR(a, b)                                                  \
    do {                                                                 \
        const char *a_ = (a), *b_ = (b);                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                           \
            T_FAIL_AT("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

/* |a-b| <= tol*max(1,|b|) */
#define CHECK_NEAR(a, b, tol)                                            \
    do {                                                                 \
        double a_ = (double)(a), b_ = (double)(b);                       \
        double s_ = fabs(b_) > 1.0 ? fabs(b_) : 1.0;                     \
        if (!(fabs(a_ - b_) <= (tol) * s_))                              \
            T_FAIL_AT("%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
    } while (0)

/* Status check: prints r1_errmsg() on failure. */
#define CHECK_OK(expr)                                                   \
    do {                                                                 \
        int s_ = (int)(expr);                                            \
        if (s_ != 0) T_FAIL_AT("%s -> status %d: %s", #expr, s_, r1_errmsg()); \
    } while (0)

/* Max relative error between two float arrays, relative to max |ref|. */
static inline double t_max_rel_err(const float *got, const float *ref, int64_t n) {
    double maxref = 1e-30, maxdiff = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = fabs((double)ref[i]), d = fabs((double)got[i] - (double)ref[i]);
        if (r > maxref) maxref = r;
        if (d > maxdiff || d != d) maxdiff = d != d ? INFINITY : d;
    }
    return maxdiff / maxref;
}

/* Whether two files hold the same bytes (false if either cannot be read). */
static inline bool t_same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    char x[65536], y[65536];
    while (same) {
        size_t na = fread(x, 1, sizeof x, fa), nb = fread(y, 1, sizeof y, fb);
        same = na == nb && memcmp(x, y, na) == 0;
        if (na < sizeof x) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static inline int t_finish(const char *file) {
    printf("%s: %d passed, %d failed\n", file, t_passed, t_failed);
    return t_failed ? 1 : 0;
}
#define TEST_MAIN_END() return t_finish(__FILE__)

#endif
