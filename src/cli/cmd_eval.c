/* r1 eval: held-out accuracy of a model on built-in tasks (src/rl/eval.h),
 * greedy and sampled at T=1, with format rate and mean think length. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/rl_util.h"
#include "rl/eval.h"

static const char *USAGE =
    "usage: r1 eval -m MODEL --task NAME [--n N] [options]\n"
    "  Accuracy on N held-out problems per task (eval-split seeds, never trained on):\n"
    "  greedy and sampled (T=1), format rate, mean think and response length in tokens.\n"
    "  --task LIST         arith, countdown, lineq, a comma list, or all\n"
    "  --n N               problems per task (default 256)\n"
    "  --difficulty A-B    (default 1-2)   --max-new N (default 64)\n"
    "  --show K            print the first K greedy responses\n"
    "  --full-prompt       the full R1-Zero template (default: compact)\n"
    "  --seed S   --threads N\n";

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *task = NULL;
    int threads = 0, dmin = 1, dmax = 2, full = 0;
    long long n = 256, max_new = 64, show = 0, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "--full-prompt")) { full = 1; continue; }
        if (i + 1 >= argc) return cli_usage("eval", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long k = 0;
        int bad = 0;
        if (cli_is(a, "-m") || cli_is(a, "--model")) model = v;
        else if (cli_is(a, "--task")) task = v;
        else if (cli_is(a, "--n")) bad = cli_parse_i64(v, &n) || n < 1;
        else if (cli_is(a, "--max-new")) bad = cli_parse_i64(v, &max_new) || max_new < 1;
        else if (cli_is(a, "--show")) bad = cli_parse_i64(v, &show);
        else if (cli_is(a, "--seed")) bad = cli_parse_i64(v, &seed);
        else if (cli_is(a, "--difficulty")) bad = cli_parse_range(v, &dmin, &dmax);
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &k) || k > 1024, threads = (int)k;
        else return cli_usage("eval", "unknown option '%s'", a);
        if (bad) return cli_usage("eval", "bad value '%s' for %s", v, a);
    }
    if (!model || !task) return cli_usage("eval", "need -m MODEL and --task NAME");
    r1_taskset ts;
    r1_status s = r1_taskset_parse(&ts, task, dmin, dmax, !full);
    if (s != R1_OK) return cli_usage("eval", "%s", r1_errmsg());
    r1_policy p;
    r1_tok *tok = NULL;
    s = cli_rl_load(model, threads, &p, &tok);
    if (s != R1_OK) return cli_fail("eval", s);
    r1_engine *e = NULL;
    int64_t ctx = 256 + max_new < p.m->cfg.max_pos ? 256 + max_new : p.m->cfg.max_pos;
    s = r1_engine_create(&e, p.m, 128, ctx, 128 + 512);
    printf("| task | n | accuracy greedy | accuracy T=1 | format (T=1) | think tokens (T=1) | response tokens (T=1) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < ts.n && s == R1_OK; k++) {
        r1_taskset one = ts;
        one.task[0] = ts.task[k], one.n = 1;
        r1_eval_opts eo = {.n = n, .temp = 0.0f, .seed = (uint64_t)seed, .max_new = max_new, .eos = cli_rl_eos(p.m, tok)};
        r1_eval_result g, t1;
        r1_rollout_job *jobs = NULL;
        r1_item *items = NULL;
        s = r1_eval_run(e, tok, &one, &eo, &g, &jobs, &items);
        for (long long i = 0; s == R1_OK && i < show && i < n; i++)
            fprintf(stderr, "%s\n  %s\n", items[i].prompt, jobs[i].text);
        if (jobs) r1_eval_free_jobs(jobs, items, n);
        eo.temp = 1.0f;
        if (s == R1_OK) s = r1_eval_run(e, tok, &one, &eo, &t1, NULL, NULL);
        if (s == R1_OK)
            printf("| %s | %lld | %.1f%% | %.1f%% | %.1f%% | %.1f | %.1f |\n", ts.task[k]->name, n, 100 * g.accuracy,
                   100 * t1.accuracy, 100 * t1.format, t1.think_len, t1.resp_len);
    }
    r1_engine_destroy(e);
    r1_policy_free(&p);
    r1_tok_free(tok);
    return s == R1_OK ? 0 : cli_fail("eval", s);
}
