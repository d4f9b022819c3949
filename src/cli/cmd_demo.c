/* r1 demo: the whole R1-Zero story on a laptop-sized budget. Task text ->
 * BPE tokenizer -> tiny DeepSeek-MoE from scratch -> pretraining with
 * held-out early stopping -> evaluation -> R1-Zero GRPO (pure RL from the
 * base, no SFT) -> evaluation -> before/after table, plot, sample responses,
 * an HF folder that `r1 chat` / `r1 generate` load. See docs/GRPO.md for the
 * recipe and the measured numbers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "infer/generate.h"
#include "io/file.h"
#include "rl/corpus.h"
#include "rl/eval.h"
#include "rl/grpo.h"
#include "rl/lm.h"
#include "rl/plot.h"
#include "rl/recipe.h"
#include "tok/bpe_train.h"
#include "tok/chat.h"

static const char *USAGE =
    "usage: r1 demo [--out DIR] [--threads N] [--quick] [options]\n"
    "  Tiny DeepSeek-MoE from scratch -> R1-Zero GRPO -> before/after table (default DIR runs/demo).\n"
    "  --tasks LIST        tasks (default chain)\n"
    "  --difficulty A-B    difficulty range (default 3-4)\n"
    "  --pretrain-steps N  pretraining steps planned (default 6000; stops earlier when the held-out loss does)\n"
    "  --grpo-steps N      GRPO steps (default 400)\n"
    "  --pretrain-s S --grpo-s S   time caps in seconds (default 380, 210): a slower machine runs fewer steps\n"
    "  --pretrain-batch B --pretrain-lr X   pretraining batch (default 8 x 128) and peak lr (default 3e-3)\n"
    "  --eval-n N          held-out problems per task (default 512)\n"
    "  --mix-steps P       share of pretraining documents with worked steps (default 0.35)\n"
    "  --mix-bare P        share without think/answer tags (default 0.1)\n"
    "  --lr X --beta X --group G --prompts P --mu N --max-new N   GRPO settings (5e-5 cosine to 5e-6,\n"
    "                      0.001, 8, 8, 2, 96)\n"
    "  --quick             a 1-minute smoke run (tests)\n";

typedef struct {
    const char *out, *tasks;
    int threads, dmin, dmax;
    double pretrain_s, grpo_s;
    int64_t eval_n, docs, pretrain_steps, pretrain_batch;
    double pretrain_lr;
    r1_corpus_mix mix;
    r1_grpo_cfg g;
    bool quick;
} demo_opts;

/* mkdir -p */
static r1_status make_dirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return r1_fail(R1_INVALID, "bad folder '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return r1_fail(R1_IO, "%s: %s", buf, strerror(errno));
        buf[i] = c;
    }
    return R1_OK;
}

static r1_status write_text(const char *dir, const char *name, const char *text) {
    char *p = r1_path_join(dir, name);
    if (!p) return r1_fail(R1_NOMEM, "out of memory");
    r1_status s = r1_file_write_atomic(p, text, strlen(text));
    free(p);
    return s;
}

static r1_status save_model(const r1_model *m, const char *dir, const char *tj, const char *cj) {
    R1_TRY(r1_model_save(m, dir));
    R1_TRY(write_text(dir, "tokenizer.json", tj));
    return write_text(dir, "tokenizer_config.json", cj);
}

typedef struct {
    r1_eval_result greedy, sampled;
} evals;

static r1_status eval_all(r1_model *m, const r1_tok *tok, const r1_taskset *ts, const demo_opts *o, int32_t eos,
                          evals *res, const char *label) {
    r1_engine *e = NULL;
    int64_t ctx = 64 + o->g.max_new + 64;
    R1_TRY(r1_engine_create(&e, m, 128, ctx < m->cfg.max_pos ? ctx : m->cfg.max_pos, 128 + 512));
    r1_status s = R1_OK;
    for (int k = 0; k < ts->n && s == R1_OK; k++) {
        r1_taskset one = *ts;
        one.task[0] = ts->task[k];
        one.n = 1;
        r1_eval_opts eo = {.n = o->eval_n, .temp = 0.0f, .seed = 11, .max_new = o->g.max_new, .eos = eos};
        s = r1_eval_run(e, tok, &one, &eo, &res[k].greedy, NULL, NULL);
        eo.temp = 1.0f;
        if (s == R1_OK) s = r1_eval_run(e, tok, &one, &eo, &res[k].sampled, NULL, NULL);
        if (s == R1_OK)
            fprintf(stderr,
                    "eval %-6s %-9s greedy acc %.3f fmt %.2f think %.1f (steps %.2f: acc %.2f, direct acc %.2f) | "
                    "sampled acc %.3f fmt %.2f think %.1f (steps %.2f: acc %.2f, direct acc %.2f) | %.1f s\n",
                    label, ts->task[k]->name, res[k].greedy.accuracy, res[k].greedy.format, res[k].greedy.think_len,
                    res[k].greedy.with_steps, res[k].greedy.acc_steps, res[k].greedy.acc_direct, res[k].sampled.accuracy,
                    res[k].sampled.format, res[k].sampled.think_len, res[k].sampled.with_steps,
                    res[k].sampled.acc_steps, res[k].sampled.acc_direct,
                    res[k].greedy.seconds + res[k].sampled.seconds);
    }
    r1_engine_destroy(e);
    return s;
}

