/* threads: a spin-then-sleep worker pool (see threads.h).
 * A region is published by bumping `gen`; each worker runs its share and
 * decrements `pending`; the caller spins until pending reaches zero. */
#include "core/threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Workers spin SPIN_ITERS pauses (about 0.5 ms) waiting for the next region,
 * yielding the CPU every YIELD_EVERY iterations so that an oversubscribed
 * machine (more runnable threads than cores) still makes progress. */
enum { SPIN_ITERS = 1 << 16, YIELD_EVERY = 256 };

typedef struct {
    r1_pool *pool;
    int ith;
} worker_arg;

struct r1_pool {
    int n;
    pthread_t *threads;
    worker_arg *args;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;
    atomic_int pending;
    atomic_int quit;
    r1_task_fn fn;
    void *ctx;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p) {
    worker_arg *a = p;
    r1_pool *pool = a->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool->gen, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ITERS) {
                if (spins % YIELD_EVERY == 0)
                    sched_yield();
                else
                    cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mu);
            while (atomic_load_explicit(&pool->gen, memory_order_acquire) == seen) pthread_cond_wait(&pool->cv, &pool->mu);
            pthread_mutex_unlock(&pool->mu);
        }
        seen = g;
        if (atomic_load(&pool->quit)) return NULL;
        pool->fn(pool->ctx, a->ith, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

r1_status r1_pool_create(r1_pool **out, int nthreads) {
    *out = NULL;
    if (nthreads < 1 || nthreads > 1024) return r1_fail(R1_INVALID, "threads: count %d out of range 1..1024", nthreads);
    r1_pool *p = calloc(1, sizeof *p);
    if (!p) return r1_fail(R1_NOMEM, "threads: cannot allocate pool");
    p->n = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, 0);
    p->threads = calloc((size_t)nthreads, sizeof *p->threads);
    p->args = calloc((size_t)nthreads, sizeof *p->args);
    if (!p->threads || !p->args) {
        r1_pool_destroy(p);
        return r1_fail(R1_NOMEM, "threads: cannot allocate pool");
    }
    for (int i = 1; i < nthreads; i++) {
        p->args[i] = (worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
            p->n = i; /* destroy joins only the started ones */
            r1_pool_destroy(p);
            return r1_fail(R1_NOMEM, "threads: cannot start worker %d", i);
        }
    }
    *out = p;
    return R1_OK;
}

void r1_pool_destroy(r1_pool *p) {
    if (!p) return;
    if (p->threads) {
        atomic_store(&p->quit, 1);
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->args);
    free(p);
}

int r1_pool_size(const r1_pool *p) { return p ? p->n : 1; }

void r1_pool_run(r1_pool *p, r1_task_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    for (unsigned spins = 1; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins % YIELD_EVERY == 0)
            sched_yield();
        else
            cpu_relax();
    }
}

int r1_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

typedef struct {
    int64_t n, align;
    r1_range_fn fn;
    void *ctx;
} range_job;

static void range_task(void *p, int ith, int nth) {
    range_job *j = p;
    int64_t lo, hi;
    r1_split(j->n, ith, nth, j->align, &lo, &hi);
    if (lo < hi) j->fn(j->ctx, lo, hi, ith);
}

void r1_pool_for(r1_pool *p, int64_t n, int64_t align, r1_range_fn fn, void *ctx) {
    if (n <= 0) return;
    range_job j = {n, align < 1 ? 1 : align, fn, ctx};
    if (!p || n <= j.align) {
        fn(ctx, 0, n, 0);
        return;
    }
    r1_pool_run(p, range_task, &j);
}

typedef struct {
    int64_t n, chunk;
    r1_range_fn fn;
    void *ctx;
    _Alignas(64) atomic_llong next; /* own cache line: every claim writes it */
} claim_job;

