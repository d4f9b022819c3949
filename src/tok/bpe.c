/* bpe: byte-level BPE merges for one pre-token, plus the word cache.
 * A pre-token starts as its bytes' tokens; the adjacent pair with the lowest
 * merge rank is merged until none is left (ties: leftmost), exactly what HF
 * tokenizers and transformers.js do. Words up to SHORT_WORD symbols keep a
 * compact array with each pair's rank cached (2 lookups per merge, a linear
 * min-scan); longer words use a linked list and a binary heap of
 * (rank << 32 | position), so a 100k-byte "word" stays O(n log n).
 * Frequent words come from a cache keyed by their bytes (<= CACHE_KEY bytes). */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

enum { SHORT_WORD = 128, CACHE_KEY = 64, CACHE_SLOTS = 1 << 16 };
#define NO_RANK UINT32_MAX

static inline uint32_t pair_rank(const r1_tok *t, int32_t a, int32_t b, int32_t *res) {
    if (a < 0 || b < 0) return NO_RANK;
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t i = (uint32_t)(key * 0x9E3779B97F4A7C15ull >> 40) & t->mmask;
    for (;;) {
        uint64_t k = t->mkey[i];
        if (k == key) {
            *res = t->mres[i];
            return t->mrank[i];
        }
        if (k == UINT64_MAX) return NO_RANK;
        i = (i + 1) & t->mmask;
    }
}

r1_status tok_push_ids(tok_scratch *sc, const int32_t *ids, size_t n) {
    if (sc->nids + n > sc->cap_ids) {
        size_t cap = sc->cap_ids ? sc->cap_ids : 256;
        while (cap < sc->nids + n) cap *= 2;
        int32_t *p = realloc(sc->ids, cap * sizeof *p);
        if (!p) return r1_fail(R1_NOMEM, "out of memory");
        sc->ids = p, sc->cap_ids = cap;
    }
    memcpy(sc->ids + sc->nids, ids, n * sizeof *ids);
    sc->nids += n;
    return R1_OK;
}

static r1_status grow_sym(tok_scratch *sc, size_t n) {
    if (n <= sc->cap_sym) return R1_OK;
    size_t cap = sc->cap_sym ? sc->cap_sym : 256;
    while (cap < n) cap *= 2;
    int32_t *a = realloc(sc->sym, cap * sizeof *a);
    if (a) sc->sym = a;
    int32_t *b = a ? realloc(sc->prev, cap * sizeof *b) : NULL;
    if (b) sc->prev = b;
    int32_t *c = b ? realloc(sc->next, cap * sizeof *c) : NULL;
    if (c) sc->next = c;
    if (!c) return r1_fail(R1_NOMEM, "out of memory");
    sc->cap_sym = cap;
    return R1_OK;
}

/* Short words: sym[0..m) compact, rk[i] = rank of (sym[i], sym[i+1]). */
static size_t merge_short(const r1_tok *t, int32_t *sym, size_t m) {
    uint32_t rk[SHORT_WORD];
    int32_t rs[SHORT_WORD];
    for (size_t i = 0; i + 1 < m; i++) rk[i] = pair_rank(t, sym[i], sym[i + 1], &rs[i]);
    while (m > 1) {
        uint32_t best = NO_RANK;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rk[i] < best) best = rk[i], bi = i;
        if (best == NO_RANK) break;
        sym[bi] = rs[bi];
        size_t tail = m - bi - 2;
        memmove(sym + bi + 1, sym + bi + 2, tail * sizeof *sym);
        memmove(rk + bi + 1, rk + bi + 2, (tail > 0 ? tail - 1 : 0) * sizeof *rk);
        memmove(rs + bi + 1, rs + bi + 2, (tail > 0 ? tail - 1 : 0) * sizeof *rs);
        m--;
        if (bi > 0) rk[bi - 1] = pair_rank(t, sym[bi - 1], sym[bi], &rs[bi - 1]);
        if (bi + 1 < m) rk[bi] = pair_rank(t, sym[bi], sym[bi + 1], &rs[bi]);
    }
    return m;
}

static r1_status heap_push(tok_scratch *sc, uint64_t v) {
    if (sc->nheap == sc->cap_heap) {
        size_t cap = sc->cap_heap ? sc->cap_heap * 2 : 1024;
        uint64_t *h = realloc(sc->heap, cap * sizeof *h);
        if (!h) return r1_fail(R1_NOMEM, "out of memory");
        sc->heap = h, sc->cap_heap = cap;
    }
    size_t i = sc->nheap++;
    while (i > 0 && sc->heap[(i - 1) / 2] > v) {
        sc->heap[i] = sc->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sc->heap[i] = v;
    return R1_OK;
}

static uint64_t heap_pop(tok_scratch *sc) {
    uint64_t top = sc->heap[0], v = sc->heap[--sc->nheap];
    size_t i = 0, n = sc->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && sc->heap[c + 1] < sc->heap[c]) c++;
        if (sc->heap[c] >= v) break;
        sc->heap[i] = sc->heap[c];
        i = c;
    }
    if (n) sc->heap[i] = v;
    return top;
}

static r1_status push_pair(const r1_tok *t, tok_scratch *sc, int32_t pos) {
    int32_t q = sc->next[pos], res;
    if (pos < 0 || q < 0) return R1_OK;
    uint32_t r = pair_rank(t, sc->sym[pos], sc->sym[q], &res);
    return r == NO_RANK ? R1_OK : heap_push(sc, ((uint64_t)r << 32) | (uint32_t)pos);
}

