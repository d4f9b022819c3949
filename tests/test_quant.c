/* test_quant: the quantized types.
 *  - the quantizers give llama.cpp's block bytes exactly (ggml_quantize_chunk
 *    of the npm peer, which runs the quantize_row_*_ref algorithms), on random
 *    rows, rows with all-zero blocks, wide dynamic ranges and constant rows;
 *    the peer is installed on demand and its absence is a failure;
 *  - round trips stay within each type's error bound; NaN/Inf never crash;
 *  - every SIMD quantized matmul against its scalar twin in ref.c (random
 *    data, odd block counts, M not a multiple of 4, N = 1..9 and GEMM
 *    shapes over several activation blocks and column ranges, all-zero
 *    blocks, extreme codes), bit-identical for 1, 2 and 4 threads, and close
 *    to the f32 product of the dequantized weights. */
#include "test.h"

#include "core/dtype.h"
#include "core/rng.h"
#include "core/threads.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "peer_llamacpp.h"

static const r1_dtype QT[] = {R1_DT_Q8_0, R1_DT_Q4_0, R1_DT_Q4_K, R1_DT_Q6_K};
static const int GGML_OF[] = {[R1_DT_Q8_0] = GGML_TYPE_Q8_0_, [R1_DT_Q4_0] = GGML_TYPE_Q4_0_,
                              [R1_DT_Q4_K] = GGML_TYPE_Q4_K_, [R1_DT_Q6_K] = GGML_TYPE_Q6_K_};
enum { NQT = 4 };

static void fill(r1_rng *rng, float *v, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) v[i] = (2.0f * r1_rng_f32(rng) - 1.0f) * scale;
}

/* Rows that exercise the quantizers' branches: gaussian-ish, all-zero
 * blocks, one huge outlier per block, all-positive, constant, tiny. */
static void make_rows(r1_rng *rng, float *x, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        float *v = x + r * n;
        switch (r % 7) {
        case 0: fill(rng, v, n, 1.0f); break;
        case 1:
            fill(rng, v, n, 0.02f);
            for (int64_t i = 0; i < n; i += 64) memset(v + i, 0, 32 * sizeof(float)); /* zero 32-blocks */
            memset(v, 0, (size_t)(n < 256 ? n : 256) * sizeof(float)); /* a zero super-block */
            break;
        case 2:
            fill(rng, v, n, 0.01f);
            for (int64_t i = 0; i < n; i += 16) v[i + (r1_rng_u64(rng) % 16)] = 30.0f * (r1_rng_f32(rng) - 0.5f);
            break;
        case 3:
            for (int64_t i = 0; i < n; i++) v[i] = r1_rng_f32(rng) * 5.0f;
            break;
        case 4:
            for (int64_t i = 0; i < n; i++) v[i] = 0.75f;
            break;
        case 5: fill(rng, v, n, 1e-6f); break;
        default:
            for (int64_t i = 0; i < n; i++) v[i] = (float)((double)(r1_rng_f32(rng) - 0.5f) * 1000.0);
        }
    }
}

TEST(quantizers_match_llamacpp_bytes) {
    peer_llama p;
    char err[512];
    if (peer_open(&p, err, sizeof err) != 0) {
        T_FAIL_AT("llama.cpp peer unavailable: %s", err);
        return;
    }
    r1_rng rng;
    r1_rng_seed(&rng, 11);
    const int64_t rows = 14, n = 1024;
    float *x = malloc((size_t)(rows * n) * sizeof(float));
    make_rows(&rng, x, rows, n);
    for (int t = 0; t < NQT; t++) {
        size_t bytes = (size_t)rows * r1_dtype_row_bytes(QT[t], n);
        unsigned char *a = malloc(bytes), *b = malloc(bytes);
        r1_from_f32(a, x, QT[t], rows * n);
        size_t got = p.ggml_quantize_chunk(GGML_OF[QT[t]], x, b, 0, rows, n, NULL);
        CHECK_EQ_INT(got, bytes);
        size_t bad = 0, first = bytes;
        for (size_t i = 0; i < bytes; i++)
            if (a[i] != b[i]) bad++, first = first < i ? first : i;
        if (bad)
            T_FAIL_AT("%s: %zu of %zu bytes differ from ggml_quantize_chunk (first at %zu: %d vs %d)",
                      r1_dtype_name(QT[t]), bad, bytes, first, a[first], b[first]);
        free(a);
        free(b);
    }
    free(x);
}

