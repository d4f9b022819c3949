/* nfc: Unicode Normalization Form C (UAX #15 sections 3, 9 and 10):
 * canonical decomposition (recursive over the one-step mappings; Hangul
 * syllables by arithmetic, UAX #15 / Unicode 3.12), canonical ordering (stable
 * sort of every run of non-starters by combining class), canonical composition
 * (each character joins the last starter unless blocked; only primary
 * composites, so exclusions, singletons and non-starter decompositions never
 * reappear). Data: nfc_tables.c, Unicode 14.0.0.
 *
 * Fast path: text is scanned with NFC_Quick_Check and the order of combining
 * classes; a character that is Maybe/No or out of order sends only the piece
 * between the boundaries around it (a boundary is a character with ccc 0 and
 * NFC_QC Yes: nothing before it can reorder or compose across it) through the
 * full algorithm. Code points below U+0300 and 256-blocks without such
 * characters cost one table bit; text that needs nothing is not copied. */
#include <stdlib.h>
#include <string.h>

#include "tok/nfc.h"
#include "tok/nfc_tables.h"
#include "tok/utf8.h"

/* A decomposed code point is stored with its ccc in the top byte; an invalid
 * UTF-8 byte (kept as it is) as RAW_BYTE | byte with ccc 0. */
#define CP_MASK 0x3FFFFFu
#define RAW_BYTE 0x200000u

/* Hangul syllable arithmetic (Unicode 14 section 3.12) */
enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7 };
enum { L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT };

/* ccc | qc << 8; 0 for the common ccc 0 + NFC_QC Yes */
static inline uint32_t props(uint32_t c) {
    if (c < 0x300 || c >= 0x110000 || !((nfc_block_bits[c >> 11] >> ((c >> 8) & 7)) & 1)) return 0;
    int lo = nfc_block_first[c >> 8], hi = nfc_block_first[(c >> 8) + 1];
    if (hi > nfc_n_props - 1) hi = nfc_n_props - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const nfc_prop_range *r = &nfc_props[mid];
        if (c < r->lo) hi = mid - 1;
        else if (c > r->hi) lo = mid + 1;
        else return r->ccc | (uint32_t)r->qc << 8;
    }
    return 0;
}

int r1_nfc_ccc(uint32_t cp) { return (int)(props(cp) & 0xFF); }
int r1_nfc_qc(uint32_t cp) { return (int)(props(cp) >> 8); }

static const nfc_decomp_entry *find_decomp(uint32_t c) {
    int lo = 0, hi = nfc_n_decomp - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < nfc_decomp[mid].c) hi = mid - 1;
        else if (c > nfc_decomp[mid].c) lo = mid + 1;
        else return &nfc_decomp[mid];
    }
    return NULL;
}

/* Primary composite of a + b, or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1)
        return a + (b - T_BASE);
    int lo = 0, hi = nfc_n_compose - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const nfc_comp_entry *e = &nfc_compose[mid];
        if (a < e->a || (a == e->a && b < e->b)) hi = mid - 1;
        else if (a > e->a || b > e->b) lo = mid + 1;
        else return e->c;
    }
    return 0;
}

void r1_nfc_buf_free(r1_nfc_buf *b) {
    free(b->out), free(b->cp), free(b->tmp);
    memset(b, 0, sizeof *b);
}

static r1_status reserve_out(r1_nfc_buf *b, size_t extra) {
    if (extra > SIZE_MAX / 2 - b->out_len) return r1_fail(R1_LIMIT, "nfc: text too long");
    size_t need = b->out_len + extra;
    if (need <= b->cap_out) return R1_OK;
    size_t cap = b->cap_out ? b->cap_out : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->out, cap);
    if (!p) return r1_fail(R1_NOMEM, "out of memory");
    b->out = p, b->cap_out = cap;
    return R1_OK;
}

static r1_status reserve_cp(r1_nfc_buf *b, size_t n) {
    if (n <= b->cap_cp) return R1_OK;
    if (n > SIZE_MAX / 2 / sizeof *b->cp) return r1_fail(R1_LIMIT, "nfc: text too long");
    size_t cap = b->cap_cp ? b->cap_cp : 64;
    while (cap < n) cap *= 2;
    uint32_t *p = realloc(b->cp, cap * sizeof *p), *q;
    if (!p) return r1_fail(R1_NOMEM, "out of memory");
    b->cp = p;
    if (!(q = realloc(b->tmp, cap * sizeof *q))) return r1_fail(R1_NOMEM, "out of memory");
    b->tmp = q, b->cap_cp = cap;
    return R1_OK;
}

static void push(r1_nfc_buf *b, size_t *m, uint32_t c) {
    R1_ASSERT(*m < b->cap_cp); /* sized by normalize_piece: <= 4 code points per 2 bytes */
    b->cp[(*m)++] = c | (props(c) & 0xFF) << 24;
}

