/* arena: a bump allocator over one block, for activations and scratch.
 * The model plans its needs up front (bytes), the caller creates an arena of
 * that size, and every pointer handed out is 64-byte aligned (cache line and
 * AVX-512 register width) so kernels may use aligned loads. Nothing is freed
 * individually: r1_arena_reset() rewinds, r1_arena_free() releases. */
#ifndef R1_ARENA_H
#define R1_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

enum { R1_ALIGN = 64 };

typedef struct {
    char *base;
    size_t cap, used;
} r1_arena;

/* Rounds n up to the arena alignment (so plans can add sizes). */
static inline size_t r1_align_up(size_t n) { return (n + R1_ALIGN - 1) & ~(size_t)(R1_ALIGN - 1); }

/* Allocates cap bytes (zeroed). */
r1_status r1_arena_init(r1_arena *a, size_t cap);
void r1_arena_free(r1_arena *a);
/* Returns n bytes (aligned, contents unspecified) or NULL when the arena is full;
 * a full arena is a planning bug, so callers R1_ASSERT the result. */
void *r1_arena_alloc(r1_arena *a, size_t n);
/* Same, for n floats. */
static inline float *r1_arena_floats(r1_arena *a, int64_t n) {
    return (float *)r1_arena_alloc(a, (size_t)n * sizeof(float));
}
static inline void r1_arena_reset(r1_arena *a) { a->used = 0; }

/* 64-byte aligned heap memory (free with free()); NULL on failure. */
void *r1_alloc_aligned(size_t n);
/* The same for large, long-lived buffers read in streams (weights): 2 MB
 * aligned and marked for transparent huge pages, so filling it takes few
 * page faults and streaming it few TLB misses. Freed with free(). */
void *r1_alloc_huge(size_t n);

#endif
