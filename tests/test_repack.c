/* test_repack: Q4_K, Q8_0, Q4_0 and Q6_K matrices interleaved by 8 rows
 * (core/repack.h).
 *  - interleaving moves bytes only: every row reads back byte for byte, and
 *    as f32 equals the plain row's dequantization;
 *  - every table's kernels for the interleaved forms (matvec for N = 1..4 and
 *    odd N, the GEMM from qgemm_min_n rows on) against the scalar kernel on
 *    the plain rows, over column ranges of whole groups (columns outside
 *    stay untouched), including codes at the int16 sums' limits;
 *    bit-identical for 1, 2 and 4 threads; the avx512 kernels decode a row
 *    with the bits its batch gives it;
 *  - Q4_K, Q8_0, Q4_0 and Q6_K GGUFs load interleaved where the table has the kernel and
 *    plain with R1_REPACK=0, with the same logits; both save the same file,
 *    and training starts from the same f32 weights. */
#include "test.h"

#include <unistd.h>

#include "core/repack.h"
#include "core/rng.h"
#include "core/threads.h"
#include "io/file.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "train/train.h"
#include "t_logits.h"

static char g_dir[] = "/tmp/r1_test_repack_XXXXXX";

static void fill(r1_rng *rng, float *v, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) v[i] = (2.0f * r1_rng_f32(rng) - 1.0f) * scale;
}

static const r1_dtype TYPES[] = {R1_DT_Q4_K, R1_DT_Q8_0, R1_DT_Q4_0, R1_DT_Q6_K};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

/* A [M, K] matrix of type t from random rows with a different scale per row. */
static void *matrix(r1_rng *rng, r1_dtype t, int64_t M, int64_t K) {
    float *wf = malloc((size_t)(M * K) * 4);
    for (int64_t r = 0; r < M; r++) fill(rng, wf + r * K, K, 0.01f * (float)(1 + r % 13));
    void *w = malloc(r1_dtype_row_bytes(t, M * K));
    r1_from_f32(w, wf, t, M * K);
    free(wf);
    return w;
}

static void *interleaved(const void *w, r1_dtype t, int64_t M, int64_t K) {
    void *w8 = malloc(r1_dtype_row_bytes(t, M * K));
    r1_repack(w8, w, t, M, K);
    return w8;
}

TEST(rows_read_back) {
    r1_rng rng;
    r1_rng_seed(&rng, 21);
    CHECK(r1_repack_ok(R1_DT_Q4_K, 16, 512));
    CHECK(r1_repack_ok(R1_DT_Q8_0, 8, 32));
    CHECK(!r1_repack_ok(R1_DT_Q4_K, 12, 512));        /* not whole groups */
    CHECK(!r1_repack_ok(R1_DT_Q4_K, 16, 384));        /* not whole super-blocks */
    CHECK(!r1_repack_ok(R1_DT_BF16, 16, 512));        /* no interleaved form */
    CHECK(!r1_repack_ok(R1_DT_F16, 16, 512));
    CHECK_EQ_INT(r1_dtype_from_name("q4_K_r8"), -1);   /* never a file type */
    CHECK_EQ_INT(r1_dtype_from_name("q8_0_r8"), -1);
    CHECK_EQ_INT(r1_dtype_from_name("q4_0_r8"), -1);
    CHECK_EQ_INT(r1_dtype_from_name("q6_K_r8"), -1);
    CHECK(r1_repack_ok(R1_DT_Q4_0, 8, 32));
    const int64_t shapes[][2] = {{8, 256}, {24, 768}, {40, 1792}};
    for (int t = 0; t < NTYPES; t++)
        for (int s = 0; s < 3; s++) {
            r1_dtype ty = TYPES[t], t8 = r1_repack_type(ty);
            int64_t M = shapes[s][0], K = shapes[s][1];
            size_t rb = r1_dtype_row_bytes(ty, K);
            void *w = matrix(&rng, ty, M, K), *w8 = interleaved(w, ty, M, K);
            char *row = malloc(rb);
            float *a = malloc((size_t)K * 4), *b = malloc((size_t)K * 4);
            r1_tensor tt = {t8, 2, {M, K}, w8};
            for (int64_t r = 0; r < M; r++) {
                r1_repack_row(row, w8, t8, r, K);
                const char *plain = (const char *)w + (size_t)r * rb;
                if (memcmp(row, plain, rb) != 0)
                    T_FAIL_AT("%s M=%lld K=%lld row %lld differs", r1_dtype_name(ty), (long long)M, (long long)K,
                              (long long)r);
                r1_to_f32(a, plain, ty, K);
                r1_tensor_row_f32(b, &tt, r);
                if (memcmp(a, b, (size_t)K * 4) != 0) T_FAIL_AT("%s row %lld as f32 differs", r1_dtype_name(ty), (long long)r);
            }
            free(w), free(w8), free(row), free(a), free(b);
        }
}

