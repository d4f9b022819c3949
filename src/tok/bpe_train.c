/* bpe_train: byte-level BPE training (Sennrich et al. 2016, GPT-2's byte
 * variant). Text is split by the pre-tokenizer regex into words, counted; each
 * step merges the most frequent adjacent pair. Pair counts are updated
 * incrementally: each pair keeps the list of words it occurs in, a merge
 * re-counts only those words, and a max-heap with lazy invalidation
 * (a popped entry whose count is stale is re-pushed with the current count)
 * finds the next pair. A merge whose bytes already form a token reuses its id,
 * as HF's trainer does, so vocab strings stay unique. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe_train.h"
#include "tok/chat.h"
#include "tok/tok_internal.h"
#include "tok/utf8.h"

static const char *const ADDED[] = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>",
                                    "<｜Assistant｜>", "<think>", "</think>"};
enum { N_ADDED = 6, N_SPECIAL = 4 };

typedef struct {
    int64_t count;
    int32_t *words;
    int32_t nwords, cap;
} pair_rec;

typedef struct {
    /* tokens */
    char *tb; size_t tb_len, tb_cap;       /* token bytes */
    uint32_t *toff, *tlen; int32_t ntok, tcap;
    int32_t *tmap; uint32_t tmask;         /* bytes -> id */
    /* words */
    int64_t *wcount; uint32_t *woff, *wlen; int32_t nword, wcap;
    int32_t *sym; size_t sym_len, sym_cap; /* symbols of all words */
    /* pairs */
    uint64_t *pkey; int32_t *pidx; uint32_t pmask; int32_t npair;
    pair_rec *pairs; int32_t pcap;
    /* heap of (count, key) */
    int64_t *hc; uint64_t *hk; size_t hn, hcap;
    /* merges */
    int32_t *ma, *mb; int32_t nmerge;
} trainer;

#define GROW(ptr, cap, need, init)                                             \
    do {                                                                       \
        if ((size_t)(need) > (size_t)(cap)) {                                  \
            size_t nc_ = (cap) ? (size_t)(cap) : (init);                       \
            while (nc_ < (size_t)(need)) nc_ *= 2;                             \
            void *np_ = realloc((ptr), nc_ * sizeof *(ptr));                   \
            if (!np_) return r1_fail(R1_NOMEM, "tokenizer-train: out of memory"); \
            (ptr) = np_;                                                       \
            (cap) = nc_;                                                       \
        }                                                                      \
    } while (0)

static int32_t tok_find(const trainer *t, const char *s, size_t n) {
    for (uint32_t i = (uint32_t)tok_hash(s, n) & t->tmask;; i = (i + 1) & t->tmask) {
        int32_t id = t->tmap[i];
        if (id < 0) return -1;
        if (t->tlen[id] == n && !memcmp(t->tb + t->toff[id], s, n)) return id;
    }
}

static r1_status tok_add(trainer *t, const char *s, size_t n, int32_t *id) {
    size_t tbcap = t->tb_cap;
    GROW(t->tb, tbcap, t->tb_len + n, 4096);
    t->tb_cap = tbcap;
    if (t->ntok == t->tcap) {
        int32_t cap = t->tcap ? t->tcap * 2 : 512;
        uint32_t *a = realloc(t->toff, (size_t)cap * sizeof *a);
        if (a) t->toff = a;
        uint32_t *b = a ? realloc(t->tlen, (size_t)cap * sizeof *b) : NULL;
        if (!b) return r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
        t->tlen = b, t->tcap = cap;
    }
    memcpy(t->tb + t->tb_len, s, n);
    *id = t->ntok++;
    t->toff[*id] = (uint32_t)t->tb_len, t->tlen[*id] = (uint32_t)n;
    t->tb_len += n;
    uint32_t i = (uint32_t)tok_hash(s, n) & t->tmask;
    while (t->tmap[i] >= 0) i = (i + 1) & t->tmask;
    t->tmap[i] = *id;
    return R1_OK;
}

static uint32_t pslot(const trainer *t, uint64_t key) {
    uint32_t i = (uint32_t)(key * 0x9E3779B97F4A7C15ull >> 32) & t->pmask;
    while (t->pkey[i] != UINT64_MAX && t->pkey[i] != key) i = (i + 1) & t->pmask;
    return i;
}

