/* Tests for tok/: byte map, UTF-8 verdicts, merges and their order, added
 * tokens and their flags, Split behaviours, streaming decode of split
 * characters, invalid UTF-8, chat rendering, think/answer split, trainer
 * determinism, malformed tokenizer.json. Uses hand-written tokenizer.json
 * snippets and the committed tests/tok/tiny/ (trained by r1 tokenizer-train). */
#include "test.h"

#include "core/rng.h"
#include "core/status.h"
#include "tok/bpe_train.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

/* A byte-level tokenizer.json: vocab/merges/added/pretok given as JSON text. */
static r1_tok *mk(const char *vocab, const char *merges, const char *added, const char *pretok) {
    char json[8192];
    snprintf(json, sizeof json,
             "{\"added_tokens\":[%s],\"normalizer\":null,\"pre_tokenizer\":%s,"
             "\"model\":{\"type\":\"BPE\",\"vocab\":{%s},\"merges\":[%s]}}",
             added, pretok ? pretok : "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}", vocab, merges);
    r1_tok *t = NULL;
    r1_status s = r1_tok_load_mem(&t, json, strlen(json), NULL, 0);
    if (s) printf("    load: %s\n", r1_errmsg());
    return t;
}

/* encodes text and compares with the expected ids (terminated by -1) */
static int enc_is(const r1_tok *t, const char *text, const int32_t *want) {
    int32_t *ids;
    int64_t n;
    if (r1_tok_encode(t, text, strlen(text), 0, &ids, &n)) return 0;
    int64_t k = 0;
    while (want[k] >= 0) k++;
    int ok = n == k && !memcmp(ids, want, (size_t)k * sizeof *ids);
    if (!ok) {
        printf("    \"%s\" ->", text);
        for (int64_t i = 0; i < n; i++) printf(" %d", ids[i]);
        printf("\n");
    }
    free(ids);
    return ok;
}

static const char ABC[] = "\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5,\"aa\":6,\"-\":7,\"a-\":8,\"-c\":9,\"Ġ\":10,\"Ġa\":11";

TEST(byte_map) {
    CHECK_EQ_INT(r1_bpe_byte_to_cp(' '), 0x120);
    CHECK_EQ_INT(r1_bpe_byte_to_cp('\n'), 0x10A);
    CHECK_EQ_INT(r1_bpe_byte_to_cp('A'), 'A');
    CHECK_EQ_INT(r1_bpe_byte_to_cp(0xAD), 0x143);
    CHECK_EQ_INT(r1_bpe_byte_to_cp(0xFF), 0xFF);
    int seen[512] = {0}, bad = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t cp = r1_bpe_byte_to_cp((uint8_t)b);
        if (cp >= 512 || seen[cp]++ || r1_bpe_cp_to_byte(cp) != b) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(r1_bpe_cp_to_byte(0x20), -1);
    CHECK_EQ_INT(r1_bpe_cp_to_byte(0x144), -1);
}

TEST(utf8_verdicts) {
    uint32_t cp;
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xE4\xB8\xAD", 3, &cp), 3);
    CHECK_EQ_INT(cp, 0x4E2D);
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xE4\xB8", 2, &cp), 0);      /* incomplete */
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xF0\x9F\x98", 3, &cp), 0);  /* incomplete */
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xC0\x80", 2, &cp), -1);     /* overlong */
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xED\xA0\x80", 3, &cp), -1); /* surrogate */
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xE4\x41", 2, &cp), -1);     /* broken */
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xF0\x9F\x41", 3, &cp), -2);
    CHECK_EQ_INT(r1_utf8_next((const unsigned char *)"\xF5", 1, &cp), -1);
    CHECK(r1_utf8_valid("a\xC3\xA9", 3));
    CHECK(!r1_utf8_valid("a\xC3", 2));
}

