/* Tests for kernels/: every ISA table this CPU has against the scalar oracle
 * (ref.c) on ragged shapes, all three weight dtypes, zeros and large
 * magnitudes; bit-identical results for 1, 2 and 4 threads; the training
 * products; ISA selection (R1_ISA).
 *
 * Tolerance: the SIMD kernels use FMA and sum K products in a different order
 * (per-lane partial sums, then a tree) than the oracle's sequential f32 sum.
 * Each rounding is at most u = 2^-24 ~ 6e-8 relative to the partial sum, so
 * |y - y_ref| <= ~K u sum_k |x_k w_k| in the worst case, and with random
 * rounding directions it grows like sqrt(K) u sum_k |x_k w_k|. Errors are
 * therefore measured against sum_k |x_k w_k| (the oracle run on |x|, |w|), not
 * against |y|, which may cancel to ~0; we allow 1e-6 sqrt(K) + 1e-6 (~16x the
 * random-walk estimate), far below any real bug (a wrong element or a dropped
 * tail gives an error of order 1). */
#include "test.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/dtype.h"
#include "core/rng.h"
#include "core/threads.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "kernels/tables.h" /* the AVX-512 table without BF16 instructions, tested too */

static const int64_t NS[] = {1, 2, 3, 5, 17};
static const int64_t MS[] = {1, 7, 16, 33, 100};
static const int64_t KS[] = {1, 3, 15, 16, 17, 64, 100, 1000};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static double tol_for(int64_t K) { return 1e-6 * sqrt((double)K) + 1e-6; }

/* The SIMD tables available here (not ref), NULL-terminated. */
static int simd_tables(const r1_kernels *out[3]) {
    int n = 0;
    if (r1_kernels_avx2()) out[n++] = r1_kernels_avx2();
    if (r1_kernels_avx512()) out[n++] = r1_kernels_avx512();
    out[n] = NULL;
    return n;
}

/* max_i |got_i - ref_i| / mag_i, with mag_i = sum |terms| of element i. */
static double scaled_err(const float *got, const float *ref, const float *mag, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        double e = d == 0 ? 0 : mag[i] > 0 ? d / mag[i] : INFINITY;
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

/* |v| elementwise for a buffer of type t (clears the sign bits). */
static void *abs_copy(const void *v, r1_dtype t, int64_t n) {
    size_t es = r1_dtype_size(t);
    unsigned char *out = malloc((size_t)n * es + 4);
    memcpy(out, v, (size_t)n * es);
    for (int64_t i = 0; i < n; i++) out[i * es + es - 1] &= 0x7f; /* little-endian: sign in the last byte */
    return out;
}

static void fill(r1_rng *rng, float *v, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) v[i] = (2.0f * r1_rng_f32(rng) - 1.0f) * scale;
}

/* A weight [M, K] of type t from random values (the oracle reads the same bytes). */
static void *make_weight(r1_rng *rng, r1_dtype t, int64_t M, int64_t K, float scale) {
    float *f = malloc((size_t)(M * K + 1) * sizeof(float));
    void *w = malloc((size_t)(M * K + 1) * r1_dtype_size(t));
    fill(rng, f, M * K, scale);
    r1_from_f32(w, f, t, M * K);
    free(f);
    return w;
}

/* Runs k and ref on one shape and checks the error; returns the error. */
static double matmul_vs_ref(const r1_kernels *k, r1_dtype t, const float *x, const void *w, int64_t N, int64_t M,
                            int64_t K) {
    float *y = malloc((size_t)(N * M) * sizeof(float)), *yr = malloc((size_t)(N * M) * sizeof(float));
    float *mag = malloc((size_t)(N * M) * sizeof(float));
    float *xa = abs_copy(x, R1_DT_F32, N * K);
    void *wa = abs_copy(w, t, M * K);
    k->matmul[t](y, M, x, N, w, K, 0, M);
    r1_kernels_ref()->matmul[t](yr, M, x, N, w, K, 0, M);
    r1_kernels_ref()->matmul[t](mag, M, xa, N, wa, K, 0, M);
    double err = scaled_err(y, yr, mag, N * M);
    free(xa), free(wa), free(mag);
    if (!(err <= tol_for(K)))
        T_FAIL_AT("%s %s N=%lld M=%lld K=%lld: rel err %.3g > %.3g", k->isa, r1_dtype_name(t), (long long)N,
                  (long long)M, (long long)K, err, tol_for(K));
    free(y);
    free(yr);
    return err;
}

TEST(matmul_matches_ref_all_shapes) {
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 1);
    double worst = 0;
    for (int ti = 0; tabs[ti]; ti++)
        for (int t = 0; t < R1_DT_FLOAT_COUNT; t++)
            for (int a = 0; a < COUNT(NS); a++)
                for (int b = 0; b < COUNT(MS); b++)
                    for (int c = 0; c < COUNT(KS); c++) {
                        int64_t N = NS[a], M = MS[b], K = KS[c];
                        float *x = malloc((size_t)(N * K) * sizeof(float));
                        fill(&rng, x, N * K, 1.0f);
                        void *w = make_weight(&rng, (r1_dtype)t, M, K, 1.0f);
                        double e = matmul_vs_ref(tabs[ti], (r1_dtype)t, x, w, N, M, K);
                        if (e > worst) worst = e;
                        free(x);
                        free(w);
                    }
    printf("    worst rel err %.3g\n", worst);
}