/* Tables with a kernel for t's interleaved form (ref always). */
static int r8_tables(const r1_kernels **tabs, r1_dtype t) {
    int n = 0;
    const r1_kernels *all[] = {r1_kernels_ref(), r1_kernels_avx2(), r1_kernels_avx512()};
    for (int i = 0; i < 3; i++)
        if (all[i] && all[i]->qmatmul[r1_repack_type(t)]) tabs[n++] = all[i];
    return n;
}

/* |y - ref| within 1e-5 of sum_k |x_k| |w_k| (f32 summation order only: the
 * integer block sums are exact in both). */
static void check_close(const char *what, const float *y, const float *yr, const float *x, const void *w, r1_dtype t,
                        int64_t N, int64_t M, int64_t K, int64_t m0, int64_t m1) {
    float *wd = malloc((size_t)(M * K) * 4);
    r1_to_f32(wd, w, t, M * K);
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < M; j++) {
            float got = y[i * M + j];
            if (j < m0 || j >= m1) {
                if (got != -7.0f) {
                    T_FAIL_AT("%s N=%lld M=%lld K=%lld: column %lld outside [%lld, %lld) written", what, (long long)N,
                              (long long)M, (long long)K, (long long)j, (long long)m0, (long long)m1);
                    goto out;
                }
                continue;
            }
            double mag = 0;
            for (int64_t k = 0; k < K; k++) mag += fabs((double)x[i * K + k] * wd[j * K + k]);
            if (!(fabs((double)got - yr[i * M + j]) <= 1e-5 * mag + 1e-30)) {
                T_FAIL_AT("%s N=%lld M=%lld K=%lld at (%lld, %lld): %.9g vs ref %.9g (mag %g)", what, (long long)N,
                          (long long)M, (long long)K, (long long)i, (long long)j, got, yr[i * M + j], mag);
                goto out;
            }
        }
out:
    free(wd);
}

TEST(kernels_match_ref) {
    r1_rng rng;
    r1_rng_seed(&rng, 22);
    /* N: matvec tiles of 1-4 rows, odd N, the GEMM threshold and past it */
    static const int64_t NS[] = {1, 2, 3, 4, 5, 9, 23, 24, 40};
    const int64_t shapes[][4] = {/* M, K, m0, m1 */ {8, 256, 0, 8}, {32, 768, 8, 24}, {48, 1792, 16, 48}, {64, 512, 0, 56}};
    for (int ti = 0; ti < NTYPES; ti++) {
        r1_dtype ty = TYPES[ti], t8 = r1_repack_type(ty);
        const r1_kernels *tabs[4];
        int nt = r8_tables(tabs, ty);
        CHECK(nt >= 1);
        for (int s = 0; s < 4; s++)
            for (int a = 0; a < 9; a++) {
                int64_t N = NS[a], M = shapes[s][0], K = shapes[s][1], m0 = shapes[s][2], m1 = shapes[s][3];
                void *w = matrix(&rng, ty, M, K), *w8 = interleaved(w, ty, M, K);
                float *x = malloc((size_t)(N * K) * 4), *y = malloc((size_t)(N * M) * 4), *yr = malloc((size_t)(N * M) * 4);
                fill(&rng, x, N * K, 1.0f);
                if (N > 2) memset(x + K, 0, (size_t)K * 4); /* an all-zero activation row */
                r1_matmul_cols_k(r1_kernels_ref(), yr, M, x, N, w, ty, K, 0, M);
                for (int t = 0; t < nt; t++) {
                    char what[64];
                    snprintf(what, sizeof what, "%s %s", tabs[t]->isa, r1_dtype_name(t8));
                    for (int64_t i = 0; i < N * M; i++) y[i] = -7.0f;
                    r1_matmul_cols_k(tabs[t], y, M, x, N, w8, t8, K, m0, m1);
                    check_close(what, y, yr, x, w, ty, N, M, K, m0, m1);
                }
                free(w), free(w8), free(x), free(y), free(yr);
            }
    }
}

