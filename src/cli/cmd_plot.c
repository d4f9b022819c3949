/* r1 plot: metrics.jsonl of a run folder -> SVG line plots (src/rl/plot.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "io/file.h"
#include "rl/plot.h"

static const char *USAGE =
    "usage: r1 plot RUN_DIR [-o FILE.svg]\n"
    "  Draws reward, accuracy, length, KL/clip and entropy (GRPO runs) or loss (pretraining)\n"
    "  from RUN_DIR/metrics.jsonl into RUN_DIR/plot.svg (or FILE.svg).\n";

int cmd_plot(int argc, char **argv) {
    const char *run = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) return printf("%s", USAGE), 0;
        if (cli_is(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-' && !run) run = argv[i];
        else return cli_usage("plot", "unexpected argument '%s'", argv[i]);
    }
    if (!run) return cli_usage("plot", "need RUN_DIR");
    char path[4096];
    if (!out) {
        snprintf(path, sizeof path, "%s/plot.svg", run);
        out = path;
    }
    r1_status s = r1_plot_run(run, out);
    if (s != R1_OK) return cli_fail("plot", s);
    printf("%s\n", out);
    return 0;
}
