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

/* Sums n bytes (n a multiple of 256 * BENCH_PARTS, p 64-byte aligned) so the
 * loads cannot be optimised away, as `parts` contiguous parts read in
 * lockstep (1 or BENCH_PARTS), each prefetched BENCH_PF bytes ahead: a core
 * reads faster from several distant places at once than from one stream
 * (the float matvec reads 4 parts, see x86_avx2.c), and the roofline must be
 * the fastest read we know of. Zen 3, 1 / 2 threads: one stream 16.1 / 28.5
 * GB/s, prefetched 17.0 / 32.6, 4 parts 20.4 / 39.2, both 22.5 / 40.9. One
 * function per ISA, picked at run time (the bench files are compiled for
 * baseline x86-64). */
enum { BENCH_PARTS = 4, BENCH_PF = 1024 };

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static inline uint64_t bench_read_avx512(const char *p, size_t n, int parts) {
    __m512i s[BENCH_PARTS][2];
    for (int j = 0; j < BENCH_PARTS; j++) s[j][0] = s[j][1] = _mm512_setzero_si512();
    size_t step = n / (size_t)parts;
    for (size_t i = 0; i < step; i += 128)
        for (int j = 0; j < parts; j++) {
            const char *q = p + (size_t)j * step + i;
            _mm_prefetch(q + BENCH_PF, _MM_HINT_T0);
            _mm_prefetch(q + BENCH_PF + 64, _MM_HINT_T0);
            s[j][0] = _mm512_add_epi64(s[j][0], _mm512_load_si512((const void *)q));
            s[j][1] = _mm512_add_epi64(s[j][1], _mm512_load_si512((const void *)(q + 64)));
        }
    __m512i t = _mm512_setzero_si512();
    for (int j = 0; j < BENCH_PARTS; j++) t = _mm512_add_epi64(t, _mm512_add_epi64(s[j][0], s[j][1]));
    return (uint64_t)_mm512_reduce_add_epi64(t);
}

__attribute__((target("avx2"))) static inline uint64_t bench_read_avx2(const char *p, size_t n, int parts) {
    __m256i s[BENCH_PARTS][2];
    for (int j = 0; j < BENCH_PARTS; j++) s[j][0] = s[j][1] = _mm256_setzero_si256();
    size_t step = n / (size_t)parts;
    for (size_t i = 0; i < step; i += 64)
        for (int j = 0; j < parts; j++) {
            const char *q = p + (size_t)j * step + i;
            _mm_prefetch(q + BENCH_PF, _MM_HINT_T0);
            s[j][0] = _mm256_add_epi64(s[j][0], _mm256_load_si256((const __m256i *)q));
            s[j][1] = _mm256_add_epi64(s[j][1], _mm256_load_si256((const __m256i *)(q + 32)));
        }
    __m256i t = _mm256_setzero_si256();
    for (int j = 0; j < BENCH_PARTS; j++) t = _mm256_add_epi64(t, _mm256_add_epi64(s[j][0], s[j][1]));
    uint64_t v[4];
    _mm256_storeu_si256((__m256i *)v, t);
    return v[0] + v[1] + v[2] + v[3];
}
#endif

static inline uint64_t bench_read_plain(const char *p, size_t n, int parts) {
    const uint64_t *q = (const uint64_t *)(const void *)p;
    size_t step = n / 8 / (size_t)parts;
    uint64_t s = 0;
    for (size_t i = 0; i < step; i++)
        for (int j = 0; j < parts; j++) s += q[(size_t)j * step + i];
    return s;
}

typedef struct {
    const char *buf;
    size_t bytes;
    int parts;
    uint64_t sum[64];
} bench_bw_ctx;

static inline void bench_bw_task(void *p, int ith, int nth) {
    bench_bw_ctx *c = p;
    const size_t unit = 256 * BENCH_PARTS;
    int64_t lo, hi;
    r1_split((int64_t)(c->bytes / unit), ith, nth, 4, &lo, &hi);
    const char *q = c->buf + (size_t)lo * unit;
    size_t n = (size_t)(hi - lo) * unit;
    uint64_t s;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        s = bench_read_avx512(q, n, c->parts);
    else if (__builtin_cpu_supports("avx2"))
        s = bench_read_avx2(q, n, c->parts);
    else
#endif
        s = bench_read_plain(q, n, c->parts);
    c->sum[ith & 63] += s;
}

/* Memory read bandwidth in GB/s (1e9 bytes/s) with the pool's threads: a
 * 1 GiB buffer summed, each thread's share read as one
 * stream and as BENCH_PARTS parts in lockstep, best of 8 runs of each. 0 on
 * failure. */
static inline double r1_bench_read_bandwidth(r1_pool *pool) {
    size_t bytes = (size_t)1 << 30;
    char *buf = r1_alloc_huge(bytes); /* 2 MB pages, as the weights get (mmap'd GGUF, interleaved copies) */
    if (!buf) return 0;
    memset(buf, 1, bytes); /* touch every page: untouched pages all map to one zero page */
    bench_bw_ctx c = {buf, bytes, 1, {0}};
    double best = 1e30;
    for (int rep = 0; rep < 16; rep++) {
        c.parts = rep % 2 ? BENCH_PARTS : 1;
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