/* The largest codes against activations of one sign: Q4_K's int16 sum of 8
 * groups reaches 8 * 2 * 15 * 127 = 30480, Q8_0's pairs 2 * 127 * 127 =
 * 32258, Q4_0's block sum 16 * 15 * 127 = 30480, Q6_K's two groups 4 * 63 *
 * 127 = 32004, all next to the int16 limit. */
TEST(largest_codes) {
    int64_t M = 16, K = 512;
    float *wf = malloc((size_t)(M * K) * 4);
    for (int ti = 0; ti < NTYPES; ti++) {
        r1_dtype ty = TYPES[ti], t8 = r1_repack_type(ty);
        const r1_kernels *tabs[4];
        int nt = r8_tables(tabs, ty);
        for (int64_t i = 0; i < M * K; i++) /* Q4_K: min 0, so every other code is 15; Q8_0: +-127; Q4_0:
                                              * d = 1 / -8 from the block's first value, the rest code 15;
                                              * Q6_K likewise per 16: 1 sets the scale, -31/32 is code 63 */
            wf[i] = ty == R1_DT_Q4_K   ? (i % 32 == 0 ? 0.0f : 1.0f)
                    : ty == R1_DT_Q8_0 ? (i % 7 == 0 ? -1.0f : 1.0f)
                    : ty == R1_DT_Q4_0 ? (i % 32 == 0 ? 1.0f : -1.0f)
                                       : (i % 16 == 0 ? 1.0f : -0.96875f);
        void *w = malloc(r1_dtype_row_bytes(ty, M * K));
        r1_from_f32(w, wf, ty, M * K);
        void *w8 = interleaved(w, ty, M, K);
        for (int sign = -1; sign <= 1; sign += 2)
            for (int64_t N = 1; N <= 30; N += 29) {
                float *x = malloc((size_t)(N * K) * 4), *y = malloc((size_t)(N * M) * 4), *yr = malloc((size_t)(N * M) * 4);
                for (int64_t i = 0; i < N * K; i++) x[i] = ty != R1_DT_Q8_0 || i % 7 == 0 ? (float)sign : (float)-sign;
                r1_matmul_cols_k(r1_kernels_ref(), yr, M, x, N, w, ty, K, 0, M);
                for (int t = 0; t < nt; t++) {
                    r1_matmul_cols_k(tabs[t], y, M, x, N, w8, t8, K, 0, M);
                    for (int64_t i = 0; i < N * M; i++) CHECK_NEAR(y[i], yr[i], 1e-3);
                }
                free(x), free(y), free(yr);
            }
        free(w), free(w8);
    }
    free(wf);
}

TEST(threads_identical) {
    r1_pool *pools[3];
    int sizes[3] = {1, 2, 4};
    for (int p = 0; p < 3; p++) CHECK_OK(r1_pool_create(&pools[p], sizes[p]));
    r1_rng rng;
    r1_rng_seed(&rng, 23);
    const int64_t shapes[][3] = {{1, 304, 1024}, {5, 96, 512}, {33, 64, 768}};
    for (int ti = 0; ti < NTYPES; ti++) {
        r1_dtype ty = TYPES[ti], t8 = r1_repack_type(ty);
        const r1_kernels *tabs[4];
        int nt = r8_tables(tabs, ty);
        for (int s = 0; s < 3; s++) {
            int64_t N = shapes[s][0], M = shapes[s][1], K = shapes[s][2];
            void *w = matrix(&rng, ty, M, K), *w8 = interleaved(w, ty, M, K);
            float *x = malloc((size_t)(N * K) * 4);
            fill(&rng, x, N * K, 1.0f);
            for (int t = 0; t < nt; t++) {
                float *y[3];
                for (int p = 0; p < 3; p++) {
                    y[p] = malloc((size_t)(N * M) * 4);
                    r1_matmul_raw_k(tabs[t], pools[p], y[p], x, N, w8, t8, M, K);
                }
                for (int p = 1; p < 3; p++)
                    if (memcmp(y[0], y[p], (size_t)(N * M) * 4) != 0)
                        T_FAIL_AT("%s %s N=%lld: %d threads differ from 1", tabs[t]->isa, r1_dtype_name(t8),
                                  (long long)N, sizes[p]);
                for (int p = 0; p < 3; p++) free(y[p]);
            }
            free(w), free(w8), free(x);
        }
    }
    for (int p = 0; p < 3; p++) r1_pool_destroy(pools[p]);
}

