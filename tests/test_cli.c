/* test_cli: the r1 binary end to end (R1_BIN, default ./r1): exit codes
 * (0 ok, 1 failure, 2 usage), error messages, init -> generate -p/--chat with
 * a real tokenizer, greedy determinism, logits against the golden file. */
#include "test.h"

#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"

TEST(exit_codes_and_messages) {
    char out[8192];
    CHECK_EQ_INT(r1(out, sizeof out, "--help"), 0);
    CHECK(strstr(out, "generate") && strstr(out, "tokenize"));
    CHECK_EQ_INT(r1(out, sizeof out, "no-such-command"), 2);
    CHECK_EQ_INT(r1(out, sizeof out, "generate --help"), 0);
    CHECK_EQ_INT(r1(out, sizeof out, "generate --ids 1"), 2);
    CHECK(strstr(out, "missing -m MODEL") != NULL);
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m tests/golden/ds_v3 --ids 1 --temp -1"), 2);
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m /nonexistent --ids 1"), 1);
    CHECK(strncmp(out, "r1: generate: ", 14) == 0);
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m tests/golden/ds_v3 --ids 999"), 1); /* outside the vocab */
    CHECK(strstr(out, "outside vocab") != NULL);
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m tests/golden/ds_v3 -p hi"), 1); /* no tokenizer.json */
    CHECK(strstr(out, "no tokenizer.json") != NULL);
    CHECK_EQ_INT(r1(out, sizeof out, "init --config /nonexistent.json --out /tmp/x"), 1);
}

TEST(logits_match_golden) {
    char out[256], ids[256] = {0};
    FILE *f = fopen("tests/golden/llama/prompt.txt", "r");
    CHECK(f && fgets(ids, sizeof ids, f));
    if (f) fclose(f);
    ids[strcspn(ids, "\n")] = '\0';
    char path[] = "/tmp/r1_cli_logits_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_EQ_INT(r1(out, sizeof out, "logits -m tests/golden/llama --ids \"%s\" -o %s", ids, path), 0);
    char *got, *ref;
    size_t ng, nr;
    FILE *a = fopen(path, "rb"), *b = fopen("tests/golden/llama/logits.bin", "rb");
    CHECK(a && b);
    if (a && b) {
        got = malloc(1 << 20), ref = malloc(1 << 20);
        ng = fread(got, 1, 1 << 20, a), nr = fread(ref, 1, 1 << 20, b);
        CHECK_EQ_INT(ng, nr);
        CHECK(t_max_rel_err((float *)got, (float *)ref, (int64_t)(nr / 4)) <= 1e-4);
        free(got), free(ref);
    }
    if (a) fclose(a);
    if (b) fclose(b);
    unlink(path);
}

TEST(init_then_generate_text) {
    char dir[] = "/tmp/r1_cli_model_XXXXXX", cfg[600], out[8192], out2[8192];
    CHECK(mkdtemp(dir) != NULL);
    /* the ds_v3 golden config with the tiny tokenizer's vocabulary */
    snprintf(cfg, sizeof cfg, "sed 's/\"vocab_size\": 101/\"vocab_size\": 520/' tests/golden/ds_v3/config.json > %s/cfg.json", dir);
    CHECK(system(cfg) == 0);
    CHECK_EQ_INT(r1(out, sizeof out, "init --config %s/cfg.json --out %s/m --tokenizer tests/tok/tiny --seed 5", dir, dir), 0);
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m %s/m -p 'Hello world' -n 16 --temp 0", dir), 0);
    CHECK_EQ_INT(r1(out2, sizeof out2, "generate -m %s/m -p 'Hello world' -n 16 --temp 0", dir), 0);
    char *t1 = strstr(out, "r1: prompt"), *t2 = strstr(out2, "r1: prompt"); /* drop the timing line */
    CHECK(t1 && t2);
    if (t1 && t2) *t1 = *t2 = '\0';
    CHECK_STR(out, out2); /* greedy is deterministic */
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m %s/m -p 'Hello' --chat -n 8 --seed 2", dir), 0);
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m %s/m -p 'x' --ids 1", dir), 2);
    /* a tokenizer bigger than the config's vocabulary is refused */
    snprintf(cfg, sizeof cfg, "sed 's/\"vocab_size\": 101/\"vocab_size\": 100/' tests/golden/ds_v3/config.json > %s/small.json", dir);
    CHECK(system(cfg) == 0);
    CHECK_EQ_INT(r1(out, sizeof out, "init --config %s/small.json --out %s/m2 --tokenizer tests/tok/tiny", dir, dir), 1);
    CHECK(strstr(out, "vocab_size") != NULL);
    snprintf(cfg, sizeof cfg, "printf 'hi\\n/reset\\nhello\\n' | %s chat -m %s/m -n 6 --seed 1 > /dev/null 2>&1", bin(), dir);
    CHECK(system(cfg) == 0);
    snprintf(cfg, sizeof cfg, "rm -rf %s", dir);
    CHECK(system(cfg) == 0);
}

int main(void) {
    RUN(exit_codes_and_messages);
    RUN(logits_match_golden);
    RUN(init_then_generate_text);
    TEST_MAIN_END();
}
