/* load: builds an r1_tok from tokenizer.json (+ tokenizer_config.json).
 * The vocab's GPT-2 "byte-level" strings are turned back into the raw bytes
 * they stand for, so encoding works on bytes and never builds mapped strings.
 * Every count and id is checked before it sizes an allocation (ids < 2^24);
 * merges must name vocab tokens and merge into one (HF refuses the same). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tok/tok_internal.h"
#include "tok/utf8.h"

enum { MAX_VOCAB = 1 << 24, MAX_FILE = 1 << 30 };

uint64_t tok_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8, n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    return h | 1; /* never 0: 0 marks an empty cache slot */
}

int32_t tok_vocab_find(const r1_tok *tok, const char *s, size_t n) {
    uint32_t i = (uint32_t)tok_hash(s, n) & tok->vmap_mask;
    for (;; i = (i + 1) & tok->vmap_mask) {
        int32_t id = tok->vmap[i];
        if (id < 0) return -1;
        if (tok->piece_len[id] == n && memcmp(tok->pool + tok->piece_off[id], s, n) == 0) return id;
    }
}

static r1_status read_file(const char *path, char **out, size_t *len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return r1_fail(R1_IO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE) {
                free(buf), fclose(f);
                return r1_fail(R1_LIMIT, "%s: larger than 1 GiB", path);
            }
            cap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, cap + 1);
            if (!nb) return free(buf), fclose(f), r1_fail(R1_NOMEM, "%s: out of memory", path);
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    int err = ferror(f);
    fclose(f);
    if (err) return free(buf), r1_fail(R1_IO, "%s: read error", path);
    buf[n] = '\0';
    *out = buf, *len = n;
    return R1_OK;
}

static r1_status pool_add(r1_tok *t, const char *s, size_t n, uint32_t *off) {
    if (t->pool_len + n > UINT32_MAX) return r1_fail(R1_LIMIT, "token text exceeds 4 GiB");
    *off = (uint32_t)t->pool_len;
    if (n == 0) return R1_OK;
    if (t->pool_len + n > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 1 << 16;
        while (cap < t->pool_len + n) cap *= 2;
        char *np = realloc(t->pool, cap);
        if (!np) return r1_fail(R1_NOMEM, "out of memory");
        t->pool = np, t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, s, n);
    *off = (uint32_t)t->pool_len;
    t->pool_len += n;
    return R1_OK;
}

/* GPT-2 mapped string -> raw bytes in out (capacity >= strlen(s)); returns the
 * byte count, or -1 if s has a character outside the byte map. */
static long unmap_bytes(const char *s, size_t n, char *out) {
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t cp;
        int l = r1_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (l <= 0) return -1;
        int b = r1_bpe_cp_to_byte(cp);
        if (b < 0) return -1;
        out[k++] = (char)b;
        i += (size_t)l;
    }
    return (long)k;
}

static int get_id(const cJSON *v, int32_t *id) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d < MAX_VOCAB) || d != (double)(int32_t)d) return 0;
    *id = (int32_t)d;
    return 1;
}

static int get_bool(const cJSON *obj, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

static const char *get_str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static r1_status vmap_build(r1_tok *t) {
    uint32_t cap = 1024;
    while (cap < (uint32_t)t->n_vocab * 2u) cap *= 2;
    t->vmap = malloc(cap * sizeof *t->vmap);
    if (!t->vmap) return r1_fail(R1_NOMEM, "out of memory");
    memset(t->vmap, 0xff, cap * sizeof *t->vmap);
    t->vmap_mask = cap - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->kind[id] != TK_MODEL) continue;
        const char *s = t->pool + t->piece_off[id];
        uint32_t n = t->piece_len[id];
        uint32_t i = (uint32_t)tok_hash(s, n) & t->vmap_mask;
        while (t->vmap[i] >= 0) {
            int32_t o = t->vmap[i];
            if (t->piece_len[o] == n && memcmp(t->pool + t->piece_off[o], s, n) == 0) break;
            i = (i + 1) & t->vmap_mask;
        }
        t->vmap[i] = id; /* a duplicate string keeps the larger id, as a JS Map would */
    }
    return R1_OK;
}