TEST(round_trip_error_bounds) {
    r1_rng rng;
    r1_rng_seed(&rng, 12);
    const int64_t n = 4096;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    void *q = malloc(r1_dtype_row_bytes(R1_DT_Q8_0, n));
    fill(&rng, x, n, 1.0f);
    /* relative RMS error per type on uniform data: 8 bits ~0.5%, 4 bits ~8% */
    static const double bound[] = {[R1_DT_Q8_0] = 0.006, [R1_DT_Q4_0] = 0.09, [R1_DT_Q4_K] = 0.07,
                                   [R1_DT_Q6_K] = 0.02};
    for (int t = 0; t < NQT; t++) {
        r1_from_f32(q, x, QT[t], n);
        r1_to_f32(y, q, QT[t], n);
        double e2 = 0, x2 = 0, worst = 0;
        for (int64_t i = 0; i < n; i++) {
            e2 += (double)(x[i] - y[i]) * (x[i] - y[i]);
            x2 += (double)x[i] * x[i];
            worst = fabs(x[i] - y[i]) > worst ? fabs(x[i] - y[i]) : worst;
        }
        double rel = sqrt(e2 / x2);
        printf("    %-5s rel rms err %.4f, max abs err %.4f\n", r1_dtype_name(QT[t]), rel, worst);
        CHECK(rel <= bound[QT[t]]);
        if (QT[t] == R1_DT_Q8_0) CHECK(worst <= 1.0 / 254 * 1.01 + 1e-3); /* half a step of amax/127 */
    }
    /* zeros stay zeros; NaN/Inf give defined bytes (ASan/UBSan watch) */
    memset(x, 0, n * sizeof(float));
    for (int t = 0; t < NQT; t++) {
        r1_from_f32(q, x, QT[t], n);
        r1_to_f32(y, q, QT[t], n);
        int nz = 0;
        for (int64_t i = 0; i < n; i++) nz += y[i] != 0.0f;
        CHECK_EQ_INT(nz, 0);
        x[5] = NAN, x[300] = INFINITY, x[301] = -INFINITY, x[700] = 1e38f;
        r1_from_f32(q, x, QT[t], n);
        r1_to_f32(y, q, QT[t], n);
        memset(x, 0, n * sizeof(float));
    }
    free(x), free(y), free(q);
}

/* Reference product of quantized activations with quantized weights, and the
 * magnitude sum_k |x_k w_k| of the dequantized operands. */
static void mag_of(float *mag, const float *x, const float *wd, int64_t N, int64_t M, int64_t K) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < M; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += fabs((double)x[i * K + k] * wd[j * K + k]);
            mag[i * M + j] = (float)s;
        }
}

/* The activations as the kernels see them: quantized, then widened. */
static float *act_dequant(r1_dtype wt, const float *x, int64_t N, int64_t K) {
    size_t rb = r1_act_row_bytes(wt, K);
    char *q = malloc(rb);
    float *out = malloc((size_t)(N * K) * 4);
    for (int64_t i = 0; i < N; i++) {
        r1_act_quantize(wt, q, x + i * K, K);
        for (int64_t k = 0; k < K; k++) {
            if (r1_dtype_block(wt) == 32) {
                const r1_act_q8 *b = (const r1_act_q8 *)q + k / 32;
                out[i * K + k] = b->d * b->qs[k % 32];
            } else {
                const r1_act_q8K *b = (const r1_act_q8K *)q + k / 256;
                int e = (int)(k % 256);
                out[i * K + k] = b->d * b->qs[wt == R1_DT_Q4_K ? r1_act_q4_K_pos(e) : e];
            }
        }
    }
    free(q);
    return out;
}

static const r1_kernels *simd[4];

static int simd_tables(void) {
    int n = 0;
    if (r1_kernels_avx2()) simd[n++] = r1_kernels_avx2();
    if (r1_kernels_avx512()) simd[n++] = r1_kernels_avx512();
    simd[n] = NULL;
    return n;
}

