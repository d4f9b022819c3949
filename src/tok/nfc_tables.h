/* nfc_tables: layout of the generated Unicode tables (nfc_tables.c, written by
 * scripts/gen_nfc_tables.py from Unicode 14.0.0) that nfc.c reads. Not part of
 * the public API. All arrays are sorted by their first field. */
#ifndef R1_TOK_NFC_TABLES_H
#define R1_TOK_NFC_TABLES_H

#include <stdint.h>

enum { NFC_QC_YES = 0, NFC_QC_MAYBE = 1, NFC_QC_NO = 2 };

/* Code points lo..hi share a canonical combining class and an NFC_Quick_Check
 * value; code points in no range have ccc 0 and NFC_QC Yes. */
typedef struct {
    uint32_t lo, hi;
    uint8_t ccc, qc;
} nfc_prop_range;

/* one-step canonical decomposition c -> a b (b == 0 for a singleton) */
typedef struct {
    uint32_t c, a, b;
} nfc_decomp_entry;

/* primary composite: a b -> c */
typedef struct {
    uint32_t a, b, c;
} nfc_comp_entry;

/* Bit (cp >> 8) & 7 of nfc_block_bits[cp >> 11] is set when the 256-code-point
 * block holding cp meets a range of nfc_props (so most text skips the search). */
extern const uint8_t nfc_block_bits[0x110000 >> 11];
/* Index of the first nfc_props range ending at or after block b's start: the
 * ranges that meet block b lie in [nfc_block_first[b], nfc_block_first[b + 1]]. */
extern const uint16_t nfc_block_first[(0x110000 >> 8) + 1];
extern const int nfc_n_props, nfc_n_decomp, nfc_n_compose;
extern const nfc_prop_range nfc_props[];
extern const nfc_decomp_entry nfc_decomp[]; /* sorted by c */
extern const nfc_comp_entry nfc_compose[];  /* sorted by (a, b) */

#endif
