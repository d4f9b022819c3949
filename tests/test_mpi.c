/* test_mpi: data parallelism is exact. `mpirun -np 2` of the MPI build
 * (R1_MPI_BIN, default build-mpi/r1) must log the same per-step losses as one
 * process of this build (R1_BIN) with the same global batch, within 1e-5
 * relative, for pretraining (MoE + MTP + balance loss + expert-bias updates;
 * also on 4 ranks),
 * SFT and GRPO; a checkpoint written by 2 ranks resumes on 1 and the other
 * way round; a batch that does not split over the ranks and a non-MPI binary
 * under mpirun both fail with a clear message. Missing mpirun or a missing
 * MPI build is a failure, not a skip: CI installs OpenMPI (scripts/deps.sh)
 * and `make test` builds build-mpi/r1. */
#include "test.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_run.h"
#include "io/file.h"
#include "model/model.h"
#include "rl/corpus.h"
#include "rl/lm.h"
#include "rl/policy.h"
#include "tok/bpe_train.h"

static char DIR_[64];
static char OUT[1 << 16];

static const char *mpi_bin(void) {
    const char *b = getenv("R1_MPI_BIN");
    return b && *b ? b : "build-mpi/r1";
}

/* The launcher: as root too (CI runs as root), more ranks than cores, and no
 * cross-memory-attach copies (containers forbid the ptrace they need). */
#define MPIRUN "mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none"

/* Runs "mpirun -np n build-mpi/r1 ARGS". */
static int mpi(int n, const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, MPIRUN " -np %d %s %s", n, mpi_bin(), args);
    return sh_cmd(OUT, sizeof OUT, cmd);
}

/* Runs ARGS on 1 process of R1_BIN (ranks == 0) or on `ranks` MPI ranks;
 * prints the output when it fails. */
static bool run_on(int ranks, const char *args) {
    int rc = ranks == 0 ? r1(OUT, sizeof OUT, "%s", args) : mpi(ranks, args);
    if (rc != 0) T_FAIL_AT("exit %d on %d rank(s): %s\n%s", rc, ranks, args, OUT);
    return rc == 0;
}

/* Value of "key" in every line of a metrics.jsonl; returns the line count. */
static int metric(const char *path, const char *key, double *v, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[8192], pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, pat);
        const char *q = p ? p + strlen(pat) : NULL;
        if (q && *q == '[') q++; /* an array (load_max_mean): its first element */
        v[n++] = q ? strtod(q, NULL) : NAN;
    }
    fclose(f);
    return n;
}

/* Every step's key in run a equals run b within 1e-5 relative (plus the
 * 1e-6 quantum of the printed numbers); both logs have `steps` lines. */
static void same_metric(const char *a, const char *b, const char *key, int steps) {
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/%s/metrics.jsonl", DIR_, a);
    snprintf(pb, sizeof pb, "%s/%s/metrics.jsonl", DIR_, b);
    double va[64], vb[64];
    int na = metric(pa, key, va, 64), nb = metric(pb, key, vb, 64);
    if (na != steps || nb != steps) {
        T_FAIL_AT("%s: %d and %d lines in %s and %s, expected %d", key, na, nb, a, b, steps);
        return;
    }
    for (int i = 0; i < steps; i++) {
        double tol = 1e-5 * fmax(fabs(va[i]), fabs(vb[i])) + 1e-6;
        if (!(fabs(va[i] - vb[i]) <= tol))
            T_FAIL_AT("step %d %s: %s %.9g vs %s %.9g (|diff| %.3g > %.3g)", i + 1, key, a, va[i], b, vb[i],
                      fabs(va[i] - vb[i]), tol);
    }
}

/* The comparison must be able to fail: at least one step's key is nonzero. */
static void not_all_zero(const char *run, const char *key, int steps) {
    char p[256];
    double v[64];
    snprintf(p, sizeof p, "%s/%s/metrics.jsonl", DIR_, run);
    int n = metric(p, key, v, 64);
    bool any = false;
    for (int i = 0; i < n && i < steps; i++) any |= v[i] != 0.0 && v[i] == v[i];
    if (!any) T_FAIL_AT("%s: %s is 0 at every step, the comparison would prove nothing", run, key);
}

TEST(launcher_present) {
    if (sh_cmd(OUT, sizeof OUT, "command -v mpirun") != 0)
        T_FAIL_AT("mpirun not found: install openmpi-bin and libopenmpi-dev (scripts/deps.sh does as root)");
    if (access(mpi_bin(), X_OK) != 0) T_FAIL_AT("%s missing: build it with `make MPI=1`", mpi_bin());
}

static const char *PRE = "pretrain --config tests/golden/grad_mtp/config.json --task copy --batch 4 --seq 32 "
                         "--lr 3e-3 --aux-alpha 0.01 --threads 1 --quiet";