static r1_status merge_add(r1_tok *t, const char *a, size_t na, const char *b, size_t nb,
                           int64_t rank, char *tmp) {
    long la = unmap_bytes(a, na, tmp);
    if (la < 0) return R1_OK; /* not byte-level text: no byte sequence can reach it */
    int32_t ia = tok_vocab_find(t, tmp, (size_t)la);
    long lb = unmap_bytes(b, nb, tmp + la);
    if (lb < 0) return R1_OK;
    int32_t ib = tok_vocab_find(t, tmp + la, (size_t)lb);
    int32_t ir = tok_vocab_find(t, tmp, (size_t)(la + lb));
    if (ia < 0 || ib < 0)
        return r1_fail(R1_FORMAT, "model.merges[%lld]: '%.*s' is not in the vocab", (long long)rank,
                       ia < 0 ? (int)na : (int)nb, ia < 0 ? a : b);
    if (ir < 0)
        return r1_fail(R1_FORMAT, "model.merges[%lld]: '%.*s%.*s' is not in the vocab",
                       (long long)rank, (int)na, a, (int)nb, b);
    uint64_t key = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
    uint32_t i = (uint32_t)(key * 0x9E3779B97F4A7C15ull >> 40) & t->mmask;
    while (t->mkey[i] != UINT64_MAX && t->mkey[i] != key) i = (i + 1) & t->mmask;
    t->mkey[i] = key; /* a repeated pair takes the later rank, as HF and JS do */
    t->mrank[i] = (uint32_t)rank;
    t->mres[i] = ir;
    return R1_OK;
}

static r1_status load_merges(r1_tok *t, const cJSON *merges) {
    int64_t n = cJSON_GetArraySize(merges);
    uint32_t cap = 1024;
    while (cap < n * 2) cap *= 2;
    t->mkey = malloc(cap * sizeof *t->mkey);
    t->mrank = malloc(cap * sizeof *t->mrank);
    t->mres = malloc(cap * sizeof *t->mres);
    size_t maxlen = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        size_t l = 0;
        if (cJSON_IsString(m)) l = strlen(m->valuestring);
        else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
                 cJSON_IsString(m->child) && cJSON_IsString(m->child->next))
            l = strlen(m->child->valuestring) + strlen(m->child->next->valuestring);
        if (l > maxlen) maxlen = l;
    }
    char *tmp = malloc(maxlen + 1);
    if (!t->mkey || !t->mrank || !t->mres || !tmp) return free(tmp), r1_fail(R1_NOMEM, "out of memory");
    memset(t->mkey, 0xff, cap * sizeof *t->mkey);
    t->mmask = cap - 1;
    t->n_merges = n;
    int64_t rank = 0;
    r1_status s = R1_OK;
    cJSON_ArrayForEach(m, merges) {
        if (cJSON_IsString(m)) {
            const char *str = m->valuestring, *sp = strchr(str, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                s = r1_fail(R1_FORMAT, "model.merges[%lld]: \"%.40s\" is not \"a b\"", (long long)rank, str);
                break;
            }
            s = merge_add(t, str, (size_t)(sp - str), sp + 1, strlen(sp + 1), rank, tmp);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            const char *a = m->child->valuestring, *b = m->child->next->valuestring;
            s = merge_add(t, a, strlen(a), b, strlen(b), rank, tmp);
        } else {
            s = r1_fail(R1_FORMAT, "model.merges[%lld]: not a string or a pair of strings", (long long)rank);
        }
        if (s) break;
        rank++;
    }
    free(tmp);
    return s;
}