static void table(FILE *f, const r1_taskset *ts, const evals *before, const evals *after, int64_t n) {
    fprintf(f, "\n| task | model | accuracy greedy | accuracy sampled T=1 | format rate (sampled) | mean think tokens (sampled) |\n");
    fprintf(f, "|---|---|---|---|---|---|\n");
    for (int k = 0; k < ts->n; k++) {
        const evals *e[2] = {&before[k], &after[k]};
        const char *lab[2] = {"base (pretrained)", "after R1-Zero GRPO"};
        for (int j = 0; j < 2; j++)
            fprintf(f, "| %s | %s | %.1f%% | %.1f%% | %.1f%% | %.1f |\n", ts->task[k]->name, lab[j],
                    100 * e[j]->greedy.accuracy, 100 * e[j]->sampled.accuracy, 100 * e[j]->sampled.format,
                    e[j]->sampled.think_len);
    }
    fprintf(f, "(%lld held-out problems per task)\n", (long long)n);
}

static r1_status show_samples(r1_model *m, const r1_tok *tok, const r1_taskset *ts, const demo_opts *o, int32_t eos) {
    r1_engine *e = NULL;
    R1_TRY(r1_engine_create(&e, m, 2, 64 + o->g.max_new + 64, 256));
    r1_eval_opts eo = {.n = 2, .temp = 0.0f, .seed = 3, .max_new = o->g.max_new, .eos = eos};
    r1_eval_result er;
    r1_rollout_job *jobs = NULL;
    r1_item *items = NULL;
    r1_status s = r1_eval_run(e, tok, ts, &eo, &er, &jobs, &items);
    for (int64_t i = 0; s == R1_OK && i < 2; i++) {
        r1_reward_weights w = r1_reward_defaults();
        r1_reward r = r1_reward_score(items[i].task, &items[i].p, jobs[i].text, jobs[i].len, &w);
        printf("\n%s\n  %s\n  -> %s (expected %s)\n", items[i].prompt, jobs[i].text,
               r.accuracy > 0 ? "correct" : "wrong", items[i].p.answer);
    }
    if (s == R1_OK) r1_eval_free_jobs(jobs, items, 2);
    r1_engine_destroy(e);
    return s;
}

static int parse(demo_opts *o, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "--quick")) {
            o->quick = true;
            continue;
        }
        if (i + 1 >= argc) return cli_usage("demo", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long n = 0;
        double x = 0;
        int bad = 0;
        if (cli_is(a, "--out")) o->out = v;
        else if (cli_is(a, "--tasks")) o->tasks = v;
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &n) || n > 1024, o->threads = (int)n;
        else if (cli_is(a, "--difficulty")) bad = sscanf(v, "%d-%d", &o->dmin, &o->dmax) != 2 || o->dmin < 1 || o->dmax < o->dmin;
        else if (cli_is(a, "--pretrain-s")) bad = cli_parse_f64(v, &x) || x <= 0, o->pretrain_s = x;
        else if (cli_is(a, "--pretrain-batch")) bad = cli_parse_i64(v, &n) || n < 1, o->pretrain_batch = n;
        else if (cli_is(a, "--pretrain-lr")) bad = cli_parse_f64(v, &x) || x <= 0, o->pretrain_lr = x;
        else if (cli_is(a, "--pretrain-steps")) bad = cli_parse_i64(v, &n) || n < 1, o->pretrain_steps = n;
        else if (cli_is(a, "--grpo-steps")) bad = cli_parse_i64(v, &n) || n < 1, o->g.steps = n;
        else if (cli_is(a, "--grpo-s")) bad = cli_parse_f64(v, &x) || x < 0, o->grpo_s = x;
        else if (cli_is(a, "--eval-n")) bad = cli_parse_i64(v, &n) || n < 1, o->eval_n = n;
        else if (cli_is(a, "--docs")) bad = cli_parse_i64(v, &n) || n < 100, o->docs = n;
        else if (cli_is(a, "--mix-steps")) bad = cli_parse_f64(v, &x) || x < 0 || x > 1, o->mix.p_steps = (float)x;
        else if (cli_is(a, "--mix-bare")) bad = cli_parse_f64(v, &x) || x < 0 || x > 1, o->mix.p_bare = (float)x;
        else if (cli_is(a, "--lr")) bad = cli_parse_f64(v, &x) || x <= 0, o->g.lr = (float)x;
        else if (cli_is(a, "--beta")) bad = cli_parse_f64(v, &x) || x < 0, o->g.beta = (float)x;
        else if (cli_is(a, "--group")) bad = cli_parse_i64(v, &n) || n < 2, o->g.G = n;
        else if (cli_is(a, "--prompts")) bad = cli_parse_i64(v, &n) || n < 1, o->g.prompts = n;
        else if (cli_is(a, "--mu")) bad = cli_parse_i64(v, &n) || n < 1, o->g.mu = n;
        else if (cli_is(a, "--max-new")) bad = cli_parse_i64(v, &n) || n < 8, o->g.max_new = n;
        else return cli_usage("demo", "unknown option '%s'", a);
        if (bad) return cli_usage("demo", "bad value '%s' for %s", v, a);
    }
    return -1;
}

