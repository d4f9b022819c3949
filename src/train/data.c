/* data: training token streams (see pretrain.h). */
#include <string.h>

#include "train/pretrain.h"

static uint32_t id_at(const r1_data *d, int64_t i) {
    const uint8_t *p = d->ids + 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

r1_status r1_data_open_file(r1_data *d, const char *path, int64_t vocab, int64_t T) {
    *d = (r1_data){.kind = R1_DATA_FILE, .vocab = vocab};
    R1_TRY(r1_file_mmap(&d->map, path));
    if (d->map.len % 4) {
        r1_file_munmap(&d->map);
        return r1_fail(R1_FORMAT, "%s: %zu bytes is not a whole number of 32-bit token ids", path, d->map.len);
    }
    d->ids = d->map.data;
    d->n = (int64_t)(d->map.len / 4);
    if (d->n < T + 1) {
        r1_file_munmap(&d->map);
        return r1_fail(R1_FORMAT, "%s: %lld tokens, a sequence needs %lld", path, (long long)d->n, (long long)T + 1);
    }
    for (int64_t i = 0; i < d->n; i++)
        if (id_at(d, i) >= (uint64_t)vocab) { /* int32 negatives read as huge uint32 and fail here too */
            r1_file_munmap(&d->map);
            return r1_fail(R1_FORMAT, "%s: token %u at index %lld is outside the vocab of %lld", path, id_at(d, i),
                           (long long)i, (long long)vocab);
        }
    return R1_OK;
}

r1_status r1_data_open_task(r1_data *d, const char *name, int64_t vocab, uint64_t seed) {
    *d = (r1_data){.kind = R1_DATA_COPY, .vocab = vocab};
    if (strcmp(name, "copy") != 0) return r1_fail(R1_INVALID, "data: unknown task '%s' (tasks: copy)", name);
    if (vocab < 8) return r1_fail(R1_INVALID, "data: task copy needs a vocab of at least 8");
    r1_rng_seed(&d->rng, seed ^ 0x636f7079ull);
    return R1_OK;
}

void r1_data_close(r1_data *d) { r1_file_munmap(&d->map); }

/* copy: [a_1 .. a_k, 1, a_1 .. a_k, 2] repeated, symbols in [3, min(vocab, 67)). */
static void copy_seq(r1_data *d, int32_t *seq, int64_t n) {
    int64_t i = 0, nsym = (d->vocab < 67 ? d->vocab : 67) - 3;
    while (i < n) {
        int32_t a[16];
        int64_t k = 2 + (int64_t)r1_rng_below(&d->rng, 7);
        for (int64_t j = 0; j < k; j++) a[j] = 3 + (int32_t)r1_rng_below(&d->rng, (uint64_t)nsym);
        for (int64_t j = 0; j < k && i < n; j++) seq[i++] = a[j];
        if (i < n) seq[i++] = 1;
        for (int64_t j = 0; j < k && i < n; j++) seq[i++] = a[j];
        if (i < n) seq[i++] = 2;
    }
}

void r1_data_next(r1_data *d, int64_t B, int64_t T, int32_t *tok, int32_t *tgt) {
    int32_t seq[T + 1];
    for (int64_t b = 0; b < B; b++) {
        if (d->kind == R1_DATA_FILE) {
            if (d->cursor + T + 1 > d->n) d->cursor = 0;
            for (int64_t i = 0; i <= T; i++) seq[i] = (int32_t)id_at(d, d->cursor + i);
            d->cursor += T;
        } else {
            copy_seq(d, seq, T + 1);
            d->cursor++;
        }
        for (int64_t t = 0; t < T; t++) tok[b * T + t] = seq[t], tgt[b * T + t] = seq[t + 1];
    }
}