/* Long words: linked list over sym[0..n), lazy-deletion heap. Compacts sym. */
static r1_status merge_long(const r1_tok *t, tok_scratch *sc, size_t n, size_t *out_m) {
    int32_t *sym = sc->sym, *prev = sc->prev, *next = sc->next;
    for (size_t i = 0; i < n; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
    }
    sc->nheap = 0;
    for (size_t i = 0; i + 1 < n; i++) R1_TRY(push_pair(t, sc, (int32_t)i));
    while (sc->nheap) {
        uint64_t top = heap_pop(sc);
        int32_t pos = (int32_t)(uint32_t)top, q = next[pos], res = -1;
        uint32_t rank = (uint32_t)(top >> 32);
        if (sym[pos] == -2 || q < 0 || pair_rank(t, sym[pos], sym[q], &res) != rank) continue; /* stale */
        sym[pos] = res;
        sym[q] = -2;
        next[pos] = next[q];
        if (next[q] >= 0) prev[next[q]] = pos;
        if (prev[pos] >= 0) R1_TRY(push_pair(t, sc, prev[pos]));
        R1_TRY(push_pair(t, sc, pos));
    }
    size_t m = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) sym[m++] = sym[i];
    *out_m = m;
    return R1_OK;
}

static void cache_clear(tok_cache *c) {
    memset(c->hash, 0, c->cap * sizeof *c->hash);
    c->used = c->keys_used = c->vals_used = 0;
}

static int cache_init(tok_cache *c) {
    c->cap = CACHE_SLOTS;
    c->keys_cap = (size_t)CACHE_SLOTS * 16;
    c->vals_cap = (size_t)CACHE_SLOTS * 4;
    c->hash = calloc(c->cap, sizeof *c->hash);
    c->koff = malloc(c->cap * sizeof *c->koff);
    c->klen = malloc(c->cap * sizeof *c->klen);
    c->voff = malloc(c->cap * sizeof *c->voff);
    c->vlen = malloc(c->cap * sizeof *c->vlen);
    c->keys = malloc(c->keys_cap);
    c->vals = malloc(c->vals_cap * sizeof *c->vals);
    if (c->hash && c->koff && c->klen && c->voff && c->vlen && c->keys && c->vals) return 0;
    tok_cache_free(c);
    return -1;
}

void tok_cache_free(tok_cache *c) {
    free(c->hash), free(c->koff), free(c->klen), free(c->voff), free(c->vlen), free(c->keys), free(c->vals);
    memset(c, 0, sizeof *c);
}

void tok_scratch_free(tok_scratch *sc) {
    if (sc->md) pcre2_match_data_free(sc->md);
    if (sc->mctx) pcre2_match_context_free(sc->mctx);
    if (sc->jstack) pcre2_jit_stack_free(sc->jstack);
    free(sc->ids), free(sc->sym), free(sc->prev), free(sc->next), free(sc->heap), free(sc->tmp);
    for (int i = 0; i < TOK_MAX_PRETOK; i++) free(sc->iv[i]);
    r1_nfc_buf_free(&sc->nfc);
    memset(sc, 0, sizeof *sc);
}

r1_status tok_bpe_word(const r1_tok *t, tok_scratch *sc, tok_cache *c, const char *s, size_t n) {
    uint64_t h = 0;
    size_t slot = 0;
    if (c && n <= CACHE_KEY) {
        if (!c->hash && cache_init(c)) c = NULL;
        if (c) {
            h = tok_hash(s, n);
            slot = h & (c->cap - 1);
            for (; c->hash[slot]; slot = (slot + 1) & (c->cap - 1))
                if (c->hash[slot] == h && c->klen[slot] == n && !memcmp(c->keys + c->koff[slot], s, n))
                    return tok_push_ids(sc, c->vals + c->voff[slot], c->vlen[slot]);
        }
    } else {
        c = NULL;
    }
    if (t->ignore_merges) {
        int32_t id = tok_vocab_find(t, s, n);
        if (id >= 0) return tok_push_ids(sc, &id, 1);
    }
    R1_TRY(grow_sym(sc, n));
    int32_t *sym = sc->sym;
    for (size_t i = 0; i < n; i++) sym[i] = t->byte_id[(unsigned char)s[i]];
    size_t m;
    if (n <= SHORT_WORD) m = merge_short(t, sym, n);
    else R1_TRY(merge_long(t, sc, n, &m));
    /* a byte with no token: the unk token if there is one, else dropped (as HF) */
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (sym[i] >= 0 || t->unk >= 0) sym[k++] = sym[i] >= 0 ? sym[i] : t->unk;
    if (c) {
        if (c->used * 2 >= c->cap || c->keys_used + n > c->keys_cap || c->vals_used + k > c->vals_cap) {
            cache_clear(c);
            for (slot = h & (c->cap - 1); c->hash[slot]; slot = (slot + 1) & (c->cap - 1)) {}
        }
        c->hash[slot] = h;
        c->koff[slot] = (uint32_t)c->keys_used, c->klen[slot] = (uint32_t)n;
        c->voff[slot] = (uint32_t)c->vals_used, c->vlen[slot] = (uint32_t)k;
        memcpy(c->keys + c->keys_used, s, n);
        memcpy(c->vals + c->vals_used, sym, k * sizeof *sym);
        c->keys_used += n, c->vals_used += k, c->used++;
    }
    return tok_push_ids(sc, sym, k);
}