static r1_status pair_rehash(trainer *t) {
    uint32_t cap = (t->pmask + 1) * 2;
    uint64_t *ok = t->pkey;
    int32_t *oi = t->pidx;
    uint32_t omask = t->pmask;
    t->pkey = malloc(cap * sizeof *t->pkey);
    t->pidx = malloc(cap * sizeof *t->pidx);
    if (!t->pkey || !t->pidx) return free(ok), free(oi), r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
    memset(t->pkey, 0xff, cap * sizeof *t->pkey);
    t->pmask = cap - 1;
    for (uint32_t i = 0; i <= omask; i++)
        if (ok[i] != UINT64_MAX) {
            uint32_t s = pslot(t, ok[i]);
            t->pkey[s] = ok[i], t->pidx[s] = oi[i];
        }
    free(ok), free(oi);
    return R1_OK;
}

/* Adds delta to pair (a,b) of word w; records w in the pair's word list when
 * track is set. Returns the pair's record index in *out. */
static r1_status pair_add(trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w, int track) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t s = pslot(t, key);
    if (t->pkey[s] == UINT64_MAX) {
        if ((uint32_t)(t->npair + 1) * 2 > t->pmask) {
            R1_TRY(pair_rehash(t));
            s = pslot(t, key);
        }
        GROW(t->pairs, t->pcap, t->npair + 1, 1024);
        t->pairs[t->npair] = (pair_rec){0, NULL, 0, 0};
        t->pkey[s] = key, t->pidx[s] = t->npair++;
    }
    pair_rec *p = &t->pairs[t->pidx[s]];
    p->count += delta;
    if (track && (p->nwords == 0 || p->words[p->nwords - 1] != w)) {
        GROW(p->words, p->cap, p->nwords + 1, 4);
        p->words[p->nwords++] = w;
    }
    return R1_OK;
}

static int heap_less(const trainer *t, size_t i, size_t j) { /* i ranks above j */
    return t->hc[i] > t->hc[j] || (t->hc[i] == t->hc[j] && t->hk[i] < t->hk[j]);
}

static void heap_swap(trainer *t, size_t i, size_t j) {
    int64_t c = t->hc[i];
    uint64_t k = t->hk[i];
    t->hc[i] = t->hc[j], t->hk[i] = t->hk[j], t->hc[j] = c, t->hk[j] = k;
}

static r1_status heap_push(trainer *t, int64_t count, uint64_t key) {
    size_t hc = t->hcap;
    GROW(t->hc, hc, t->hn + 1, 1024);
    hc = t->hcap;
    GROW(t->hk, hc, t->hn + 1, 1024);
    t->hcap = hc;
    size_t i = t->hn++;
    t->hc[i] = count, t->hk[i] = key;
    while (i > 0 && heap_less(t, i, (i - 1) / 2)) heap_swap(t, i, (i - 1) / 2), i = (i - 1) / 2;
    return R1_OK;
}

static void heap_pop(trainer *t) {
    t->hn--;
    t->hc[0] = t->hc[t->hn], t->hk[0] = t->hk[t->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1, best = i;
        if (c < t->hn && heap_less(t, c, best)) best = c;
        if (c + 1 < t->hn && heap_less(t, c + 1, best)) best = c + 1;
        if (best == i) break;
        heap_swap(t, i, best), i = best;
    }
}

/* Counts one piece text[a..b) as a word occurrence. */
static r1_status count_piece(trainer *t, const char *text, size_t a, size_t b, int32_t **wmap, uint32_t *wmask) {
    size_t n = b - a;
    if (n == 0) return R1_OK;
    if (b > UINT32_MAX) return r1_fail(R1_LIMIT, "tokenizer-train: text over 4 GiB");
    uint32_t i = (uint32_t)tok_hash(text + a, n) & *wmask;
    for (int32_t w; (w = (*wmap)[i]) >= 0; i = (i + 1) & *wmask)
        if (t->wlen[w] == n && !memcmp(text + t->woff[w], text + a, n)) {
            t->wcount[w]++;
            return R1_OK;
        }
    if (t->nword == t->wcap) {
        int32_t cap = t->wcap ? t->wcap * 2 : 4096;
        int64_t *c = realloc(t->wcount, (size_t)cap * sizeof *c);
        if (c) t->wcount = c;
        uint32_t *o = c ? realloc(t->woff, (size_t)cap * sizeof *o) : NULL;
        if (o) t->woff = o;
        uint32_t *l = o ? realloc(t->wlen, (size_t)cap * sizeof *l) : NULL;
        if (!l) return r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
        t->wlen = l, t->wcap = cap;
    }
    int32_t w = t->nword++;
    t->wcount[w] = 1, t->woff[w] = (uint32_t)a, t->wlen[w] = (uint32_t)n;
    (*wmap)[i] = w;
    if ((uint32_t)t->nword * 2 > *wmask) {
        uint32_t nm = *wmask * 2 + 1;
        int32_t *nw = malloc(((size_t)nm + 1) * sizeof *nw);
        if (!nw) return r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
        memset(nw, 0xff, ((size_t)nm + 1) * sizeof *nw);
        for (int32_t x = 0; x < t->nword; x++) {
            uint32_t j = (uint32_t)tok_hash(text + t->woff[x], t->wlen[x]) & nm;
            while (nw[j] >= 0) j = (j + 1) & nm;
            nw[j] = x;
        }
        free(*wmap);
        *wmap = nw, *wmask = nm;
    }
    return R1_OK;
}