TEST(merges_rank_order_and_ties) {
    r1_tok *t = mk(ABC, "\"a b\",\"ab c\",\"b c\",\"a a\"", "", NULL);
    CHECK(t != NULL);
    if (!t) return;
    CHECK(enc_is(t, "abc", (int32_t[]){5, -1}));
    CHECK(enc_is(t, "abab", (int32_t[]){3, 3, -1}));
    CHECK(enc_is(t, "aaa", (int32_t[]){6, 0, -1})); /* equal ranks: leftmost first */
    CHECK(enc_is(t, "cab", (int32_t[]){2, 3, -1}));
    CHECK(enc_is(t, "x", (int32_t[]){-1})); /* a byte with no token is dropped, as HF */
    r1_tok_free(t);
    /* "b c" before "a b": abc -> a + bc; pair format for merges */
    t = mk(ABC, "[\"b\",\"c\"],[\"a\",\"b\"],[\"ab\",\"c\"]", "", NULL);
    CHECK(t && enc_is(t, "abc", (int32_t[]){0, 4, -1}));
    r1_tok_free(t);
    /* long word (heap path) agrees with the short path on a repeated pattern */
    t = mk(ABC, "\"a b\",\"ab c\",\"b c\",\"a a\"", "", NULL);
    char lw[3001];
    for (int i = 0; i < 3000; i++) lw[i] = "abc"[i % 3];
    lw[3000] = '\0';
    int32_t *ids;
    int64_t n;
    CHECK_OK(r1_tok_encode(t, lw, 3000, 0, &ids, &n));
    CHECK_EQ_INT(n, 1000);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad += ids[i] != 5;
    CHECK_EQ_INT(bad, 0);
    free(ids);
    r1_tok_free(t);
}

TEST(added_tokens_whole_and_flags) {
    const char *added =
        "{\"id\":20,\"content\":\"<x>\",\"special\":true},{\"id\":21,\"content\":\"<x>>\",\"special\":true},"
        "{\"id\":22,\"content\":\"<l>\",\"lstrip\":true},{\"id\":23,\"content\":\"<r>\",\"rstrip\":true},"
        "{\"id\":24,\"content\":\"ab\",\"single_word\":true}";
    r1_tok *t = mk(ABC, "\"a b\",\"Ġ a\"", added, NULL);
    CHECK(t != NULL);
    if (!t) return;
    CHECK(enc_is(t, "a<x>b", (int32_t[]){0, 20, 1, -1}));
    CHECK(enc_is(t, "<x>><x>", (int32_t[]){21, 20, -1})); /* longest match */
    CHECK(enc_is(t, "a  <l> a", (int32_t[]){0, 22, 11, -1}));
    CHECK(enc_is(t, "a <r>  a", (int32_t[]){0, 10, 23, 0, -1}));
    CHECK(enc_is(t, "ab", (int32_t[]){24, -1}));
    CHECK(enc_is(t, "cab", (int32_t[]){2, 3, -1})); /* not a single word: BPE */
    CHECK(enc_is(t, " ab-", (int32_t[]){10, 24, 7, -1}));
    CHECK_EQ_INT(r1_tok_id(t, "<x>", 3), 20);
    CHECK_EQ_INT(r1_tok_id(t, "ab", 2), 24);
    CHECK_EQ_INT(r1_tok_id(t, " a", 2), 11);
    CHECK_EQ_INT(r1_tok_id(t, "zz", 2), -1);
    CHECK(r1_tok_is_special(t, 20) && !r1_tok_is_special(t, 22));
    size_t len;
    const char *p = r1_tok_piece(t, 11, &len);
    CHECK(p && len == 2 && !memcmp(p, " a", 2));
    r1_tok_free(t);
}