TEST(matmul_writes_only_its_columns) {
    /* a column range [m0, m1) inside a wider y (ldy > M) leaves the rest alone */
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 2);
    int64_t N = 5, M = 37, K = 19, ldy = 41, m0 = 16, m1 = 35;
    float x[5 * 19];
    fill(&rng, x, N * K, 1.0f);
    for (int ti = 0; tabs[ti]; ti++)
        for (int t = 0; t < R1_DT_FLOAT_COUNT; t++)
            for (int64_t n = 1; n <= N; n += N - 1) {
                void *w = make_weight(&rng, (r1_dtype)t, M, K, 1.0f);
                float y[5 * 41], yr[5 * 41];
                for (int i = 0; i < N * ldy; i++) y[i] = yr[i] = -7.0f;
                tabs[ti]->matmul[t](y, ldy, x, n, w, K, m0, m1);
                r1_kernels_ref()->matmul[t](yr, ldy, x, n, w, K, m0, m1);
                for (int64_t i = 0; i < N; i++)
                    for (int64_t j = 0; j < ldy; j++) {
                        bool inside = i < n && j >= m0 && j < m1;
                        if (!inside && y[i * ldy + j] != -7.0f)
                            T_FAIL_AT("%s %s: y[%lld,%lld] = %g written", tabs[ti]->isa, r1_dtype_name((r1_dtype)t),
                                      (long long)i, (long long)j, y[i * ldy + j]);
                        if (inside) CHECK_NEAR(y[i * ldy + j], yr[i * ldy + j], 1e-5);
                    }
                free(w);
            }
}

TEST(matmul_zeros_and_large_magnitudes) {
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 3);
    int64_t N = 5, M = 33, K = 100;
    float *x = calloc((size_t)(N * K), sizeof(float)), *y = malloc((size_t)(N * M) * sizeof(float));
    for (int ti = 0; tabs[ti]; ti++)
        for (int t = 0; t < R1_DT_FLOAT_COUNT; t++) {
            /* all-zero activations against random weights: exactly zero */
            void *w = make_weight(&rng, (r1_dtype)t, M, K, 1.0f);
            for (int64_t n = 1; n <= N; n += N - 1) {
                for (int64_t i = 0; i < N * M; i++) y[i] = 1.0f;
                tabs[ti]->matmul[t](y, M, x, n, w, K, 0, M);
                int nonzero = 0;
                for (int64_t i = 0; i < n * M; i++) nonzero += y[i] != 0.0f;
                CHECK_EQ_INT(nonzero, 0);
            }
            free(w);
            /* large magnitudes: products near 1e30 (f16 weights top out at 65504) */
            float *xl = malloc((size_t)(N * K) * sizeof(float));
            float wscale = t == R1_DT_F16 ? 6.0e4f : 1.0e15f;
            fill(&rng, xl, N * K, t == R1_DT_F16 ? 1.0e25f : 1.0e15f);
            w = make_weight(&rng, (r1_dtype)t, M, K, wscale);
            matmul_vs_ref(tabs[ti], (r1_dtype)t, xl, w, 1, M, K);
            matmul_vs_ref(tabs[ti], (r1_dtype)t, xl, w, N, M, K);
            free(w);
            free(xl);
        }
    free(x);
    free(y);
}

/* dx = dy w (both accumulate modes) and dw += dy^T x against the oracle. */
static void training_vs_ref(const r1_kernels *k, r1_rng *rng, int64_t N, int64_t M, int64_t K) {
    float *dy = malloc((size_t)(N * M) * sizeof(float)), *w = malloc((size_t)(M * K) * sizeof(float));
    float *x = malloc((size_t)(N * K) * sizeof(float));
    float *dx = malloc((size_t)(N * K) * sizeof(float)), *dxr = malloc((size_t)(N * K) * sizeof(float));
    float *dw = malloc((size_t)(M * K) * sizeof(float)), *dwr = malloc((size_t)(M * K) * sizeof(float));
    fill(rng, dy, N * M, 1.0f);
    fill(rng, w, M * K, 1.0f);
    fill(rng, x, N * K, 1.0f);
    float *dya = abs_copy(dy, R1_DT_F32, N * M), *wa = abs_copy(w, R1_DT_F32, M * K);
    float *xa = abs_copy(x, R1_DT_F32, N * K);
    float *mag = malloc((size_t)((N > M ? N : M) * K) * sizeof(float));
    for (int acc = 0; acc < 2; acc++) {
        fill(rng, dx, N * K, 1.0f);
        memcpy(dxr, dx, (size_t)(N * K) * sizeof(float));
        float *dxa = abs_copy(dx, R1_DT_F32, N * K);
        r1_matmul_nn_k(k, NULL, dx, dy, w, N, M, K, acc);
        r1_matmul_nn_k(r1_kernels_ref(), NULL, dxr, dy, w, N, M, K, acc);
        memcpy(mag, dxa, (size_t)(N * K) * sizeof(float));
        r1_matmul_nn_k(r1_kernels_ref(), NULL, mag, dya, wa, N, M, K, acc);
        free(dxa);
        double e = scaled_err(dx, dxr, mag, N * K);
        if (!(e <= tol_for(M)))
            T_FAIL_AT("%s nn acc=%d N=%lld M=%lld K=%lld: rel err %.3g", k->isa, acc, (long long)N, (long long)M,
                      (long long)K, e);
    }
    fill(rng, dw, M * K, 1.0f);
    memcpy(dwr, dw, (size_t)(M * K) * sizeof(float));
    float *dwa = abs_copy(dw, R1_DT_F32, M * K);
    r1_matmul_tn_k(k, NULL, dw, dy, x, N, M, K);
    r1_matmul_tn_k(r1_kernels_ref(), NULL, dwr, dy, x, N, M, K);
    r1_matmul_tn_k(r1_kernels_ref(), NULL, dwa, dya, xa, N, M, K);
    double e = scaled_err(dw, dwr, dwa, M * K);
    free(dwa), free(dya), free(wa), free(xa), free(mag);
    if (!(e <= tol_for(N)))
        T_FAIL_AT("%s tn N=%lld M=%lld K=%lld: rel err %.3g", k->isa, (long long)N, (long long)M, (long long)K, e);
    free(dy), free(w), free(x), free(dx), free(dxr), free(dw), free(dwr);
}

