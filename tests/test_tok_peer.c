/* Peer comparison of the tokenizer: runs tests/tok/compare.sh (JS reference
 * tokenizer vs `r1 tokenize` on 6,000 generated strings, for the real
 * DeepSeek-V3/R1, Llama 3.1 and Qwen3 tokenizers and for one trained by
 * `r1 tokenizer-train`) and requires every line of each to agree. Needs node +
 * npm (the script installs the npm peers into tests/peers/node_modules); a
 * failed install fails. */
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

static void check_peer(const char *name) {
    run_script();
    long p = 0, f = -1;
    CHECK(counts(name, &p, &f));
    CHECK(p >= 5000);
    CHECK_EQ_INT(f, 0);
}

TEST(deepseek_v3_matches_js_reference) { check_peer("deepseek"); }
/* Llama 3.1: the tokenizer of R1-Distill-Llama-8B's base */
TEST(llama3_matches_js_reference) { check_peer("llama3"); }
/* Qwen3: Qwen2's pre-tokenizer regex and NFC normalizer (R1-Distill-Qwen) */
TEST(qwen_nfc_matches_js_reference) { check_peer("qwen"); }
TEST(trained_tokenizer_matches_js_reference) { check_peer("trained"); }

int main(void) {
    RUN(deepseek_v3_matches_js_reference);
    RUN(llama3_matches_js_reference);
    RUN(qwen_nfc_matches_js_reference);
    RUN(trained_tokenizer_matches_js_reference);
    TEST_MAIN_END();
}
