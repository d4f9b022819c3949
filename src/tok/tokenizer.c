/* tokenizer: encode (added tokens matched whole, then normalizer ->
 * pre-tokenizer -> BPE per section), decode, the streaming decoder and id
 * lookups. Added tokens follow HF's AddedVocabulary: leftmost-longest match;
 * single_word requires no word character on either side; lstrip/rstrip absorb
 * the whitespace next to the token. The tokenizer is immutable; the BPE cache
 * and scratch buffers inside it are taken with a try-lock, and a caller that
 * finds them busy works with private scratch and no cache. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "tok/utf8.h"

/* Longest added token starting at s[0]; returns its index or -1, end in *len. */
static int match_added(const r1_tok *t, const unsigned char *s, size_t n, size_t *len) {
    int32_t node = 0;
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        int32_t ch = t->trie[node].child;
        while (ch >= 0 && t->trie[ch].byte != s[i]) ch = t->trie[ch].sibling;
        if (ch < 0) break;
        node = ch;
        if (t->trie[node].added >= 0) best = t->trie[node].added, *len = i + 1;
    }
    return best;
}

static size_t prev_char(const unsigned char *s, size_t at, size_t floor, uint32_t *cp) {
    size_t b = at - 1;
    while (b > floor && at - b < 4 && (s[b] & 0xC0) == 0x80) b--;
    if (r1_utf8_next(s + b, at - b, cp) != (int)(at - b)) {
        *cp = 0xFFFD;
        return at - 1;
    }
    return b;
}

static int is_word_at(const r1_tok *t, tok_scratch *sc, const unsigned char *s, size_t n) {
    return pcre2_match(t->word_re, s, n, 0, 0, sc->md, sc->mctx) >= 0;
}

/* The text between added tokens: normalizer (NFC or none; load refused the
 * rest), then pre-tokenizer and BPE. Sections are normalized one by one, as
 * transformers.js does (added tokens are matched on the raw text). */
static r1_status encode_section(const r1_tok *t, tok_scratch *sc, tok_cache *c, const char *s, size_t n) {
    if (n && t->nfc) R1_TRY(r1_nfc(&sc->nfc, s, n, &s, &n));
    return n ? tok_pretokenize(t, sc, c, s, n) : R1_OK;
}

static r1_status encode(const r1_tok *t, tok_scratch *sc, tok_cache *c, const char *text, size_t len,
                        int add_special) {
    const unsigned char *u = (const unsigned char *)text;
    sc->nids = 0;
    if (add_special) R1_TRY(tok_push_ids(sc, t->prefix, (size_t)t->n_prefix));
    size_t start = 0, i = 0;
    while (i < len) {
        if (!t->added_first[u[i]]) {
            i++;
            continue;
        }
        size_t mlen = 0;
        int ai = match_added(t, u + i, len - i, &mlen);
        if (ai < 0) {
            i++;
            continue;
        }
        const tok_added *a = &t->added[ai];
        size_t ts = i, te = i + mlen;
        if (a->single_word) {
            uint32_t cp;
            if (!t->word_re || !sc->md) return r1_fail(R1_INVALID, "internal: no word regex");
            int before = ts > 0 && is_word_at(t, sc, u + prev_char(u, ts, 0, &cp), ts - prev_char(u, ts, 0, &cp));
            int after = te < len && is_word_at(t, sc, u + te, len - te);
            if (before || after) {
                i = te; /* HF skips the match and searches on after it */
                continue;
            }
        }
        if (a->lstrip)
            while (ts > start) {
                uint32_t cp;
                size_t b = prev_char(u, ts, start, &cp);
                if (!r1_utf8_is_space(cp)) break;
                ts = b;
            }
        if (a->rstrip)
            while (te < len) {
                uint32_t cp;
                int k = r1_utf8_next(u + te, len - te, &cp);
                if (k <= 0 || !r1_utf8_is_space(cp)) break;
                te += (size_t)k;
            }
        R1_TRY(encode_section(t, sc, c, text + start, ts - start));
        R1_TRY(tok_push_ids(sc, &a->id, 1));
        start = i = te;
    }
    R1_TRY(encode_section(t, sc, c, text + start, len - start));
    if (add_special) R1_TRY(tok_push_ids(sc, t->suffix, (size_t)t->n_suffix));
    return R1_OK;
}

r1_status r1_tok_encode(const r1_tok *tok, const char *text, size_t len, int add_special,
                        int32_t **ids, int64_t *n) {
    *ids = NULL, *n = 0;
    if (!tok || (!text && len)) return r1_fail(R1_INVALID, "tokenize: NULL argument");
    r1_tok *mt = (r1_tok *)tok; /* only the lock-guarded cache and scratch are written */
    tok_scratch local = {0}, *sc = &local;
    tok_cache *cache = NULL;
    int locked = pthread_mutex_trylock(&mt->lock) == 0;
    if (locked) sc = &mt->scratch, cache = &mt->cache;
    r1_status s = R1_OK;
    if (tok->word_re && !sc->md) {
        /* the word regex needs match data before any pre-tokenizer ran */
        sc->md = pcre2_match_data_create(1, NULL);
        if (!sc->md) s = r1_fail(R1_NOMEM, "out of memory");
    }
    if (!s) s = encode(tok, sc, cache, text ? text : "", len, add_special);
    if (!s) {
        *ids = malloc(sc->nids ? sc->nids * sizeof **ids : 1);
        if (!*ids) s = r1_fail(R1_NOMEM, "out of memory");
        else {
            if (sc->nids) memcpy(*ids, sc->ids, sc->nids * sizeof **ids);
            *n = (int64_t)sc->nids;
        }
    }
    if (locked) {
        sc->nids = 0;
        if (sc->cap_ids > ((size_t)1 << 22)) { /* do not keep a huge buffer around */
            free(sc->ids);
            sc->ids = NULL, sc->cap_ids = 0;
        }
        if (sc->nfc.cap_out > ((size_t)1 << 24)) r1_nfc_buf_free(&sc->nfc);
        pthread_mutex_unlock(&mt->lock);
    } else {
        tok_scratch_free(&local);
    }
    return s;
}

