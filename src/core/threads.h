/* threads: one pool of persistent workers, created once per process/model.
 * A parallel region runs fn(ctx, ith, nth) on nth threads (the caller is
 * thread 0) and returns when all have finished. Workers spin briefly before
 * sleeping because decode issues thousands of tiny regions per token and a
 * futex wake costs more than the work itself (measured in bench/). Work is
 * split by (ith, nth), or claimed (r1_pool_claim) only where no result
 * depends on which thread computes it, so results are reproducible for a
 * thread count. */
#ifndef R1_THREADS_H
#define R1_THREADS_H

#include <stdint.h>

#include "core/status.h"

typedef struct r1_pool r1_pool;
typedef void (*r1_task_fn)(void *ctx, int ith, int nth);

/* Creates a pool of nthreads (>= 1; the caller counts as one). */
r1_status r1_pool_create(r1_pool **out, int nthreads);
void r1_pool_destroy(r1_pool *p);
/* Threads in the pool; 1 for a NULL pool. */
int r1_pool_size(const r1_pool *p);
/* Runs fn on every thread and waits. A NULL pool runs fn(ctx, 0, 1) inline.
 * Not reentrant: fn must not call r1_pool_run on the same pool. */
void r1_pool_run(r1_pool *p, r1_task_fn fn, void *ctx);

/* The [lo, hi) share of n items for thread ith of nth, in blocks of `align`
 * items (so SIMD tiles and cache lines are not shared between threads). */
static inline void r1_split(int64_t n, int ith, int nth, int64_t align, int64_t *lo, int64_t *hi) {
    int64_t blocks = (n + align - 1) / align;
    int64_t b0 = blocks * ith / nth, b1 = blocks * (ith + 1) / nth;
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}

/* Parallel loop: fn(ctx, lo, hi, ith) over an even split of n items (in
 * blocks of `align`) across the pool; thread ith gets one contiguous range. */
typedef void (*r1_range_fn)(void *ctx, int64_t lo, int64_t hi, int ith);
void r1_pool_for(r1_pool *p, int64_t n, int64_t align, r1_range_fn fn, void *ctx);

/* Parallel loop by work claiming: the threads take chunks of `chunk` items,
 * in order, from a shared counter until none are left, so a thread slowed by
 * memory or by the scheduler takes fewer. For work whose results do not
 * depend on which thread computes them (fn must not use ith for that). */
void r1_pool_claim(r1_pool *p, int64_t n, int64_t chunk, r1_range_fn fn, void *ctx);

/* Parallel loop by shares with stealing: thread ith owns the share of n
 * items that r1_pool_for would give it (in blocks of `align`) and runs it
 * front to back in pieces of half what is left of it (at least `grain`
 * items), so its kernel calls stay long and read one stream; a thread done
 * with its share takes `grain` items at a time from the back of the
 * others'. A core slowed by the scheduler, by a neighbour on its host or by
 * colder data then hands its last pieces over instead of holding the rest
 * up. Every range starts on a multiple of `align` and ends on one or at n.
 * As with r1_pool_claim, no result may depend on the thread (fn must not use
 * ith for that). Past 64 threads or 2^31 items it claims pieces of `grain`. */
void r1_pool_share(r1_pool *p, int64_t n, int64_t align, int64_t grain, r1_range_fn fn, void *ctx);

/* Number of online CPUs (>= 1). */
int r1_cpu_count(void);

#endif