/* Full canonical decomposition of c appended to b->cp. Depth is at most 3
 * (U+1F82 -> U+1F02 U+0345 -> U+1F00 U+0300 U+0345 -> U+03B1 U+0313 ...). */
static void decompose(r1_nfc_buf *b, size_t *m, uint32_t c) {
    if (c - S_BASE < S_COUNT) {
        uint32_t s = c - S_BASE;
        push(b, m, L_BASE + s / N_COUNT);
        push(b, m, V_BASE + s % N_COUNT / T_COUNT);
        if (s % T_COUNT) push(b, m, T_BASE + s % T_COUNT);
        return;
    }
    const nfc_decomp_entry *d = c >= 0xC0 ? find_decomp(c) : NULL;
    if (!d) {
        push(b, m, c);
        return;
    }
    decompose(b, m, d->a);
    if (d->b) decompose(b, m, d->b);
}

/* Stable sort of the non-starter run cp[i..j) by ccc: insertion sort for short
 * runs, a counting sort for long ones (a 100 kB run of marks stays linear). */
static void sort_run(r1_nfc_buf *b, size_t i, size_t j) {
    uint32_t *cp = b->cp;
    if (j - i <= 32) {
        for (size_t k = i + 1; k < j; k++) {
            uint32_t v = cp[k];
            size_t m = k;
            while (m > i && (cp[m - 1] >> 24) > (v >> 24)) cp[m] = cp[m - 1], m--;
            cp[m] = v;
        }
        return;
    }
    size_t start[257] = {0};
    for (size_t k = i; k < j; k++) start[(cp[k] >> 24) + 1]++;
    for (int c = 1; c <= 256; c++) start[c] += start[c - 1];
    for (size_t k = i; k < j; k++) b->tmp[start[cp[k] >> 24]++] = cp[k];
    memcpy(cp + i, b->tmp, (j - i) * sizeof *cp);
}

static void reorder(r1_nfc_buf *b, size_t m) {
    for (size_t i = 0; i < m;) {
        if (!(b->cp[i] >> 24)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < m && (b->cp[j] >> 24)) j++;
        if (j - i > 1) sort_run(b, i, j);
        i = j;
    }
}

/* Canonical composition in place; returns the new length. Input is in
 * canonical order, so the characters kept after the last starter have
 * non-decreasing ccc and c is blocked exactly when one was kept and the last
 * of them has ccc >= ccc(c) (always, when c is a starter). */
static size_t compose(uint32_t *cp, size_t m) {
    size_t starter = SIZE_MAX, out = 0;
    uint32_t last = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t v = cp[i], ccc = v >> 24;
        if (starter != SIZE_MAX && (out - 1 == starter || last < ccc)) {
            uint32_t c = compose_pair(cp[starter] & CP_MASK, v & CP_MASK);
            if (c) {
                cp[starter] = c | (props(c) & 0xFF) << 24;
                continue;
            }
        }
        if (ccc == 0) starter = out;
        last = ccc;
        cp[out++] = v;
    }
    return out;
}

