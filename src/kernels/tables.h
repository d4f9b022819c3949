/* tables: the static kernel tables defined by ref.c and the x86_*.c files.
 * Private to src/kernels/: callers go through r1_kernels_get()/_for(), which
 * check the CPU before handing out an ISA table. Only data crosses this
 * boundary so that no ISA-flagged code runs before the check. */
#ifndef R1_KERNEL_TABLES_H
#define R1_KERNEL_TABLES_H

#include "kernels/kernels.h"

extern const r1_kernels r1_kernels_table_ref;
#if defined(__x86_64__)
extern const r1_kernels r1_kernels_table_avx2;
extern const r1_kernels r1_kernels_table_avx512;
extern const r1_kernels r1_kernels_table_avx512bf16; /* the same with vdpbf16ps for the bf16 products */
#endif

#endif
