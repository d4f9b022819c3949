/* bench_rollout [THREADS [CFG.json]]: GRPO rollout throughput (generated
 * tokens/s) of the demo model (src/rl/recipe.h; or CFG.json), random f32 weights: G = 16 completions of one
 * prompt decoded together by the continuous-batching engine (one model call
 * per step for all 16 rows) versus the same 16 completions one at a time
 * with r1_generate (single-stream decode). Sampling at T = 1 with no stop
 * token, so every completion has exactly GEN tokens. Best of 3. The engine
 * prefills the shared prompt once (batch.c's prefix sharing); r1_generate
 * prefills it for every completion, as separate requests would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "infer/generate.h"
#include "rl/recipe.h"
#include "rl/rollout.h"

enum { G = 16, PROMPT = 24, GEN = 64, REPS = 3, VOCAB = 320 };

static double batched(r1_model *m, const int32_t *prompt) {
    r1_engine *e = NULL;
    if (r1_engine_create(&e, m, G, PROMPT + GEN + 1, G + 512) != R1_OK) {
        fprintf(stderr, "bench_rollout: %s\n", r1_errmsg());
        exit(1);
    }
    double best = 0;
    for (int r = 0; r < REPS; r++) {
        r1_rollout_job jobs[G];
        for (int i = 0; i < G; i++) jobs[i] = (r1_rollout_job){.prompt = prompt, .n_prompt = PROMPT, .seed = (uint64_t)(r * G + i)};
        r1_rollout_opts o = {.max_new = GEN, .temp = 1.0f, .top_p = 1.0f, .eos = -1, .stop = NULL};
        int64_t gen = 0;
        double t0 = r1_bench_now();
        if (r1_rollout_run(e, NULL, jobs, G, &o, &gen) != R1_OK) {
            fprintf(stderr, "bench_rollout: %s\n", r1_errmsg());
            exit(1);
        }
        double tps = (double)gen / (r1_bench_now() - t0);
        best = tps > best ? tps : best;
        r1_rollout_jobs_free(jobs, G);
    }
    r1_engine_destroy(e);
    return best;
}

static double single(r1_model *m, const int32_t *prompt) {
    double best = 0;
    int32_t out[GEN];
    for (int r = 0; r < REPS; r++) {
        int64_t total = 0;
        double t0 = r1_bench_now();
        for (int i = 0; i < G; i++) {
            r1_gen_params gp = {.max_new = GEN, .sampling = {.temp = 1.0f, .top_p = 1.0f, .seed = (uint64_t)(r * G + i)}};
            int64_t n = 0;
            if (r1_generate(m, prompt, PROMPT, &gp, out, &n, NULL) != R1_OK) {
                fprintf(stderr, "bench_rollout: %s\n", r1_errmsg());
                exit(1);
            }
            total += n;
        }
        double tps = (double)total / (r1_bench_now() - t0);
        best = tps > best ? tps : best;
    }
    return best;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    r1_config c;
    r1_model *m = NULL;
    r1_status st = argc > 2 ? r1_config_load(&c, argv[2]) : r1_recipe_model(&c, VOCAB, 0, 1);
    if (st != R1_OK || r1_model_create_random(&m, &c, R1_DT_F32, 1, threads) != R1_OK) {
        fprintf(stderr, "bench_rollout: %s\n", r1_errmsg());
        return 1;
    }
    int64_t total, active;
    r1_model_count_params(&c, &total, &active);
    int32_t prompt[PROMPT];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int32_t)((i * 37 + 5) % VOCAB);
    if (c.vocab < VOCAB) return fprintf(stderr, "bench_rollout: vocab below %d\n", VOCAB), 1;
    double s = single(m, prompt), b = batched(m, prompt);
    double load[3] = {0};
    getloadavg(load, 3); /* the VM is shared: a number means little without the load it ran under */
    printf("rollouts: %s (%.2fM params), prompt %d, %d new tokens each, T=1, %d threads, load average %.2f\n",
           argc > 2 ? argv[2] : "demo DeepSeek-MoE", (double)total / 1e6, PROMPT, GEN, threads, load[0]);
    printf("| decode | generated tokens/s |\n|---|---|\n");
    printf("| single stream (16 x r1_generate) | %.0f |\n", s);
    printf("| G = 16 in one batch (r1_engine) | %.0f |\n", b);
    printf("speedup %.1fx (target >= 6x)\n", b / s);
    r1_model_destroy(m);
    return 0;
}
