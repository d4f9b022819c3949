/* Fuzz target: encode arbitrary bytes (valid UTF-8 or not) with a small
 * byte-level tokenizer trained in-process, then require decode to give the
 * bytes back exactly and the streaming decoder to emit only valid UTF-8
 * (equal to the input when the input is valid UTF-8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe_train.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

static r1_tok *g_tok;

static void setup(void) {
    static const char text[] =
        "The quick brown fox jumps over the lazy dog. 1234567890 don't I'm we'll\n"
        "中文分词测试，日本語のテキスト、한국어 텍스트 😀👍 naïve café\r\n\tint main() { return 0; }\n"
        "<｜User｜>hi<｜Assistant｜><think>\nok</think>answer<｜end▁of▁sentence｜>   spaces   \n\n";
    char big[sizeof text * 40];
    size_t n = 0;
    for (int i = 0; i < 40; i++) memcpy(big + n, text, sizeof text - 1), n += sizeof text - 1;
    r1_bpe_train_opts o = {.vocab_size = 400, .min_frequency = 2};
    char *j, *c;
    if (r1_bpe_train(big, n, &o, &j, &c) || r1_tok_load_mem(&g_tok, j, strlen(j), c, strlen(c))) abort();
    free(j), free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_tok) setup();
    int add_special = size > 0 && data[0] == 0x01;
    int32_t *ids;
    int64_t n;
    if (r1_tok_encode(g_tok, (const char *)data, size, add_special, &ids, &n)) abort();
    char *out;
    size_t len;
    int64_t skip = add_special ? 1 : 0; /* the BOS */
    if (r1_tok_decode(g_tok, ids + skip, n - skip, &out, &len)) abort();
    if (len != size || (size && memcmp(out, data, size))) abort();
    free(out);
    r1_tok_stream s;
    r1_tok_stream_init(&s, g_tok);
    char *acc = malloc(3 * size + 64);
    size_t k = 0;
    for (int64_t i = skip; i <= n; i++) {
        const char *t;
        size_t l;
        if (i < n ? r1_tok_stream_push(&s, ids[i], &t, &l) : r1_tok_stream_flush(&s, &t, &l)) abort();
        if (!r1_utf8_valid(t, l) || k + l > 3 * size + 64) abort();
        memcpy(acc + k, t, l), k += l;
    }
    if (r1_utf8_valid((const char *)data, size) && (k != size || (size && memcmp(acc, data, size)))) abort();
    free(acc);
    r1_tok_stream_free(&s);
    free(ids);
    return 0;
}