/* Splits text[a..b) with the regex (gaps and matches are both words). */
static r1_status count_segment(trainer *t, const pcre2_code *re, pcre2_match_data *md, const char *text,
                               size_t a, size_t b, int32_t **wmap, uint32_t *wmask) {
    size_t pos = a, last = a;
    while (pos < b) {
        int rc = pcre2_match(re, (PCRE2_SPTR)text, b, pos, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return r1_fail(R1_LIMIT, "tokenizer-train: regex match error %d", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] <= ov[0]) {
            pos = (ov[0] > pos ? ov[0] : pos) + 1;
            continue;
        }
        R1_TRY(count_piece(t, text, last, ov[0], wmap, wmask));
        R1_TRY(count_piece(t, text, ov[0], ov[1], wmap, wmask));
        last = pos = ov[1];
    }
    return count_piece(t, text, last, b, wmap, wmask);
}

static r1_status count_words(trainer *t, const char *text, size_t len, const char *pattern) {
    pcre2_code *re;
    R1_TRY(tok_regex_compile(&re, pattern, SIZE_MAX));
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    uint32_t wmask = (1u << 16) - 1;
    int32_t *wmap = malloc(((size_t)wmask + 1) * sizeof *wmap);
    r1_status s = R1_OK;
    if (!md || !wmap) {
        s = r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
    } else {
        memset(wmap, 0xff, ((size_t)wmask + 1) * sizeof *wmap);
        /* segments between occurrences of the added tokens, which are not learned */
        size_t seg = 0, i = 0;
        while (!s && i < len) {
            const char *lt = memchr(text + i, '<', len - i);
            if (!lt) break;
            i = (size_t)(lt - text);
            size_t alen = 0;
            for (int k = 0; k < N_ADDED; k++) {
                size_t n = strlen(ADDED[k]);
                if (n <= len - i && !memcmp(text + i, ADDED[k], n) && n > alen) alen = n;
            }
            if (!alen) {
                i++;
                continue;
            }
            s = count_segment(t, re, md, text, seg, i, &wmap, &wmask);
            seg = i = i + alen;
        }
        if (!s) s = count_segment(t, re, md, text, seg, len, &wmap, &wmask);
    }
    free(wmap);
    if (md) pcre2_match_data_free(md);
    pcre2_code_free(re);
    return s;
}