/* The avx512 table's interleaved kernels repeat the GEMM tile's block sums
 * (the codes paired in register), so a row of a batch gets the bits it gets
 * decoded alone, on either side of the GEMM threshold. */
TEST(decode_bits_match_batch) {
    const r1_kernels *k = r1_kernels_avx512();
    if (!k) return;
    r1_rng rng;
    r1_rng_seed(&rng, 24);
    const int64_t M = 48, K = 768;
    for (int ti = 0; ti < NTYPES; ti++) {
        r1_dtype ty = TYPES[ti], t8 = r1_repack_type(ty);
        if (!k->qmatmul[t8]) continue;
        void *w = matrix(&rng, ty, M, K), *w8 = interleaved(w, ty, M, K);
        const int64_t NS[] = {3, k->qgemm_min_n[t8] > 0 ? k->qgemm_min_n[t8] : 4, 30};
        for (int a = 0; a < 3; a++) {
            int64_t N = NS[a];
            float *x = malloc((size_t)(N * K) * 4), *y = malloc((size_t)(N * M) * 4), *y1 = malloc((size_t)M * 4);
            fill(&rng, x, N * K, 1.0f);
            r1_matmul_cols_k(k, y, M, x, N, w8, t8, K, 0, M);
            for (int64_t n = 0; n < N; n++) {
                r1_matmul_cols_k(k, y1, M, x + n * K, 1, w8, t8, K, 0, M);
                if (memcmp(y1, y + n * M, (size_t)M * 4) != 0) {
                    T_FAIL_AT("avx512 %s N=%lld: row %lld decoded alone differs from its batch", r1_dtype_name(t8),
                              (long long)N, (long long)n);
                    break;
                }
            }
            free(x), free(y), free(y1);
        }
        free(w), free(w8);
    }
}

/* The AVX-512 Q4_K decode reads 4 parts of the rows at a time on Intel, 2
 * elsewhere (x86_avx512_r8.c), and takes the high nibbles with GFNI where the
 * CPU has it (x86_avx512_r8_gfni.c): every variant must give the same bits, so
 * the test flips the cached vendor and GFNI bits (a plain static in
 * cpu_features.c) and runs the orders on any machine, the GFNI build where
 * it can run; group counts 1..17 cover the leftovers. */
TEST(decode_parts_agree) {
    const r1_kernels *k = r1_kernels_avx512();
    if (!k) return;
    r1_rng rng;
    r1_rng_seed(&rng, 25);
    r1_cpu *cpu = (r1_cpu *)r1_cpu_get();
    const bool intel = cpu->intel, gfni = cpu->gfni;
    const int variants = gfni ? 4 : 2; /* the GFNI build only where the CPU runs it */
    const int64_t K = 768;
    for (int64_t M = 8; M <= 136; M += 8) {
        void *w = matrix(&rng, R1_DT_Q4_K, M, K), *w8 = interleaved(w, R1_DT_Q4_K, M, K);
        float x[768], y[4][136];
        fill(&rng, x, K, 1.0f);
        for (int v = 0; v < variants; v++) {
            for (int64_t i = 0; i < M; i++) y[v][i] = (float)(-7 - v); /* an unwritten output differs */
            cpu->intel = v & 1, cpu->gfni = v >> 1;
            r1_matmul_cols_k(k, y[v], M, x, 1, w8, R1_DT_Q4_K_R8, K, 0, M);
        }
        cpu->intel = intel, cpu->gfni = gfni;
        for (int v = 1; v < variants; v++)
            if (memcmp(y[0], y[v], (size_t)M * 4) != 0)
                T_FAIL_AT("M=%lld: %d parts%s differ from 2 parts", (long long)M, v & 1 ? 4 : 2, v >> 1 ? " with GFNI" : "");
        free(w), free(w8);
    }
}