TEST(split_behaviours) {
    static const char *beh[] = {"Isolated", "MergedWithPrevious", "MergedWithNext", "Removed", "Contiguous"};
    static const int32_t want[][6] = {{0, 7, 2, -1}, {8, 2, -1}, {0, 9, -1}, {0, 2, -1}, {0, 7, 7, 2, -1}};
    for (int k = 0; k < 5; k++) {
        char pre[512];
        snprintf(pre, sizeof pre,
                 "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":\"-\"},"
                 "\"behavior\":\"%s\",\"invert\":false},{\"type\":\"ByteLevel\",\"use_regex\":false,\"add_prefix_space\":false}]}",
                 beh[k]);
        r1_tok *t = mk(ABC, "\"a -\",\"- c\"", "", pre);
        CHECK(t && enc_is(t, k == 4 ? "a--c" : "a-c", want[k]));
        r1_tok_free(t);
    }
}

TEST(regex_translation_whitespace) {
    /* \s must cover U+0085 (Unicode White_Space) and \h is a hex digit (Oniguruma) */
    const char *pre = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+|\\\\h+\"},"
                      "\"behavior\":\"Removed\"},{\"type\":\"ByteLevel\",\"use_regex\":false}]}";
    r1_tok *t = mk(ABC, "\"a b\"", "", pre);
    CHECK(t != NULL);
    if (!t) return;
    CHECK(enc_is(t, "ab\xC2\x85" "ab", (int32_t[]){-1})); /* all of it is removed */
    CHECK(enc_is(t, "a-", (int32_t[]){10, 7, -1})); /* ByteLevel add_prefix_space defaults to true */
    r1_tok_free(t);
}

static r1_tok *tiny(void) {
    r1_tok *t = NULL;
    r1_status s = r1_tok_load(&t, "tests/tok/tiny");
    if (s) printf("    tiny: %s\n", r1_errmsg());
    return t;
}

TEST(tiny_tokenizer_special_and_lookups) {
    r1_tok *t = tiny();
    CHECK(t != NULL);
    if (!t) return;
    CHECK_EQ_INT(r1_tok_n_vocab(t), 512);
    CHECK_EQ_INT(r1_tok_bos(t), 506);
    CHECK_EQ_INT(r1_tok_eos(t), 507);
    CHECK_EQ_INT(r1_tok_id(t, R1_CHAT_USER, strlen(R1_CHAT_USER)), 508);
    CHECK(r1_tok_chat_template(t) != NULL);
    int32_t *ids;
    int64_t n;
    CHECK_OK(r1_tok_encode(t, "hi", 2, 1, &ids, &n));
    CHECK(n >= 2 && ids[0] == 506 && ids[n - 1] != 507);
    free(ids);
    CHECK_OK(r1_tok_encode(t, "", 0, 0, &ids, &n));
    CHECK_EQ_INT(n, 0);
    free(ids);
    const char *txt = R1_CHAT_BOS "x" R1_CHAT_USER "<think>";
    CHECK_OK(r1_tok_encode(t, txt, strlen(txt), 0, &ids, &n));
    CHECK(n >= 4 && ids[0] == 506 && ids[2] == 508 && ids[3] == 510);
    free(ids);
    int32_t bad = 100000;
    char *out;
    size_t len;
    CHECK_EQ_INT(r1_tok_decode(t, &bad, 1, &out, &len), R1_INVALID);
    r1_tok_free(t);
}

TEST(invalid_utf8_round_trips) {
    r1_tok *t = tiny();
    if (!t) {
        CHECK(0);
        return;
    }
    r1_rng rng;
    r1_rng_seed(&rng, 7);
    int bad = 0;
    char buf[300];
    for (int it = 0; it < 2000; it++) {
        size_t n = (uint32_t)r1_rng_u64(&rng) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = (uint32_t)r1_rng_u64(&rng);
            buf[i] = (char)(r % 4 == 0 ? "ab \n\xC3\xE4\xF0\x80\xBF<|"[r / 4 % 12] : (int)(r >> 8));
        }
        int32_t *ids;
        int64_t k;
        char *out;
        size_t len;
        if (r1_tok_encode(t, buf, n, 0, &ids, &k)) { bad++; continue; }
        if (r1_tok_decode(t, ids, k, &out, &len) || len != n || memcmp(out, buf, n)) bad++;
        else free(out);
        free(ids);
    }
    CHECK_EQ_INT(bad, 0);
    r1_tok_free(t);
}

