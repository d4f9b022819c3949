/* bench_model: prefill and decode tokens/s of a ~100M-parameter DeepSeek-MoE
 * (configs/bench-moe-100m.json, random weights) at 1 and 2 threads, f32 and
 * bf16 weights, next to the decode roofline: weight bytes read per token
 * (one embedding row, attention, dense/shared FFN, router, K routed experts,
 * lm_head) divided by the measured memory read bandwidth at that thread count. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "infer/generate.h"
#include "model/model.h"

enum { PROMPT = 128, GEN = 64, REPS = 3 };

static double active_bytes(const r1_config *c, r1_dtype dt) {
    int64_t total, active;
    r1_model_count_params(c, &total, &active);
    return (double)active * (double)r1_dtype_size(dt);
}

/* Best-of-REPS prefill of PROMPT tokens and decode of GEN tokens (greedy). */
static void run(r1_model *m, double *prefill_tps, double *decode_tps) {
    int32_t prompt[PROMPT], out[GEN];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int32_t)((i * 7919 + 13) % m->cfg.vocab);
    r1_gen_params gp = {.max_new = GEN, .sampling = {.temp = 0, .top_p = 1}, .prefill_chunk = PROMPT};
    *prefill_tps = *decode_tps = 0;
    for (int r = 0; r < REPS; r++) {
        r1_gen_stats st;
        int64_t n = 0;
        if (r1_generate(m, prompt, PROMPT, &gp, out, &n, &st) != R1_OK) {
            fprintf(stderr, "bench_model: %s\n", r1_errmsg());
            exit(1);
        }
        double p = PROMPT / st.prefill_s, d = (n - 1) / st.decode_s;
        *prefill_tps = p > *prefill_tps ? p : *prefill_tps;
        *decode_tps = d > *decode_tps ? d : *decode_tps;
    }
}

int main(void) {
    r1_config c;
    if (r1_config_load(&c, "configs/bench-moe-100m.json") != R1_OK) {
        fprintf(stderr, "bench_model: %s\n", r1_errmsg());
        return 1;
    }
    int64_t total, active;
    r1_model_count_params(&c, &total, &active);
    printf("DeepSeek-MoE bench model: %.1fM parameters, %.1fM read per decoded token; isa %s\n", total / 1e6,
           active / 1e6, r1_kernels_get()->isa);
    printf("prompt %d tokens, then %d decoded tokens (greedy), best of %d\n\n", PROMPT, GEN, REPS);
    printf("| weights | threads | prefill tok/s | decode tok/s | read GB/s | decode roofline tok/s | of roofline |\n");
    printf("|---|---|---|---|---|---|---|\n");
    static const r1_dtype dts[] = {R1_DT_F32, R1_DT_BF16};
    for (int di = 0; di < 2; di++)
        for (int th = 1; th <= 2; th++) {
            r1_model *m = NULL;
            if (r1_model_create_random(&m, &c, dts[di], 1, th) != R1_OK) {
                fprintf(stderr, "bench_model: %s\n", r1_errmsg());
                return 1;
            }
            double bw = r1_bench_read_bandwidth(m->pool), pre, dec;
            run(m, &pre, &dec);
            double roof = bw * 1e9 / active_bytes(&c, dts[di]);
            printf("| %s | %d | %.0f | %.1f | %.1f | %.1f | %.0f%% |\n", r1_dtype_name(dts[di]), th, pre, dec, bw, roof,
                   100.0 * dec / roof);
            fflush(stdout);
            r1_model_destroy(m);
        }
    return 0;
}