static void model_case(r1_dtype ty) {
    const char *json = "{\"model_type\":\"qwen2\",\"vocab_size\":304,\"hidden_size\":256,\"intermediate_size\":512,"
                       "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                       "\"max_position_embeddings\":64,\"rms_norm_eps\":1e-6,\"rope_theta\":10000,"
                       "\"tie_word_embeddings\":false,\"bos_token_id\":1,\"eos_token_id\":2}";
    r1_config c;
    CHECK_OK(r1_config_parse(&c, json, strlen(json), "test"));
    r1_model *src = NULL, *m8 = NULL, *m = NULL;
    char path[256], out8[256], out[256];
    snprintf(path, sizeof path, "%s/%s.gguf", g_dir, r1_dtype_name(ty));
    snprintf(out8, sizeof out8, "%s/from_r8.gguf", g_dir);
    snprintf(out, sizeof out, "%s/from_plain.gguf", g_dir);
    CHECK_OK(r1_model_create_random(&src, &c, R1_DT_F32, 5, 1));
    if (!src) return;
    CHECK_OK(r1_model_save_gguf(src, path, ty, NULL));
    r1_model_destroy(src);
    CHECK_OK(r1_model_load(&m8, path, 2));
    setenv("R1_REPACK", "0", 1);
    CHECK_OK(r1_model_load(&m, path, 2));
    unsetenv("R1_REPACK");
    if (!m8 || !m) return;
    bool has = m8->k->qmatmul[r1_repack_type(ty)] != NULL;
    r1_dtype want = has ? r1_repack_type(ty) : ty;
    CHECK_EQ_INT(m8->w.layers[0].gate.dtype, want);
    CHECK_EQ_INT(m8->w.layers[1].o.dtype, want);
    CHECK_EQ_INT(m8->w.lm_head.dtype, want);
    CHECK_EQ_INT(m8->w.embed.dtype, ty); /* rows are looked up */
    CHECK_EQ_INT(m->w.layers[0].gate.dtype, ty);
    printf("    %s %s: %s", m8->k->isa, r1_dtype_name(ty), has ? "interleaved" : "no interleaved kernel, plain");
    int32_t ids[12] = {1, 17, 250, 3, 99, 42, 7, 7, 180, 64, 5, 299};
    int64_t T = 12, V = c.vocab;
    float *a = malloc((size_t)(T * V) * 4), *b = malloc((size_t)(T * V) * 4);
    CHECK_OK(t_logits(m8, ids, T, a));
    CHECK_OK(t_logits(m, ids, T, b));
    double e = t_max_rel_err(a, b, T * V);
    printf(", logits vs plain rel err %.2e\n", e);
    /* Where the two kernels sum in another f32 order (the kernels agree to
     * ~1e-7 above), an activation lying on a rounding edge can take the
     * neighbouring 8-bit code in one model: avx512 q4_0 moved one code at
     * token 9 of 12, 8.2e-3 from there on (tokens 0-8 within 2e-7). A wrong
     * row gives O(1). */
    CHECK(e <= 2e-2);
    /* saving reads the interleaved rows back: the same file as from the plain model */
    CHECK_OK(r1_model_save_gguf(m8, out8, ty, NULL));
    CHECK_OK(r1_model_save_gguf(m, out, ty, NULL));
    CHECK(t_same_file(out8, out));
    /* training from it starts from the same f32 weights */
    r1_train_opts o;
    r1_train_opts_default(&o);
    o.B = 1, o.T = 8;
    r1_train *t = NULL;
    CHECK_OK(r1_train_create(&t, m8, &o));
    if (t) {
        const r1_tensor *g8 = &m8->w.layers[0].gate, *g = &m->w.layers[0].gate;
        int64_t n = r1_tensor_numel(g);
        float *want = malloc((size_t)n * 4);
        r1_to_f32(want, g->data, g->dtype, n);
        CHECK_EQ_INT(g8->dtype, R1_DT_F32);
        CHECK(memcmp(g8->data, want, (size_t)n * 4) == 0);
        free(want);
        r1_train_destroy(t);
    }
    free(a), free(b);
    r1_model_destroy(m8);
    r1_model_destroy(m);
}

TEST(models_load_interleaved) {
    for (int t = 0; t < NTYPES; t++) model_case(TYPES[t]);
}

int main(void) {
    if (!mkdtemp(g_dir)) return 1;
    RUN(rows_read_back);
    RUN(kernels_match_ref);
    RUN(largest_codes);
    RUN(threads_identical);
    RUN(decode_bits_match_batch);
    RUN(decode_parts_agree);
    RUN(models_load_interleaved);
    r1_file_remove_tree(g_dir);
    TEST_MAIN_END();
}