TEST(training_products_match_ref) {
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 4);
    for (int ti = 0; tabs[ti]; ti++)
        for (int a = 0; a < COUNT(NS); a++)
            for (int b = 0; b < COUNT(MS); b++)
                for (int c = 0; c < COUNT(KS); c++) training_vs_ref(tabs[ti], &rng, NS[a], MS[b], KS[c]);
    /* reductions longer than the kernels' j block of 256: N = 300 rows into
     * dW, M = 300 columns of dY into dX */
    for (int ti = 0; tabs[ti]; ti++) {
        training_vs_ref(tabs[ti], &rng, 300, 20, 70);
        training_vs_ref(tabs[ti], &rng, 7, 300, 40);
    }
}

static bool same_bits(const float *a, const float *b, int64_t n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

/* gemm_nn on a few rows of A (a decoded row's P C over its heads) gives the
 * bits of the same rows in a call over many (a batch, training): every
 * element is one chain over j in order, whichever kernel runs it. Both A
 * layouts, with and without accumulation, J and the columns past the packed
 * kernel's blocks (128, 512). */
TEST(gemm_nn_few_rows_same_bits) {
    const r1_kernels *tabs[4];
    int n = simd_tables(tabs);
    tabs[n] = r1_kernels_ref();
    tabs[n + 1] = NULL;
    r1_rng rng;
    r1_rng_seed(&rng, 13);
    const int64_t I = 20, J = 300, K = 530, k0 = 3, k1 = 520;
    float *a = malloc((size_t)(I * J) * sizeof(float)), *b = malloc((size_t)(J * K) * sizeof(float));
    float *c0 = malloc((size_t)(I * K) * sizeof(float)), *cw = malloc((size_t)(I * K) * sizeof(float));
    float *cf = malloc((size_t)(I * K) * sizeof(float));
    fill(&rng, a, I * J, 1.0f);
    fill(&rng, b, J * K, 1.0f);
    fill(&rng, c0, I * K, 1.0f);
    for (int ti = 0; tabs[ti]; ti++)
        for (int tr = 0; tr < 2; tr++)
            for (int acc = 0; acc < 2; acc++) {
                int64_t si = tr ? 1 : J, sj = tr ? I : 1; /* A as [I, J] or as the columns of [J, I] */
                memcpy(cw, c0, (size_t)(I * K) * sizeof(float));
                tabs[ti]->gemm_nn(cw, K, a, si, sj, b, K, J, 0, I, k0, k1, acc);
                for (int64_t rows = 1; rows <= 9; rows++) {
                    int64_t i0 = rows + 2 < I ? rows + 2 : I - rows;
                    memcpy(cf, c0, (size_t)(I * K) * sizeof(float));
                    tabs[ti]->gemm_nn(cf, K, a, si, sj, b, K, J, i0, i0 + rows, k0, k1, acc);
                    bool same = true;
                    for (int64_t i = 0; i < I; i++) {
                        const float *want = i >= i0 && i < i0 + rows ? cw : c0;
                        same &= same_bits(cf + i * K, want + i * K, K);
                    }
                    if (!same)
                        T_FAIL_AT("%s gemm_nn rows [%lld, %lld) of %lld, A %s, accumulate %d: bits differ", tabs[ti]->isa,
                                  (long long)i0, (long long)(i0 + rows), (long long)I, tr ? "columns" : "rows", acc);
                }
            }
    free(a), free(b), free(c0), free(cw), free(cf);
}

/* The training forward (r1_matmul_fwd_k): above the table's fwd_gemm_min_n
 * it is gemm_nn over a transposed copy of w; against the oracle, and with
 * the same bits for 1, 2 and 4 threads. */
TEST(training_forward_matches_ref_and_threads) {
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    r1_pool *pools[3];
    int sizes[3] = {1, 2, 4};
    for (int p = 0; p < 3; p++) CHECK_OK(r1_pool_create(&pools[p], sizes[p]));
    r1_rng rng;
    r1_rng_seed(&rng, 12);
    const int64_t shapes[][3] = {{200, 37, 129}, {130, 300, 64}, {128, 5, 3}, {300, 16, 257}};
    for (int ti = 0; tabs[ti]; ti++)
        for (int s = 0; s < COUNT(shapes); s++) {
            int64_t N = shapes[s][0], M = shapes[s][1], K = shapes[s][2];
            float *x = malloc((size_t)(N * K) * sizeof(float)), *w = make_weight(&rng, R1_DT_F32, M, K, 1.0f);
            fill(&rng, x, N * K, 1.0f);
            float *yr = malloc((size_t)(N * M) * sizeof(float)), *mag = malloc((size_t)(N * M) * sizeof(float));
            float *xa = abs_copy(x, R1_DT_F32, N * K), *wa = abs_copy(w, R1_DT_F32, M * K);
            r1_kernels_ref()->matmul[R1_DT_F32](yr, M, x, N, w, K, 0, M);
            r1_kernels_ref()->matmul[R1_DT_F32](mag, M, xa, N, wa, K, 0, M);
            r1_tensor wt = {.data = w, .dtype = R1_DT_F32, .ndim = 2, .shape = {M, K}};
            float *y[3];
            for (int p = 0; p < 3; p++) {
                y[p] = malloc((size_t)(N * M) * sizeof(float));
                r1_matmul_fwd_k(tabs[ti], pools[p], y[p], x, N, &wt);
            }
            double err = scaled_err(y[0], yr, mag, N * M);
            if (!(err <= tol_for(K)))
                T_FAIL_AT("%s N=%lld M=%lld K=%lld: rel err %.3g", tabs[ti]->isa, (long long)N, (long long)M,
                          (long long)K, err);
            CHECK(memcmp(y[0], y[1], (size_t)(N * M) * sizeof(float)) == 0);
            CHECK(memcmp(y[0], y[2], (size_t)(N * M) * sizeof(float)) == 0);
            for (int p = 0; p < 3; p++) free(y[p]);
            free(x), free(w), free(yr), free(mag), free(xa), free(wa);
        }
    for (int p = 0; p < 3; p++) r1_pool_destroy(pools[p]);
}

TEST(threads_give_identical_bits) {
    const r1_kernels *tabs[4];
    int n = simd_tables(tabs);
    tabs[n] = r1_kernels_ref();
    tabs[n + 1] = NULL;
    r1_pool *pools[3];
    int sizes[3] = {1, 2, 4};
    for (int p = 0; p < 3; p++) CHECK_OK(r1_pool_create(&pools[p], sizes[p]));
    r1_rng rng;
    r1_rng_seed(&rng, 5);
    const int64_t shapes[][3] = {{1, 100, 1000}, {17, 100, 1000}, {5, 333, 77}, {64, 48, 129}};
    for (int ti = 0; tabs[ti]; ti++)
        for (int s = 0; s < COUNT(shapes); s++) {
            int64_t N = shapes[s][0], M = shapes[s][1], K = shapes[s][2];
            float *x = malloc((size_t)(N * K) * sizeof(float)), *dy = malloc((size_t)(N * M) * sizeof(float));
            fill(&rng, x, N * K, 1.0f);
            fill(&rng, dy, N * M, 1.0f);
            float *y[3], *dx[3], *dw[3];
            for (int t = 0; t < R1_DT_FLOAT_COUNT; t++) {
                void *w = make_weight(&rng, (r1_dtype)t, M, K, 1.0f);
                for (int p = 0; p < 3; p++) {
                    y[p] = malloc((size_t)(N * M) * sizeof(float));
                    r1_matmul_raw_k(tabs[ti], pools[p], y[p], x, N, w, (r1_dtype)t, M, K);
                }
                if (!same_bits(y[0], y[1], N * M) || !same_bits(y[0], y[2], N * M))
                    T_FAIL_AT("%s %s N=%lld M=%lld K=%lld: matmul differs across threads", tabs[ti]->isa,
                              r1_dtype_name((r1_dtype)t), (long long)N, (long long)M, (long long)K);
                for (int p = 0; p < 3; p++) free(y[p]);
                if (t != R1_DT_F32) {
                    free(w);
                    continue;
                }
                for (int p = 0; p < 3; p++) {
                    dx[p] = calloc((size_t)(N * K), sizeof(float));
                    dw[p] = calloc((size_t)(M * K), sizeof(float));
                    r1_matmul_nn_k(tabs[ti], pools[p], dx[p], dy, w, N, M, K, false);
                    r1_matmul_tn_k(tabs[ti], pools[p], dw[p], dy, x, N, M, K);
                }
                CHECK(same_bits(dx[0], dx[1], N * K) && same_bits(dx[0], dx[2], N * K));
                CHECK(same_bits(dw[0], dw[1], M * K) && same_bits(dw[0], dw[2], M * K));
                for (int p = 0; p < 3; p++) free(dx[p]), free(dw[p]);
                free(w);
            }
            free(x);
            free(dy);
        }
    /* narrow K: dX is split over rows instead of columns */
    for (int ti = 0; tabs[ti]; ti++) {
        int64_t N = 100, M = 300, K = 3; /* N*M*K above the serial threshold */
        float *dy = malloc((size_t)(N * M) * sizeof(float)), *w = malloc((size_t)(M * K) * sizeof(float));
        float *d1 = malloc((size_t)(N * K) * sizeof(float)), *d4 = malloc((size_t)(N * K) * sizeof(float));
        fill(&rng, dy, N * M, 1.0f);
        fill(&rng, w, M * K, 1.0f);
        r1_matmul_nn_k(tabs[ti], pools[0], d1, dy, w, N, M, K, false);
        r1_matmul_nn_k(tabs[ti], pools[2], d4, dy, w, N, M, K, false);
        CHECK(same_bits(d1, d4, N * K));
        free(dy), free(w), free(d1), free(d4);
    }
    for (int p = 0; p < 3; p++) r1_pool_destroy(pools[p]);
}

TEST(threaded_matmul_matches_ref) {
    /* the public entry points (default table) against the oracle, threaded */
    r1_pool *pool;
    CHECK_OK(r1_pool_create(&pool, 2));
    r1_rng rng;
    r1_rng_seed(&rng, 6);
    int64_t N = 9, M = 200, K = 300;
    float *x = malloc((size_t)(N * K) * sizeof(float));
    float *y = malloc((size_t)(N * M) * sizeof(float)), *yr = malloc((size_t)(N * M) * sizeof(float));
    fill(&rng, x, N * K, 1.0f);
    for (int t = 0; t < R1_DT_FLOAT_COUNT; t++) {
        void *w = make_weight(&rng, (r1_dtype)t, M, K, 1.0f);
        r1_tensor tw = {(r1_dtype)t, 2, {M, K, 0, 0}, w};
        r1_matmul(pool, y, x, N, &tw);
        r1_kernels_ref()->matmul[t](yr, M, x, N, w, K, 0, M);
        CHECK(t_max_rel_err(y, yr, N * M) <= 1e-4); /* |y| ~ sqrt(K)/3 here, no cancellation to ~0 */
        free(w);
    }
    free(x), free(y), free(yr);
    r1_pool_destroy(pool);
}

/* argmax: the same index as ref's scan (ties, +-0, infinities, NaNs
 * anywhere, every length around the vector widths and their tails, a
 * vocabulary row); sumsq: the same bits (kernels.h fixes the order). */
TEST(argmax_sumsq_match_ref) {
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    const r1_kernels *ref = r1_kernels_ref();
    r1_rng rng;
    r1_rng_seed(&rng, 12);
    static float x[32000];
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.0f, 1.0f, -1.0f};
    for (int trial = 0; trial < 3000; trial++) {
        int64_t n = trial < 2000 ? 1 + trial % 150 : 32000 - trial % 7;
        /* random, few values (ties), specials, all equal, max in the tail, one NaN in ten */
        int mode = trial % 6;
        for (int64_t i = 0; i < n; i++) {
            float r = r1_rng_f32(&rng);
            x[i] = mode == 0   ? r * 2 - 1
                   : mode == 1 ? (float)(int)(r * 4)
                   : mode == 2 ? special[(int)(r * 8) & 7]
                   : mode == 3 ? 3.0f
                   : mode == 4 ? r
                               : (r < 0.1f ? NAN : r * 2 - 1);
        }
        if (mode == 4) x[n - 1] = 2.0f;
        for (int ti = 0; tabs[ti]; ti++) {
            int32_t got = tabs[ti]->argmax(x, n), want = ref->argmax(x, n);
            double a = tabs[ti]->sumsq(x, n), b = ref->sumsq(x, n);
            if (got != want || (mode != 2 && mode != 5 && memcmp(&a, &b, sizeof a) != 0)) {
                T_FAIL_AT("%s trial %d n=%lld mode %d: argmax %d vs %d, sumsq %.17g vs %.17g", tabs[ti]->isa, trial,
                          (long long)n, mode, got, want, a, b);
                return;
            }
        }
    }
}

