/* test_api: include/r1.h compiles on its own and its main path works:
 * load a model, run greedy generation, load a tokenizer, round-trip text. */
#include "r1.h"

#include "test.h"

TEST(umbrella_header_main_path) {
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, "tests/golden/qwen2", 1));
    int32_t prompt[3] = {1, 2, 3}, out[4];
    int64_t n = 0;
    r1_gen_params gp = {.max_new = 4, .sampling = {.temp = 0, .top_p = 1}};
    if (m) CHECK_OK(r1_generate(m, prompt, 3, &gp, out, &n, NULL));
    CHECK_EQ_INT(n, 4);
    r1_model_destroy(m);
    r1_tok *tok = NULL;
    CHECK_OK(r1_tok_load(&tok, "tests/tok/tiny"));
    int32_t *ids = NULL;
    int64_t k = 0;
    char *text = NULL;
    size_t len = 0;
    if (tok) {
        CHECK_OK(r1_tok_encode(tok, "hello world", 11, 0, &ids, &k));
        CHECK_OK(r1_tok_decode(tok, ids, k, &text, &len));
        CHECK(len == 11 && text && !memcmp(text, "hello world", 11));
    }
    free(ids);
    free(text);
    r1_tok_free(tok);
}

int main(void) {
    RUN(umbrella_header_main_path);
    TEST_MAIN_END();
}