static void claim_task(void *p, int ith, int nth) {
    (void)nth;
    claim_job *j = p;
    for (;;) {
        int64_t lo = atomic_fetch_add_explicit(&j->next, j->chunk, memory_order_relaxed);
        if (lo >= j->n) return;
        j->fn(j->ctx, lo, lo + j->chunk < j->n ? lo + j->chunk : j->n, ith);
    }
}

void r1_pool_claim(r1_pool *p, int64_t n, int64_t chunk, r1_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (chunk < 1) chunk = 1;
    if (!p || p->n == 1 || n <= chunk) {
        fn(ctx, 0, n, 0);
        return;
    }
    claim_job j = {.n = n, .chunk = chunk, .fn = fn, .ctx = ctx};
    atomic_init(&j.next, 0);
    r1_pool_run(p, claim_task, &j);
}

/* Each share's unclaimed [lo, hi) as one word (lo in the low 32 bits), so an
 * owner taking from the front and a thief taking from the back agree by one
 * compare-and-swap; one cache line each, as every claim writes it. */
typedef struct {
    _Alignas(64) _Atomic uint64_t span;
} share_slot;

enum { SHARE_MAX_THREADS = 64 };

typedef struct {
    int64_t n, align, grain;
    r1_range_fn fn;
    void *ctx;
    share_slot slot[SHARE_MAX_THREADS];
} share_job;

static uint64_t span_pack(int64_t lo, int64_t hi) { return (uint64_t)lo | (uint64_t)hi << 32; }

/* Claims a piece of share s: from the front (its owner: half of what is
 * left, at least grain) or from the back (a thief: grain). */
static bool share_take(share_job *j, int s, bool owner, int64_t *lo, int64_t *hi) {
    uint64_t v = atomic_load_explicit(&j->slot[s].span, memory_order_relaxed);
    for (;;) {
        int64_t a = (int64_t)(v & 0xffffffffu), b = (int64_t)(v >> 32);
        if (a >= b) return false;
        int64_t want = owner ? (b - a) / 2 : j->grain;
        want = want > j->grain ? want : j->grain;
        int64_t cut; /* a multiple of align strictly inside (a, b), or an end */
        if (owner) {
            cut = (a + want + j->align - 1) / j->align * j->align;
            cut = cut < b ? cut : b;
        } else {
            cut = (b - want) / j->align * j->align;
            cut = cut > a ? cut : a;
        }
        uint64_t nv = owner ? span_pack(cut, b) : span_pack(a, cut);
        if (atomic_compare_exchange_weak_explicit(&j->slot[s].span, &v, nv, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *lo = owner ? a : cut;
            *hi = owner ? cut : b;
            return true;
        }
    }
}

static void share_task(void *p, int ith, int nth) {
    share_job *j = p;
    int64_t lo, hi;
    while (share_take(j, ith, true, &lo, &hi)) j->fn(j->ctx, lo, hi, ith);
    for (int d = 1; d < nth; d++)
        while (share_take(j, (ith + d) % nth, false, &lo, &hi)) j->fn(j->ctx, lo, hi, ith);
}

void r1_pool_share(r1_pool *p, int64_t n, int64_t align, int64_t grain, r1_range_fn fn, void *ctx) {
    if (n <= 0) return;
    align = align < 1 ? 1 : align;
    grain = grain > align ? (grain + align - 1) / align * align : align; /* every piece non-empty and aligned */
    if (!p || p->n == 1 || n <= align) {
        fn(ctx, 0, n, 0);
        return;
    }
    if (p->n > SHARE_MAX_THREADS || n >= ((int64_t)1 << 31)) { /* beyond the packed spans */
        r1_pool_claim(p, n, grain, fn, ctx);
        return;
    }
    share_job j; /* not zeroed: only the pool's slots are used */
    j.n = n, j.align = align, j.grain = grain, j.fn = fn, j.ctx = ctx;
    for (int t = 0; t < p->n; t++) {
        int64_t lo, hi;
        r1_split(n, t, p->n, align, &lo, &hi);
        atomic_init(&j.slot[t].span, span_pack(lo, hi));
    }
    r1_pool_run(p, share_task, &j);
}
