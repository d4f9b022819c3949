/* kvcache: allocation and sizing of the latent (MLA) and K/V (GQA) caches. */
#include "infer/kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

int64_t r1_kvcache_width(const r1_config *c) {
    return r1_config_is_mla(c) ? c->Rkv + c->Dr : 2 * c->Hkv * c->head_dim;
}

int64_t r1_kvcache_naive_width(const r1_config *c) {
    return r1_config_is_mla(c) ? c->H * (c->Dn + c->Dr) + c->H * c->Dv : 2 * c->Hkv * c->head_dim;
}

r1_status r1_kvcache_init(r1_kvcache *kv, const r1_config *c, int64_t n_slots, int64_t max_ctx) {
    *kv = (r1_kvcache){0};
    if (n_slots < 1 || max_ctx < 1) return r1_fail(R1_INVALID, "kvcache: need at least one slot and one position");
    kv->n_layers = c->n_layers;
    kv->n_slots = n_slots;
    kv->max_ctx = max_ctx;
    kv->width = r1_kvcache_width(c);
    kv->k_width = r1_config_is_mla(c) ? kv->width : c->Hkv * c->head_dim;
    double bytes = (double)kv->n_layers * (double)n_slots * (double)max_ctx * (double)kv->width * sizeof(float);
    if (bytes > 0x1p46) return r1_fail(R1_LIMIT, "kvcache: %.0f bytes requested", bytes);
    /* Huge pages where the kernel gives them: decode writes each layer's
     * next entry onto fresh memory, and a 4 KB first-touch fault every few
     * tokens per layer cost ~7 us a layer a token on the 2-vCPU VM (a quarter
     * of the serial time between deepseek2-tiny's parallel regions). Pages
     * are still only taken when first written. */
    kv->data = r1_alloc_huge((size_t)bytes);
    kv->len = calloc((size_t)n_slots, sizeof *kv->len);
    if (!kv->data || !kv->len) {
        r1_kvcache_free(kv);
        return r1_fail(R1_NOMEM, "kvcache: cannot allocate %.1f MiB", bytes / 1048576.0);
    }
    return R1_OK;
}

void r1_kvcache_free(r1_kvcache *kv) {
    free(kv->data);
    free(kv->len);
    kv->data = NULL;
    kv->len = NULL;
}

void r1_kvcache_copy(r1_kvcache *kv, int64_t dst, int64_t src, int64_t n) {
    R1_ASSERT(dst != src && n >= 0 && n <= kv->len[src]);
    for (int64_t l = 0; l < kv->n_layers; l++)
        memcpy(r1_kvcache_at(kv, l, dst, 0), r1_kvcache_at(kv, l, src, 0), (size_t)n * (size_t)kv->width * sizeof(float));
    kv->len[dst] = n;
}