TEST(stream_holds_split_characters) {
    r1_tok *t = tiny();
    if (!t) {
        CHECK(0);
        return;
    }
    /* byte tokens 0..255 are ids 0..255 in a trained tokenizer */
    const char *text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80!";
    size_t n = strlen(text), got = 0;
    char all[64];
    r1_tok_stream s;
    r1_tok_stream_init(&s, t);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *o;
        size_t l;
        CHECK_OK(r1_tok_stream_push(&s, (unsigned char)text[i], &o, &l));
        if (!r1_utf8_valid(o, l)) bad++;
        memcpy(all + got, o, l), got += l;
    }
    const char *o;
    size_t l;
    CHECK_OK(r1_tok_stream_flush(&s, &o, &l));
    CHECK_EQ_INT(l, 0);
    CHECK_EQ_INT(bad, 0);
    CHECK(got == n && !memcmp(all, text, n));
    /* an impossible byte becomes U+FFFD; a truncated tail is flushed as U+FFFD */
    CHECK_OK(r1_tok_stream_push(&s, 0xFF, &o, &l));
    CHECK(l == 3 && !memcmp(o, "\xEF\xBF\xBD", 3));
    CHECK_OK(r1_tok_stream_push(&s, 0xE4, &o, &l));
    CHECK_EQ_INT(l, 0);
    CHECK_OK(r1_tok_stream_push(&s, 0xB8, &o, &l));
    CHECK_EQ_INT(l, 0);
    CHECK_OK(r1_tok_stream_push(&s, 'x', &o, &l));
    CHECK(l == 4 && !memcmp(o, "\xEF\xBF\xBDx", 4));
    CHECK_OK(r1_tok_stream_push(&s, 0xF0, &o, &l));
    CHECK_OK(r1_tok_stream_flush(&s, &o, &l));
    CHECK(l == 3 && !memcmp(o, "\xEF\xBF\xBD", 3));
    CHECK_EQ_INT(r1_tok_stream_push(&s, -5, &o, &l), R1_INVALID);
    r1_tok_stream_free(&s);
    r1_tok_free(t);
}

TEST(chat_render_r1_and_v3) {
    r1_chat_msg m[] = {
        {R1_ROLE_SYSTEM, "S1"}, {R1_ROLE_USER, "U1"}, {R1_ROLE_ASSISTANT, "<think>\nhmm</think>A1"},
        {R1_ROLE_SYSTEM, "S2"}, {R1_ROLE_USER, "U2"},
    };
    char *out;
    size_t len;
    CHECK_OK(r1_chat_render(m, 5, 1, R1_CHAT_R1, &out, &len));
    CHECK_STR(out, "<｜begin▁of▁sentence｜>S1\n\nS2<｜User｜>U1<｜Assistant｜>A1<｜end▁of▁sentence｜><｜User｜>U2<｜Assistant｜><think>\n");
    CHECK_EQ_INT(len, strlen(out));
    free(out);
    CHECK_OK(r1_chat_render(m + 1, 2, 0, R1_CHAT_V3, &out, &len));
    CHECK_STR(out, "<｜begin▁of▁sentence｜><｜User｜>U1<｜Assistant｜><think>\nhmm</think>A1<｜end▁of▁sentence｜>");
    free(out);
    CHECK_OK(r1_chat_render(m + 1, 1, 1, R1_CHAT_V3, &out, &len));
    CHECK_STR(out, "<｜begin▁of▁sentence｜><｜User｜>U1<｜Assistant｜>");
    free(out);
    CHECK_OK(r1_chat_render(NULL, 0, 0, R1_CHAT_R1, &out, &len));
    CHECK_STR(out, "<｜begin▁of▁sentence｜>");
    free(out);
    /* the rendered prompt encodes with the chat tokens whole */
    r1_tok *t = tiny();
    if (!t) {
        CHECK(0);
        return;
    }
    CHECK_OK(r1_chat_render(m + 4, 1, 1, R1_CHAT_R1, &out, &len));
    int32_t *ids;
    int64_t n;
    CHECK_OK(r1_tok_encode(t, out, len, 0, &ids, &n));
    CHECK(n >= 5 && ids[0] == 506 && ids[1] == 508 && ids[n - 3] == 509 && ids[n - 2] == 510);
    free(ids), free(out);
    r1_tok_free(t);
}