/* 2 ranks of 2 sequences and 4 ranks of 1 == 1 process of 4 */
TEST(pretrain_two_and_four_ranks_equal_one) {
    char a[1024];
    snprintf(a, sizeof a, "%s --steps 6 --out %s/p1", PRE, DIR_);
    if (!run_on(0, a)) return;
    const char *keys[] = {"loss", "mtp_loss", "aux_loss", "grad_norm", "load_max_mean"};
    for (int n = 2; n <= 4; n += 2) {
        char run[16], path[256];
        snprintf(run, sizeof run, "p%d", n);
        snprintf(a, sizeof a, "%s --steps 6 --out %s/%s", PRE, DIR_, run);
        if (!run_on(n, a)) return;
        for (int i = 0; i < 5; i++) same_metric("p1", run, keys[i], 6);
        snprintf(path, sizeof path, "%s/%s/checkpoint/model.safetensors", DIR_, run);
        CHECK(access(path, R_OK) == 0);
    }
}

/* 3 steps on n ranks, then --resume to 6 on m ranks == 6 steps on one. */
TEST(pretrain_resumes_on_another_rank_count) {
    const int plan[3][2] = {{0, 0}, {2, 0}, {0, 2}};
    const char *names[3] = {"r00", "r20", "r02"};
    for (int k = 0; k < 3; k++) {
        char a[1024];
        snprintf(a, sizeof a, "%s --steps 3 --out %s/%s", PRE, DIR_, names[k]);
        if (!run_on(plan[k][0], a)) return;
        snprintf(a, sizeof a, "%s --steps 6 --resume --out %s/%s", PRE, DIR_, names[k]);
        if (!run_on(plan[k][1], a)) return;
    }
    same_metric("r00", "r20", "loss", 6);
    same_metric("r00", "r02", "loss", 6);
    same_metric("r00", "r02", "grad_norm", 6);
}

TEST(bad_rank_counts_fail_clearly) {
    char a[1024];
    snprintf(a, sizeof a, "%s --steps 2 --batch 3 --out %s/bad", PRE, DIR_);
    CHECK(mpi(2, a) != 0);
    CHECK(strstr(OUT, "does not split over 2 ranks") != NULL);
    /* the plain build under mpirun would train two unrelated replicas */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, MPIRUN " -np 2 %s %s --steps 2 --out %s/bad2", bin(), PRE, DIR_);
    CHECK(sh_cmd(OUT, sizeof OUT, cmd) != 0);
    CHECK(strstr(OUT, "built without MPI") != NULL);
}

/* ---- SFT and GRPO need a model with a tokenizer that already emits the
 * think/answer format part of the time: pretrained here in a few seconds ---- */

static const char *TOY_MODEL =
    "{\"model_type\": \"deepseek_v3\", \"vocab_size\": %d, \"hidden_size\": 48, \"intermediate_size\": 96,"
    " \"moe_intermediate_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_key_value_heads\": 2,"
    " \"q_lora_rank\": null, \"kv_lora_rank\": 16, \"qk_nope_head_dim\": 16, \"qk_rope_head_dim\": 8,"
    " \"v_head_dim\": 16, \"n_routed_experts\": 4, \"n_shared_experts\": 1, \"num_experts_per_tok\": 2,"
    " \"n_group\": 1, \"topk_group\": 1, \"topk_method\": \"noaux_tc\", \"scoring_func\": \"sigmoid\","
    " \"norm_topk_prob\": true, \"routed_scaling_factor\": 1.0, \"first_k_dense_replace\": 1,"
    " \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000, \"max_position_embeddings\": 128,"
    " \"tie_word_embeddings\": true, \"bos_token_id\": %d, \"eos_token_id\": %d}";

