/* utf8: the few UTF-8 helpers the tokenizer needs (decode one character with
 * a three-way verdict for streaming, encode, the GPT-2 byte<->unicode map).
 * Validity follows RFC 3629 (no surrogates, no overlongs, max U+10FFFF);
 * invalid input is reported as a "maximal subpart" length as in the WHATWG
 * Encoding standard, so replacement matches what JS TextDecoder produces. */
#ifndef R1_TOK_UTF8_H
#define R1_TOK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Looks at s[0..n) (n >= 1). Returns k > 0 for a valid character of k bytes
 * (stored in *cp); 0 if s is a proper prefix of a valid sequence that needs
 * more bytes; -k for an invalid maximal subpart of k bytes (k >= 1). */
int r1_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes cp (<= 0x10FFFF, not a surrogate) to out; returns 1..4. */
int r1_utf8_encode(uint32_t cp, char out[4]);

/* 1 if s[0..n) is entirely valid UTF-8. */
int r1_utf8_valid(const char *s, size_t n);

/* GPT-2 byte-level map: byte b is shown as code point r1_bpe_byte_to_cp(b);
 * r1_bpe_cp_to_byte(cp) inverts it (-1 for a code point outside the map).
 * Printable Latin-1 bytes map to themselves, the other 68 to U+0100.. in order. */
uint32_t r1_bpe_byte_to_cp(uint8_t b);
int r1_bpe_cp_to_byte(uint32_t cp);

/* Unicode White_Space (what Rust's and Oniguruma's \s mean). */
int r1_utf8_is_space(uint32_t cp);

#endif
