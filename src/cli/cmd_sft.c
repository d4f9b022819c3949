/* r1 sft: supervised fine-tuning on prompt/response JSONL, loss on the
 * response only (src/rl/sft.h); OUT gets the HF folder with the tokenizer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/rl_util.h"
#include "dist/dist.h"
#include "rl/sft.h"

static const char *USAGE =
    "usage: r1 sft -m MODEL --data FILE.jsonl --out DIR [options]\n"
    "  FILE.jsonl: one {\"prompt\": ..., \"response\": ...} object a line (r1 sample writes it).\n"
    "  The prompt gets BOS, the response EOS; cross-entropy on the response tokens only.\n"
    "  --epochs N (default 3)   --steps N (overrides epochs)   --batch B (default 16)\n"
    "  --lr LR (default 1e-3, cosine to lr/10)   --warmup N (default 10)   --wd X (default 0)\n"
    "  --seed S   --threads N (per rank)   --quiet\n"
    "  Under mpirun (make MPI=1) the batch is split over the ranks; rank 0 writes OUT.\n";

int cmd_sft(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *out = NULL;
    int threads = 0;
    r1_sft_cfg c;
    r1_sft_defaults(&c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "--quiet")) { c.quiet = true; continue; }
        if (i + 1 >= argc) return cli_usage("sft", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long n = 0;
        double x = 0;
        int bad = 0;
        if (cli_is(a, "-m") || cli_is(a, "--model")) model = v;
        else if (cli_is(a, "--data")) data = v;
        else if (cli_is(a, "--out")) out = v;
        else if (cli_is(a, "--epochs")) bad = cli_parse_i64(v, &n) || n < 1, c.epochs = n;
        else if (cli_is(a, "--steps")) bad = cli_parse_i64(v, &n) || n < 1, c.max_steps = n;
        else if (cli_is(a, "--batch")) bad = cli_parse_i64(v, &n) || n < 1, c.B = n;
        else if (cli_is(a, "--warmup")) bad = cli_parse_i64(v, &n), c.warmup = n;
        else if (cli_is(a, "--lr")) bad = cli_parse_f64(v, &x) || x <= 0, c.lr = (float)x, c.min_lr = (float)x / 10;
        else if (cli_is(a, "--wd")) bad = cli_parse_f64(v, &x) || x < 0, c.wd = (float)x;
        else if (cli_is(a, "--seed")) bad = cli_parse_i64(v, &n), c.seed = (uint64_t)n;
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &n) || n > 1024, threads = (int)n;
        else return cli_usage("sft", "unknown option '%s'", a);
        if (bad) return cli_usage("sft", "bad value '%s' for %s", v, a);
    }
    if (!model || !data || !out) return cli_usage("sft", "need -m MODEL, --data FILE.jsonl and --out DIR");
    if (mkdir(out, 0755) != 0 && errno != EEXIST) return cli_fail("sft", r1_fail(R1_IO, "%s: %s", out, strerror(errno)));
    r1_policy p;
    r1_tok *tok = NULL;
    r1_status s = cli_rl_load(model, threads, &p, &tok);
    if (s != R1_OK) return cli_fail("sft", s);
    r1_sft_example *ex = NULL;
    int64_t n = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    c.metrics = path;
    s = r1_sft_load_jsonl(data, tok, &ex, &n);
    r1_sft_result res;
    if (s == R1_OK) s = r1_sft_run(&p, ex, n, &c, &res);
    if (s == R1_OK && r1_dist_is_root()) s = cli_rl_save(p.m, model, out);
    if (s == R1_OK && !c.quiet && r1_dist_is_root())
        fprintf(stderr, "sft: %lld examples, %lld steps, loss %.4f -> %.4f in %.1f s; model in %s\n", (long long)n,
                (long long)res.steps, res.first_loss, res.last_loss, res.seconds, out);
    r1_sft_examples_free(ex, n);
    r1_policy_free(&p);
    r1_tok_free(tok);
    return s == R1_OK ? 0 : cli_fail("sft", s);
}