static r1_status load_model(r1_tok *t, const cJSON *model, const cJSON *added) {
    if (!cJSON_IsObject(model)) return r1_fail(R1_FORMAT, "no \"model\" object");
    const char *type = get_str(model, "type");
    if (type && strcmp(type, "BPE") != 0)
        return r1_fail(R1_UNSUPPORTED, "model.type \"%s\": only BPE is supported", type);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsObject(vocab)) return r1_fail(R1_FORMAT, "model.vocab is not an object");
    if (!cJSON_IsArray(merges)) return r1_fail(R1_FORMAT, "model.merges is not an array");
    if (added && !cJSON_IsArray(added) && !cJSON_IsNull(added))
        return r1_fail(R1_FORMAT, "added_tokens is not an array");
    if (get_bool(model, "byte_fallback", 0))
        return r1_fail(R1_UNSUPPORTED, "model.byte_fallback (sentencepiece-style BPE) is not supported");
    t->ignore_merges = get_bool(model, "ignore_merges", 0);

    int32_t maxid = -1, id = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, vocab) {
        if (!get_id(v, &id)) return r1_fail(R1_FORMAT, "model.vocab[\"%.40s\"]: id is not an integer in [0, 2^24)", v->string);
        if (id > maxid) maxid = id;
    }
    cJSON_ArrayForEach(v, added) {
        if (!cJSON_IsObject(v) || !get_id(cJSON_GetObjectItemCaseSensitive(v, "id"), &id) ||
            !get_str(v, "content"))
            return r1_fail(R1_FORMAT, "added_tokens: an entry lacks an integer id or a content string");
        if (id > maxid) maxid = id;
    }
    t->n_vocab = maxid + 1;
    size_t nv = (size_t)t->n_vocab + 1;
    t->piece_off = calloc(nv, sizeof *t->piece_off);
    t->piece_len = calloc(nv, sizeof *t->piece_len);
    t->kind = calloc(nv, 1);
    t->special = calloc(nv, 1);
    if (!t->piece_off || !t->piece_len || !t->kind || !t->special) return r1_fail(R1_NOMEM, "out of memory");

    size_t maxlen = 0;
    cJSON_ArrayForEach(v, vocab) {
        size_t l = strlen(v->string);
        if (l > maxlen) maxlen = l;
    }
    char *tmp = malloc(maxlen + 1);
    if (!tmp) return r1_fail(R1_NOMEM, "out of memory");
    cJSON_ArrayForEach(v, vocab) {
        get_id(v, &id);
        const char *s = v->string;
        size_t n = strlen(s);
        long k = unmap_bytes(s, n, tmp);
        r1_status st = k >= 0 ? pool_add(t, tmp, (size_t)k, &t->piece_off[id]) : pool_add(t, s, n, &t->piece_off[id]);
        if (st) return free(tmp), st;
        t->piece_len[id] = k >= 0 ? (uint32_t)k : (uint32_t)n;
        t->kind[id] = k >= 0 ? TK_MODEL : TK_ADDED; /* unmappable text decodes as itself */
    }
    free(tmp);
    R1_TRY(vmap_build(t));
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = tok_vocab_find(t, &c, 1);
    }
    t->unk = -1;
    const char *unk = get_str(model, "unk_token");
    if (unk) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(vocab, unk);
        if (u) get_id(u, &t->unk);
    }
    return load_merges(t, merges);
}

static r1_status trie_node(r1_tok *t, int32_t *out) {
    if (t->n_trie == t->cap_trie) {
        int cap = t->cap_trie ? t->cap_trie * 2 : 256;
        tok_trie_node *n = realloc(t->trie, (size_t)cap * sizeof *n);
        if (!n) return r1_fail(R1_NOMEM, "out of memory");
        t->trie = n, t->cap_trie = cap;
    }
    t->trie[t->n_trie] = (tok_trie_node){-1, -1, -1, 0};
    *out = t->n_trie++;
    return R1_OK;
}