static r1_status train(trainer *t, const char *text, size_t len, const r1_bpe_train_opts *o) {
    t->tmask = 1024;
    while (t->tmask < (uint32_t)o->vocab_size * 2) t->tmask *= 2;
    t->tmap = malloc(t->tmask * sizeof *t->tmap);
    t->pmask = (1u << 16) - 1;
    t->pkey = malloc((t->pmask + 1) * sizeof *t->pkey);
    t->pidx = malloc((t->pmask + 1) * sizeof *t->pidx);
    if (!t->tmap || !t->pkey || !t->pidx) return r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
    memset(t->tmap, 0xff, t->tmask * sizeof *t->tmap);
    t->tmask--;
    memset(t->pkey, 0xff, (t->pmask + 1) * sizeof *t->pkey);
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        int32_t id;
        R1_TRY(tok_add(t, &c, 1, &id));
    }
    R1_TRY(count_words(t, text, len, o->pattern ? o->pattern : R1_BPE_DEFAULT_PATTERN));
    size_t total = 0;
    for (int32_t w = 0; w < t->nword; w++) total += t->wlen[w];
    GROW(t->sym, t->sym_cap, total, 1024);
    for (int32_t w = 0; w < t->nword; w++) {
        const unsigned char *p = (const unsigned char *)text + t->woff[w];
        uint32_t n = t->wlen[w];
        t->woff[w] = (uint32_t)t->sym_len; /* from here on woff indexes sym */
        for (uint32_t i = 0; i < n; i++) t->sym[t->sym_len++] = p[i];
        for (uint32_t i = 0; i + 1 < n; i++) R1_TRY(pair_add(t, p[i], p[i + 1], t->wcount[w], w, 1));
    }
    for (uint32_t i = 0; i <= t->pmask; i++)
        if (t->pkey[i] != UINT64_MAX) R1_TRY(heap_push(t, t->pairs[t->pidx[i]].count, t->pkey[i]));
    int32_t target = o->vocab_size - N_ADDED;
    int32_t mcap = 0;
    char *buf = NULL;
    size_t bufcap = 0;
    while (t->ntok < target && t->hn) {
        int64_t c = t->hc[0];
        uint64_t key = t->hk[0];
        heap_pop(t);
        pair_rec *p = &t->pairs[t->pidx[pslot(t, key)]];
        if (p->count != c) { /* stale */
            if (p->count > 0) R1_TRY(heap_push(t, p->count, key));
            continue;
        }
        if (c < o->min_frequency) break;
        int32_t a = (int32_t)(key >> 32), b = (int32_t)(uint32_t)key;
        size_t n = t->tlen[a] + t->tlen[b];
        GROW(buf, bufcap, n, 64);
        memcpy(buf, t->tb + t->toff[a], t->tlen[a]);
        memcpy(buf + t->tlen[a], t->tb + t->toff[b], t->tlen[b]);
        int32_t nt = tok_find(t, buf, n);
        if (nt < 0) R1_TRY(tok_add(t, buf, n, &nt));
        GROW(t->ma, mcap, t->nmerge + 1, 1024);
        int32_t mc2 = t->nmerge; /* mb grows with ma */
        int32_t *nb = realloc(t->mb, (size_t)mcap * sizeof *nb);
        if (!nb) return free(buf), r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
        t->mb = nb;
        t->ma[mc2] = a, t->mb[mc2] = b, t->nmerge++;
        /* re-count the words that hold (a,b): remove all their pairs, merge, add back */
        int32_t *words = p->words, nw = p->nwords;
        p->words = NULL, p->nwords = p->cap = 0;
        for (int32_t k = 0; k < nw; k++) {
            int32_t w = words[k];
            int32_t *s = t->sym + t->woff[w];
            uint32_t len_w = t->wlen[w], j = 0;
            int found = 0;
            for (uint32_t i = 0; i + 1 < len_w; i++) found |= s[i] == a && s[i + 1] == b;
            if (!found) continue;
            for (uint32_t i = 0; i + 1 < len_w; i++) R1_TRY(pair_add(t, s[i], s[i + 1], -t->wcount[w], w, 0));
            for (uint32_t i = 0; i < len_w; i++) {
                if (i + 1 < len_w && s[i] == a && s[i + 1] == b) s[j++] = nt, i++;
                else s[j++] = s[i];
            }
            t->wlen[w] = len_w = j;
            for (uint32_t i = 0; i + 1 < len_w; i++) {
                int fresh = s[i] == nt || s[i + 1] == nt;
                R1_TRY(pair_add(t, s[i], s[i + 1], t->wcount[w], w, fresh));
                if (fresh) {
                    uint64_t k2 = ((uint64_t)(uint32_t)s[i] << 32) | (uint32_t)s[i + 1];
                    R1_TRY(heap_push(t, t->pairs[t->pidx[pslot(t, k2)]].count, k2));
                }
            }
        }
        free(words);
    }
    free(buf);
    return R1_OK;
}

/* GPT-2 mapped form of a token's bytes. */
static char *mapped(const trainer *t, int32_t id) {
    static _Thread_local char out[4 * 1024 + 1];
    size_t k = 0;
    for (uint32_t i = 0; i < t->tlen[id] && k + 4 < sizeof out; i++)
        k += (size_t)r1_utf8_encode(r1_bpe_byte_to_cp((uint8_t)t->tb[t->toff[id] + i]), out + k);
    out[k] = '\0';
    return out;
}