TEST(dot_axpy_convert_match_ref) {
    const r1_kernels *tabs[3];
    simd_tables(tabs);
    const r1_kernels *ref = r1_kernels_ref();
    r1_rng rng;
    r1_rng_seed(&rng, 7);
    float a[1000], b[1000], y1[1000], y2[1000];
    fill(&rng, a, 1000, 1.0f);
    fill(&rng, b, 1000, 1.0f);
    for (int ti = 0; tabs[ti]; ti++)
        for (int c = 0; c < COUNT(KS); c++) {
            int64_t n = KS[c];
            CHECK_NEAR(tabs[ti]->dot(a, b, n), ref->dot(a, b, n), tol_for(n) * sqrt((double)n));
            memcpy(y1, b, sizeof b);
            memcpy(y2, b, sizeof b);
            tabs[ti]->axpy(y1, 0.37f, a, n);
            ref->axpy(y2, 0.37f, a, n);
            CHECK(t_max_rel_err(y1, y2, 1000) <= 1e-6); /* one FMA vs mul+add per element */
        }
    /* conversions are exact: every 16-bit pattern (NaN payloads only need to stay NaN) */
    static uint16_t h[65536 + 5];
    static float f1[65536 + 5], f2[65536 + 5];
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    for (int ti = 0; tabs[ti]; ti++)
        for (int t = R1_DT_F16; t <= R1_DT_BF16; t++)
            for (int64_t n = 65536; n >= 65531; n -= 5) {
                tabs[ti]->to_f32[t](f1, h, n);
                ref->to_f32[t](f2, h, n);
                int bad = 0;
                for (int64_t i = 0; i < n; i++)
                    bad += isnan(f2[i]) ? !isnan(f1[i]) : memcmp(&f1[i], &f2[i], 4) != 0;
                CHECK_EQ_INT(bad, 0);
            }
    for (int ti = 0; tabs[ti]; ti++) {
        tabs[ti]->to_f32[R1_DT_F32](y1, a, 999);
        CHECK(same_bits(y1, a, 999));
    }
}

