/* bench_matmul: Y = X W^T per ISA, weight dtype and thread count on shapes of
 * a ~100M DeepSeek-MoE (D = 512..1024, expert/dense FFN 2816), for decode
 * (N = 1, memory-bound: compare GB/s of weight reads with the measured read
 * bandwidth) and prefill/training (N = 64, compute-bound: GFLOP/s); then the
 * training products and the serial/threaded crossover behind
 * R1_MATMUL_SERIAL_FLOPS. Weights rotate through 256 MB of copies so that
 * every call streams them from DRAM, as decode of a whole model does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/dtype.h"
#include "core/threads.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"

enum { POOL_BYTES = 256 << 20 };

typedef struct {
    const r1_kernels *k;
    r1_pool *pool;
    float *y, *dy, *dw;
    const float *x;
    const char *wbuf;
    r1_dtype t;
    int64_t N, M, K, copies;
} mm_bench;

/* y = x W^T, W cycling through the copies in wbuf. */
static void run_matmul(void *p, int64_t rep) {
    mm_bench *b = p;
    size_t wbytes = r1_dtype_row_bytes(b->t, b->M * b->K);
    r1_matmul_raw_k(b->k, b->pool, b->y, b->x, b->N, b->wbuf + (size_t)(rep % b->copies) * wbytes, b->t, b->M, b->K);
}

static void run_nn(void *p, int64_t rep) {
    mm_bench *b = p;
    (void)rep;
    r1_matmul_nn_k(b->k, b->pool, b->y, b->dy, (const float *)(const void *)b->wbuf, b->N, b->M, b->K, false);
}

static void run_tn(void *p, int64_t rep) {
    mm_bench *b = p;
    (void)rep;
    r1_matmul_tn_k(b->k, b->pool, b->dw, b->dy, b->x, b->N, b->M, b->K);
}

/* One f32 matvec split over the pool regardless of size (to find where
 * threading starts to pay: R1_MATMUL_SERIAL_FLOPS). */
typedef struct {
    const r1_kernels *k;
    r1_pool *pool;
    float *y;
    const float *x;
    const void *w;
    int64_t M, K;
} split_ctx;

static void split_task(void *p, int ith, int nth);
static void run_split(void *p, int64_t rep) {
    (void)rep;
    r1_pool_run(((split_ctx *)p)->pool, split_task, p);
}

static void split_task(void *p, int ith, int nth) {
    split_ctx *c = p;
    int64_t lo, hi;
    r1_split(c->M, ith, nth, 16, &lo, &hi);
    if (lo < hi) c->k->matmul[R1_DT_F32](c->y, c->M, c->x, 1, c->w, c->K, lo, hi);
}

/* Quantized weights at the FFN shapes of R1-Distill-Qwen-1.5B, rotated
 * through wbuf like the float weights; N = 1 is decode, N > 1 the GEMM. */
