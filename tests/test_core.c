/* Tests for core/: status messages, dtype conversions, arena, rng, pool. */
#include "test.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/dtype.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/threads.h"

TEST(status_messages) {
    r1_err_clear();
    CHECK_STR(r1_errmsg(), "");
    r1_status s = r1_fail(R1_FORMAT, "tensor '%s' ends at %d", "w", 9);
    CHECK_EQ_INT(s, R1_FORMAT);
    CHECK_STR(r1_errmsg(), "tensor 'w' ends at 9");
    r1_err_wrap(s, "model.safetensors");
    CHECK_STR(r1_errmsg(), "model.safetensors: tensor 'w' ends at 9");
    CHECK_STR(r1_status_str(R1_NOMEM), "out of memory");
    CHECK_STR(r1_status_str(R1_OK), "ok");
}

TEST(bf16_round_trip) {
    /* exact values survive; RNE on ties; NaN stays NaN */
    CHECK(r1_bf16_to_f32(r1_f32_to_bf16(1.5f)) == 1.5f);
    CHECK(r1_bf16_to_f32(r1_f32_to_bf16(-2.0f)) == -2.0f);
    float tie_even = 1.0f + 1.0f / 256.0f; /* halfway between 1 and 1+2^-7: rounds to 1 */
    CHECK(r1_bf16_to_f32(r1_f32_to_bf16(tie_even)) == 1.0f);
    float tie_odd = 1.0f + 3.0f / 256.0f; /* halfway, rounds up to even mantissa */
    CHECK(r1_bf16_to_f32(r1_f32_to_bf16(tie_odd)) == 1.0f + 4.0f / 256.0f);
    float nan = NAN;
    CHECK(isnan(r1_bf16_to_f32(r1_f32_to_bf16(nan))));
    CHECK(isinf(r1_bf16_to_f32(r1_f32_to_bf16(INFINITY))));
}

TEST(f16_all_values_round_trip) {
    /* every finite f16 converts to f32 and back exactly */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) continue; /* NaN payloads */
        uint16_t back = r1_f32_to_f16(r1_f16_to_f32((uint16_t)h));
        if (back != h) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(r1_f16_to_f32(r1_f32_to_f16(65504.0f)) == 65504.0f);
    CHECK(isinf(r1_f16_to_f32(r1_f32_to_f16(65520.0f))));
    CHECK(r1_f16_to_f32(r1_f32_to_f16(5.9604645e-8f)) == 5.9604645e-8f); /* smallest subnormal */
    CHECK(r1_f16_to_f32(r1_f32_to_f16(2.9802322e-8f)) == 0.0f);          /* 2^-25 ties to even 0 */
    CHECK(r1_f16_to_f32(r1_f32_to_f16(3.0e-8f)) == 5.9604645e-8f);
    /* rounding of a normal value: 1 + 2^-11 is a tie -> 1; 1 + 3*2^-11 -> 1 + 2^-9 */
    CHECK(r1_f16_to_f32(r1_f32_to_f16(1.0f + 1.0f / 2048)) == 1.0f);
    CHECK(r1_f16_to_f32(r1_f32_to_f16(1.0f + 3.0f / 2048)) == 1.0f + 4.0f / 2048);
}

TEST(arena_alignment_and_limit) {
    r1_arena a;
    CHECK_OK(r1_arena_init(&a, 1000));
    char *p = r1_arena_alloc(&a, 3), *q = r1_arena_alloc(&a, 100);
    CHECK(p && q);
    CHECK(((uintptr_t)p % R1_ALIGN) == 0 && ((uintptr_t)q % R1_ALIGN) == 0);
    CHECK(q - p == R1_ALIGN);
    CHECK(r1_arena_alloc(&a, 10000) == NULL);
    r1_arena_reset(&a);
    CHECK(r1_arena_alloc(&a, 3) == p);
    r1_arena_free(&a);
}