/* Runs r1_kernels_get() in a child with R1_ISA=value; the exit code says
 * whether it chose `expect`. */
static int child_selects(const char *value, const char *expect) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("R1_ISA", value, 1);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 2); /* the fallback warning is expected */
        _exit(strcmp(r1_kernels_get()->isa, expect) == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

TEST(isa_selection) {
    const r1_cpu *cpu = r1_cpu_get();
    CHECK_STR(r1_kernels_for("ref")->isa, "ref");
    CHECK(r1_kernels_for("avx9") == NULL);
    CHECK(r1_kernels_for(NULL) == NULL);
    CHECK((r1_kernels_for("avx512") != NULL) ==
          (cpu->avx512f && cpu->avx512bw && cpu->avx512vl && cpu->avx512dq && cpu->avx512_vnni));
    CHECK((r1_kernels_for("avx2") != NULL) == (cpu->avx2 && cpu->fma && cpu->f16c));
    const char *best = r1_kernels_avx512() ? "avx512" : r1_kernels_avx2() ? "avx2" : "ref";
    /* children first: the choice is made once per process and fork copies it */
    CHECK_EQ_INT(child_selects("ref", "ref"), 0);
    CHECK_EQ_INT(child_selects("bogus", best), 0);
    CHECK_EQ_INT(child_selects("avx2", r1_kernels_avx2() ? "avx2" : best), 0);
    CHECK_EQ_INT(child_selects("avx512", best), 0);
    if (!getenv("R1_ISA")) CHECK_STR(r1_kernels_get()->isa, best);
    printf("    cpu: avx2=%d fma=%d f16c=%d avx512f=%d bw=%d vl=%d dq=%d bf16=%d vnni=%d; default %s\n", cpu->avx2,
           cpu->fma, cpu->f16c, cpu->avx512f, cpu->avx512bw, cpu->avx512vl, cpu->avx512dq, cpu->avx512_bf16,
           cpu->avx512_vnni, r1_kernels_get()->isa);
}

/* Tables with bf16 products to test: every SIMD table, plus AVX-512 without
 * the BF16 instructions (the widening fallback) where AVX-512 exists. */
static int bf16_tables(const r1_kernels *out[6]) {
    int n = simd_tables(out);
#if defined(__x86_64__)
    if (r1_kernels_avx512() && r1_kernels_avx512() != &r1_kernels_table_avx512) out[n++] = &r1_kernels_table_avx512;
#endif
    out[n] = NULL;
    return n;
}

/* gemm_nn_bb in both training layouts (dx = dy w, dw += dy^T x) against the
 * bf16 oracle: the operands are rounded identically and bf16 products are
 * exact in f32, so only the summation order differs (same bound as f32). */
static void bf16_products_vs_ref(const r1_kernels *k, r1_rng *rng, int64_t N, int64_t M, int64_t K) {
    const r1_kernels *ref = r1_kernels_ref();
    float *dy = malloc((size_t)(N * M) * sizeof(float)), *w = malloc((size_t)(M * K) * sizeof(float));
    int64_t cn = (N > M ? N : M) * (K > N ? K : N); /* >= N*K, M*K, N*M */
    float *x = malloc((size_t)(N * K) * sizeof(float)), *mag = malloc((size_t)cn * sizeof(float));
    float *c = malloc((size_t)cn * sizeof(float)), *cr = malloc((size_t)cn * sizeof(float));
    fill(rng, dy, N * M, 1.0f);
    fill(rng, w, M * K, 1.0f);
    fill(rng, x, N * K, 1.0f);
    float *dya = abs_copy(dy, R1_DT_F32, N * M), *wa = abs_copy(w, R1_DT_F32, M * K), *xa = abs_copy(x, R1_DT_F32, N * K);
    for (int acc = 0; acc < 2; acc++) {
        fill(rng, c, N * K, 1.0f);
        memcpy(cr, c, (size_t)(N * K) * sizeof(float));
        for (int64_t i = 0; i < N * K; i++) mag[i] = fabsf(c[i]);
        r1_matmul_nn_pk(k, NULL, true, c, dy, w, N, M, K, acc);
        r1_matmul_nn_pk(ref, NULL, true, cr, dy, w, N, M, K, acc);
        r1_matmul_nn_pk(ref, NULL, true, mag, dya, wa, N, M, K, acc);
        double e = scaled_err(c, cr, mag, N * K);
        if (!(e <= tol_for(M)))
            T_FAIL_AT("%s bf16 nn acc=%d N=%lld M=%lld K=%lld: rel err %.3g", k->isa, acc, (long long)N, (long long)M,
                      (long long)K, e);
    }
    fill(rng, c, M * K, 1.0f);
    memcpy(cr, c, (size_t)(M * K) * sizeof(float));
    for (int64_t i = 0; i < M * K; i++) mag[i] = fabsf(c[i]);
    r1_matmul_tn_pk(k, NULL, true, c, dy, x, N, M, K);
    r1_matmul_tn_pk(ref, NULL, true, cr, dy, x, N, M, K);
    r1_matmul_tn_pk(ref, NULL, true, mag, dya, xa, N, M, K);
    double e = scaled_err(c, cr, mag, M * K);
    if (!(e <= tol_for(N)))
        T_FAIL_AT("%s bf16 tn N=%lld M=%lld K=%lld: rel err %.3g", k->isa, (long long)N, (long long)M, (long long)K, e);
    /* the forward product on bf16 operands: y[N, M] = x w^T with w = dy^T's shape [M, K] */
    uint16_t *xb = malloc((size_t)(N * K) * 2 + 2), *wb = malloc((size_t)(M * K) * 2 + 2);
    uint16_t *xab = malloc((size_t)(N * K) * 2 + 2), *wab = malloc((size_t)(M * K) * 2 + 2);
    ref->to_bf16(xb, x, N * K), ref->to_bf16(wb, w, M * K), ref->to_bf16(xab, xa, N * K), ref->to_bf16(wab, wa, M * K);
    r1_matmul_bb_k(k, NULL, c, xb, N, wb, M, K);
    r1_matmul_bb_k(ref, NULL, cr, xb, N, wb, M, K);
    r1_matmul_bb_k(ref, NULL, mag, xab, N, wab, M, K);
    e = scaled_err(c, cr, mag, N * M);
    if (!(e <= tol_for(K)))
        T_FAIL_AT("%s bf16 fwd N=%lld M=%lld K=%lld: rel err %.3g", k->isa, (long long)N, (long long)M, (long long)K, e);
    free(xb), free(wb), free(xab), free(wab);
    free(dy), free(w), free(x), free(mag), free(c), free(cr), free(dya), free(wa), free(xa);
}

TEST(bf16_products_match_ref) {
    const r1_kernels *tabs[6];
    bf16_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 8);
    for (int ti = 0; tabs[ti]; ti++) {
        for (int a = 0; a < COUNT(NS); a++)
            for (int b = 0; b < COUNT(MS); b++)
                for (int c = 0; c < COUNT(KS); c++) bf16_products_vs_ref(tabs[ti], &rng, NS[a], MS[b], KS[c]);
        /* reductions past the packed kernel's block (128) and odd: pairs padded */
        bf16_products_vs_ref(tabs[ti], &rng, 301, 21, 70);
        bf16_products_vs_ref(tabs[ti], &rng, 7, 301, 600);
    }
    /* the rounding itself: bf16(x) against the scalar converter, ties and NaN included */
    float v[64];
    fill(&rng, v, 64, 3.0f);
    uint32_t tie = 0x3f808000u, tie2 = 0x3f818000u, nan = 0x7f800001u;
    memcpy(&v[5], &tie, 4), memcpy(&v[6], &tie2, 4), memcpy(&v[7], &nan, 4);
    v[8] = 0.0f, v[9] = -0.0f, v[10] = INFINITY, v[11] = 3.4e38f;
    for (int ti = 0; tabs[ti]; ti++) {
        uint16_t got[64], want[64];
        tabs[ti]->to_bf16(got, v, 61);
        r1_kernels_ref()->to_bf16(want, v, 61);
        CHECK(memcmp(got, want, 61 * 2) == 0);
    }
}

