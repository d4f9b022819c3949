/* r1 logits: raw little-endian f32 logits [T, vocab] for every prompt position,
 * for checks against reference implementations. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "io/file.h"
#include "model/model.h"

static const char *USAGE =
    "usage: r1 logits -m MODEL --ids \"1 2 3\" [-o FILE] [--threads N]\n"
    "  Runs the whole prompt in one forward pass and writes raw little-endian f32\n"
    "  logits [T, vocab] (row t = after token t) to FILE (atomically) or stdout.\n";

int cmd_logits(int argc, char **argv) {
    cli_common o;
    cli_common_defaults(&o);
    const char *outpath = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) return printf("%s", USAGE), 0;
        if (cli_is(argv[i], "-o") && i + 1 < argc) {
            outpath = argv[++i];
            continue;
        }
        int r = cli_common_opt(&o, argc, argv, &i, "logits");
        if (r < 0) return 2;
        if (r == 0) return cli_usage("logits", "unknown option '%s'", argv[i]);
    }
    if (!o.model) return cli_usage("logits", "missing -m MODEL");
    if (o.prompt) return cli_usage("logits", "-p TEXT needs the tokenizer; give --ids");
    if (!o.ids_text) return cli_usage("logits", "missing --ids");
    int32_t *ids = NULL;
    int64_t T = 0;
    if (cli_parse_ids(o.ids_text, &ids, &T) || T == 0) return cli_usage("logits", "bad --ids '%s'", o.ids_text);
    r1_model *m = NULL;
    r1_status s = r1_model_load(&m, o.model, o.threads);
    if (s != R1_OK) return free(ids), cli_fail("logits", s);
    r1_kvcache kv;
    float *logits = NULL;
    int32_t *slot = calloc((size_t)T, sizeof(int32_t));
    int64_t *pos = malloc((size_t)T * sizeof(int64_t));
    s = r1_kvcache_init(&kv, &m->cfg, 1, T);
    if (s == R1_OK) {
        logits = malloc((size_t)(T * m->cfg.vocab) * sizeof(float));
        if (!logits || !slot || !pos) s = r1_fail(R1_NOMEM, "out of memory");
        for (int64_t t = 0; s == R1_OK && t < T; t++) pos[t] = t;
        r1_batch b = {T, ids, slot, pos};
        if (s == R1_OK) s = r1_model_forward(m, &kv, &b, NULL, T, logits);
        r1_kvcache_free(&kv);
    }
    size_t bytes = (size_t)(T * m->cfg.vocab) * sizeof(float);
    if (s == R1_OK) {
        if (outpath)
            s = r1_file_write_atomic(outpath, logits, bytes);
        else if (fwrite(logits, 1, bytes, stdout) != bytes)
            s = r1_fail(R1_IO, "stdout: write failed");
    }
    free(logits);
    free(slot);
    free(pos);
    free(ids);
    r1_model_destroy(m);
    return s == R1_OK ? 0 : cli_fail("logits", s);
}