/* The R1-Zero plain form the demo trains on: "User: Q Assistant:" after BOS,
 * and the style read back from each template r1 writes. */
TEST(chat_render_zero_and_style_of) {
    r1_chat_msg m[] = {
        {R1_ROLE_SYSTEM, "S1"}, {R1_ROLE_USER, "U1"}, {R1_ROLE_ASSISTANT, "<think> 2+2 = 4 </think> <answer> 4 </answer>"},
        {R1_ROLE_USER, "U2"},
    };
    char *out;
    size_t len;
    CHECK_OK(r1_chat_render(m + 1, 1, 1, R1_CHAT_ZERO, &out, &len));
    CHECK_STR(out, "<｜begin▁of▁sentence｜>User: U1 Assistant:");
    free(out);
    CHECK_OK(r1_chat_render(m, 4, 1, R1_CHAT_ZERO, &out, &len));
    CHECK_STR(out, "<｜begin▁of▁sentence｜>S1 User: U1 Assistant: <answer> 4 </answer><｜end▁of▁sentence｜>User: U2 Assistant:");
    free(out);
    CHECK_EQ_INT(r1_chat_style_of(NULL), R1_CHAT_R1);
    CHECK_EQ_INT(r1_chat_style_of(R1_CHAT_TEMPLATE_R1), R1_CHAT_R1);
    CHECK_EQ_INT(r1_chat_style_of(R1_CHAT_TEMPLATE_ZERO), R1_CHAT_ZERO);
    CHECK_EQ_INT(r1_chat_style_of("{{'<｜Assistant｜>' + content}}"), R1_CHAT_V3);
    CHECK_EQ_INT(r1_chat_think_start(R1_CHAT_ZERO), R1_THINK_MAYBE);
    CHECK_EQ_INT(r1_chat_think_start(R1_CHAT_R1), R1_THINK_OPENED);
    CHECK_EQ_INT(r1_chat_think_start(R1_CHAT_V3), R1_THINK_NONE);
}

static void split_is(const char *text, int opened, const char *reason, const char *answer, int closed) {
    r1_chat_split_t s;
    r1_chat_split(text, strlen(text), opened, &s);
    char r[256], a[256];
    snprintf(r, sizeof r, "%.*s", (int)s.reasoning_len, s.reasoning);
    snprintf(a, sizeof a, "%.*s", (int)s.answer_len, s.answer);
    CHECK_STR(r, reason);
    CHECK_STR(a, answer);
    CHECK_EQ_INT(s.closed, closed);
}

TEST(think_answer_split) {
    split_is("<think>\nstep</think>\n\n42", 0, "\nstep", "\n\n42", 1);
    split_is("step 1\nstep 2</think>42", 1, "step 1\nstep 2", "42", 1); /* prompt opened it */
    split_is("  <think>partial", 0, "partial", "", 0);
    split_is("still thinking", 1, "still thinking", "", 0);
    split_is("just an answer", 0, "", "just an answer", 0);
    split_is("a</think>b</think>c", 0, "a", "b</think>c", 1);
    split_is("", 1, "", "", 0);
}