r1_status r1_tok_decode(const r1_tok *tok, const int32_t *ids, int64_t n, char **text, size_t *len) {
    *text = NULL, *len = 0;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_vocab || tok->kind[ids[i]] == TK_NONE)
            return r1_fail(R1_INVALID, "decode: id %d at position %lld is not a token", ids[i], (long long)i);
        total += tok->piece_len[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) return r1_fail(R1_NOMEM, "out of memory");
    size_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        memcpy(out + o, tok->pool + tok->piece_off[ids[i]], tok->piece_len[ids[i]]);
        o += tok->piece_len[ids[i]];
    }
    out[o] = '\0';
    *text = out, *len = o;
    return R1_OK;
}

void r1_tok_stream_init(r1_tok_stream *s, const r1_tok *tok) {
    memset(s, 0, sizeof *s);
    s->tok = tok;
}

void r1_tok_stream_free(r1_tok_stream *s) {
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static void put_fffd(char *o, size_t *k) {
    memcpy(o + *k, "\xEF\xBF\xBD", 3);
    *k += 3;
}

/* Emits complete characters of pend + p[0..n); holds an incomplete tail
 * unless final. */
static r1_status stream_feed(r1_tok_stream *s, const unsigned char *p, size_t n, int final,
                             const char **text, size_t *len) {
    size_t need = 3 * (n + (size_t)s->npend) + 4;
    if (need > s->cap) {
        char *nb = realloc(s->buf, need);
        if (!nb) return r1_fail(R1_NOMEM, "out of memory");
        s->buf = nb, s->cap = need;
    }
    char *o = s->buf;
    size_t k = 0, np = (size_t)s->npend;
    unsigned char head[8];
    size_t take = n < 4 ? n : 4, hn = np + take, i = 0;
    memcpy(head, s->pend, np);
    memcpy(head + np, p, take);
    s->npend = 0;
    while (i < np) {
        uint32_t cp;
        int r = r1_utf8_next(head + i, hn - i, &cp);
        if (r > 0) {
            memcpy(o + k, head + i, (size_t)r), k += (size_t)r, i += (size_t)r;
        } else if (r < 0) {
            put_fffd(o, &k), i += (size_t)-r;
        } else if (final) {
            put_fffd(o, &k), i = hn;
        } else { /* all of p is in head and still incomplete: hold it */
            memcpy(s->pend, head + i, hn - i);
            s->npend = (int)(hn - i);
            *text = o, *len = k;
            return R1_OK;
        }
    }
    size_t j = i - np;
    while (j < n) {
        uint32_t cp;
        if (p[j] < 0x80) {
            o[k++] = (char)p[j++];
            continue;
        }
        int r = r1_utf8_next(p + j, n - j, &cp);
        if (r > 0) {
            memcpy(o + k, p + j, (size_t)r), k += (size_t)r, j += (size_t)r;
        } else if (r < 0) {
            put_fffd(o, &k), j += (size_t)-r;
        } else if (final) {
            put_fffd(o, &k), j = n;
        } else {
            memcpy(s->pend, p + j, n - j);
            s->npend = (int)(n - j);
            break;
        }
    }
    *text = o, *len = k;
    return R1_OK;
}

r1_status r1_tok_stream_push(r1_tok_stream *s, int32_t id, const char **text, size_t *len) {
    *text = "", *len = 0;
    size_t n;
    const char *piece = r1_tok_piece(s->tok, id, &n);
    if (!piece) return r1_fail(R1_INVALID, "decode: id %d is not a token", id);
    return stream_feed(s, (const unsigned char *)piece, n, 0, text, len);
}

r1_status r1_tok_stream_flush(r1_tok_stream *s, const char **text, size_t *len) {
    *text = "", *len = 0;
    return stream_feed(s, (const unsigned char *)"", 0, 1, text, len);
}

int32_t r1_tok_n_vocab(const r1_tok *tok) { return tok->n_vocab; }
int32_t r1_tok_bos(const r1_tok *tok) { return tok->bos; }
int32_t r1_tok_eos(const r1_tok *tok) { return tok->eos; }
const char *r1_tok_chat_template(const r1_tok *tok) { return tok->chat_template; }

int r1_tok_is_special(const r1_tok *tok, int32_t id) {
    return id >= 0 && id < tok->n_vocab && tok->special[id];
}

const char *r1_tok_piece(const r1_tok *tok, int32_t id, size_t *len) {
    *len = 0;
    if (id < 0 || id >= tok->n_vocab || tok->kind[id] == TK_NONE) return NULL;
    *len = tok->piece_len[id];
    return tok->pool + tok->piece_off[id];
}

int32_t r1_tok_id(const r1_tok *tok, const char *s, size_t len) {
    size_t mlen = 0;
    if (len && tok->trie) {
        int ai = match_added(tok, (const unsigned char *)s, len, &mlen);
        if (ai >= 0 && mlen == len) return tok->added[ai].id;
    }
    return tok->vmap ? tok_vocab_find(tok, s, len) : -1;
}