/* NFC of s[0..n) as one piece, appended to b->out. */
static r1_status normalize_piece(r1_nfc_buf *b, const unsigned char *s, size_t n) {
    if (n > SIZE_MAX / 4) return r1_fail(R1_LIMIT, "nfc: text too long");
    R1_TRY(reserve_cp(b, 2 * n + 4));
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int k = r1_utf8_next(s + i, n - i, &c);
        if (k > 0) {
            decompose(b, &m, c);
            i += (size_t)k;
            continue;
        }
        size_t bad = k < 0 ? (size_t)-k : n - i; /* 0: a truncated character at the end */
        for (size_t e = i + bad; i < e; i++) b->cp[m++] = RAW_BYTE | s[i];
    }
    reorder(b, m);
    m = compose(b->cp, m);
    R1_TRY(reserve_out(b, 4 * m + 1)); /* + 1: b->out is never NULL afterwards */
    char *o = b->out + b->out_len;
    for (size_t i = 0; i < m; i++) {
        uint32_t c = b->cp[i] & CP_MASK;
        if (c & RAW_BYTE) *o++ = (char)(c & 0xFF);
        else o += r1_utf8_encode(c, o);
    }
    b->out_len = (size_t)(o - b->out);
    return R1_OK;
}

/* r1_utf8_next with the 2- and 3-byte cases inline (the fast path's hot loop). */
static inline int next_char(const unsigned char *u, size_t n, uint32_t *cp) {
    unsigned c = u[0];
    if (c >= 0xC2 && c <= 0xDF && n >= 2 && (u[1] & 0xC0) == 0x80) {
        *cp = (c & 0x1Fu) << 6 | (u[1] & 0x3Fu);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF && n >= 3 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80) {
        uint32_t v = (c & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3Fu);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            *cp = v;
            return 3;
        }
    }
    return r1_utf8_next(u, n, cp);
}

static r1_status append(r1_nfc_buf *b, const unsigned char *s, size_t n) {
    R1_TRY(reserve_out(b, n));
    if (n) memcpy(b->out + b->out_len, s, n);
    b->out_len += n;
    return R1_OK;
}

r1_status r1_nfc(r1_nfc_buf *b, const char *s, size_t n, const char **res, size_t *res_len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, safe = 0, done = 0; /* safe: last boundary; done: input consumed into out */
    uint32_t last = 0;                 /* ccc of the previous character */
    int copied = 0;
    b->out_len = 0;
    while (i < n) {
        size_t a = i;
        for (uint64_t w; i + 8 <= n; i += 8) { /* ASCII, 8 bytes at a time */
            memcpy(&w, u + i, 8);
            if (w & 0x8080808080808080ull) break;
        }
        while (i < n && u[i] < 0x80) i++;
        if (i > a) safe = i - 1, last = 0;
        if (i == n) break;
        uint32_t c;
        int k = next_char(u + i, n - i, &c);
        if (k <= 0) { /* invalid bytes neither compose nor reorder: a boundary after them */
            i += k < 0 ? (size_t)-k : n - i;
            safe = i, last = 0;
            continue;
        }
        uint32_t p = props(c), ccc = p & 0xFF;
        if (p >> 8 == NFC_QC_YES && (ccc == 0 || ccc >= last)) {
            if (ccc == 0) safe = i;
            last = ccc;
            i += (size_t)k;
            continue;
        }
        size_t j = i + (size_t)k; /* the piece runs to the next boundary */
        while (j < n && u[j] >= 0x80) {
            int kk = next_char(u + j, n - j, &c);
            if (kk <= 0 || props(c) == 0) break;
            j += (size_t)kk;
        }
        R1_TRY(append(b, u + done, safe - done));
        R1_TRY(normalize_piece(b, u + safe, j - safe));
        done = safe = i = j, last = 0, copied = 1;
    }
    if (!copied) {
        *res = s, *res_len = n;
        return R1_OK;
    }
    R1_TRY(append(b, u + done, n - done));
    *res = b->out, *res_len = b->out_len;
    return R1_OK;
}

r1_status r1_nfc_full(r1_nfc_buf *b, const char *s, size_t n, const char **res, size_t *res_len) {
    b->out_len = 0;
    R1_TRY(normalize_piece(b, (const unsigned char *)s, n));
    *res = b->out, *res_len = b->out_len;
    return R1_OK;
}