TEST(qmatmul_matches_ref) {
    simd_tables();
    r1_rng rng;
    r1_rng_seed(&rng, 13);
    static const int64_t NS[] = {1, 2, 3, 4, 5, 9};
    static const int64_t MS[] = {1, 3, 7, 16, 33};
    static const int64_t NB[] = {1, 2, 3, 7};
    double worst = 0;
    for (int t = 0; t < NQT; t++)
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 5; b++)
                for (int c = 0; c < 4; c++) {
                    int64_t N = NS[a], M = MS[b], K = NB[c] * r1_dtype_block(QT[t]);
                    float *x = malloc((size_t)(N * K) * 4), *wf = malloc((size_t)(M * K) * 4);
                    make_rows(&rng, wf, M, K);
                    fill(&rng, x, N * K, 1.0f);
                    if (c == 3) memset(x, 0, (size_t)K * 4); /* an all-zero activation row */
                    void *w = malloc(r1_dtype_row_bytes(QT[t], M * K));
                    r1_from_f32(w, wf, QT[t], M * K);
                    float *wd = malloc((size_t)(M * K) * 4), *y = malloc((size_t)(N * M) * 4);
                    float *yr = malloc((size_t)(N * M) * 4), *mag = malloc((size_t)(N * M) * 4);
                    r1_to_f32(wd, w, QT[t], M * K);
                    float *xd = act_dequant(QT[t], x, N, K);
                    mag_of(mag, xd, wd, N, M, K);
                    r1_matmul_cols_k(r1_kernels_ref(), yr, M, x, N, w, QT[t], K, 0, M);
                    /* the integer product equals the f32 product of the dequantized operands */
                    for (int64_t i = 0; i < N * M; i++) {
                        double yf = 0;
                        for (int64_t k = 0; k < K; k++) yf += (double)xd[(i / M) * K + k] * wd[(i % M) * K + k];
                        if (!(fabs(yr[i] - yf) <= 1e-5 * mag[i] + 1e-30)) {
                            T_FAIL_AT("%s N=%lld M=%lld K=%lld: ref %g vs f32 %g (mag %g)", r1_dtype_name(QT[t]),
                                      (long long)N, (long long)M, (long long)K, yr[i], yf, mag[i]);
                            break;
                        }
                    }
                    for (int s = 0; simd[s]; s++) {
                        for (int64_t i = 0; i < N * M; i++) y[i] = NAN;
                        r1_matmul_cols_k(simd[s], y, M, x, N, w, QT[t], K, 0, M);
                        for (int64_t i = 0; i < N * M; i++) {
                            double e = fabs((double)y[i] - yr[i]) / (mag[i] + 1e-30);
                            if (y[i] == yr[i]) e = 0;
                            worst = e > worst ? e : worst;
                            /* relative to the dequantized |x||w|; Q4_0's unsigned codes and
                             * its -8 sum correction make the lane sums up to ~15x larger */
                            if (!(e <= 1e-4)) {
                                T_FAIL_AT("%s %s N=%lld M=%lld K=%lld [%lld]: %g vs ref %g", simd[s]->isa,
                                          r1_dtype_name(QT[t]), (long long)N, (long long)M, (long long)K,
                                          (long long)i, y[i], yr[i]);
                                break;
                            }
                        }
                    }
                    free(x), free(xd), free(wf), free(w), free(wd), free(y), free(yr), free(mag);
                }
    printf("    worst scaled err vs ref %.3g\n", worst);
}

/* The largest codes everywhere: int16 pair sums and int32 block sums at their
 * extremes must not overflow. */
TEST(qmatmul_extreme_codes) {
    simd_tables();
    int64_t K = 512, M = 5, N = 3;
    float *x = malloc((size_t)(N * K) * 4), *wf = malloc((size_t)(M * K) * 4);
    for (int64_t i = 0; i < N * K; i++) x[i] = (i % 3 == 0) ? -1.0f : 1.0f;
    for (int64_t i = 0; i < M * K; i++) wf[i] = (i % 5 == 0) ? -1.0f : 1.0f;
    for (int t = 0; t < NQT; t++) {
        void *w = malloc(r1_dtype_row_bytes(QT[t], M * K));
        r1_from_f32(w, wf, QT[t], M * K);
        float yr[15], y[15];
        r1_matmul_cols_k(r1_kernels_ref(), yr, M, x, N, w, QT[t], K, 0, M);
        for (int s = 0; simd[s]; s++) {
            r1_matmul_cols_k(simd[s], y, M, x, N, w, QT[t], K, 0, M);
            for (int i = 0; i < 15; i++) CHECK_NEAR(y[i], yr[i], 1e-5);
        }
        free(w);
    }
    free(x), free(wf);
}