TEST(bf16_products_threads_identical) {
    const r1_kernels *tabs[6];
    int n = bf16_tables(tabs);
    tabs[n] = r1_kernels_ref(), tabs[n + 1] = NULL;
    r1_pool *p1, *p3;
    CHECK_OK(r1_pool_create(&p1, 1));
    CHECK_OK(r1_pool_create(&p3, 3));
    r1_rng rng;
    r1_rng_seed(&rng, 9);
    int64_t N = 70, M = 130, K = 200;
    float *dy = malloc((size_t)(N * M) * sizeof(float)), *w = malloc((size_t)(M * K) * sizeof(float));
    float *x = malloc((size_t)(N * K) * sizeof(float));
    float *a = calloc((size_t)(M * K), sizeof(float)), *b = calloc((size_t)(M * K), sizeof(float));
    fill(&rng, dy, N * M, 1.0f), fill(&rng, w, M * K, 1.0f), fill(&rng, x, N * K, 1.0f);
    for (int ti = 0; tabs[ti]; ti++) {
        r1_matmul_nn_pk(tabs[ti], p1, true, a, dy, w, N, M, K, false);
        r1_matmul_nn_pk(tabs[ti], p3, true, b, dy, w, N, M, K, false);
        CHECK(same_bits(a, b, N * K));
        memset(a, 0, (size_t)(M * K) * sizeof(float)), memset(b, 0, (size_t)(M * K) * sizeof(float));
        r1_matmul_tn_pk(tabs[ti], p1, true, a, dy, x, N, M, K);
        r1_matmul_tn_pk(tabs[ti], p3, true, b, dy, x, N, M, K);
        CHECK(same_bits(a, b, M * K));
    }
    free(dy), free(w), free(x), free(a), free(b);
    r1_pool_destroy(p1);
    r1_pool_destroy(p3);
}

