/* cpu_features: CPUID/XGETBV detection and the choice of kernel table.
 * A SIMD extension counts only if the CPU reports it (CPUID) and the OS saves
 * its registers on context switch (XCR0 bits 1-2 for YMM, 5-7 for the AVX-512
 * opmask and ZMM state; Intel SDM vol. 1, 13.3). Both are read once. On
 * non-x86 builds only the scalar table exists. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/tables.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static r1_cpu g_cpu;
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect(void) {
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) /* the vendor string is ebx, edx, ecx */
        g_cpu.intel = b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    bool fma = c & (1u << 12), f16c = c & (1u << 29);
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    bool ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
    if (!avx || !ymm_os) return;
    g_cpu.avx = true;
    g_cpu.fma = fma;
    g_cpu.f16c = f16c;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned sub_leaves = a;
    g_cpu.avx2 = b & (1u << 5);
    if (zmm_os) {
        g_cpu.avx512f = b & (1u << 16);
        g_cpu.avx512dq = b & (1u << 17);
        g_cpu.avx512bw = b & (1u << 30);
        g_cpu.avx512vl = b & (1u << 31);
        g_cpu.avx512_vnni = c & (1u << 11);
        g_cpu.gfni = c & (1u << 8); /* its 512-bit forms: with AVX-512F, as here */
        if (sub_leaves >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            g_cpu.avx512_bf16 = a & (1u << 5);
        }
    }
}
#else
static void detect(void) {}
#endif

const r1_cpu *r1_cpu_get(void) {
    pthread_once(&g_cpu_once, detect);
    return &g_cpu;
}

const r1_kernels *r1_kernels_ref(void) { return &r1_kernels_table_ref; }

const r1_kernels *r1_kernels_avx2(void) {
#if defined(__x86_64__)
    const r1_cpu *c = r1_cpu_get();
    if (c->avx2 && c->fma && c->f16c) return &r1_kernels_table_avx2;
#endif
    return NULL;
}

const r1_kernels *r1_kernels_avx512(void) {
#if defined(__x86_64__)
    const r1_cpu *c = r1_cpu_get();
    /* VNNI: the quantized kernels use vpdpwssd; BF16 picks the vdpbf16ps table */
    if (c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq && c->avx512_vnni && c->avx2 && c->fma && c->f16c)
        return c->avx512_bf16 ? &r1_kernels_table_avx512bf16 : &r1_kernels_table_avx512;
#endif
    return NULL;
}

const r1_kernels *r1_kernels_for(const char *isa) {
    if (!isa) return NULL;
    if (strcmp(isa, "ref") == 0) return r1_kernels_ref();
    if (strcmp(isa, "avx2") == 0) return r1_kernels_avx2();
    if (strcmp(isa, "avx512") == 0) return r1_kernels_avx512();
    return NULL;
}

static const r1_kernels *g_table;
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const r1_kernels *best = r1_kernels_avx512();
    if (!best) best = r1_kernels_avx2();
    if (!best) best = r1_kernels_ref();
    const char *want = getenv("R1_ISA");
    g_table = best;
    if (want && *want) {
        const r1_kernels *k = r1_kernels_for(want);
        if (k)
            g_table = k;
        else
            fprintf(stderr, "r1: warning: R1_ISA=%s is not available here (known: ref, avx2, avx512); using %s\n",
                    want, best->isa);
    }
}

const r1_kernels *r1_kernels_get(void) {
    pthread_once(&g_table_once, choose);
    return g_table;
}
