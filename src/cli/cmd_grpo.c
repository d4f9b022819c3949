/* r1 grpo: R1-Zero reinforcement learning of a model on a built-in task
 * (src/rl/grpo.h); the trained model goes to OUT/model with its tokenizer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/rl_util.h"
#include "dist/dist.h"
#include "rl/grpo.h"
#include "rl/plot.h"

static const char *USAGE =
    "usage: r1 grpo -m MODEL --task NAME --out DIR [options]\n"
    "  GRPO with rule rewards from the task's verifier (accuracy 1, format 0.1).\n"
    "  MODEL is an HF folder with tokenizer.json; OUT gets metrics.jsonl, samples.jsonl,\n"
    "  plot.svg and model/ (the trained HF folder).\n"
    "  --task LIST         arith, countdown, lineq, a comma list, or all\n"
    "  --difficulty A-B    problem difficulty range (default 1-2)\n"
    "  --steps N           rollout steps (default 100)\n"
    "  --prompts P         problems per step (default 8)\n"
    "  --group G           completions per problem (default 8)\n"
    "  --max-new N         completion cap in tokens (default 48)\n"
    "  --mu N              optimizer updates per rollout batch (default 2)\n"
    "  --micro N           sequences per forward/backward (default 16)\n"
    "  --lr LR             AdamW learning rate, constant after --warmup N updates (default 5e-5, 10)\n"
    "  --lr-decay F        instead a cosine from LR down to F*LR over --steps (default 1: constant)\n"
    "  --beta KL           k3 KL weight to the frozen start model (default 0.02; 0 keeps no reference)\n"
    "  --clip EPS          clip range 1-EPS..1+EPS (default 0.2)\n"
    "  --clip-high EPS     upper clip 1+EPS, DAPO clip-higher (default: --clip)\n"
    "  --loss seq|token|const  loss averaging: per-sequence mean, token mean (default), Dr. GRPO constant\n"
    "  --no-std            advantages r - mean, no std division (Dr. GRPO)\n"
    "  --drop-flat         skip groups whose rewards are all equal\n"
    "  --temp T            rollout temperature (default 1)\n"
    "  --w-acc X --w-fmt X --w-lang X   reward weights (default 1, 0.1, 0)\n"
    "  --full-prompt       the full R1-Zero template (default: compact 'User: q Assistant:')\n"
    "  --time S            stop after S seconds   --eval-every N --eval-n N   held-out greedy accuracy\n"
    "  --seed S   --threads N (per rank)   --quiet\n"
    "  Under mpirun (make MPI=1) each rank rolls out P/ranks whole groups; rank 0 writes OUT.\n";

int cmd_grpo(int argc, char **argv) {
    const char *model = NULL, *task = NULL, *out = NULL;
    int threads = 0, dmin = 1, dmax = 2, full = 0;
    bool clip_high_set = false;
    r1_grpo_cfg c;
    r1_grpo_defaults(&c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "--no-std")) { c.scale_std = false; continue; }
        if (cli_is(a, "--drop-flat")) { c.drop_flat = true; continue; }
        if (cli_is(a, "--full-prompt")) { full = 1; continue; }
        if (cli_is(a, "--quiet")) { c.quiet = true; continue; }
        if (i + 1 >= argc) return cli_usage("grpo", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long n = 0;
        double x = 0;
        int bad = 0;
        if (cli_is(a, "-m") || cli_is(a, "--model")) model = v;
        else if (cli_is(a, "--task")) task = v;
        else if (cli_is(a, "--out")) out = v;
        else if (cli_is(a, "--difficulty")) bad = cli_parse_range(v, &dmin, &dmax);
        else if (cli_is(a, "--steps")) bad = cli_parse_i64(v, &n), c.steps = n;
        else if (cli_is(a, "--prompts")) bad = cli_parse_i64(v, &n) || n < 1, c.prompts = n;
        else if (cli_is(a, "--group")) bad = cli_parse_i64(v, &n) || n < 2 || n > 1024, c.G = n;
        else if (cli_is(a, "--max-new")) bad = cli_parse_i64(v, &n) || n < 1, c.max_new = n;
        else if (cli_is(a, "--mu")) bad = cli_parse_i64(v, &n) || n < 1, c.mu = n;
        else if (cli_is(a, "--micro")) bad = cli_parse_i64(v, &n) || n < 1, c.micro = n;
        else if (cli_is(a, "--lr")) bad = cli_parse_f64(v, &x) || x <= 0, c.lr = (float)x;
        else if (cli_is(a, "--warmup")) bad = cli_parse_i64(v, &n), c.warmup = n;
        else if (cli_is(a, "--lr-decay")) bad = cli_parse_f64(v, &x) || x < 0 || x > 1, c.lr_decay = (float)x;
        else if (cli_is(a, "--beta")) bad = cli_parse_f64(v, &x) || x < 0, c.beta = (float)x;
        else if (cli_is(a, "--clip")) bad = cli_parse_f64(v, &x) || x <= 0 || x >= 1, c.eps_low = (float)x;
        else if (cli_is(a, "--clip-high")) bad = cli_parse_f64(v, &x) || x <= 0, c.eps_high = (float)x, clip_high_set = true;
        else if (cli_is(a, "--temp")) bad = cli_parse_f64(v, &x) || x <= 0, c.temp = (float)x;
        else if (cli_is(a, "--w-acc")) bad = cli_parse_f64(v, &x), c.rw.w_acc = (float)x;
        else if (cli_is(a, "--w-fmt")) bad = cli_parse_f64(v, &x), c.rw.w_fmt = (float)x;
        else if (cli_is(a, "--w-lang")) bad = cli_parse_f64(v, &x), c.rw.w_lang = (float)x;
        else if (cli_is(a, "--time")) bad = cli_parse_f64(v, &x) || x < 0, c.time_budget = x;
        else if (cli_is(a, "--eval-every")) bad = cli_parse_i64(v, &n), c.eval_every = n;
        else if (cli_is(a, "--eval-n")) bad = cli_parse_i64(v, &n), c.eval_n = n;
        else if (cli_is(a, "--seed")) bad = cli_parse_i64(v, &n), c.seed = (uint64_t)n;
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &n) || n > 1024, threads = (int)n;
        else if (cli_is(a, "--loss")) {
            if (!strcmp(v, "seq")) c.agg = R1_AGG_SEQ_MEAN;
            else if (!strcmp(v, "token")) c.agg = R1_AGG_TOKEN_MEAN;
            else if (!strcmp(v, "const")) c.agg = R1_AGG_CONSTANT;
            else bad = 1;
        } else return cli_usage("grpo", "unknown option '%s'", a);
        if (bad) return cli_usage("grpo", "bad value '%s' for %s", v, a);
    }
    if (!model || !task || !out) return cli_usage("grpo", "need -m MODEL, --task NAME and --out DIR");
    if (!clip_high_set) c.eps_high = c.eps_low;
    if (c.eval_every > 0 && c.eval_n == 0) c.eval_n = 64;
    r1_status s = r1_taskset_parse(&c.ts, task, dmin, dmax, !full);
    if (s != R1_OK) return cli_usage("grpo", "%s", r1_errmsg());
    if (mkdir(out, 0755) != 0 && errno != EEXIST) return cli_fail("grpo", r1_fail(R1_IO, "%s: %s", out, strerror(errno)));
    r1_policy p;
    r1_tok *tok = NULL;
    s = cli_rl_load(model, threads, &p, &tok);
    if (s != R1_OK) return cli_fail("grpo", s);
    c.out = out;
    c.first = 10000000; /* away from the problems a pretraining corpus would use */
    s = r1_grpo_run(&p, tok, &c);
    char path[4096];
    bool root = r1_dist_is_root(); /* every rank holds the same weights; one writes them */
    snprintf(path, sizeof path, "%s/model", out);
    if (s == R1_OK && root) s = cli_rl_save(p.m, model, path);
    snprintf(path, sizeof path, "%s/plot.svg", out);
    if (s == R1_OK && root) s = r1_plot_run(out, path);
    if (s == R1_OK && root && !c.quiet) fprintf(stderr, "grpo: model in %s/model, plot %s\n", out, path);
    r1_policy_free(&p);
    r1_tok_free(tok);
    return s == R1_OK ? 0 : cli_fail("grpo", s);
}
