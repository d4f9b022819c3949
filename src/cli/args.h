/* args: options shared by the model-running subcommands. */
#ifndef R1_CLI_ARGS_H
#define R1_CLI_ARGS_H

#include <stdint.h>

#include "infer/sampler.h"

typedef struct {
    const char *model;    /* -m */
    const char *prompt;   /* -p TEXT */
    const char *ids_text; /* --ids "1 2 3" */
    int threads;          /* --threads (0 = all CPUs) */
    int64_t max_new;      /* -n */
    r1_sampler_params sampling;
} cli_common;

void cli_common_defaults(cli_common *o);
/* 1: consumed argv[*i] (and its value); 0: not a common option; -1: bad value (usage printed). */
int cli_common_opt(cli_common *o, int argc, char **argv, int *i, const char *cmd);
/* Parses "1 2 3" (spaces/commas) into a malloc'd array; -1 on a bad id. */
int cli_parse_ids(const char *s, int32_t **ids, int64_t *n);

#endif
