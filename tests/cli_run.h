/* cli_run.h: run the r1 binary from a test. R1_BIN names it (make test sets
 * it to the build's binary; default ./r1). r1(out, cap, fmt, ...) runs
 * "r1 ARGS 2>&1" through the shell, keeps up to cap-1 bytes of output in out
 * (may be NULL) and returns the exit code (-1 if it did not exit normally).
 * sh_cmd runs any command line the same way (test_mpi's mpirun). */
#ifndef R1_TEST_CLI_RUN_H
#define R1_TEST_CLI_RUN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static const char *bin(void) {
    const char *b = getenv("R1_BIN");
    return b && *b ? b : "./r1";
}

/* Runs the shell command line cmd (stderr joined to stdout); output and exit code as r1(). */
static int sh_cmd(char *out, size_t cap, const char *cmd) {
    char full[8400];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = out ? fread(out, 1, cap - 1, p) : 0;
    if (out) out[n] = '\0';
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {}
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int r1(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int r1(char *out, size_t cap, const char *fmt, ...) {
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s", bin(), args);
    return sh_cmd(out, cap, cmd);
}

#endif