static bool make_toy(const char *dir) {
    r1_taskset ts;
    r1_corpus_mix mix = {.p_steps = 0.0f, .p_bare = 0.5f};
    char *text = NULL, *tj = NULL, *cj = NULL, path[256];
    size_t len = 0;
    r1_tok *tok = NULL;
    CHECK_OK(r1_taskset_parse(&ts, "arith", 1, 1, 1));
    CHECK_OK(r1_corpus_text(&ts, R1_SPLIT_TRAIN, 0, 2000, &mix, 1, &text, &len));
    r1_bpe_train_opts bo = {.vocab_size = 320, .min_frequency = 2, .pattern = NULL};
    CHECK_OK(r1_bpe_train(text, len, &bo, &tj, &cj));
    free(text);
    CHECK_OK(r1_tok_load_mem(&tok, tj, strlen(tj), cj, strlen(cj)));
    int32_t *train = NULL, *held = NULL;
    int64_t nt = 0, nh = 0;
    r1_model *m = NULL;
    if (tok) {
        CHECK_OK(r1_corpus_stream(&ts, R1_SPLIT_TRAIN, 0, 2000, &mix, 1, tok, &train, &nt));
        CHECK_OK(r1_corpus_stream(&ts, R1_SPLIT_EVAL, 0, 100, &mix, 2, tok, &held, &nh));
        char cfg_json[2048];
        snprintf(cfg_json, sizeof cfg_json, TOY_MODEL, r1_tok_n_vocab(tok), r1_tok_bos(tok), r1_tok_eos(tok));
        r1_config cfg;
        CHECK_OK(r1_config_parse(&cfg, cfg_json, strlen(cfg_json), "toy"));
        CHECK_OK(r1_model_create_random(&m, &cfg, R1_DT_F32, 3, 1));
    }
    bool ok = false;
    if (m && train && held) {
        r1_policy pol;
        r1_policy_init(&pol, m);
        r1_lm_cfg lc;
        r1_lm_defaults(&lc);
        lc.B = 8, lc.T = 64, lc.max_steps = 80, lc.warmup = 10, lc.eval_every = 80, lc.eval_windows = 8, lc.quiet = true;
        lc.lr = 1e-2f, lc.min_lr = 1e-3f, lc.patience = 0;
        r1_lm_result lr;
        CHECK_OK(r1_lm_train(&pol, train, nt, held, nh, &lc, &lr));
        CHECK_OK(r1_model_save(pol.m, dir));
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        CHECK_OK(r1_file_write_atomic(path, tj, strlen(tj)));
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        CHECK_OK(r1_file_write_atomic(path, cj, strlen(cj)));
        r1_policy_free(&pol);
        ok = t_failed_checks == 0;
    } else {
        r1_model_destroy(m);
    }
    free(train), free(held), free(tj), free(cj);
    r1_tok_free(tok);
    return ok;
}

static bool toy_ready;

TEST(toy_model) {
    char dir[128];
    snprintf(dir, sizeof dir, "%s/toy", DIR_);
    toy_ready = make_toy(dir);
}

TEST(sft_two_ranks_equal_one) {
    if (!toy_ready) {
        T_FAIL_AT("no toy model");
        return;
    }
    char data[256], a[1024];
    snprintf(data, sizeof data, "%s/pairs.jsonl", DIR_);
    FILE *f = fopen(data, "w");
    for (int i = 0; f && i < 12; i++) /* responses of different lengths: the token mean is global */
        fprintf(f, "{\"prompt\": \"User: Compute %d + %d. Assistant:\", \"response\": \"<think> %d+%d=%d. %s</think> "
                   "<answer> %d </answer>\"}\n", i, 7 * i % 10, i, 7 * i % 10, i + 7 * i % 10, i % 3 ? "" : "done ",
                i + 7 * i % 10);
    if (f) fclose(f);
    snprintf(a, sizeof a, "sft -m %s/toy --data %s --batch 4 --steps 4 --lr 3e-3 --threads 1 --quiet --out %s/s1", DIR_,
             data, DIR_);
    if (!run_on(0, a)) return;
    snprintf(a, sizeof a, "sft -m %s/toy --data %s --batch 4 --steps 4 --lr 3e-3 --threads 1 --quiet --out %s/s2", DIR_,
             data, DIR_);
    if (!run_on(2, a)) return;
    same_metric("s1", "s2", "loss", 4);
    same_metric("s1", "s2", "grad_norm", 4);
}

TEST(grpo_two_ranks_equal_one) {
    if (!toy_ready) {
        T_FAIL_AT("no toy model");
        return;
    }
    const char *args = "grpo -m %s/toy --task arith --difficulty 1 --steps 3 --prompts 4 --group 4 --max-new 24 --mu 2 "
                       "--beta 0.02 --lr 3e-3 --warmup 0 --w-acc 0 --w-fmt 1 --threads 1 --quiet --out %s/%s";
    char a[1024];
    snprintf(a, sizeof a, args, DIR_, DIR_, "g1");
    if (!run_on(0, a)) return;
    snprintf(a, sizeof a, args, DIR_, DIR_, "g2");
    if (!run_on(2, a)) return;
    const char *keys[] = {"reward_mean", "reward_std", "response_len", "loss", "kl", "grad_norm", "entropy", "tokens"};
    for (int i = 0; i < 8; i++) same_metric("g1", "g2", keys[i], 3);
    not_all_zero("g1", "loss", 3);
    not_all_zero("g1", "grad_norm", 3);
}

int main(void) {
    snprintf(DIR_, sizeof DIR_, "/tmp/r1_mpi_%d", (int)getpid());
    mkdir(DIR_, 0755);
    RUN(launcher_present);
    RUN(pretrain_two_and_four_ranks_equal_one);
    RUN(pretrain_resumes_on_another_rank_count);
    RUN(bad_rank_counts_fail_clearly);
    RUN(toy_model);
    RUN(sft_two_ranks_equal_one);
    RUN(grpo_two_ranks_equal_one);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "%s %s", getenv("R1_KEEP") ? "echo kept" : "rm -rf", DIR_);
    if (system(cmd) != 0) printf("    (could not remove %s)\n", DIR_);
    TEST_MAIN_END();
}
