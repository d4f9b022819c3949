/* Peer comparison of the tokenizer: runs tests/tok/compare.sh (JS reference
 * tokenizer vs `r1 tokenize` on 6,000 generated strings, for the real
 * DeepSeek-V3/R1 tokenizer and for one trained by `r1 tokenizer-train`) and
 * requires every line of both to agree. Needs node + npm (the script installs
 * the npm peer into tests/peers/node_modules); a failed install fails. */
#include "test.h"

static char g_out[1 << 16];
static size_t g_len;

static void run_script(void) {
    if (g_len) return;
    FILE *p = popen("tests/tok/compare.sh 2>&1", "r");
    if (!p) return;
    size_t n;
    while ((n = fread(g_out + g_len, 1, sizeof g_out - 1 - g_len, p)) > 0) g_len += n;
    g_out[g_len] = '\0';
    pclose(p);
    fputs(g_out, stdout);
}

/* Finds "<name>: P passed, F failed" in the script's output. */
static int counts(const char *name, long *pass, long *fail) {
    char key[64];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(g_out, key);
    if (!at && !strncmp(g_out, key + 1, strlen(key) - 1)) at = g_out - 1;
    return at && sscanf(at + strlen(key), "%ld passed, %ld failed", pass, fail) == 2;
}

TEST(deepseek_v3_matches_js_reference) {
    run_script();
    long p = 0, f = -1;
    CHECK(counts("deepseek", &p, &f));
    CHECK(p >= 5000);
    CHECK_EQ_INT(f, 0);
}

TEST(trained_tokenizer_matches_js_reference) {
    run_script();
    long p = 0, f = -1;
    CHECK(counts("trained", &p, &f));
    CHECK(p >= 5000);
    CHECK_EQ_INT(f, 0);
}

int main(void) {
    RUN(deepseek_v3_matches_js_reference);
    RUN(trained_tokenizer_matches_js_reference);
    TEST_MAIN_END();
}