static r1_status write_json(const trainer *t, const r1_bpe_train_opts *o, char **tj, char **cj) {
    cJSON *root = cJSON_CreateObject(), *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (int k = 0; k < N_ADDED; k++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", t->ntok + k);
        cJSON_AddStringToObject(a, "content", ADDED[k]);
        cJSON_AddBoolToObject(a, "single_word", 0);
        cJSON_AddBoolToObject(a, "lstrip", 0);
        cJSON_AddBoolToObject(a, "rstrip", 0);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", k < N_SPECIAL);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddNullToObject(root, "normalizer");
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *list = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", o->pattern ? o->pattern : R1_BPE_DEFAULT_PATTERN);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", 0);
    cJSON_AddItemToArray(list, split);
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", 0);
    cJSON_AddBoolToObject(bl, "trim_offsets", 1);
    cJSON_AddBoolToObject(bl, "use_regex", 0);
    cJSON_AddItemToArray(list, bl);
    cJSON *post = cJSON_AddObjectToObject(root, "post_processor");
    cJSON_AddStringToObject(post, "type", "ByteLevel");
    cJSON_AddBoolToObject(post, "add_prefix_space", 1);
    cJSON_AddBoolToObject(post, "trim_offsets", 0);
    cJSON_AddBoolToObject(post, "use_regex", 1);
    cJSON *dec = cJSON_AddObjectToObject(root, "decoder");
    cJSON_AddStringToObject(dec, "type", "ByteLevel");
    cJSON_AddBoolToObject(dec, "add_prefix_space", 1);
    cJSON_AddBoolToObject(dec, "trim_offsets", 1);
    cJSON_AddBoolToObject(dec, "use_regex", 1);
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddNullToObject(model, "continuing_subword_prefix");
    cJSON_AddNullToObject(model, "end_of_word_suffix");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", 0);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int32_t id = 0; id < t->ntok; id++) cJSON_AddNumberToObject(vocab, mapped(t, id), id);
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    for (int32_t m = 0; m < t->nmerge; m++) {
        char a[4 * 1024 + 1];
        snprintf(a, sizeof a, "%s", mapped(t, t->ma[m]));
        size_t la = strlen(a);
        snprintf(a + la, sizeof a - la, " %s", mapped(t, t->mb[m]));
        cJSON_AddItemToArray(merges, cJSON_CreateString(a));
    }
    cJSON_AddBoolToObject(cfg, "add_bos_token", 1);
    cJSON_AddBoolToObject(cfg, "add_eos_token", 0);
    cJSON_AddStringToObject(cfg, "bos_token", ADDED[0]);
    cJSON_AddStringToObject(cfg, "eos_token", ADDED[1]);
    cJSON_AddStringToObject(cfg, "pad_token", ADDED[1]);
    cJSON_AddBoolToObject(cfg, "clean_up_tokenization_spaces", 0);
    cJSON_AddBoolToObject(cfg, "legacy", 1);
    cJSON_AddNumberToObject(cfg, "model_max_length", 16384);
    cJSON_AddStringToObject(cfg, "tokenizer_class", "LlamaTokenizerFast");
    cJSON_AddStringToObject(cfg, "chat_template", o->chat_template ? o->chat_template : R1_CHAT_TEMPLATE_R1);
    *tj = cJSON_Print(root);
    *cj = cJSON_Print(cfg);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    if (!*tj || !*cj) {
        free(*tj), free(*cj);
        *tj = *cj = NULL;
        return r1_fail(R1_NOMEM, "tokenizer-train: out of memory");
    }
    return R1_OK;
}

r1_status r1_bpe_train(const char *text, size_t len, const r1_bpe_train_opts *opt,
                       char **tokenizer_json, char **config_json) {
    *tokenizer_json = *config_json = NULL;
    r1_bpe_train_opts o = *opt;
    if (o.vocab_size < 256 + N_ADDED || o.vocab_size > (1 << 20))
        return r1_fail(R1_INVALID, "tokenizer-train: vocab size %d is outside [%d, %d]", o.vocab_size, 256 + N_ADDED, 1 << 20);
    if (o.min_frequency < 1) o.min_frequency = 1;
    trainer t;
    memset(&t, 0, sizeof t);
    r1_status s = train(&t, text, len, &o);
    if (!s) s = write_json(&t, &o, tokenizer_json, config_json);
    for (int32_t i = 0; i < t.npair; i++) free(t.pairs[i].words);
    free(t.tb), free(t.toff), free(t.tlen), free(t.tmap), free(t.wcount), free(t.woff), free(t.wlen);
    free(t.sym), free(t.pkey), free(t.pidx), free(t.pairs), free(t.hc), free(t.hk), free(t.ma), free(t.mb);
    return s;
}
