/* kvcache: per-layer, per-sequence attention caches.
 * MLA caches only the compressed latent: [c_kv (Rkv, normalised) | k_pe (Dr,
 * rotated)] per token per layer, Rkv+Dr floats (ARCH.md §2.7) instead of the
 * H*(Dn+Dr) + H*Dv of a decompressed K/V cache. GQA caches K and V
 * ([Hkv*hd] each, K already rotated). Layout: [layer][slot][pos][width], so a
 * sequence's history is contiguous per layer. Slots are independent sequences
 * decoded together in one batch. */
#ifndef R1_KVCACHE_H
#define R1_KVCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "model/config.h"

typedef struct {
    int64_t n_layers, n_slots, max_ctx;
    int64_t width;   /* floats per token per layer */
    int64_t k_width; /* MLA: Rkv + Dr (all of it); GQA: Hkv*hd (V follows) */
    float *data;
    int64_t *len; /* [n_slots] tokens stored per slot */
} r1_kvcache;

/* Floats per token per layer that the cache stores for c, and what a
 * decompressed (naive MHA) cache would store, for the docs and the bench. */
int64_t r1_kvcache_width(const r1_config *c);
int64_t r1_kvcache_naive_width(const r1_config *c);

r1_status r1_kvcache_init(r1_kvcache *kv, const r1_config *c, int64_t n_slots, int64_t max_ctx);
void r1_kvcache_free(r1_kvcache *kv);
/* The entry of token pos of slot in layer l. */
static inline float *r1_kvcache_at(const r1_kvcache *kv, int64_t l, int64_t slot, int64_t pos) {
    return kv->data + (((size_t)l * (size_t)kv->n_slots + (size_t)slot) * (size_t)kv->max_ctx + (size_t)pos) *
                          (size_t)kv->width;
}
/* Makes slot dst hold the first n positions of slot src (every layer); the
 * rest of dst is forgotten. */
void r1_kvcache_copy(r1_kvcache *kv, int64_t dst, int64_t src, int64_t n);
/* Forgets a slot's history (a finished sequence frees its slot). */
static inline void r1_kvcache_clear(r1_kvcache *kv, int64_t slot) { kv->len[slot] = 0; }

#endif