/* SIMD activation quantizers give qact.c's bytes exactly (finite inputs):
 * gaussian-ish rows, magnitudes down to f16-subnormal block scales, zero
 * blocks, a block whose largest |x| appears with both signs, exact halves. */
TEST(act_quantize_simd_bytes) {
    simd_tables();
    r1_rng rng;
    r1_rng_seed(&rng, 16);
    int64_t K = 1024;
    float *x = malloc((size_t)K * 4);
    for (int t = 0; t < NQT; t++)
        for (int v = 0; v < 6; v++) {
            float scale = v == 0 ? 1.0f : v == 1 ? 1e-3f : v == 2 ? 1e-6f : v == 3 ? 300.0f : 1.0f;
            fill(&rng, x, K, scale);
            if (v == 4) memset(x + 256, 0, 256 * 4); /* a zero super-block / zero blocks */
            if (v == 5)
                for (int64_t i = 0; i < K; i++) x[i] = (float)((i * 37) % 255 - 127) * 0.5f; /* ties, +-max */
            size_t rb = r1_act_row_bytes(QT[t], K);
            char *a = calloc(1, rb), *b = calloc(1, rb);
            r1_act_quantize(QT[t], a, x, K);
            for (int si = 0; simd[si]; si++) {
                memset(b, 0x55, rb);
                simd[si]->act_quantize(QT[t], b, x, K);
                if (memcmp(a, b, rb) != 0) {
                    size_t at = 0;
                    while (a[at] == b[at]) at++;
                    T_FAIL_AT("%s %s case %d: byte %zu of %zu differs (%d vs %d)", simd[si]->isa,
                              r1_dtype_name(QT[t]), v, at, rb, a[at], b[at]);
                }
            }
            free(a), free(b);
        }
    free(x);
}

/* The packed GEMM paths (tables with qgemm, N >= qgemm_min_n): activation
 * rows spanning several L2 blocks with a ragged last register tile, column
 * ranges that start mid-panel and end with a ragged panel, as thread splits
 * and r1_matmul_cols_k callers produce them. Columns outside [m0, m1) must stay
 * untouched. */
TEST(qgemm_blocks_and_ranges) {
    simd_tables();
    r1_rng rng;
    r1_rng_seed(&rng, 15);
    const int64_t shapes[][5] = {/* N, M, K (in 256s), m0, m1 */
                                 {4, 8, 1, 0, 8},       {5, 9, 2, 1, 9},      {7, 29, 3, 3, 27},
                                 {131, 19, 16, 0, 19},  {133, 40, 20, 5, 37}, {64, 17, 35, 8, 17}};
    for (int s = 0; s < 6; s++)
        for (int t = 0; t < NQT; t++) {
            int64_t N = shapes[s][0], M = shapes[s][1], K = shapes[s][2] * 256, m0 = shapes[s][3], m1 = shapes[s][4];
            float *x = malloc((size_t)(N * K) * 4), *wf = malloc((size_t)(M * K) * 4);
            make_rows(&rng, wf, M, K);
            fill(&rng, x, N * K, 1.0f);
            memset(x + (N / 2) * K, 0, (size_t)K * 4); /* an all-zero row inside a tile */
            void *w = malloc(r1_dtype_row_bytes(QT[t], M * K));
            r1_from_f32(w, wf, QT[t], M * K);
            float *wd = malloc((size_t)(M * K) * 4), *mag = malloc((size_t)(N * M) * 4);
            float *yr = malloc((size_t)(N * M) * 4), *y = malloc((size_t)(N * M) * 4);
            r1_to_f32(wd, w, QT[t], M * K);
            float *xd = act_dequant(QT[t], x, N, K);
            mag_of(mag, xd, wd, N, M, K);
            r1_matmul_cols_k(r1_kernels_ref(), yr, M, x, N, w, QT[t], K, 0, M);
            for (int si = 0; simd[si]; si++) {
                for (int64_t i = 0; i < N * M; i++) y[i] = -7.0f;
                r1_matmul_cols_k(simd[si], y, M, x, N, w, QT[t], K, m0, m1);
                for (int64_t i = 0; i < N * M; i++) {
                    int64_t j = i % M;
                    bool inside = j >= m0 && j < m1;
                    double e = inside ? fabs((double)y[i] - yr[i]) / (mag[i] + 1e-30) : 0;
                    if ((inside && !(e <= 1e-4) && y[i] != yr[i]) || (!inside && y[i] != -7.0f)) {
                        T_FAIL_AT("%s %s N=%lld M=%lld K=%lld cols [%lld,%lld) at (%lld,%lld): %g vs ref %g",
                                  simd[si]->isa, r1_dtype_name(QT[t]), (long long)N, (long long)M, (long long)K,
                                  (long long)m0, (long long)m1, (long long)(i / M), (long long)j, y[i], yr[i]);
                        break;
                    }
                }
            }
            free(x), free(wf), free(w), free(wd), free(mag), free(yr), free(y), free(xd);
        }
}

