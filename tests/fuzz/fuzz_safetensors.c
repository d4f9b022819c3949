/* fuzz_safetensors: the input bytes are a whole .safetensors file, parsed by
 * the same entry point r1_st_open uses for every shard. On success every
 * tensor's bytes are read (ASan catches a view past the input) and looked up
 * through find/get with its own dtype and shape, which must succeed. */
#include <stdint.h>
#include <stdlib.h>

#include "core/status.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    r1_st *st = NULL;
    if (r1_st_parse_buffer(&st, data, size, "fuzz.safetensors") != R1_OK) {
        R1_ASSERT(st == NULL);
        return 0;
    }
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < r1_st_count(st); i++) {
        const r1_st_entry *e = r1_st_at(st, i);
        R1_ASSERT(e != NULL);
        const uint8_t *p = e->t.data;
        for (size_t k = 0; k < e->nbytes; k++) sink ^= p[k];
        r1_tensor t;
        r1_status s = r1_st_get(st, e->name, R1_ST_ANY, e->t.ndim, e->t.shape, &t);
        R1_ASSERT(s == (e->supported ? R1_OK : R1_UNSUPPORTED));
        R1_ASSERT((r1_st_find(st, e->name) != NULL) == e->supported);
        if (s == R1_OK) R1_ASSERT(r1_tensor_bytes(&t) == e->nbytes);
    }
    (void)sink;
    r1_st_close(st);
    return 0;
}