static r1_status load_added(r1_tok *t, const cJSON *added) {
    int n = cJSON_GetArraySize(added);
    t->added = calloc((size_t)n + 1, sizeof *t->added);
    if (!t->added) return r1_fail(R1_NOMEM, "out of memory");
    int32_t root;
    R1_TRY(trie_node(t, &root));
    const cJSON *v;
    cJSON_ArrayForEach(v, added) {
        tok_added *a = &t->added[t->n_added];
        get_id(cJSON_GetObjectItemCaseSensitive(v, "id"), &a->id);
        const char *c = get_str(v, "content");
        size_t len = strlen(c);
        if (len == 0) continue; /* an empty token can never match */
        R1_TRY(pool_add(t, c, len, &a->off));
        a->len = (uint32_t)len;
        a->lstrip = (uint8_t)get_bool(v, "lstrip", 0);
        a->rstrip = (uint8_t)get_bool(v, "rstrip", 0);
        a->single_word = (uint8_t)get_bool(v, "single_word", 0);
        a->special = (uint8_t)get_bool(v, "special", 0);
        t->piece_off[a->id] = a->off;
        t->piece_len[a->id] = a->len;
        t->kind[a->id] = TK_ADDED;
        t->special[a->id] = a->special;
        t->added_first[(uint8_t)c[0]] = 1;
        int32_t node = 0;
        for (size_t i = 0; i < len; i++) {
            uint8_t b = (uint8_t)c[i];
            int32_t ch = t->trie[node].child;
            while (ch >= 0 && t->trie[ch].byte != b) ch = t->trie[ch].sibling;
            if (ch < 0) {
                R1_TRY(trie_node(t, &ch));
                t->trie[ch].byte = b;
                t->trie[ch].sibling = t->trie[node].child;
                t->trie[node].child = ch;
            }
            node = ch;
        }
        t->trie[node].added = t->n_added; /* a repeated content keeps the last entry */
        if (a->single_word && !t->word_re)
            R1_TRY(tok_regex_compile(&t->word_re, "^[\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]", SIZE_MAX));
        t->n_added++;
    }
    return R1_OK;
}

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static r1_status load_pretok_one(r1_tok *t, const cJSON *p, int depth) {
    const char *type = get_str(p, "type");
    if (!type) return r1_fail(R1_FORMAT, "pre_tokenizer without a type");
    if (!strcmp(type, "Sequence")) {
        if (depth > 4) return r1_fail(R1_LIMIT, "pre_tokenizer: Sequence nested too deep");
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (!cJSON_IsArray(list)) return r1_fail(R1_FORMAT, "pre_tokenizer Sequence without a pretokenizers array");
        const cJSON *q;
        cJSON_ArrayForEach(q, list) R1_TRY(load_pretok_one(t, q, depth + 1));
        return R1_OK;
    }
    if (t->n_pretok == TOK_MAX_PRETOK) return r1_fail(R1_LIMIT, "pre_tokenizer: more than %d steps", TOK_MAX_PRETOK);
    tok_pretok *pt = &t->pretok[t->n_pretok];
    if (!strcmp(type, "ByteLevel")) {
        pt->kind = PT_BYTELEVEL;
        pt->add_prefix_space = get_bool(p, "add_prefix_space", 1);
        if (get_bool(p, "use_regex", 1)) R1_TRY(tok_regex_compile(&pt->re, GPT2_PATTERN, SIZE_MAX));
        t->n_pretok++;
        return R1_OK;
    }
    if (!strcmp(type, "Split")) {
        pt->kind = PT_SPLIT;
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const char *re = get_str(pat, "Regex"), *str = get_str(pat, "String");
        const char *beh = get_str(p, "behavior");
        pt->invert = get_bool(p, "invert", 0);
        if (!beh || !strcmp(beh, "Isolated")) pt->behavior = SB_ISOLATED;
        else if (!strcmp(beh, "Removed")) pt->behavior = SB_REMOVED;
        else if (!strcmp(beh, "MergedWithPrevious")) pt->behavior = SB_MERGED_PREV;
        else if (!strcmp(beh, "MergedWithNext")) pt->behavior = SB_MERGED_NEXT;
        else if (!strcmp(beh, "Contiguous")) pt->behavior = SB_CONTIGUOUS;
        else return r1_fail(R1_UNSUPPORTED, "Split behavior \"%s\"", beh);
        if (re) {
            R1_TRY(tok_regex_compile(&pt->re, re, SIZE_MAX));
        } else if (str) {
            /* a literal: quote it for PCRE2 */
            size_t n = strlen(str);
            char *q = malloc(n + 5);
            if (!q) return r1_fail(R1_NOMEM, "out of memory");
            memcpy(q, "\\Q", 2), memcpy(q + 2, str, n), memcpy(q + 2 + n, "\\E", 3);
            r1_status s = strstr(str, "\\E") ? r1_fail(R1_UNSUPPORTED, "Split string containing \\E")
                                             : tok_regex_compile(&pt->re, q, SIZE_MAX);
            free(q);
            R1_TRY(s);
        } else {
            return r1_fail(R1_FORMAT, "Split without a Regex or String pattern");
        }
        t->n_pretok++;
        return R1_OK;
    }
    return r1_fail(R1_UNSUPPORTED, "pre_tokenizer type \"%s\"", type);
}

