/* r1 sample --best-of N: rejection sampling of verified traces into JSONL
 * (src/rl/sample.h), the SFT data of the R1 recipe. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/rl_util.h"
#include "rl/sample.h"

static const char *USAGE =
    "usage: r1 sample -m MODEL --task NAME --best-of N --out FILE.jsonl [options]\n"
    "  Samples N completions for each of --problems train-split problems and keeps the\n"
    "  verified, well-formed ones as {\"prompt\", \"response\", \"task\", \"answer\"} lines.\n"
    "  --problems K (default 256)   --temp T (default 1)   --max-new N (default 64)\n"
    "  --difficulty A-B (default 1-2)   --keep-all (every verified trace, not one per problem)\n"
    "  --first I (first problem index, default 20000000)   --full-prompt   --seed S   --threads N\n";

int cmd_sample(int argc, char **argv) {
    const char *model = NULL, *task = NULL, *out = NULL;
    int threads = 0, dmin = 1, dmax = 2, full = 0;
    r1_sample_opts o = {.first = 20000000, .problems = 256, .N = 0, .temp = 1.0f, .max_new = 64, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "--keep-all")) { o.keep_all = true; continue; }
        if (cli_is(a, "--full-prompt")) { full = 1; continue; }
        if (i + 1 >= argc) return cli_usage("sample", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long n = 0;
        double x = 0;
        int bad = 0;
        if (cli_is(a, "-m") || cli_is(a, "--model")) model = v;
        else if (cli_is(a, "--task")) task = v;
        else if (cli_is(a, "--out")) out = v;
        else if (cli_is(a, "--best-of")) bad = cli_parse_i64(v, &n) || n < 1 || n > 4096, o.N = n;
        else if (cli_is(a, "--problems")) bad = cli_parse_i64(v, &n) || n < 1, o.problems = n;
        else if (cli_is(a, "--first")) bad = cli_parse_i64(v, &n), o.first = (uint64_t)n;
        else if (cli_is(a, "--max-new")) bad = cli_parse_i64(v, &n) || n < 1, o.max_new = n;
        else if (cli_is(a, "--temp")) bad = cli_parse_f64(v, &x) || x < 0, o.temp = (float)x;
        else if (cli_is(a, "--difficulty")) bad = cli_parse_range(v, &dmin, &dmax);
        else if (cli_is(a, "--seed")) bad = cli_parse_i64(v, &n), o.seed = (uint64_t)n;
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &n) || n > 1024, threads = (int)n;
        else return cli_usage("sample", "unknown option '%s'", a);
        if (bad) return cli_usage("sample", "bad value '%s' for %s", v, a);
    }
    if (!model || !task || !out || !o.N) return cli_usage("sample", "need -m MODEL, --task NAME, --best-of N and --out FILE");
    r1_taskset ts;
    r1_status s = r1_taskset_parse(&ts, task, dmin, dmax, !full);
    if (s != R1_OK) return cli_usage("sample", "%s", r1_errmsg());
    r1_policy p;
    r1_tok *tok = NULL;
    s = cli_rl_load(model, threads, &p, &tok);
    if (s != R1_OK) return cli_fail("sample", s);
    FILE *f = fopen(out, "w");
    if (!f) s = r1_fail(R1_IO, "%s: %s", out, strerror(errno));
    r1_engine *e = NULL;
    int64_t ctx = 256 + o.max_new < p.m->cfg.max_pos ? 256 + o.max_new : p.m->cfg.max_pos;
    if (s == R1_OK) s = r1_engine_create(&e, p.m, 128, ctx, 128 + 512);
    o.eos = cli_rl_eos(p.m, tok);
    r1_sample_result res;
    if (s == R1_OK) s = r1_sample_best_of(e, tok, &ts, &o, f, &res);
    if (f && fclose(f) != 0 && s == R1_OK) s = r1_fail(R1_IO, "%s: write failed", out);
    if (s == R1_OK)
        fprintf(stderr, "sample: %lld of %lld problems solved (best of %lld), %lld traces kept, %.1f s (%.0f tok/s)\n",
                (long long)res.solved, (long long)res.problems, (long long)o.N, (long long)res.kept, res.seconds,
                (double)res.generated / (res.seconds + 1e-12));
    r1_engine_destroy(e);
    r1_policy_free(&p);
    r1_tok_free(tok);
    return s == R1_OK ? 0 : cli_fail("sample", s);
}
