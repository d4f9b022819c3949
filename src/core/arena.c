/* arena: bump allocation over one aligned block (see arena.h). */
#include "core/arena.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

void *r1_alloc_aligned(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, R1_ALIGN, r1_align_up(n ? n : 1)) != 0) return NULL;
    return p;
}

void *r1_alloc_huge(size_t n) {
    enum { HUGE = 2 << 20 };
    size_t bytes = (n + HUGE - 1) / HUGE * HUGE;
    void *p = NULL;
    if (bytes == 0 || posix_memalign(&p, HUGE, bytes) != 0) return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without THP it stays 4 KB pages */
    return p;
}

r1_status r1_arena_init(r1_arena *a, size_t cap) {
    a->base = r1_alloc_aligned(cap);
    a->cap = r1_align_up(cap);
    a->used = 0;
    if (!a->base) return r1_fail(R1_NOMEM, "arena: cannot allocate %zu bytes", cap);
    memset(a->base, 0, a->cap);
    return R1_OK;
}

void r1_arena_free(r1_arena *a) {
    free(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

void *r1_arena_alloc(r1_arena *a, size_t n) {
    size_t need = r1_align_up(n);
    if (need > a->cap - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += need;
    return p;
}