static r1_status load_normalizer(r1_tok *t, const cJSON *n, int depth) {
    if (!n || cJSON_IsNull(n)) return R1_OK;
    const char *type = get_str(n, "type");
    if (!type) return r1_fail(R1_FORMAT, "normalizer without a type");
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers"), *q;
        if (!cJSON_IsArray(list)) return r1_fail(R1_FORMAT, "normalizer Sequence without a normalizers array");
        if (depth > 4) return r1_fail(R1_LIMIT, "normalizer: Sequence nested too deep");
        cJSON_ArrayForEach(q, list) R1_TRY(load_normalizer(t, q, depth + 1));
        return R1_OK;
    }
    if (!strcmp(type, "NFC")) {
        t->nfc = 1;
        return R1_OK;
    }
    return r1_fail(R1_UNSUPPORTED, "normalizer type \"%s\" (r1 implements NFC and Sequence)", type);
}

/* TemplateProcessing's "single" list: special tokens before and after $A. */
static r1_status load_template(r1_tok *t, const cJSON *pp, int depth) {
    const char *type = get_str(pp, "type");
    if (!type) return R1_OK;
    if (!strcmp(type, "Sequence") && depth < 4) {
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(pp, "processors")) R1_TRY(load_template(t, q, depth + 1));
        return R1_OK;
    }
    if (strcmp(type, "TemplateProcessing") != 0) return R1_OK;
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single"), *it;
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
    int seen_seq = 0;
    t->n_prefix = t->n_suffix = 0;
    cJSON_ArrayForEach(it, single) {
        if (cJSON_GetObjectItemCaseSensitive(it, "Sequence")) {
            seen_seq = 1;
            continue;
        }
        const char *name = get_str(cJSON_GetObjectItemCaseSensitive(it, "SpecialToken"), "id");
        if (!name) continue;
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(specials, name), "ids"), *x;
        cJSON_ArrayForEach(x, ids) {
            int32_t id;
            if (!get_id(x, &id) || id >= t->n_vocab) return r1_fail(R1_FORMAT, "post_processor: bad id for \"%s\"", name);
            int32_t *dst = seen_seq ? t->suffix : t->prefix;
            int *n = seen_seq ? &t->n_suffix : &t->n_prefix;
            if (*n == TOK_MAX_TEMPLATE) return r1_fail(R1_LIMIT, "post_processor: too many special tokens");
            dst[(*n)++] = id;
        }
    }
    return R1_OK;
}

static const char *token_text(const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) return get_str(v, "content");
    return NULL;
}

static r1_status load_config(r1_tok *t, const cJSON *cfg) {
    const char *bos = token_text(cfg, "bos_token"), *eos = token_text(cfg, "eos_token");
    if (bos) t->bos = r1_tok_id(t, bos, strlen(bos));
    if (eos) t->eos = r1_tok_id(t, eos, strlen(eos));
    const char *cls = get_str(cfg, "tokenizer_class");
    int llama = cls && !strncmp(cls, "LlamaTokenizer", 14);
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(cfg, "add_bos_token");
    const cJSON *ae = cJSON_GetObjectItemCaseSensitive(cfg, "add_eos_token");
    if (llama || cJSON_IsBool(ab) || cJSON_IsBool(ae)) {
        /* HF's Llama/PreTrainedTokenizerFast rebuild the post-processor from these flags */
        t->n_prefix = t->n_suffix = 0;
        if (get_bool(cfg, "add_bos_token", llama) && t->bos >= 0) t->prefix[t->n_prefix++] = t->bos;
        if (get_bool(cfg, "add_eos_token", 0) && t->eos >= 0) t->suffix[t->n_suffix++] = t->eos;
    }
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
    const char *tpl = NULL;
    if (cJSON_IsString(ct)) {
        tpl = ct->valuestring;
    } else if (cJSON_IsArray(ct)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, ct) {
            const char *name = get_str(it, "name"), *body = get_str(it, "template");
            if (body && (!tpl || (name && !strcmp(name, "default")))) tpl = body;
        }
    }
    if (tpl && !(t->chat_template = strdup(tpl))) return r1_fail(R1_NOMEM, "out of memory");
    return R1_OK;
}

