/* fuzz_gguf: the input bytes are a whole .gguf file, parsed by the entry point
 * r1_gguf_open uses. On success every tensor's bytes are read (ASan catches a
 * view past the input), every key is read through the typed getters, array
 * elements are read, the config mapping runs, and the tokenizer export runs. */
#include <stdint.h>
#include <stdlib.h>

#include "core/status.h"
#include "io/gguf.h"
#include "io/gguf_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    r1_gguf *g = NULL;
    if (r1_gguf_parse_buffer(&g, data, size, "fuzz.gguf") != R1_OK) {
        R1_ASSERT(g == NULL);
        return 0;
    }
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < r1_gguf_tensor_count(g); i++) {
        const r1_gguf_tensor *t = r1_gguf_tensor_at(g, i);
        R1_ASSERT(t && r1_gguf_find_tensor(g, t->name) == t);
        R1_ASSERT(r1_tensor_bytes(&t->t) == t->nbytes);
        const uint8_t *p = t->t.data;
        for (size_t k = 0; k < t->nbytes; k++) sink ^= p[k];
    }
    for (int64_t i = 0; i < r1_gguf_kv_count(g); i++) {
        const r1_gguf_kv *kv = r1_gguf_kv_at(g, i);
        int64_t v;
        double d;
        bool b;
        r1_gguf_str s;
        r1_gguf_get_int(g, kv->key, 0, &v, NULL);
        r1_gguf_get_float(g, kv->key, 0, &d, NULL);
        r1_gguf_get_bool(g, kv->key, false, &b, NULL);
        r1_gguf_get_str(g, kv->key, &s, NULL);
        for (uint64_t j = 0; j < kv->n; j++) {
            if (kv->elem == R1_GGUF_STRING) {
                for (uint64_t c = 0; c < kv->str[j].len; c++) sink ^= (uint8_t)kv->str[j].p[c];
            } else if (kv->type == R1_GGUF_ARRAY) {
                sink ^= (uint8_t)r1_gguf_arr_int(kv, j);
                d = r1_gguf_arr_float(kv, j);
            }
        }
    }
    char *json = NULL, *tmpl = NULL;
    if (r1_gguf_tok_to_json(g, &json, &tmpl) == R1_OK) R1_ASSERT(json != NULL);
    free(json);
    free(tmpl);
    (void)sink;
    r1_gguf_close(g);
    return 0;
}