TEST(trainer_deterministic_and_loadable) {
    static char text[200000];
    size_t n = 0;
    r1_rng rng;
    r1_rng_seed(&rng, 3);
    static const char *w[] = {"the ", "cat ", "sat ", "on ", "mat ", "12345 ", "中文 ", "\n", "don't ", "<｜User｜>", "é "};
    while (n + 16 < sizeof text) {
        const char *s = w[(uint32_t)r1_rng_u64(&rng) % 11];
        memcpy(text + n, s, strlen(s)), n += strlen(s);
    }
    r1_bpe_train_opts o = {.vocab_size = 300, .min_frequency = 2};
    char *j1, *c1, *j2, *c2;
    CHECK_OK(r1_bpe_train(text, n, &o, &j1, &c1));
    CHECK_OK(r1_bpe_train(text, n, &o, &j2, &c2));
    CHECK_STR(j1, j2);
    CHECK_STR(c1, c2);
    r1_tok *t = NULL;
    CHECK_OK(r1_tok_load_mem(&t, j1, strlen(j1), c1, strlen(c1)));
    if (t) {
        CHECK(r1_tok_n_vocab(t) > 270 && r1_tok_n_vocab(t) <= 300); /* stops early when pairs run out */
        int32_t *ids;
        int64_t k;
        char *out;
        size_t len;
        CHECK_OK(r1_tok_encode(t, text, n, 0, &ids, &k));
        CHECK(k < (int64_t)n / 3); /* it learned something */
        CHECK_OK(r1_tok_decode(t, ids, k, &out, &len));
        CHECK(len == n && !memcmp(out, text, n));
        free(ids), free(out);
        /* the added token in the text was not learned: still one token */
        CHECK_EQ_INT(r1_tok_id(t, "<｜User｜>", strlen("<｜User｜>")), r1_tok_n_vocab(t) - 4);
    }
    r1_tok_free(t);
    free(j1), free(c1), free(j2), free(c2);
    o.vocab_size = 10;
    CHECK_EQ_INT(r1_bpe_train(text, n, &o, &j1, &c1), R1_INVALID);
}

static int load_err(const char *json, r1_status want, const char *msg_part) {
    r1_tok *t = NULL;
    r1_status s = r1_tok_load_mem(&t, json, strlen(json), NULL, 0);
    int ok = s == want && !t && strstr(r1_errmsg(), msg_part);
    if (!ok) printf("    %s -> %d \"%s\"\n", json, s, r1_errmsg());
    r1_tok_free(t);
    return ok;
}

TEST(malformed_tokenizer_json) {
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0", R1_FORMAT, "invalid JSON"));
    CHECK(load_err("[]", R1_FORMAT, "not a JSON object"));
    CHECK(load_err("{}", R1_FORMAT, "no \"model\""));
    CHECK(load_err("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", R1_UNSUPPORTED, "WordPiece"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", R1_FORMAT, "model.vocab[\"a\"]"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]},\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}",
                   R1_FORMAT, "model.merges[0]: 'b' is not in the vocab"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]},\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}",
                   R1_FORMAT, "'ab' is not in the vocab"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"abc\"]},\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}",
                   R1_FORMAT, "is not \"a b\""));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", R1_UNSUPPORTED, "ByteLevel"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":"
                   "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"}}",
                   R1_FORMAT, "regex"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999},\"merges\":[]}}", R1_FORMAT, "2^24"));
    CHECK(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]},\"added_tokens\":[{\"id\":1}]}", R1_FORMAT, "added_tokens"));
    r1_tok *t = NULL;
    CHECK_EQ_INT(r1_tok_load(&t, "tests/tok/no-such-dir"), R1_IO);
    CHECK(t == NULL);
}

int main(void) {
    RUN(byte_map);
    RUN(utf8_verdicts);
    RUN(merges_rank_order_and_ties);
    RUN(added_tokens_whole_and_flags);
    RUN(split_behaviours);
    RUN(regex_translation_whitespace);
    RUN(tiny_tokenizer_special_and_lookups);
    RUN(invalid_utf8_round_trips);
    RUN(stream_holds_split_characters);
    RUN(chat_render_r1_and_v3);
    RUN(chat_render_zero_and_style_of);
    RUN(think_answer_split);
    RUN(trainer_deterministic_and_loadable);
    RUN(malformed_tokenizer_json);
    TEST_MAIN_END();
}