static r1_status build(r1_tok *t, const cJSON *root, const cJSON *cfg) {
    if (!cJSON_IsObject(root)) return r1_fail(R1_FORMAT, "not a JSON object");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    R1_TRY(load_model(t, cJSON_GetObjectItemCaseSensitive(root, "model"), added));
    R1_TRY(load_added(t, added));
    R1_TRY(load_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), 0));
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (pre && !cJSON_IsNull(pre)) R1_TRY(load_pretok_one(t, pre, 0));
    int bytelevel = 0;
    for (int i = 0; i < t->n_pretok; i++) bytelevel |= t->pretok[i].kind == PT_BYTELEVEL;
    if (!bytelevel) return r1_fail(R1_UNSUPPORTED, "pre_tokenizer has no ByteLevel step: only byte-level BPE is supported");
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    if (pp) R1_TRY(load_template(t, pp, 0));
    if (cfg) R1_TRY(load_config(t, cfg));
    return R1_OK;
}

r1_status r1_tok_load_mem(r1_tok **out, const char *json, size_t json_len, const char *config,
                          size_t config_len) {
    *out = NULL;
    r1_tok *t = calloc(1, sizeof *t);
    if (!t) return r1_fail(R1_NOMEM, "out of memory");
    t->bos = t->eos = t->unk = -1;
    pthread_mutex_init(&t->lock, NULL);
    t->pool_cap = 1 << 16; /* never NULL, so empty pieces point somewhere */
    if (!(t->pool = malloc(t->pool_cap))) return r1_tok_free(t), r1_fail(R1_NOMEM, "out of memory");
    cJSON *root = cJSON_ParseWithLength(json, json_len), *cfg = NULL;
    r1_status s = R1_OK;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + json_len ? (long)(at - json) : -1;
        s = r1_fail(R1_FORMAT, "tokenizer.json: invalid JSON near byte %ld", off);
        goto done;
    }
    if (config) {
        cfg = cJSON_ParseWithLength(config, config_len);
        if (!cJSON_IsObject(cfg)) {
            s = r1_fail(R1_FORMAT, "tokenizer_config.json: invalid JSON");
            goto done;
        }
    }
    s = build(t, root, cfg);
    if (s) r1_err_wrap(s, "tokenizer.json");
done:
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    if (s) {
        r1_tok_free(t);
        return s;
    }
    *out = t;
    return R1_OK;
}

r1_status r1_tok_load(r1_tok **out, const char *path) {
    *out = NULL;
    struct stat st;
    char file[4096], cfgpath[4096];
    if (stat(path, &st) != 0) return r1_fail(R1_IO, "%s: %s", path, strerror(errno));
    int n = S_ISDIR(st.st_mode) ? snprintf(file, sizeof file, "%s/tokenizer.json", path)
                                : snprintf(file, sizeof file, "%s", path);
    if (n < 0 || (size_t)n >= sizeof file) return r1_fail(R1_INVALID, "path too long");
    const char *slash = strrchr(file, '/');
    int dl = slash ? (int)(slash - file + 1) : 0;
    snprintf(cfgpath, sizeof cfgpath, "%.*stokenizer_config.json", dl, file);
    char *json = NULL, *cfg = NULL;
    size_t jl = 0, cl = 0;
    r1_status s = read_file(file, &json, &jl);
    if (s) return s;
    if (access(cfgpath, R_OK) == 0 && (s = read_file(cfgpath, &cfg, &cl)) != R1_OK) return free(json), s;
    s = r1_tok_load_mem(out, json, jl, cfg, cl);
    if (s) r1_err_wrap(s, "%s", path);
    free(json);
    free(cfg);
    return s;
}

void r1_tok_free(r1_tok *t) {
    if (!t) return;
    free(t->pool);
    free(t->piece_off), free(t->piece_len), free(t->kind), free(t->special);
    free(t->vmap), free(t->mkey), free(t->mrank), free(t->mres);
    free(t->added), free(t->trie);
    if (t->word_re) pcre2_code_free(t->word_re);
    for (int i = 0; i < t->n_pretok; i++)
        if (t->pretok[i].re) pcre2_code_free(t->pretok[i].re);
    /* a ByteLevel that failed mid-compile may sit one past n_pretok */
    if (t->n_pretok < TOK_MAX_PRETOK && t->pretok[t->n_pretok].re) pcre2_code_free(t->pretok[t->n_pretok].re);
    free(t->chat_template);
    tok_cache_free(&t->cache);
    tok_scratch_free(&t->scratch);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
