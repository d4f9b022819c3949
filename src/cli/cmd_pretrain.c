/* r1 pretrain: train a model from scratch (or resume) on a token file or a
 * built-in task stream; see src/train/pretrain.h and docs/TRAINING.md. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "train/pretrain.h"

static const char *HELP =
    "usage: r1 pretrain --config CFG.json (--data FILE | --task NAME) --out DIR [options]\n"
    "\n"
    "  --config CFG.json   model config (HF config.json keys); ignored when resuming\n"
    "  --data FILE         token file: little-endian uint32 (or int32) ids\n"
    "  --task NAME         built-in synthetic stream instead of --data: copy\n"
    "  --out DIR           run folder: metrics.jsonl, checkpoint/ (HF folder + optimizer + trainer state)\n"
    "  --steps N           optimizer steps (default 1000)\n"
    "  --batch B           sequences per micro-batch (default 8)\n"
    "  --seq T             tokens per sequence (default 128)\n"
    "  --accum N           micro-batches per step (default 1)\n"
    "  --lr LR             peak learning rate (default 3e-4); --min-lr (default lr/10), --warmup N (default 0)\n"
    "  --wd X              AdamW weight decay on matrices (default 0.1); --clip X (default 1.0)\n"
    "  --gamma X           aux-loss-free expert bias step (default 0.001, 0 = off)\n"
    "  --aux-alpha X       sequence-wise balance loss weight (default 0)\n"
    "  --mtp-lambda X      MTP loss weight when the config has num_nextn_predict_layers (default 0.3)\n"
    "  --save-every N      checkpoint period in steps (default 100)\n"
    "  --resume            continue from DIR/checkpoint if it exists\n"
    "  --bf16              bf16 matmuls (f32 master weights and optimizer; AVX512-BF16 where the CPU has it)\n"
    "  --threads N         per rank (default: all CPUs)   --seed S (default 1)   --quiet\n"
    "Under mpirun (make MPI=1) --batch is the global batch, split over the ranks; rank 0 writes DIR.\n";

int cmd_pretrain(int argc, char **argv) {
    r1_pretrain_cfg pc = {.steps = 1000, .save_every = 100, .seed = 1};
    r1_train_opts_default(&pc.opts);
    pc.opts.B = 8;
    pc.opts.T = 128;
    bool min_lr_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help") || cli_is(a, "-h")) {
            fputs(HELP, stdout);
            return 0;
        }
        if (cli_is(a, "--resume")) { pc.resume = true; continue; }
        if (cli_is(a, "--quiet")) { pc.quiet = true; continue; }
        if (cli_is(a, "--bf16")) { pc.opts.bf16 = true; continue; }
        if (i + 1 >= argc) return cli_usage("pretrain", "option '%s' needs a value (or is unknown)", a);
        const char *v = argv[++i];
        long long n = 0;
        double x = 0;
        int bad = 0;
        if (cli_is(a, "--config")) pc.config = v;
        else if (cli_is(a, "--data")) pc.data = v;
        else if (cli_is(a, "--task")) pc.task = v;
        else if (cli_is(a, "--out")) pc.out = v;
        else if (cli_is(a, "--steps")) bad = cli_parse_i64(v, &n) || n < 1, pc.steps = n;
        else if (cli_is(a, "--batch")) bad = cli_parse_i64(v, &n) || n < 1, pc.opts.B = n;
        else if (cli_is(a, "--seq")) bad = cli_parse_i64(v, &n) || n < 1, pc.opts.T = n;
        else if (cli_is(a, "--accum")) bad = cli_parse_i64(v, &n) || n < 1 || n > 1 << 20, pc.opts.accum = (int)n;
        else if (cli_is(a, "--save-every")) bad = cli_parse_i64(v, &n) || n < 1, pc.save_every = n;
        else if (cli_is(a, "--threads")) bad = cli_parse_i64(v, &n) || n > 1024, pc.threads = (int)n;
        else if (cli_is(a, "--seed")) bad = cli_parse_i64(v, &n), pc.seed = (uint64_t)n;
        else if (cli_is(a, "--warmup")) bad = cli_parse_i64(v, &n), pc.opts.warmup = n;
        else if (cli_is(a, "--lr")) bad = cli_parse_f64(v, &x) || x <= 0, pc.opts.lr = (float)x;
        else if (cli_is(a, "--min-lr")) bad = cli_parse_f64(v, &x) || x < 0, pc.opts.min_lr = (float)x, min_lr_set = true;
        else if (cli_is(a, "--wd")) bad = cli_parse_f64(v, &x) || x < 0, pc.opts.weight_decay = (float)x;
        else if (cli_is(a, "--clip")) bad = cli_parse_f64(v, &x) || x < 0, pc.opts.clip = (float)x;
        else if (cli_is(a, "--gamma")) bad = cli_parse_f64(v, &x) || x < 0, pc.opts.bias_gamma = (float)x;
        else if (cli_is(a, "--aux-alpha")) bad = cli_parse_f64(v, &x) || x < 0, pc.opts.aux_alpha = (float)x;
        else if (cli_is(a, "--mtp-lambda")) bad = cli_parse_f64(v, &x) || x < 0, pc.opts.mtp_lambda = (float)x;
        else return cli_usage("pretrain", "unknown option '%s'", a);
        if (bad) return cli_usage("pretrain", "bad value '%s' for %s", v, a);
    }
    if (!min_lr_set) pc.opts.min_lr = pc.opts.lr / 10;
    if (!pc.out) return cli_usage("pretrain", "--out DIR is required");
    if (!pc.config && !pc.resume) return cli_usage("pretrain", "--config CFG.json is required");
    if (pc.data && pc.task) return cli_usage("pretrain", "give --data or --task, not both");
    if (!pc.data && !pc.task) return cli_usage("pretrain", "give --data FILE or --task NAME");
    pc.opts.seed = pc.seed;
    r1_status s = r1_pretrain_run(&pc);
    return s == R1_OK ? 0 : cli_fail("pretrain", s);
}
