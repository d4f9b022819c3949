/* test_rl_cli: the RL subcommands end to end on the binary (R1_BIN):
 * `r1 demo --quick` (task text -> tokenizer -> tiny MoE -> pretraining ->
 * eval -> GRPO -> eval, table, plot, HF folder), then generate and eval on
 * its model, sample --best-of, sft on a JSONL file, grpo, plot and distill
 * into a dense qwen2-style student; usage errors exit 2. */
#include "test.h"

#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"

static bool file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

static char DIR_[64];

TEST(usage_errors) {
    char out[8192];
    const char *cmds[] = {"grpo", "eval", "sft", "sample", "distill", "plot"};
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(r1(out, sizeof out, "%s --help", cmds[i]), 0);
        CHECK(strstr(out, "usage: r1") != NULL);
        CHECK_EQ_INT(r1(out, sizeof out, "%s", cmds[i]), 2);
    }
    CHECK_EQ_INT(r1(out, sizeof out, "grpo -m x --task nope --out /tmp/x"), 2);
    CHECK(strstr(out, "unknown task") != NULL);
    CHECK_EQ_INT(r1(out, sizeof out, "grpo -m /nonexistent --task chain --out %s/none", DIR_), 1);
    CHECK_EQ_INT(r1(out, sizeof out, "demo --difficulty 3-1"), 2);
}

TEST(demo_quick_then_every_command) {
    static char out[1 << 16];
    char path[256];
    int rc = r1(out, sizeof out, "demo --quick --tasks chain --difficulty 1-2 --out %s/demo", DIR_);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0) {
        printf("%s\n", out);
        return;
    }
    CHECK(strstr(out, "| chain | base (pretrained) |") && strstr(out, "| chain | after R1-Zero GRPO |"));
    snprintf(path, sizeof path, "%s/demo/grpo/plot.svg", DIR_);
    CHECK(file_has(path, "<svg") && file_has(path, "polyline"));
    snprintf(path, sizeof path, "%s/demo/grpo/metrics.jsonl", DIR_);
    CHECK(file_has(path, "\"reward_mean\"") && file_has(path, "\"clip_frac\"") && file_has(path, "\"entropy\""));
    snprintf(path, sizeof path, "%s/demo/grpo/samples.jsonl", DIR_);
    CHECK(file_has(path, "\"completion\"") && file_has(path, "\"advantage\""));
    snprintf(path, sizeof path, "%s/demo/model/tokenizer.json", DIR_);
    CHECK(access(path, R_OK) == 0);

    const char *m = "demo/model";
    CHECK_EQ_INT(r1(out, sizeof out, "generate -m %s/%s -p 'User: Compute 3 + 4. Assistant:' -n 12 --temp 0", DIR_, m), 0);
    CHECK_EQ_INT(r1(out, sizeof out, "eval -m %s/%s --task chain --n 8 --difficulty 1", DIR_, m), 0);
    CHECK(strstr(out, "| chain | 8 |") != NULL);
    CHECK_EQ_INT(r1(out, sizeof out, "sample -m %s/%s --task chain --best-of 4 --problems 8 --difficulty 1 --out %s/s.jsonl",
                    DIR_, m, DIR_), 0);
    CHECK(strstr(out, "problems solved") != NULL);

    snprintf(path, sizeof path, "%s/pairs.jsonl", DIR_);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 8; i++)
        fprintf(f, "{\"prompt\": \"User: Compute %d + 1. Assistant:\", \"response\": \"<think> %d+1=%d. </think> <answer> %d </answer>\"}\n",
                i, i, i + 1, i + 1);
    if (f) fclose(f);
    CHECK_EQ_INT(r1(out, sizeof out, "sft -m %s/%s --data %s --out %s/sft --steps 3 --batch 4", DIR_, m, path, DIR_), 0);
    snprintf(path, sizeof path, "%s/sft/tokenizer.json", DIR_);
    CHECK(access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/bad.jsonl", DIR_);
    f = fopen(path, "w");
    if (f) fprintf(f, "{\"prompt\": 3}\n"), fclose(f);
    CHECK_EQ_INT(r1(out, sizeof out, "sft -m %s/%s --data %s --out %s/sft2", DIR_, m, path, DIR_), 1);
    CHECK(strstr(out, "bad.jsonl:1") != NULL);

    CHECK_EQ_INT(r1(out, sizeof out,
                    "grpo -m %s/%s --task chain --difficulty 1 --out %s/g --steps 2 --prompts 2 --group 4 --max-new 16 "
                    "--mu 2 --beta 0.02 --clip-high 0.28 --loss seq --quiet",
                    DIR_, m, DIR_), 0);
    snprintf(path, sizeof path, "%s/g/metrics.jsonl", DIR_);
    CHECK(file_has(path, "\"step\": 2"));
    CHECK_EQ_INT(r1(out, sizeof out, "plot %s/g -o %s/g/p.svg", DIR_, DIR_), 0);

    snprintf(path, sizeof path, "%s/student.json", DIR_);
    f = fopen(path, "w");
    if (f)
        fprintf(f, "{\"model_type\": \"qwen2\", \"vocab_size\": 512, \"hidden_size\": 32, \"intermediate_size\": 64,"
                   " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
                   " \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-6, \"rope_theta\": 10000,"
                   " \"tie_word_embeddings\": true}\n"),
            fclose(f);
    rc = r1(out, sizeof out, "distill --teacher %s/%s --student %s --task chain --difficulty 1 --out %s/d --problems 16 "
            "--best-of 4 --epochs 1 --eval-n 8", DIR_, m, path, DIR_);
    /* a 10-second teacher may solve nothing; then SFT has no data and says so */
    CHECK(rc == 0 || strstr(out, "no examples") != NULL);
    if (rc == 0) CHECK(strstr(out, "| student") != NULL);
}

int main(void) {
    snprintf(DIR_, sizeof DIR_, "/tmp/r1_rl_cli_%d", (int)getpid());
    mkdir(DIR_, 0755);
    RUN(usage_errors);
    RUN(demo_quick_then_every_command);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    if (system(cmd) != 0) printf("    (could not remove %s)\n", DIR_);
    TEST_MAIN_END();
}