TEST(rng_is_deterministic_and_portable) {
    r1_rng a, b;
    r1_rng_seed(&a, 42);
    r1_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(r1_rng_u64(&a) == r1_rng_u64(&b));
    /* pinned values: any change to the generator breaks reproducibility */
    r1_rng_seed(&a, 0);
    uint64_t first = r1_rng_u64(&a);
    CHECK(first == 0x99ec5f36cb75f2b4ull);
    double sum = 0, sq = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = r1_rng_normal(&a);
        sum += x;
        sq += x * x;
    }
    CHECK_NEAR(sum / n, 0.0, 0.01);
    CHECK_NEAR(sq / n, 1.0, 0.01);
    for (int i = 0; i < 1000; i++) {
        float f = r1_rng_f32(&a);
        CHECK(f >= 0.0f && f < 1.0f);
        CHECK(r1_rng_below(&a, 7) < 7);
    }
}

typedef struct {
    atomic_int hits[8];
    int64_t sum[8];
} pool_ctx;

static void pool_task(void *p, int ith, int nth) {
    pool_ctx *c = p;
    atomic_fetch_add(&c->hits[ith], 1);
    int64_t lo, hi;
    r1_split(1000, ith, nth, 16, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) c->sum[ith] += i;
}

TEST(pool_runs_every_thread_once) {
    for (int n = 1; n <= 4; n++) {
        r1_pool *p;
        CHECK_OK(r1_pool_create(&p, n));
        CHECK_EQ_INT(r1_pool_size(p), n);
        for (int rep = 0; rep < 200; rep++) {
            pool_ctx c = {0};
            r1_pool_run(p, pool_task, &c);
            int64_t total = 0;
            for (int i = 0; i < n; i++) {
                CHECK_EQ_INT(atomic_load(&c.hits[i]), 1);
                total += c.sum[i];
            }
            CHECK_EQ_INT(total, 999 * 1000 / 2);
        }
        r1_pool_destroy(p);
    }
    r1_pool *bad;
    CHECK(r1_pool_create(&bad, 0) == R1_INVALID);
}

typedef struct {
    atomic_int seen[1000];
    atomic_int bad_range;
    int64_t chunk;
} claim_ctx;

static void claim_range(void *p, int64_t lo, int64_t hi, int ith) {
    claim_ctx *c = p;
    /* every range but the last is exactly one chunk, starting on a chunk */
    if (lo % c->chunk != 0 || (hi - lo != c->chunk && hi != 1000) || ith < 0 || ith > 3) atomic_fetch_add(&c->bad_range, 1);
    for (int64_t i = lo; i < hi; i++) atomic_fetch_add(&c->seen[i], 1);
}

TEST(pool_claim_covers_every_item_once) {
    for (int n = 1; n <= 4; n++) {
        r1_pool *p;
        CHECK_OK(r1_pool_create(&p, n));
        const int64_t chunks[] = {1, 7, 64, 999, 1000, 5000};
        for (int rep = 0; rep < 20; rep++)
            for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
                static claim_ctx c;
                memset(&c, 0, sizeof c);
                c.chunk = chunks[k];
                r1_pool_claim(p, 1000, chunks[k], claim_range, &c);
                CHECK_EQ_INT(atomic_load(&c.bad_range), 0);
                for (int i = 0; i < 1000; i++) CHECK_EQ_INT(atomic_load(&c.seen[i]), 1);
            }
        r1_pool_claim(p, 0, 4, claim_range, NULL); /* nothing to do: fn never runs */
        r1_pool_destroy(p);
    }
    claim_ctx c = {.chunk = 1000}; /* no pool: one inline call */
    r1_pool_claim(NULL, 1000, 3, claim_range, &c);
    CHECK_EQ_INT(atomic_load(&c.seen[999]), 1);
}

typedef struct {
    atomic_int seen[1000];
    atomic_int bad_range;
    atomic_int stolen; /* items of share 0 run by another thread */
    int64_t n, align, share0;
    bool hold; /* thread 0 waits (up to 2 s) in its first piece until a piece of its share is stolen */
    bool held;
} share_ctx;