static void bench_quant(r1_pool *pools[2], char *wbuf) {
    const char *isas[] = {"ref", "avx2", "avx512"};
    printf("\nquantized weights, qwen2-1.5B FFN shapes: GB/s of weights (N = 1) or GFLOP/s = 2NMK per second\n");
    printf("%-7s %-5s %-11s %5s | %9s %9s\n", "isa", "wtype", "M x K", "N", "1t", "2t");
    static const r1_dtype qt[] = {R1_DT_Q8_0, R1_DT_Q4_K, R1_DT_Q6_K};
        const int64_t qshapes[][2] = {{1536, 8960}, {8960, 1536}};
        static const int64_t qn[] = {1, 4, 16, 128};
        float *qx = r1_alloc_aligned((size_t)128 * 8960 * sizeof(float));
        float *qy = r1_alloc_aligned((size_t)128 * 8960 * sizeof(float));
        if (!qx || !qy) return;
        for (int64_t i = 0; i < 128 * 8960; i++) qx[i] = (float)((i * 7) % 23 - 11) * 0.01f;
        /* valid blocks everywhere: quantize one random-ish weight and copy it */
        for (int ii = 1; ii < 3; ii++) {
            const r1_kernels *k = r1_kernels_for(isas[ii]);
            if (!k) continue;
            for (int t = 0; t < 3; t++)
                for (int s = 0; s < 2; s++)
                    for (int ni = 0; ni < 4; ni++) {
                        int64_t M = qshapes[s][0], K = qshapes[s][1], N = qn[ni];
                        size_t wbytes = r1_dtype_row_bytes(qt[t], M * K);
                        float *wf = r1_alloc_aligned((size_t)(M * K) * sizeof(float));
                        if (!wf) return;
                        for (int64_t i = 0; i < M * K; i++) wf[i] = (float)((i * 13) % 31 - 15) * 0.003f;
                        r1_from_f32(wbuf, wf, qt[t], M * K);
                        free(wf);
                        int64_t copies = (int64_t)(POOL_BYTES / wbytes);
                        for (int64_t c = 1; c < copies; c++) memcpy(wbuf + (size_t)c * wbytes, wbuf, wbytes);
                        double sec[2];
                        for (int p = 0; p < 2; p++) {
                            mm_bench b = {k, pools[p], qy, NULL, NULL, qx, wbuf, qt[t], N, M, K, copies};
                            sec[p] = r1_bench_best(run_matmul, &b, 0.1);
                        }
                        double v = N == 1 ? (double)wbytes : 2.0 * (double)(N * M * K);
                        printf("%-7s %-5s %4lldx%-6lld %5lld | %9.1f %9.1f\n", k->isa, r1_dtype_name(qt[t]),
                               (long long)M, (long long)K, (long long)N, v / sec[0] / 1e9, v / sec[1] / 1e9);
                    }
        }
        free(qx), free(qy);
}

