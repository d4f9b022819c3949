/* bench_util: timing and the machine's memory read bandwidth, shared by the
 * benches (header-only). r1_bench_read_bandwidth() is the roofline for decode:
 * a matvec that streams its weights once cannot beat bytes / bandwidth. */
#ifndef R1_BENCH_UTIL_H
#define R1_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/threads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Seconds on a monotonic clock. */
static inline double r1_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best seconds per call of fn(ctx, rep) over 5 batches of about min_time/5
 * each (rep counts calls from 0): the best batch filters out the stalls of a
 * shared or virtualised machine. One untimed warm-up call first. */
typedef void (*r1_bench_fn)(void *ctx, int64_t rep);
static inline double r1_bench_best(r1_bench_fn fn, void *ctx, double min_time) {
    int64_t rep = 0;
    fn(ctx, rep++);
    double best = 1e30;
    for (int batch = 0; batch < 5; batch++) {
        int64_t n = 0;
        double t0 = r1_bench_now(), dt;
        do {
            fn(ctx, rep++);
            n++;
            dt = r1_bench_now() - t0;
        } while (dt < min_time / 5);
        if (dt / (double)n < best) best = dt / (double)n;
    }
    return best;
}

/* Sums n bytes (n a multiple of 256, p 64-byte aligned) so the loads cannot be
 * optimised away; one function per ISA, picked at run time (the bench files
 * are compiled for baseline x86-64). */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static inline uint64_t bench_read_avx512(const char *p, size_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 256) {
        s0 = _mm512_add_epi64(s0, _mm512_stream_load_si512((void *)(p + i)));
        s1 = _mm512_add_epi64(s1, _mm512_stream_load_si512((void *)(p + i + 64)));
        s2 = _mm512_add_epi64(s2, _mm512_stream_load_si512((void *)(p + i + 128)));
        s3 = _mm512_add_epi64(s3, _mm512_stream_load_si512((void *)(p + i + 192)));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

__attribute__((target("avx2"))) static inline uint64_t bench_read_avx2(const char *p, size_t n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_stream_load_si256((const __m256i *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_stream_load_si256((const __m256i *)(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_stream_load_si256((const __m256i *)(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_stream_load_si256((const __m256i *)(p + i + 96)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    uint64_t v[4];
    _mm256_storeu_si256((__m256i *)v, s);
    return v[0] + v[1] + v[2] + v[3];
}
#endif

static inline uint64_t bench_read_plain(const char *p, size_t n) {
    const uint64_t *q = (const uint64_t *)(const void *)p;
    uint64_t s = 0;
    for (size_t i = 0; i < n / 8; i++) s += q[i];
    return s;
}

typedef struct {
    const char *buf;
    size_t bytes;
    uint64_t sum[64];
} bench_bw_ctx;

static inline void bench_bw_task(void *p, int ith, int nth) {
    bench_bw_ctx *c = p;
    int64_t lo, hi;
    r1_split((int64_t)(c->bytes / 256), ith, nth, 16, &lo, &hi);
    const char *q = c->buf + (size_t)lo * 256;
    size_t n = (size_t)(hi - lo) * 256;
    uint64_t s;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        s = bench_read_avx512(q, n);
    else if (__builtin_cpu_supports("avx2"))
        s = bench_read_avx2(q, n);
    else
#endif
        s = bench_read_plain(q, n);
    c->sum[ith & 63] += s;
}

/* Memory read bandwidth in GB/s (1e9 bytes/s) with the pool's threads: a
 * 1 GiB buffer summed with streaming loads, best of 5 runs. 0 on failure. */
static inline double r1_bench_read_bandwidth(r1_pool *pool) {
    size_t bytes = (size_t)1 << 30;
    char *buf = r1_alloc_aligned(bytes);
    if (!buf) return 0;
    memset(buf, 1, bytes); /* touch every page: untouched pages all map to one zero page */
    bench_bw_ctx c = {buf, bytes, {0}};
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = r1_bench_now();
        r1_pool_run(pool, bench_bw_task, &c);
        double dt = r1_bench_now() - t0;
        if (dt < best) best = dt;
    }
    uint64_t total = 0;
    for (int i = 0; i < 64; i++) total += c.sum[i];
    if (total == 42) fputc(' ', stderr); /* keep the sum observable */
    free(buf);
    return (double)bytes / best / 1e9;
}

#endif
