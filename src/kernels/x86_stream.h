/* x86_stream: the software prefetch of decode's weight streams, shared by
 * the float and quantized matvec kernels of x86_avx2.c and x86_avx512.c.
 *
 * Decode (one activation row) reads every weight byte from DRAM once, a row
 * after the other, so its speed is the core's streaming read rate. The
 * hardware prefetcher alone stops at each 4 KB page and keeps too few lines
 * in flight for one core to reach it; the kernels therefore read the rows in
 * address order as one stream and prefetch the lines STREAM_PF_BYTES ahead of
 * what they load. The best distance depends on the core, so each ISA file
 * sets its own before including this (default: the AVX-512 one):
 *  - Zen 5, AVX-512, 1 thread, qwen2-1.5B widths from the mmap'd GGUF: Q8_0
 *    decode 41 -> 59 tok/s, Q4_K 90 -> 110 tok/s; 4-8 KB ahead was best, 3 KB
 *    and 12 KB worse (docs/KERNELS.md).
 *  - Zen 3, AVX2, 1 thread, qwen2's 151936 x 1536 f16 output matrix: 0 / 512
 *    / 1024 / 2048 / 6144 bytes ahead ran 11.4 / 11.8 / 12.5 / 10.8 / 10.0
 *    GB/s (mean of 12 interleaved rounds); Q4_K FFN matrices likewise ran
 *    best at 0.5-1 KB (docs/BENCHMARKS.md). */
#ifndef R1_X86_STREAM_H
#define R1_X86_STREAM_H

#include <immintrin.h>
#include <stdint.h>

#ifndef STREAM_PF_BYTES
#define STREAM_PF_BYTES 6144
#endif

/* Prefetch `lines` cache lines from `ahead` (stream_prefetch:
 * STREAM_PF_BYTES) bytes past p. The address is formed as an integer because
 * it may run past the matrix: a prefetch never faults. */
static inline __attribute__((always_inline)) void stream_prefetch_at(const void *p, uintptr_t ahead, int lines) {
    uintptr_t a = (uintptr_t)p + ahead;
    for (int i = 0; i < lines; i++) _mm_prefetch((const char *)(a + 64u * (unsigned)i), _MM_HINT_T0);
}

static inline __attribute__((always_inline)) void stream_prefetch(const void *p, int lines) {
    stream_prefetch_at(p, STREAM_PF_BYTES, lines);
}

/* Small-N products (batched decode) stream the weights too: the register
 * tiles over the same `rows` weight rows (4 for AVX-512, 3 for AVX2) prefetch
 * the next `rows` rows, one line per row and k step. This is the mask of the
 * rows that tile i of n prefetches, spread over the first tiles so the lines
 * are requested evenly while the current rows are in use. All 4 rows from
 * the first tile left the f32 N = 16, K = 768 product at 51 GMAC/s from DRAM
 * against 78 from cache; spread, 58-62 (1 thread, Zen 5). */
static inline unsigned stream_pf_rows(int64_t i, int64_t n, int rows) {
    unsigned mask = 0;
    for (int c = 0; c < rows; c++)
        if (c % (n < rows ? n : rows) == i) mask |= 1u << c;
    return mask;
}

#endif