int main(int argc, char **argv) {
    r1_pool *pools[2];
    if (r1_pool_create(&pools[0], 1) != R1_OK || r1_pool_create(&pools[1], 2) != R1_OK) return 1;
    const r1_cpu *cpu = r1_cpu_get();
    printf("cpu: %d threads online, avx2=%d avx512f=%d avx512_bf16=%d; default table %s\n", r1_cpu_count(),
           cpu->avx2, cpu->avx512f, cpu->avx512_bf16, r1_kernels_get()->isa);

    FILE *la = fopen("/proc/loadavg", "r");
    double load = 0;
    if (la) {
        if (fscanf(la, "%lf", &load) != 1) load = 0;
        fclose(la);
    }
    if (load > 0.5)
        printf("note: load average %.2f: other processes are running, 2-thread numbers will be unreliable\n", load);
    double bw[2] = {r1_bench_read_bandwidth(pools[0]), r1_bench_read_bandwidth(pools[1])};
    printf("memory read bandwidth (1 GiB read as 1 stream and as 4 parts per thread, best of 8 each): %.1f GB/s at 1 thread, %.1f GB/s at 2\n\n",
           bw[0], bw[1]);

    char *wbuf = r1_alloc_aligned(POOL_BYTES + 4096);
    float *x = r1_alloc_aligned((size_t)64 * 4096 * sizeof(float));
    float *y = r1_alloc_aligned((size_t)64 * 4096 * sizeof(float));
    if (!wbuf || !x || !y) return 1;
    memset(wbuf, 0x3c, POOL_BYTES + 4096); /* 0.0115 as f32/bf16, 1.06 as f16: all normal numbers */
    for (int i = 0; i < 64 * 4096; i++) x[i] = (float)(i % 17) * 0.01f;

    if (argc > 1 && strcmp(argv[1], "quant") == 0) { /* only the quantized table */
        bench_quant(pools, wbuf);
        return 0;
    }
    const int64_t shapes[][2] = {{512, 512}, {1024, 1024}, {2816, 1024}};
    const char *isas[] = {"ref", "avx2", "avx512"};
    printf("Y[N,M] = X[N,K] W[M,K]^T      GB/s = weight bytes read per second; GFLOP/s = 2NMK per second\n");
    printf("%-7s %-5s %-11s %5s | %9s %9s | %9s %9s\n", "isa", "wtype", "M x K", "N", "1t GB/s", "2t GB/s",
           "1t GFLOP", "2t GFLOP");
    for (int ii = 0; ii < 3; ii++) {
        const r1_kernels *k = r1_kernels_for(isas[ii]);
        if (!k) continue;
        for (int s = 0; s < 3; s++)
            for (int t = 0; t < R1_DT_FLOAT_COUNT; t++)
                for (int64_t N = 1; N <= 64; N += 63) {
                    int64_t M = shapes[s][0], K = shapes[s][1];
                    if (ii == 0 && (s != 1 || N != 1)) continue; /* the oracle: one line per dtype is enough */
                    double sec[2];
                    int64_t copies = (int64_t)(POOL_BYTES / ((size_t)(M * K) * r1_dtype_size((r1_dtype)t)));
                    for (int p = 0; p < 2; p++) {
                        mm_bench b = {k, pools[p], y, NULL, NULL, x, wbuf, (r1_dtype)t, N, M, K, copies};
                        sec[p] = r1_bench_best(run_matmul, &b, ii == 0 ? 0.05 : 0.08);
                    }
                    double bytes = (double)(M * K) * (double)r1_dtype_size((r1_dtype)t), flops = 2.0 * N * M * K;
                    printf("%-7s %-5s %4lldx%-6lld %5lld | %9.1f %9.1f | %9.1f %9.1f\n", k->isa,
                           r1_dtype_name((r1_dtype)t), (long long)M, (long long)K, (long long)N, bytes / sec[0] / 1e9,
                           bytes / sec[1] / 1e9, flops / sec[0] / 1e9, flops / sec[1] / 1e9);
                }
    }

    bench_quant(pools, wbuf);

    printf("\ntraining products, f32, N=64 rows, W [2816 x 1024]: GFLOP/s\n");
    printf("%-7s %-22s %9s %9s\n", "isa", "product", "1t", "2t");
    {
        int64_t N = 64, M = 2816, K = 1024;
        float *dy = r1_alloc_aligned((size_t)(N * M) * sizeof(float));
        float *dw = r1_alloc_aligned((size_t)(M * K) * sizeof(float));
        if (!dy || !dw) return 1;
        for (int64_t i = 0; i < N * M; i++) dy[i] = (float)(i % 13) * 0.01f;
        memset(dw, 0, (size_t)(M * K) * sizeof(float));
        for (int ii = 1; ii < 3; ii++) {
            const r1_kernels *k = r1_kernels_for(isas[ii]);
            if (!k) continue;
            for (int prod = 0; prod < 2; prod++) {
                double g[2];
                for (int p = 0; p < 2; p++) {
                    mm_bench b = {k, pools[p], y, dy, dw, x, wbuf, R1_DT_F32, N, M, K, 1};
                    g[p] = 2.0 * N * M * K / r1_bench_best(prod == 0 ? run_nn : run_tn, &b, 0.1) / 1e9;
                }
                printf("%-7s %-22s %9.1f %9.1f\n", k->isa, prod == 0 ? "dX[N,K] = dY W" : "dW[M,K] += dY^T X", g[0],
                       g[1]);
            }
        }
        free(dy);
        free(dw);
    }

    printf("\nserial vs 2 threads (avx512 or best, f32, N=1, M=K), microseconds per call\n");
    printf("%10s %9s %9s\n", "N*M*K", "1t", "2t");
    for (int64_t d = 32; d <= 512; d *= 2) {
        split_ctx c = {r1_kernels_get(), NULL, y, x, wbuf, d, d};
        double us[2];
        for (int p = 0; p < 2; p++) {
            c.pool = pools[p];
            us[p] = r1_bench_best(run_split, &c, 0.03) * 1e6;
        }
        printf("%10lld %9.2f %9.2f\n", (long long)(d * d), us[0], us[1]);
    }
    free(wbuf);
    free(x);
    free(y);
    r1_pool_destroy(pools[0]);
    r1_pool_destroy(pools[1]);
    return 0;
}