int cmd_demo(int argc, char **argv) {
    /* Step counts, not time, decide the run, so it is the same on any machine
     * of an ISA (docs/GRPO.md); the time budgets are only caps for a slow or
     * busy one. Together they keep the demo within 10 minutes: the Zen 5 runs
     * hit neither (256 s, 223 s), an AVX2-only Zen 3 hits both (docs/GRPO.md). */
    demo_opts o = {.out = "runs/demo", .tasks = "chain", .dmin = 3, .dmax = 4, .pretrain_s = 380, .grpo_s = 210,
                   .eval_n = 512, .docs = 200000, .pretrain_steps = 6000, .pretrain_batch = 8,
                   .mix = {.p_steps = 0.35f, .p_bare = 0.1f}};
    r1_grpo_defaults(&o.g);
    o.g.prompts = 8, o.g.G = 8, o.g.max_new = 96, o.g.mu = 2, o.g.lr = 5e-5f, o.g.lr_decay = 0.1f, o.g.beta = 0.001f;
    o.g.steps = 400;
    int r = parse(&o, argc, argv);
    if (r >= 0) return r;
    if (o.quick) o.pretrain_s = 8, o.grpo_s = 6, o.eval_n = 16, o.docs = 5000, o.pretrain_steps = 0, o.g.steps = 100000;
    double t_start = r1_now();
    r1_taskset ts;
    r1_status s = r1_taskset_parse(&ts, o.tasks, o.dmin, o.dmax, 1);
    if (s != R1_OK) return cli_fail("demo", s);
    s = make_dirs(o.out);
    if (s != R1_OK) return cli_fail("demo", s);

    /* 1. task text and a tokenizer learned from it */
    char *text = NULL, *tj = NULL, *cj = NULL;
    size_t len = 0;
    r1_tok *tok = NULL;
    s = r1_corpus_text(&ts, R1_SPLIT_TRAIN, 0, 20000, &o.mix, o.g.seed, &text, &len);
    r1_bpe_train_opts bo = {.vocab_size = 512, .min_frequency = 2, .pattern = R1_RECIPE_PATTERN,
                            .chat_template = R1_CHAT_TEMPLATE_ZERO};
    if (s == R1_OK) s = r1_bpe_train(text, len, &bo, &tj, &cj);
    free(text);
    if (s == R1_OK) s = r1_tok_load_mem(&tok, tj, strlen(tj), cj, strlen(cj));
    if (s != R1_OK) return cli_fail("demo: tokenizer", s);
    int32_t eos = r1_tok_eos(tok);
    fprintf(stderr, "demo: tokenizer of %d ids learned from task text\n", r1_tok_n_vocab(tok));

    /* 2. token streams: training documents and held-out ones (eval split, far from the eval problems) */
    int32_t *train = NULL, *held = NULL;
    int64_t n_train = 0, n_held = 0;
    s = r1_corpus_stream(&ts, R1_SPLIT_TRAIN, 0, o.docs, &o.mix, 1, tok, &train, &n_train);
    if (s == R1_OK) s = r1_corpus_stream(&ts, R1_SPLIT_EVAL, 1000000, 3000, &o.mix, 2, tok, &held, &n_held);
    if (s != R1_OK) return cli_fail("demo: corpus", s);
    fprintf(stderr, "demo: %lld training tokens (%lld documents: %.0f%% worked steps, %.0f%% without tags)\n",
            (long long)n_train, (long long)o.docs, 100 * o.mix.p_steps, 100 * o.mix.p_bare);

    /* 3. a tiny DeepSeek-MoE from scratch */
    r1_config cfg;
    r1_model *m = NULL;
    s = r1_recipe_model(&cfg, r1_tok_n_vocab(tok), r1_tok_bos(tok), eos);
    if (s == R1_OK) s = r1_model_create_random(&m, &cfg, R1_DT_F32, 1, o.threads);
    if (s != R1_OK) return cli_fail("demo: model", s);
    int64_t total, active;
    r1_model_count_params(&cfg, &total, &active);
    fprintf(stderr, "demo: DeepSeek-MoE %lld parameters (%lld active per token): MLA, 1 dense + 3 MoE layers of %lld routed + %lld shared experts\n",
            (long long)total, (long long)active, (long long)cfg.E, (long long)cfg.n_shared);
    r1_policy pol;
    r1_policy_init(&pol, m);

    /* 4. pretraining until the held-out loss stops improving */
    char path[4096];
    snprintf(path, sizeof path, "%s/pretrain_metrics.jsonl", o.out);
    r1_lm_cfg lc;
    r1_lm_defaults(&lc);
    lc.B = 16, lc.T = 128, lc.eval_every = 100, lc.metrics = path, lc.warmup = 30;
    if (o.pretrain_steps > 0) lc.max_steps = o.pretrain_steps, lc.time_cap = o.pretrain_s;
    else lc.time_budget = o.pretrain_s;
    if (o.pretrain_batch > 0) lc.B = o.pretrain_batch;
    if (o.pretrain_lr > 0) lc.lr = (float)o.pretrain_lr, lc.min_lr = (float)o.pretrain_lr / 10;
    r1_lm_result lr;
    s = r1_lm_train(&pol, train, n_train, held, n_held, &lc, &lr);
    free(train);
    free(held);
    if (s != R1_OK) return cli_fail("demo: pretrain", s);
    fprintf(stderr, "demo: pretrained %lld steps in %.0f s (%.0f tok/s), held-out loss %.4f%s\n", (long long)lr.steps,
            lr.seconds, lr.tokens_per_s, lr.best_heldout, lr.early_stopped ? " (stopped improving)" : "");
    snprintf(path, sizeof path, "%s/base", o.out);
    s = save_model(pol.m, path, tj, cj);

    /* 5. evaluation before GRPO */
    evals before[R1_TASKSET_MAX], after[R1_TASKSET_MAX];
    if (s == R1_OK) s = eval_all(pol.m, tok, &ts, &o, eos, before, "base");

    /* 6. R1-Zero GRPO from the base model */
    snprintf(path, sizeof path, "%s/grpo", o.out);
    o.g.ts = ts;
    o.g.first = 10000000;
    o.g.out = path;
    o.g.time_budget = o.grpo_s;
    o.g.eval_every = 0;
    if (s == R1_OK && o.grpo_s > 0) s = r1_grpo_run(&pol, tok, &o.g);
    if (s == R1_OK) s = eval_all(pol.m, tok, &ts, &o, eos, after, "grpo");
    if (s == R1_OK && o.grpo_s > 0) {
        char svg[4096];
        snprintf(svg, sizeof svg, "%s/grpo/plot.svg", o.out);
        s = r1_plot_run(path, svg);
    }
    if (s == R1_OK) {
        printf("\nR1-Zero demo (pure RL from the pretrained base, no SFT)\n");
        table(stdout, &ts, before, after, o.eval_n);
        s = show_samples(pol.m, tok, &ts, &o, eos);
    }
    snprintf(path, sizeof path, "%s/model", o.out);
    if (s == R1_OK) s = save_model(pol.m, path, tj, cj);
    if (s == R1_OK)
        printf("\nmodel: %s (try: echo \"Compute 4+7-2+5+3.\" | ./r1 chat -m %s --temp 0)\nplot: %s/grpo/plot.svg\n"
               "total time %.0f s\n",
               path, path, o.out, r1_now() - t_start);
    r1_policy_free(&pol);
    r1_tok_free(tok);
    free(tj);
    free(cj);
    return s == R1_OK ? 0 : cli_fail("demo", s);
}
