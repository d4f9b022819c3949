/* r1 distill: R1's distillation (GRPO.md §2.4) — the teacher writes verified
 * traces by rejection sampling, a student of another config (e.g. a dense
 * qwen2-style model) starts from random weights and is SFT-trained on them;
 * both are then evaluated on the same held-out problems. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/rl_util.h"
#include "rl/eval.h"
#include "rl/sample.h"
#include "rl/sft.h"

static const char *USAGE =
    "usage: r1 distill --teacher MODEL --student CFG.json --task NAME --out DIR [options]\n"
    "  OUT gets traces.jsonl (the teacher's verified traces), metrics.jsonl (SFT) and the\n"
    "  student as an HF folder with the teacher's tokenizer. CFG.json's vocab_size must\n"
    "  cover the tokenizer.\n"
    "  --problems K (default 1024)   --best-of N (default 4)   --epochs N (default 3)\n"
    "  --lr LR (default 1e-3)   --difficulty A-B (default 1-2)   --max-new N (default 64)\n"
    "  --eval-n N (default 128)   --full-prompt   --seed S   --threads N\n";

static r1_status eval_one(r1_model *m, const r1_tok *tok, const r1_taskset *ts, int64_t n, int64_t max_new,
                          r1_eval_result *res) {
    r1_engine *e = NULL;
    int64_t ctx = 256 + max_new < m->cfg.max_pos ? 256 + max_new : m->cfg.max_pos;
    R1_TRY(r1_engine_create(&e, m, 128, ctx, 128 + 512));
    r1_eval_opts eo = {.n = n, .temp = 0.0f, .seed = 1, .max_new = max_new, .eos = cli_rl_eos(m, tok)};
    r1_status s = r1_eval_run(e, tok, ts, &eo, res, NULL, NULL);
    r1_engine_destroy(e);
    return s;
}

int cmd_distill(int argc, char **argv) {
    const char *teacher = NULL, *student = NULL, *task = NULL, *out = NULL;
    int threads = 0, dmin = 1, dmax = 2, full = 0;
    long long eval_n = 128;
    r1_sample_opts so = {.first = 30000000, .problems = 1024, .N = 4, .temp = 1.0f, .max_new = 64, .seed = 1};
    r1_sft_cfg sc;
    r1_sft_defaults(&sc);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "--full-prompt")) { full = 1; continue; }
        if (i + 1 >= argc) return cli_usage("distill", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long n = 0;
        double x = 0;
        int bad = 0;
        if (cli_is(a, "--teacher")) teacher = v;
        else if (cli_is(a, "--student")) student = v;
        else if (cli_is(a, "--task")) task = v;
        else if (cli_is(a, "--out")) out = v;
        else if (cli_is(a, "--problems")) bad = cli_parse_i64(v, &n) || n < 1, so.problems = n;
        else if (cli_is(a, "--best-of")) bad = cli_parse_i64(v, &n) || n < 1 || n > 4096, so.N = n;
        else if (cli_is(a, "--epochs")) bad = cli_parse_i64(v, &n) || n < 1, sc.epochs = n;
        else if (cli_is(a, "--lr")) bad = cli_parse_f64(v, &x) || x <= 0, sc.lr = (float)x, sc.min_lr = (float)x / 10;
        else if (cli_is(a, "--max-new")) bad = cli_parse_i64(v, &n) || n < 1, so.max_new = n;
        else if (cli_is(a, "--eval-n")) bad = cli_parse_i64(v, &eval_n) || eval_n < 1;
        else if (cli_is(a, "--difficulty")) bad = cli_parse_range(v, &dmin, &dmax);
        else if (cli_is(a, "--seed")) bad = cli_parse_i64(v, &n), so.seed = sc.seed = (uint64_t)n;
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &n) || n > 1024, threads = (int)n;
        else return cli_usage("distill", "unknown option '%s'", a);
        if (bad) return cli_usage("distill", "bad value '%s' for %s", v, a);
    }
    if (!teacher || !student || !task || !out) return cli_usage("distill", "need --teacher, --student, --task and --out");
    r1_taskset ts;
    r1_status s = r1_taskset_parse(&ts, task, dmin, dmax, !full);
    if (s != R1_OK) return cli_usage("distill", "%s", r1_errmsg());
    if (mkdir(out, 0755) != 0 && errno != EEXIST) return cli_fail("distill", r1_fail(R1_IO, "%s: %s", out, strerror(errno)));
    char traces[4096], metrics[4096];
    snprintf(traces, sizeof traces, "%s/traces.jsonl", out);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", out);

    /* 1. the teacher's verified traces */
    r1_policy tp, sp = {0};
    r1_tok *tok = NULL;
    s = cli_rl_load(teacher, threads, &tp, &tok);
    if (s != R1_OK) return cli_fail("distill: teacher", s);
    FILE *f = fopen(traces, "w");
    r1_engine *e = NULL;
    r1_sample_result sr;
    r1_eval_result te = {0}, se = {0};
    if (!f) s = r1_fail(R1_IO, "%s: %s", traces, strerror(errno));
    int64_t ctx = 256 + so.max_new < tp.m->cfg.max_pos ? 256 + so.max_new : tp.m->cfg.max_pos;
    if (s == R1_OK) s = r1_engine_create(&e, tp.m, 128, ctx, 128 + 512);
    so.eos = cli_rl_eos(tp.m, tok);
    if (s == R1_OK) s = r1_sample_best_of(e, tok, &ts, &so, f, &sr);
    r1_engine_destroy(e);
    if (f && fclose(f) != 0 && s == R1_OK) s = r1_fail(R1_IO, "%s: write failed", traces);
    if (s == R1_OK)
        fprintf(stderr, "distill: teacher solved %lld of %lld problems, %lld traces\n", (long long)sr.solved,
                (long long)sr.problems, (long long)sr.kept);
    if (s == R1_OK) s = eval_one(tp.m, tok, &ts, eval_n, so.max_new, &te);
    r1_policy_free(&tp);

    /* 2. a student of another config, SFT on the traces */
    r1_config cfg;
    r1_model *m = NULL;
    r1_sft_example *ex = NULL;
    int64_t n = 0;
    r1_sft_result res;
    if (s == R1_OK) s = r1_config_load(&cfg, student);
    if (s == R1_OK && cfg.vocab < r1_tok_n_vocab(tok))
        s = r1_fail(R1_INVALID, "%s: vocab_size %lld is smaller than the teacher's tokenizer (%d ids)", student,
                    (long long)cfg.vocab, r1_tok_n_vocab(tok));
    if (s == R1_OK) s = r1_model_create_random(&m, &cfg, R1_DT_F32, so.seed, threads);
    if (s == R1_OK) r1_policy_init(&sp, m);
    if (s == R1_OK) s = r1_sft_load_jsonl(traces, tok, &ex, &n);
    sc.metrics = metrics;
    if (s == R1_OK) s = r1_sft_run(&sp, ex, n, &sc, &res);
    if (s == R1_OK) s = eval_one(sp.m, tok, &ts, eval_n, so.max_new, &se);
    if (s == R1_OK) s = cli_rl_save(sp.m, teacher, out);
    if (s == R1_OK) {
        printf("| model | held-out greedy accuracy | format | think tokens |\n|---|---|---|---|\n");
        printf("| teacher %s | %.1f%% | %.1f%% | %.1f |\n", teacher, 100 * te.accuracy, 100 * te.format, te.think_len);
        printf("| student %s (%s, SFT on %lld traces) | %.1f%% | %.1f%% | %.1f |\n", student, cfg.model_type,
               (long long)n, 100 * se.accuracy, 100 * se.format, se.think_len);
        fprintf(stderr, "distill: student in %s\n", out);
    }
    r1_sft_examples_free(ex, n);
    if (sp.m) r1_policy_free(&sp);
    r1_tok_free(tok);
    return s == R1_OK ? 0 : cli_fail("distill", s);
}