/* AdamW: every ISA bit-identical to the oracle (same IEEE operations), the
 * gradient zeroed and the bf16 copy equal to the rounded parameters. */
TEST(adamw_matches_ref_bits) {
    const r1_kernels *tabs[6];
    bf16_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 10);
    enum { n = 1003 };
    static float p0[n], g0[n], m0[n], v0[n], p[2][n], g[2][n], m[2][n], v[2][n];
    static uint16_t pb[2][n];
    fill(&rng, p0, n, 1.0f), fill(&rng, g0, n, 0.1f), fill(&rng, m0, n, 0.01f), fill(&rng, v0, n, 0.001f);
    for (int i = 0; i < n; i++) v0[i] = fabsf(v0[i]);
    for (int ti = 0; tabs[ti]; ti++)
        for (int withb = 0; withb < 2; withb++) {
            for (int s = 0; s < 2; s++) {
                memcpy(p[s], p0, sizeof p0), memcpy(g[s], g0, sizeof g0), memcpy(m[s], m0, sizeof m0),
                    memcpy(v[s], v0, sizeof v0);
                const r1_kernels *k = s ? r1_kernels_ref() : tabs[ti];
                k->adamw(p[s], g[s], m[s], v[s], withb ? pb[s] : NULL, n, withb ? 0.7f : 1.0f, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f);
            }
            CHECK(same_bits(p[0], p[1], n) && same_bits(m[0], m[1], n) && same_bits(v[0], v[1], n));
            CHECK(same_bits(g[0], g[1], n) && g[0][0] == 0.0f && g[0][n - 1] == 0.0f);
            if (withb) CHECK(memcmp(pb[0], pb[1], sizeof pb[0]) == 0 && pb[0][3] == r1_f32_to_bf16(p[0][3]));
        }
}

/* The loss's softmax pieces against the scalar oracle (expf): within a few
 * ulp, over ragged lengths, wide ranges and underflowing exponents. */
TEST(softmax_pieces_match_ref) {
    const r1_kernels *tabs[6];
    bf16_tables(tabs);
    const r1_kernels *ref = r1_kernels_ref();
    r1_rng rng;
    r1_rng_seed(&rng, 11);
    const int64_t lens[] = {1, 5, 16, 17, 100, 8192};
    const float scales[] = {1.0f, 30.0f, 120.0f};
    float *z = malloc(8192 * sizeof(float)), *a = malloc(8192 * sizeof(float)), *b = malloc(8192 * sizeof(float));
    for (int ti = 0; tabs[ti]; ti++)
        for (int li = 0; li < COUNT(lens); li++)
            for (int si = 0; si < COUNT(scales); si++) {
                int64_t n = lens[li];
                fill(&rng, z, n, scales[si]);
                double l = tabs[ti]->lse(z, n), lr = ref->lse(z, n);
                if (!(fabs(l - lr) <= 1e-6 * (1.0 + fabs(lr))))
                    T_FAIL_AT("%s lse n=%lld scale %g: %.9g vs %.9g", tabs[ti]->isa, (long long)n, scales[si], l, lr);
                memcpy(a, z, (size_t)n * sizeof(float)), memcpy(b, z, (size_t)n * sizeof(float));
                tabs[ti]->exp_scale(a, n, (float)lr, -0.5f);
                ref->exp_scale(b, n, (float)lr, -0.5f);
                double worst = 0;
                for (int64_t i = 0; i < n; i++) {
                    double d = fabs((double)a[i] - b[i]), m = fabs((double)b[i]);
                    double e = m > 1e-37 ? d / m : d / 1e-37;
                    worst = e > worst ? e : worst;
                }
                if (!(worst <= 5e-7))
                    T_FAIL_AT("%s exp_scale n=%lld scale %g: rel err %.3g", tabs[ti]->isa, (long long)n, scales[si], worst);
                /* scale: one rounded product each, so the bits of the plain loop */
                memcpy(a, z, (size_t)n * sizeof(float)), memcpy(b, z, (size_t)n * sizeof(float));
                tabs[ti]->scale(a, n, 0.3761f * scales[si]);
                ref->scale(b, n, 0.3761f * scales[si]);
                if (!same_bits(a, b, n)) T_FAIL_AT("%s scale n=%lld: bits differ", tabs[ti]->isa, (long long)n);
                /* silu's use: exp(-g) of either sign, up to e^80 */
                for (int64_t i = 0; i < n; i++) z[i] = z[i] * (80.0f / scales[si]);
                memcpy(a, z, (size_t)n * sizeof(float)), memcpy(b, z, (size_t)n * sizeof(float));
                tabs[ti]->exp_scale(a, n, 0.0f, 1.0f);
                ref->exp_scale(b, n, 0.0f, 1.0f);
                for (int64_t i = 0; i < n; i++)
                    if (!(fabs((double)a[i] - b[i]) <= 5e-7 * fabs((double)b[i]))) {
                        T_FAIL_AT("%s exp(%.9g) = %.9g, expf %.9g", tabs[ti]->isa, z[i], a[i], b[i]);
                        break;
                    }
            }
    free(z), free(a), free(b);
}