static int same_bits(const float *a, const float *b, int64_t n) { return memcmp(a, b, (size_t)n * 4) == 0; }

TEST(qmatmul_threads_identical) {
    int ns = simd_tables();
    simd[ns] = r1_kernels_ref();
    simd[ns + 1] = NULL;
    r1_pool *pools[3];
    int sizes[3] = {1, 2, 4};
    for (int p = 0; p < 3; p++) CHECK_OK(r1_pool_create(&pools[p], sizes[p]));
    r1_rng rng;
    r1_rng_seed(&rng, 14);
    const int64_t shapes[][3] = {{1, 300, 1024}, {9, 100, 512}, {33, 64, 256}, {70, 45, 2048}};
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < NQT; t++) {
            int64_t N = shapes[s][0], M = shapes[s][1], K = shapes[s][2];
            float *x = malloc((size_t)(N * K) * 4), *wf = malloc((size_t)(M * K) * 4);
            fill(&rng, x, N * K, 1.0f);
            fill(&rng, wf, M * K, 1.0f);
            void *w = malloc(r1_dtype_row_bytes(QT[t], M * K));
            r1_from_f32(w, wf, QT[t], M * K);
            for (int ti = 0; simd[ti]; ti++) {
                float *y[3];
                for (int p = 0; p < 3; p++) {
                    y[p] = malloc((size_t)(N * M) * 4);
                    r1_matmul_raw_k(simd[ti], pools[p], y[p], x, N, w, QT[t], M, K);
                }
                if (!same_bits(y[0], y[1], N * M) || !same_bits(y[0], y[2], N * M))
                    T_FAIL_AT("%s %s N=%lld: differs across threads", simd[ti]->isa, r1_dtype_name(QT[t]),
                              (long long)N);
                for (int p = 0; p < 3; p++) free(y[p]);
            }
            free(x), free(wf), free(w);
        }
    for (int p = 0; p < 3; p++) r1_pool_destroy(pools[p]);
}

TEST(dtype_sizes_and_names) {
    CHECK_EQ_INT(r1_dtype_block(R1_DT_F32), 1);
    CHECK_EQ_INT(r1_dtype_block(R1_DT_Q4_K), 256);
    CHECK_EQ_INT(r1_dtype_row_bytes(R1_DT_Q8_0, 64), 68);
    CHECK_EQ_INT(r1_dtype_row_bytes(R1_DT_Q6_K, 512), 420);
    CHECK_EQ_INT(r1_dtype_row_bytes(R1_DT_BF16, 7), 14);
    CHECK_EQ_INT(r1_dtype_from_name("Q4_K"), R1_DT_Q4_K);
    CHECK_EQ_INT(r1_dtype_from_name("q6_k"), R1_DT_Q6_K);
    CHECK_EQ_INT(r1_dtype_from_name("q5_k"), -1);
    r1_tensor t = {R1_DT_Q4_0, 2, {3, 64, 0, 0}, NULL};
    CHECK_EQ_INT(r1_tensor_bytes(&t), 3 * 2 * 18);
    CHECK_EQ_INT(r1_tensor_row_bytes(&t), 36);
}

int main(void) {
    RUN(dtype_sizes_and_names);
    RUN(quantizers_match_llamacpp_bytes);
    RUN(round_trip_error_bounds);
    RUN(qmatmul_matches_ref);
    RUN(qmatmul_extreme_codes);
    RUN(qgemm_blocks_and_ranges);
    RUN(act_quantize_simd_bytes);
    RUN(qmatmul_threads_identical);
    TEST_MAIN_END();
}
