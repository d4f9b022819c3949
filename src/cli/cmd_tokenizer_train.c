/* r1 tokenizer-train FILE --vocab N --out tokenizer.json: learns a byte-level
 * BPE tokenizer (src/tok/bpe_train.c) and writes tokenizer.json plus
 * tokenizer_config.json next to it (--out may also name a folder). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "tok/bpe_train.h"

static const char USAGE[] =
    "usage: r1 tokenizer-train FILE --vocab N --out PATH [--min-frequency F] [--pattern REGEX]\n"
    "  FILE               training text (UTF-8; '-' = stdin)\n"
    "  --vocab N          total vocab size including 6 added tokens (e.g. 2048..8192)\n"
    "  --out PATH         tokenizer.json to write, or a folder; tokenizer_config.json goes next to it\n"
    "  --min-frequency F  stop when the best pair occurs fewer than F times (default 2)\n"
    "  --pattern REGEX    pre-tokenizer split regex (default: GPT-style, digits in runs of 1-3)\n";

static int write_file(const char *path, const char *text) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    bad |= fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) return remove(tmp), -1;
    return 0;
}

int cmd_tokenizer_train(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    r1_bpe_train_opts o = {.min_frequency = 2};
    for (int i = 1; i < argc; i++) {
        long long v;
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (cli_is(argv[i], "--vocab") && i + 1 < argc) {
            if (cli_parse_i64(argv[++i], &v) || v > (1 << 20)) return cli_usage("tokenizer-train", "tokenizer-train: bad --vocab '%s'", argv[i]);
            o.vocab_size = (int32_t)v;
        } else if (cli_is(argv[i], "--min-frequency") && i + 1 < argc) {
            if (cli_parse_i64(argv[++i], &v)) return cli_usage("tokenizer-train", "tokenizer-train: bad --min-frequency '%s'", argv[i]);
            o.min_frequency = v;
        } else if (cli_is(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (cli_is(argv[i], "--pattern") && i + 1 < argc) {
            o.pattern = argv[++i];
        } else if (argv[i][0] != '-' || !strcmp(argv[i], "-")) {
            if (in) return cli_usage("tokenizer-train", "tokenizer-train: more than one input file");
            in = argv[i];
        } else {
            return cli_usage("tokenizer-train", "tokenizer-train: unknown argument '%s'", argv[i]);
        }
    }
    if (!in || !out || !o.vocab_size) return cli_usage("tokenizer-train", "tokenizer-train: FILE, --vocab and --out are required");
    FILE *f = strcmp(in, "-") ? fopen(in, "rb") : stdin;
    if (!f) return cli_fail("tokenizer-train", r1_fail(R1_IO, "%s: %s", in, strerror(errno)));
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    for (size_t got; text; n += got) {
        if (n == cap) {
            char *nt = realloc(text, cap *= 2);
            if (!nt) free(text);
            text = nt;
            if (!text) break;
        }
        if (!(got = fread(text + n, 1, cap - n, f))) break;
    }
    if (f != stdin) fclose(f);
    if (!text) return cli_fail("tokenizer-train", r1_fail(R1_NOMEM, "out of memory reading %s", in));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *tj, *cj;
    r1_status s = r1_bpe_train(text, n, &o, &tj, &cj);
    free(text);
    if (s) return cli_fail("tokenizer-train", s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char tpath[4096], cpath[4096];
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(tpath, sizeof tpath, "%s/tokenizer.json", out);
    else snprintf(tpath, sizeof tpath, "%s", out);
    const char *slash = strrchr(tpath, '/');
    snprintf(cpath, sizeof cpath, "%.*stokenizer_config.json", slash ? (int)(slash - tpath + 1) : 0, tpath);
    int bad = write_file(tpath, tj) || write_file(cpath, cj);
    free(tj), free(cj);
    if (bad) return cli_fail("tokenizer-train", r1_fail(R1_IO, "cannot write %s or %s", tpath, cpath));
    fprintf(stderr, "r1: tokenizer-train: %zu bytes -> %s (%.2f s)\n", n, tpath,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    return 0;
}