/* SwiGLU's gate on every table against ref: g = silu(g) u, u = u g, for
 * gates of either sign (exp(-g) up to e^80, and past the clamp) and tails. */
TEST(silu_mul_matches_ref) {
    const r1_kernels *tabs[6];
    bf16_tables(tabs);
    r1_rng rng;
    r1_rng_seed(&rng, 12);
    const int64_t lens[] = {1, 7, 8, 9, 100, 8960};
    float *g = malloc(8960 * 4), *u = malloc(8960 * 4), *g1 = malloc(8960 * 4), *u1 = malloc(8960 * 4);
    float *g2 = malloc(8960 * 4), *u2 = malloc(8960 * 4);
    for (int ti = 0; tabs[ti]; ti++)
        for (int li = 0; li < COUNT(lens); li++) {
            int64_t n = lens[li];
            fill(&rng, g, n, 80.0f);
            fill(&rng, u, n, 3.0f);
            if (n > 3) g[0] = -95.0f, g[1] = 0.0f, g[2] = 120.0f;
            memcpy(g1, g, (size_t)n * 4), memcpy(u1, u, (size_t)n * 4), memcpy(g2, g, (size_t)n * 4), memcpy(u2, u, (size_t)n * 4);
            tabs[ti]->silu_mul(g1, u1, n);
            r1_kernels_ref()->silu_mul(g2, u2, n);
            for (int64_t i = 0; i < n; i++) /* past the exp clamp: u / 3e38 where ref has u / inf */
                if (u1[i] != u2[i] || !(fabs((double)g1[i] - g2[i]) <= 1e-6 * fabs((double)g2[i]) + 1e-30)) {
                    T_FAIL_AT("%s n=%lld [%lld] g %.9g u %.9g: %.9g vs ref %.9g", tabs[ti]->isa, (long long)n,
                              (long long)i, g[i], u[i], g1[i], g2[i]);
                    break;
                }
        }
    free(g), free(u), free(g1), free(u1), free(g2), free(u2);
}

/* f16/bf16 weights: a decoded row (N = 1, the 4-part matvec) gets the bits
 * the same row gets inside a batch (AVX2's 4 x 3 and AVX-512's 4 x 4 tiles),
 * whatever the batch size: a sequence's logits do not depend on what else is decoded with
 * it. Ragged M and K cover the rows left over after the parts and the K
 * tail. */
static void decode_rows_match_batched(const r1_kernels *k) {
    r1_rng rng;
    r1_rng_seed(&rng, 21);
    const int64_t shapes[][3] = {{5, 103, 77}, {6, 64, 1024}, {17, 9, 35}};
    const r1_dtype types[] = {R1_DT_F16, R1_DT_BF16};
    for (int ty = 0; ty < COUNT(types); ty++)
        for (int s = 0; s < COUNT(shapes); s++) {
            int64_t N = shapes[s][0], M = shapes[s][1], K = shapes[s][2];
            float *x = malloc((size_t)(N * K) * sizeof(float)), *yb = malloc((size_t)(N * M) * sizeof(float));
            float *y1 = malloc((size_t)M * sizeof(float));
            void *w = make_weight(&rng, types[ty], M, K, 1.0f);
            fill(&rng, x, N * K, 1.0f);
            k->matmul[types[ty]](yb, M, x, N, w, K, 0, M);
            for (int64_t n = 0; n < N; n++) {
                k->matmul[types[ty]](y1, M, x + n * K, 1, w, K, 0, M);
                if (!same_bits(y1, yb + n * M, M))
                    T_FAIL_AT("%s %s N=%lld M=%lld K=%lld: row %lld differs from its batch", k->isa,
                              r1_dtype_name(types[ty]), (long long)N, (long long)M, (long long)K, (long long)n);
            }
            free(x), free(yb), free(y1), free(w);
        }
}

TEST(decode_rows_match_batched_bits) {
    const char *isas[] = {"avx2", "avx512"};
    for (int i = 0; i < COUNT(isas); i++) {
        const r1_kernels *k = r1_kernels_for(isas[i]);
        if (k) decode_rows_match_batched(k);
    }
}

int main(void) {
    RUN(isa_selection);
    RUN(matmul_matches_ref_all_shapes);
    RUN(matmul_writes_only_its_columns);
    RUN(matmul_zeros_and_large_magnitudes);
    RUN(training_products_match_ref);
    RUN(training_forward_matches_ref_and_threads);
    RUN(gemm_nn_few_rows_same_bits);
    RUN(threads_give_identical_bits);
    RUN(decode_rows_match_batched_bits);
    RUN(threaded_matmul_matches_ref);
    RUN(argmax_sumsq_match_ref);
    RUN(dot_axpy_convert_match_ref);
    RUN(bf16_products_match_ref);
    RUN(bf16_products_threads_identical);
    RUN(adamw_matches_ref_bits);
    RUN(softmax_pieces_match_ref);
    RUN(silu_mul_matches_ref);
    TEST_MAIN_END();
}
