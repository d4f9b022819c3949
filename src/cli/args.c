/* args: option parsing shared by the model-running subcommands
 * (generate, logits, chat, bench): -m MODEL, --threads, --ids, sampling. */
#include "cli/args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_parse_ids(const char *s, int32_t **ids, int64_t *n) {
    int64_t cap = 16, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return -1;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p || x < 0 || x > INT32_MAX) {
            free(v);
            return -1;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
        }
        v[k++] = (int32_t)x;
        p = end;
    }
    *ids = v;
    *n = k;
    return 0;
}

/* Returns 1 if argv[*i] was a common option (consuming its value), 0 if not
 * ours, -1 on a bad value (message printed). */
int cli_common_opt(cli_common *o, int argc, char **argv, int *i, const char *cmd) {
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long long n;
    double f;
#define NEED_VALUE()                                                          \
    do {                                                                      \
        if (!v) return cli_usage(cmd, "option %s needs a value", a), -1;      \
        (*i)++;                                                               \
    } while (0)
    if (cli_is(a, "-m") || cli_is(a, "--model")) {
        NEED_VALUE();
        o->model = v;
    } else if (cli_is(a, "--threads") || cli_is(a, "-t")) {
        NEED_VALUE();
        if (cli_parse_i64(v, &n) || n < 1 || n > 1024) return cli_usage(cmd, "bad --threads '%s'", v), -1;
        o->threads = (int)n;
    } else if (cli_is(a, "--ids")) {
        NEED_VALUE();
        o->ids_text = v;
    } else if (cli_is(a, "-p") || cli_is(a, "--prompt")) {
        NEED_VALUE();
        o->prompt = v;
    } else if (cli_is(a, "-n") || cli_is(a, "--max-new")) {
        NEED_VALUE();
        if (cli_parse_i64(v, &n) || n > (1 << 24)) return cli_usage(cmd, "bad -n '%s'", v), -1;
        o->max_new = n;
    } else if (cli_is(a, "--temp")) {
        NEED_VALUE();
        if (cli_parse_f64(v, &f) || f < 0) return cli_usage(cmd, "bad --temp '%s'", v), -1;
        o->sampling.temp = (float)f;
    } else if (cli_is(a, "--top-p")) {
        NEED_VALUE();
        if (cli_parse_f64(v, &f) || f <= 0 || f > 1) return cli_usage(cmd, "bad --top-p '%s' (0 < p <= 1)", v), -1;
        o->sampling.top_p = (float)f;
    } else if (cli_is(a, "--top-k")) {
        NEED_VALUE();
        if (cli_parse_i64(v, &n)) return cli_usage(cmd, "bad --top-k '%s'", v), -1;
        o->sampling.top_k = n;
    } else if (cli_is(a, "--min-p")) {
        NEED_VALUE();
        if (cli_parse_f64(v, &f) || f < 0 || f >= 1) return cli_usage(cmd, "bad --min-p '%s' (0 <= p < 1)", v), -1;
        o->sampling.min_p = (float)f;
    } else if (cli_is(a, "--seed")) {
        NEED_VALUE();
        if (cli_parse_i64(v, &n)) return cli_usage(cmd, "bad --seed '%s'", v), -1;
        o->sampling.seed = (uint64_t)n;
    } else {
        return 0;
    }
#undef NEED_VALUE
    return 1;
}

void cli_common_defaults(cli_common *o) {
    *o = (cli_common){.threads = 0, .max_new = 128, .sampling = r1_sampler_defaults()};
}
