/* Fuzz target: NFC of arbitrary bytes. Requires idempotence (nfc(nfc(x)) ==
 * nfc(x), for invalid UTF-8 too: stray bytes are kept in place), valid UTF-8
 * in -> valid UTF-8 out, the fast path equal to the full algorithm, and that
 * decomposing never outgrows the buffers (an always-on assert in nfc.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok/nfc.h"
#include "tok/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    r1_nfc_buf a = {0}, b = {0}, c = {0};
    const char *x, *y, *z;
    size_t xl, yl, zl;
    const char *s = (const char *)data;
    if (r1_nfc(&a, s, size, &x, &xl) || r1_nfc(&b, x, xl, &y, &yl) || r1_nfc_full(&c, s, size, &z, &zl)) abort();
    if (yl != xl || memcmp(x, y, xl)) abort();
    if (zl != xl || memcmp(x, z, xl)) abort();
    if (r1_utf8_valid(s, size) && !r1_utf8_valid(x, xl)) abort();
    r1_nfc_buf_free(&a), r1_nfc_buf_free(&b), r1_nfc_buf_free(&c);
    return 0;
}
