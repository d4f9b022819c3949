/* bench_train: tokens/s and achieved GFLOP/s of one training step (forward,
 * backward, clip, AdamW) of a ~20M-parameter DeepSeek-MoE (bench/bench_train.json:
 * MLA with q-lora, 1 dense + 3 MoE layers of 24 experts, top-2 sigmoid router,
 * 1 shared expert) at B x T = 8 x 128, then the same model and batch in
 * PyTorch (bench/bench_train.py) in the same run: bf16 autocast, fp32 with
 * OpenBLAS, and fp32 with the default BLAS when --netlib is given.
 *   build/bench/bench_train [--threads 2] [--steps 5] [--no-torch] [--netlib]
 * FLOPs counted: 6 x (matmul parameters a token touches) + causal attention
 * (QK^T and PV, forward x3 for forward + backward). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/file.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "train/train.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): on a shared machine the
 * wall clock includes time the threads were descheduled; CPU time does not. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Multiply-adds per token of every matmul (forward), counted from the config. */
static double macs_per_token(const r1_config *c) {
    double D = (double)c->D, H = (double)c->H, qk = (double)(c->Dn + c->Dr);
    double attn = (c->Rq > 0 ? c->Rq * D + H * qk * c->Rq : H * qk * D) + (c->Rkv + c->Dr) * D +
                  H * (c->Dn + c->Dv) * (double)c->Rkv + D * H * c->Dv;
    double tot = (double)c->vocab * D;
    for (int64_t l = 0; l < c->n_layers; l++) {
        tot += attn;
        if (r1_config_layer_is_moe(c, l))
            tot += (double)c->E * D + 3.0 * D * c->moe_ffn * ((double)c->K + (double)c->n_shared);
        else
            tot += 3.0 * D * c->ffn;
    }
    return tot;
}

