/* tok_internal: the layout of r1_tok shared by the tokenizer's files
 * (load.c builds it, pretok.c splits text, bpe.c merges, tokenizer.c drives
 * encode/decode). Not part of the public API. */
#ifndef R1_TOK_INTERNAL_H
#define R1_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "tok/nfc.h"
#include "tok/tokenizer.h"

enum { TOK_MAX_PRETOK = 16, TOK_MAX_TEMPLATE = 8 };

/* id kinds */
enum { TK_NONE = 0, TK_MODEL = 1, TK_ADDED = 2 };

/* Split delimiter behaviours (HF SplitDelimiterBehavior). */
enum { SB_ISOLATED, SB_REMOVED, SB_MERGED_PREV, SB_MERGED_NEXT, SB_CONTIGUOUS };

enum { PT_SPLIT, PT_BYTELEVEL };

typedef struct {
    int kind;               /* PT_SPLIT or PT_BYTELEVEL */
    int behavior, invert;   /* Split */
    int add_prefix_space;   /* ByteLevel */
    pcre2_code *re;         /* Split's regex, or ByteLevel's GPT-2 regex when use_regex */
} tok_pretok;

typedef struct {
    int32_t id;
    uint32_t off, len; /* content bytes in tok->pool */
    uint8_t lstrip, rstrip, single_word, special;
} tok_added;

/* Byte trie over added-token contents: children as sibling lists. */
typedef struct {
    int32_t child, sibling; /* node indexes, -1 = none */
    int32_t added;          /* index into tok->added ending here, -1 = none */
    uint8_t byte;
} tok_trie_node;

/* BPE word cache: pre-token bytes -> ids; cleared when full. */
typedef struct {
    uint64_t *hash;   /* [cap] 0 = empty slot */
    uint32_t *koff, *klen, *voff, *vlen;
    char *keys;       /* key bytes */
    int32_t *vals;    /* id runs */
    size_t cap, used, keys_used, keys_cap, vals_used, vals_cap;
} tok_cache;

/* Growable scratch for one encode call. */
typedef struct {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    int32_t *ids;   size_t nids, cap_ids;     /* output */
    int32_t *sym;   size_t cap_sym;           /* BPE symbols */
    int32_t *prev, *next;                     /* BPE links */
    uint64_t *heap; size_t nheap, cap_heap;   /* BPE queue: (rank << 32) | pos */
    char *tmp;      size_t cap_tmp;           /* prefix-space copies */
    uint32_t *iv[TOK_MAX_PRETOK]; size_t cap_iv[TOK_MAX_PRETOK]; /* split intervals */
    r1_nfc_buf nfc;                           /* normalized text of one section */
} tok_scratch;

struct r1_tok {
    int32_t n_vocab;
    char *pool; size_t pool_len, pool_cap;
    uint32_t *piece_off, *piece_len; /* [n_vocab] bytes each id decodes to */
    uint8_t *kind;                   /* [n_vocab] TK_* */
    uint8_t *special;                /* [n_vocab] */

    int32_t *vmap; uint32_t vmap_mask;          /* model token bytes -> id (open addressing) */
    uint64_t *mkey; uint32_t *mrank; int32_t *mres; uint32_t mmask; /* merges (a,b) -> rank, result */
    int64_t n_merges;
    int32_t byte_id[256];
    int32_t unk;
    int ignore_merges;

    tok_added *added; int n_added;
    tok_trie_node *trie; int n_trie, cap_trie;
    uint8_t added_first[256];
    pcre2_code *word_re; /* \w for single_word checks */

    tok_pretok pretok[TOK_MAX_PRETOK]; int n_pretok;
    int nfc; /* the normalizer is NFC (alone or inside a Sequence) */

    int32_t bos, eos;
    int32_t prefix[TOK_MAX_TEMPLATE], suffix[TOK_MAX_TEMPLATE];
    int n_prefix, n_suffix;
    char *chat_template;

    pthread_mutex_t lock; /* guards cache + scratch (try-lock; contenders go without) */
    tok_cache cache;
    tok_scratch scratch;
};

/* load.c */
uint64_t tok_hash(const void *p, size_t n);
int32_t tok_vocab_find(const r1_tok *tok, const char *s, size_t n);

/* pretok.c */
r1_status tok_regex_compile(pcre2_code **out, const char *pattern, size_t len);
r1_status tok_pretokenize(const r1_tok *tok, tok_scratch *sc, tok_cache *cache, const char *s,
                          size_t n);

/* bpe.c */
r1_status tok_bpe_word(const r1_tok *tok, tok_scratch *sc, tok_cache *cache, const char *s,
                       size_t n);
r1_status tok_push_ids(tok_scratch *sc, const int32_t *ids, size_t n);
void tok_cache_free(tok_cache *c);
void tok_scratch_free(tok_scratch *sc);

#endif
