/* nfc: Unicode Normalization Form C (UAX #15), the normalizer that Qwen2's
 * tokenizer.json (R1-Distill-Qwen) declares. Unicode 14.0.0 data (the version
 * of Debian 12's PCRE2 that classifies characters for the pre-tokenizer).
 *
 * Input is any byte string: a maximal invalid UTF-8 subpart is kept byte for
 * byte and acts as a starter that composes with nothing, so valid UTF-8 in
 * gives valid UTF-8 out and nfc(nfc(x)) == nfc(x) for every x. Text that the
 * quick check (NFC_QC, canonical order) finds already normalized is returned
 * as it is, without a copy. */
#ifndef R1_TOK_NFC_H
#define R1_TOK_NFC_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Growable buffers reused across calls: init with {0}, release with
 * r1_nfc_buf_free. Owned by the caller; one buffer per thread. */
typedef struct {
    char *out;
    size_t out_len, cap_out;
    uint32_t *cp, *tmp; /* decomposed code points (ccc in the top byte) */
    size_t cap_cp;
} r1_nfc_buf;

void r1_nfc_buf_free(r1_nfc_buf *b);

/* NFC of s[0..n). On success *res points either at s itself (already in NFC)
 * or into b->out, *res_len bytes, valid until the next call on b. */
r1_status r1_nfc(r1_nfc_buf *b, const char *s, size_t n, const char **res, size_t *res_len);

/* The same without the quick-check fast path: the whole input is decomposed,
 * reordered and recomposed as one piece. Always writes b->out; for tests that
 * check the fast path against it. */
r1_status r1_nfc_full(r1_nfc_buf *b, const char *s, size_t n, const char **res, size_t *res_len);

/* Canonical combining class and NFC_Quick_Check (0 Yes, 1 Maybe, 2 No) of cp. */
int r1_nfc_ccc(uint32_t cp);
int r1_nfc_qc(uint32_t cp);

#endif
