/* cli: one function per subcommand, each `int cmd_<name>(int argc, char **argv)`
 * with argv[0] = the subcommand name. Returns the process exit code:
 * 0 ok, 1 runtime failure, 2 usage error. This is the only layer that turns an
 * r1_status into an exit code. */
#ifndef R1_CLI_H
#define R1_CLI_H

#include "core/status.h"

/* Prints "r1: <what>: <r1_errmsg()>" to stderr and returns exit code 1. */
int cli_fail(const char *what, r1_status s);
/* Prints "r1: <msg>" plus "try 'r1 <cmd> --help'" and returns exit code 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Small argv helpers: is argv[i] the flag `name` (with a value following)? */
int cli_is(const char *arg, const char *name);
/* Parses a non-negative integer / a float flag value, or returns -1. */
int cli_parse_i64(const char *s, long long *out);
int cli_parse_f64(const char *s, double *out);

/* Subcommands (one file each). */
int cmd_init(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_tokenizer_train(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_grpo(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sft(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