int main(int argc, char **argv) {
    int threads = 2, steps = 5, torch = 1, netlib = 0, bf16 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-torch")) torch = 0;
        else if (!strcmp(argv[i], "--netlib")) netlib = 1;
        else if (!strcmp(argv[i], "--bf16")) bf16 = 1;
    }
    r1_config c;
    if (r1_config_load(&c, "bench/bench_train.json") != R1_OK) {
        fprintf(stderr, "bench_train: %s\n", r1_errmsg());
        return 1;
    }
    r1_model *m = NULL;
    r1_train *t = NULL;
    r1_train_opts o;
    r1_train_opts_default(&o);
    o.B = 8, o.T = 128;
    o.bf16 = bf16;
    if (r1_model_create_random(&m, &c, R1_DT_F32, 1, threads) != R1_OK || r1_train_create(&t, m, &o) != R1_OK) {
        fprintf(stderr, "bench_train: %s\n", r1_errmsg());
        return 1;
    }
    int64_t total, active, N = o.B * o.T;
    r1_model_count_params(&c, &total, &active);
    int32_t *tok = malloc((size_t)N * sizeof *tok), *tgt = malloc((size_t)N * sizeof *tgt);
    r1_rng rng;
    r1_rng_seed(&rng, 1);
    for (int64_t i = 0; i < N; i++) tok[i] = (int32_t)r1_rng_below(&rng, (uint64_t)c.vocab);
    for (int64_t i = 0; i < N; i++) tgt[i] = (i + 1) % o.T ? tok[i + 1] : (int32_t)r1_rng_below(&rng, (uint64_t)c.vocab);
    r1_train_batch b = {.tokens = tok, .targets = tgt, .weight = NULL};
    double *dt = malloc((size_t)(steps + 1) * sizeof *dt), *ct = malloc((size_t)(steps + 1) * sizeof *ct), fwd_s = 0;
    r1_train_loss L = {0};
    for (int s = 0; s <= steps; s++) {
        double t0 = now_s(), c0 = cpu_s();
        if (r1_train_forward(t, &b, NULL, &L) != R1_OK) return 1;
        if (getenv("R1_BENCH_VERBOSE")) fprintf(stderr, "step %d loss %.6f\n", s, L.loss);
        double t1 = now_s();
        r1_train_backward(t, NULL);
        r1_train_step(t, NULL);
        dt[s] = now_s() - t0;
        ct[s] = cpu_s() - c0;
        if (s) fwd_s += t1 - t0;
    }
    qsort(dt + 1, (size_t)steps, sizeof *dt, cmp_d);
    qsort(ct + 1, (size_t)steps, sizeof *ct, cmp_d);
    double med = dt[1 + steps / 2];
    double attn = 2.0 * (double)c.n_layers * (double)c.H * (double)(c.Dn + c.Dr + c.Dv) * (double)o.T * (double)(o.T + 1) / 2.0 * (double)o.B;
    double flops = 6.0 * macs_per_token(&c) * (double)N + 3.0 * attn;
    printf("model: %s, %.1fM parameters (%.1fM active per token), B x T = %lld x %lld, %d threads, ISA %s\n",
           c.model_type, (double)total / 1e6, (double)active / 1e6, (long long)o.B, (long long)o.T, threads,
           r1_kernels_get()->isa);
    double r1_tps = (double)N / med;
    printf("%s %8.1f tok/s %8.1f ms/step (forward %.1f ms) %6.1f GFLOP/s  loss %.4f\n",
           bf16 ? "r1 bf16:    " : "r1 f32:     ", r1_tps, 1e3 * med,
           1e3 * fwd_s / steps, flops / med / 1e9, L.loss);
    printf("             best %.1f ms/step, CPU time %.1f ms/step (median, all threads)\n", 1e3 * dt[1],
           1e3 * ct[1 + steps / 2]);
    fflush(stdout);
    r1_train_destroy(t);
    r1_model_destroy(m);
    if (!torch) return 0;
    char cmd[512];
    const char *ob = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
    struct {
        const char *label, *env, *mode;
    } runs[] = {{"torch bf16 autocast", "", "bf16"},
                {"torch fp32 OpenBLAS", ob, "fp32"},
                {"torch fp32 default BLAS", "", "fp32"}};
    for (int r = 0; r < 3; r++) {
        if (r == 1 && !r1_file_is_dir(ob)) continue;
        if (r == 2 && !netlib) continue;
        snprintf(cmd, sizeof cmd,
                 "%s%s%s OMP_NUM_THREADS=%d /usr/bin/python3 bench/bench_train.py --threads %d --batch %lld --seq %lld "
                 "--steps %d --modes %s",
                 r == 1 ? "LD_LIBRARY_PATH=" : "", r == 1 ? ob : "", r == 1 ? "" : "", threads, threads, (long long)o.B,
                 (long long)o.T, r == 2 ? 2 : steps, runs[r].mode);
        FILE *p = popen(cmd, "r");
        if (!p) continue;
        char line[256];
        double tps = 0, ms = 0, best = 0, cpu = 0;
        while (fgets(line, sizeof line, p))
            if (sscanf(line, "torch %*s %lf tok/s %lf ms/step best %lf ms cpu %lf", &tps, &ms, &best, &cpu) >= 1) break;
        pclose(p);
        if (tps > 0)
            printf("%-24s %8.1f tok/s %8.1f ms/step %6.1f GFLOP/s  r1 = %.2fx\n"
                   "             best %.1f ms/step (r1 = %.2fx), CPU time %.1f ms/step (r1 = %.2fx)\n",
                   runs[r].label, tps, 1e3 * (double)N / tps, flops * tps / (double)N / 1e9, r1_tps / tps, best,
                   best / (1e3 * dt[1]), cpu, cpu / (1e3 * ct[1 + steps / 2]));
        else
            printf("%-24s (no result: is python3-torch installed?)\n", runs[r].label);
        fflush(stdout);
    }
    free(dt);
    free(ct);
    free(tok);
    free(tgt);
    return 0;
}
