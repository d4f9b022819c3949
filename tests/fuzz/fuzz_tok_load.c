/* Fuzz target: load arbitrary bytes as tokenizer.json (or, when the input
 * starts with 'C', as tokenizer_config.json next to a fixed small
 * tokenizer.json). Loading must fail cleanly or give a tokenizer that
 * encodes and decodes a fixed text without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tokenizer.h"

static const char BASE[] =
    "{\"added_tokens\":[{\"id\":5,\"content\":\"<s>\",\"special\":true}],\"pre_tokenizer\":{\"type\":\"ByteLevel\","
    "\"add_prefix_space\":false},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"Ġ\":3,\"Ġa\":4},"
    "\"merges\":[\"a b\",\"Ġ a\"]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    r1_tok *t = NULL;
    r1_status s;
    if (size > 0 && data[0] == 'C')
        s = r1_tok_load_mem(&t, BASE, sizeof BASE - 1, (const char *)data + 1, size - 1);
    else
        s = r1_tok_load_mem(&t, (const char *)data, size, NULL, 0);
    if (s != R1_OK) {
        if (t) abort();
        return 0;
    }
    static const char text[] = "ab a b <s> abab\xff\xc3 \xe4\xb8\xad 123 <｜User｜>";
    for (int special = 0; special < 2; special++) {
        int32_t *ids;
        int64_t n;
        if (r1_tok_encode(t, text, sizeof text - 1, special, &ids, &n) == R1_OK) {
            char *out;
            size_t len;
            if (r1_tok_decode(t, ids, n, &out, &len) == R1_OK) free(out);
            free(ids);
        }
    }
    (void)r1_tok_bos(t), (void)r1_tok_eos(t), (void)r1_tok_chat_template(t);
    r1_tok_free(t);
    return 0;
}