static void share_range(void *p, int64_t lo, int64_t hi, int ith) {
    share_ctx *c = p;
    if (lo >= hi || lo % c->align != 0 || (hi % c->align != 0 && hi != c->n) || ith < 0 || ith > 64)
        atomic_fetch_add(&c->bad_range, 1);
    for (int64_t i = lo; i < hi; i++) atomic_fetch_add(&c->seen[i], 1);
    if (ith != 0 && lo < c->share0) atomic_fetch_add(&c->stolen, 1);
    if (ith == 0 && c->hold && !c->held) {
        c->held = true;
        for (int ms = 0; ms < 2000 && !atomic_load(&c->stolen); ms++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

TEST(pool_share_covers_every_item_once_and_steals) {
    for (int nth = 1; nth <= 4; nth++) {
        r1_pool *p;
        CHECK_OK(r1_pool_create(&p, nth));
        const int64_t ns[] = {1, 15, 16, 17, 640, 1000}, aligns[] = {1, 16}, grains[] = {0, 1, 64, 5000};
        for (int rep = 0; rep < 5; rep++)
            for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
                for (size_t b = 0; b < sizeof aligns / sizeof *aligns; b++)
                    for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
                        static share_ctx c;
                        memset(&c, 0, sizeof c);
                        c.n = ns[a], c.align = aligns[b], c.share0 = 0;
                        r1_pool_share(p, ns[a], aligns[b], grains[g], share_range, &c);
                        CHECK_EQ_INT(atomic_load(&c.bad_range), 0);
                        for (int i = 0; i < ns[a]; i++) CHECK_EQ_INT(atomic_load(&c.seen[i]), 1);
                    }
        if (nth > 1) { /* a held thread's share is finished by the others */
            static share_ctx c;
            memset(&c, 0, sizeof c);
            c.n = 1000, c.align = 16, c.hold = true;
            int64_t lo, hi;
            r1_split(1000, 0, nth, 16, &lo, &hi);
            c.share0 = hi;
            r1_pool_share(p, 1000, 16, 16, share_range, &c);
            CHECK(atomic_load(&c.stolen) > 0);
            for (int i = 0; i < 1000; i++) CHECK_EQ_INT(atomic_load(&c.seen[i]), 1);
        }
        r1_pool_share(p, 0, 16, 64, share_range, NULL); /* nothing to do: fn never runs */
        r1_pool_destroy(p);
    }
    r1_pool *big; /* past the packed spans' 64 threads: claimed, still aligned */
    CHECK_OK(r1_pool_create(&big, 65));
    static share_ctx c;
    memset(&c, 0, sizeof c);
    c.n = 1000, c.align = 16;
    r1_pool_share(big, 1000, 16, 20, share_range, &c);
    r1_pool_destroy(big);
    CHECK_EQ_INT(atomic_load(&c.bad_range), 0);
    for (int i = 0; i < 1000; i++) CHECK_EQ_INT(atomic_load(&c.seen[i]), 1);
}

TEST(split_covers_range_aligned) {
    for (int nth = 1; nth <= 5; nth++) {
        int64_t prev = 0;
        for (int ith = 0; ith < nth; ith++) {
            int64_t lo, hi;
            r1_split(37, ith, nth, 16, &lo, &hi);
            CHECK_EQ_INT(lo, prev);
            CHECK(lo % 16 == 0 || lo == 37);
            prev = hi;
        }
        CHECK_EQ_INT(prev, 37);
    }
}

int main(void) {
    RUN(status_messages);
    RUN(bf16_round_trip);
    RUN(f16_all_values_round_trip);
    RUN(arena_alignment_and_limit);
    RUN(rng_is_deterministic_and_portable);
    RUN(pool_runs_every_thread_once);
    RUN(pool_claim_covers_every_item_once);
    RUN(pool_share_covers_every_item_once_and_steals);
    RUN(split_covers_range_aligned);
    TEST_MAIN_END();
}
