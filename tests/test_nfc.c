/* Tests for tok/nfc: every line of tests/tok/nfc_golden.txt (expectations from
 * Python's unicodedata, Unicode 14.0.0; see tests/reference/make_nfc_golden.py)
 * through both the fast path and the full algorithm, every code point alone,
 * idempotence, invalid UTF-8, the no-copy fast path, and the NFC normalizer
 * inside a tokenizer (alone, in a Sequence, unknown ones refused). */
#include "test.h"

#include "core/rng.h"
#include "core/status.h"
#include "tok/nfc.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

static char *g_golden;
static size_t g_golden_len;

static void load_golden(void) {
    if (g_golden) return;
    FILE *f = fopen("tests/tok/nfc_golden.txt", "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    g_golden = malloc((size_t)n + 1);
    if (g_golden && fread(g_golden, 1, (size_t)n, f) == (size_t)n) g_golden[n] = '\0', g_golden_len = (size_t)n;
    fclose(f);
}

/* Next golden line: kind, input and expected output (pointers into the file). */
static int next_case(size_t *pos, char *kind, const char **in, size_t *in_len, const char **want, size_t *want_len) {
    while (*pos < g_golden_len) {
        char *line = g_golden + *pos, *nl = memchr(line, '\n', g_golden_len - *pos);
        size_t len = nl ? (size_t)(nl - line) : g_golden_len - *pos;
        *pos += len + 1;
        if (len == 0 || line[0] == '#') continue;
        char *t1 = memchr(line, '\t', len), *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
        if (!t1 || !t2) return -1;
        *kind = line[0];
        *in = t1 + 1, *in_len = (size_t)(t2 - t1 - 1);
        *want = t2 + 1, *want_len = (size_t)(line + len - t2 - 1);
        return 1;
    }
    return 0;
}

static void show(const char *what, const char *s, size_t n) {
    printf("    %s:", what);
    for (size_t i = 0; i < n; i++) printf(" %02x", (unsigned char)s[i]);
    printf("\n");
}

TEST(golden_strings_match_python) {
    load_golden();
    CHECK(g_golden != NULL);
    if (!g_golden) return;
    r1_nfc_buf b = {0}, b2 = {0};
    size_t pos = 0, in_len, want_len, got_len, n = 0, bad = 0, idem_bad = 0, fast = 0;
    const char *in, *want, *got;
    char kind;
    int r;
    while ((r = next_case(&pos, &kind, &in, &in_len, &want, &want_len)) == 1) {
        n++;
        int ok = 1;
        if (r1_nfc(&b, in, in_len, &got, &got_len) || got_len != want_len || memcmp(got, want, want_len)) ok = 0;
        if (r1_nfc_full(&b2, in, in_len, &got, &got_len) || got_len != want_len || memcmp(got, want, want_len)) ok = 0;
        if (!ok && bad++ < 5) {
            printf("    case %zu (%c)\n", n, kind);
            show("in  ", in, in_len), show("want", want, want_len), show("got ", got, got_len);
        }
        /* the expected output is NFC: normalizing it again changes nothing */
        if (r1_nfc(&b, want, want_len, &got, &got_len) || got_len != want_len || memcmp(got, want, want_len)) idem_bad++;
        else fast += got == want;
    }
    CHECK_EQ_INT(r, 0);
    printf("    %zu golden cases, %zu outputs already NFC without a copy\n", n, fast);
    CHECK(n > 6000);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(idem_bad, 0);
    r1_nfc_buf_free(&b), r1_nfc_buf_free(&b2);
}

/* Every code point alone: the golden "c" lines list all that NFC changes. */
TEST(every_code_point_alone) {
    load_golden();
    if (!g_golden) return;
    static uint8_t changed[0x110000];
    memset(changed, 0, sizeof changed);
    size_t pos = 0, in_len, want_len, got_len, nc = 0, bad = 0;
    const char *in, *want, *got;
    char kind;
    while (next_case(&pos, &kind, &in, &in_len, &want, &want_len) == 1) {
        uint32_t cp;
        if (kind != 'c') continue;
        if (r1_utf8_next((const unsigned char *)in, in_len, &cp) != (int)in_len) bad++;
        else changed[cp] = 1, nc++;
    }
    r1_nfc_buf b = {0};
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        char s[4];
        int k = r1_utf8_encode(cp, s);
        if (r1_nfc(&b, s, (size_t)k, &got, &got_len)) {
            bad++;
            continue;
        }
        int same = got_len == (size_t)k && !memcmp(got, s, (size_t)k);
        if (same == changed[cp] && bad++ < 5) printf("    U+%04X: NFC %s it\n", cp, same ? "keeps" : "changes");
    }
    printf("    %zu code points change under NFC\n", nc);
    CHECK_EQ_INT(nc, 1120);
    CHECK_EQ_INT(bad, 0);
    r1_nfc_buf_free(&b);
}

TEST(properties) {
    CHECK_EQ_INT(r1_nfc_ccc('a'), 0);
    CHECK_EQ_INT(r1_nfc_ccc(0x301), 230);
    CHECK_EQ_INT(r1_nfc_ccc(0x316), 220);
    CHECK_EQ_INT(r1_nfc_ccc(0x5B0), 10);
    CHECK_EQ_INT(r1_nfc_qc(0x301), 1);   /* combines with a preceding letter */
    CHECK_EQ_INT(r1_nfc_qc(0x1161), 1);  /* Hangul medial vowel */
    CHECK_EQ_INT(r1_nfc_qc(0x212B), 2);  /* ANGSTROM SIGN: singleton */
    CHECK_EQ_INT(r1_nfc_qc(0x958), 2);   /* DEVANAGARI QA: composition exclusion */
    CHECK_EQ_INT(r1_nfc_qc(0x344), 2);   /* non-starter decomposition */
    CHECK_EQ_INT(r1_nfc_qc(0xE9), 0);
    CHECK_EQ_INT(r1_nfc_qc(0xAC00), 0);
    CHECK_EQ_INT(r1_nfc_qc(0x10FFFF), 0);
    CHECK_EQ_INT(r1_nfc_qc(0x110000), 0);
}

static int nfc_is(const char *in, size_t n, const char *want, size_t wn) {
    r1_nfc_buf b = {0};
    const char *got;
    size_t gl;
    int ok = !r1_nfc(&b, in, n, &got, &gl) && gl == wn && !memcmp(got, want, wn);
    if (!ok) show("got ", got, gl);
    r1_nfc_buf_free(&b);
    return ok;
}
#define NFC_IS(in, want) CHECK(nfc_is(in, sizeof in - 1, want, sizeof want - 1))

TEST(hand_cases) {
    NFC_IS("e\xCC\x81", "\xC3\xA9");                       /* e + acute */
    NFC_IS("a\xCC\x96\xCC\x81", "\xC3\xA1\xCC\x96");       /* a + grave below + acute: reordered past */
    NFC_IS("a\xCC\x81\xCC\x81", "\xC3\xA1\xCC\x81");       /* second acute is blocked */
    NFC_IS("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"); /* L V T -> U+AC01 */
    NFC_IS("\xEA\xB0\x80\xE1\x86\xA8", "\xEA\xB0\x81");    /* LV + T */
    NFC_IS("\xEA\xB0\x81\xE1\x86\xA8", "\xEA\xB0\x81\xE1\x86\xA8"); /* LVT + T stays */
    NFC_IS("\xE2\x84\xAB", "\xC3\x85");                    /* U+212B ANGSTROM -> U+00C5 */
    NFC_IS("\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC");    /* U+0958 stays decomposed */
    NFC_IS("\xCD\x84", "\xCC\x88\xCC\x81");                /* U+0344 */
    NFC_IS(">\xCC\xB8", "\xE2\x89\xAF");                   /* > + U+0338 -> U+226F */
    NFC_IS("", "");
    /* invalid UTF-8 is kept and blocks composition across it */
    NFC_IS("\xFF" "e\xCC\x81", "\xFF\xC3\xA9");
    NFC_IS("e\xFF\xCC\x81", "e\xFF\xCC\x81");
    NFC_IS("e\xCC", "e\xCC");
    NFC_IS("\xCC\x81\x80\xCC\x81", "\xCC\x81\x80\xCC\x81");
    NFC_IS("\xE1\x84\x80\xE1\x85", "\xE1\x84\x80\xE1\x85");
}

TEST(fast_path_does_not_copy) {
    static const char *texts[] = {"plain ASCII text\n", "中文分词 and 日本語のテキスト", "한국어 텍스트",
                                  "naïve café Zürich", "a\xCC\x96\xCC\x85x", "😀👍🏽"};
    r1_nfc_buf b = {0};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *got;
        size_t gl;
        CHECK_OK(r1_nfc(&b, texts[i], strlen(texts[i]), &got, &gl));
        CHECK(got == texts[i] && gl == strlen(texts[i]));
    }
    CHECK(b.out == NULL); /* nothing was ever allocated */
    r1_nfc_buf_free(&b);
}

/* Random strings over characters that interact: fast path == full algorithm,
 * and the result is a fixed point. */
TEST(random_fast_equals_full_and_idempotent) {
    static const uint32_t pool[] = {'a', 'e', 'A', ' ', 0xE9, 0x300, 0x301, 0x316, 0x327, 0x345, 0x5B0, 0x5BC,
                                    0x5C1, 0x5E9, 0x93C, 0x928, 0x1100, 0x1161, 0x11A8, 0xAC00, 0xAC01, 0x212B,
                                    0x958, 0x344, 0xF73, 0x1F00, 0x3B1, 0x313, 0x3099, 0x304B, 0x4E2D, 0x338, '>'};
    r1_rng rng;
    r1_rng_seed(&rng, 7);
    r1_nfc_buf b = {0}, b2 = {0}, b3 = {0};
    int bad = 0;
    for (int it = 0; it < 20000; it++) {
        char s[256];
        size_t n = 0;
        int len = (int)((uint32_t)r1_rng_u64(&rng) % 24);
        for (int i = 0; i < len; i++) {
            uint32_t r = (uint32_t)r1_rng_u64(&rng);
            if (r % 50 == 0) s[n++] = (char)(0x80 + r % 0x7F); /* a stray byte */
            else n += (size_t)r1_utf8_encode(pool[(r >> 8) % (sizeof pool / sizeof *pool)], s + n);
        }
        const char *x, *y, *z;
        size_t xl, yl, zl;
        if (r1_nfc(&b, s, n, &x, &xl) || r1_nfc_full(&b2, s, n, &y, &yl) || r1_nfc(&b3, x, xl, &z, &zl)) {
            bad++;
            continue;
        }
        if (xl != yl || memcmp(x, y, xl) || zl != xl || memcmp(z, x, xl) ||
            (r1_utf8_valid(s, n) && !r1_utf8_valid(x, xl))) {
            if (bad++ < 3) show("in", s, n), show("fast", x, xl), show("full", y, yl);
        }
    }
    CHECK_EQ_INT(bad, 0);
    r1_nfc_buf_free(&b), r1_nfc_buf_free(&b2), r1_nfc_buf_free(&b3);
}

/* A 200 kB run of combining marks in reverse order: the counting sort keeps
 * this linear. */
TEST(long_mark_run) {
    size_t n = 100000;
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i += 2) memcpy(s + 2 * i, "\xCC\x81\xCC\x96", 4); /* 230, 220 */
    r1_nfc_buf b = {0};
    const char *got;
    size_t gl;
    CHECK_OK(r1_nfc(&b, s, 2 * n, &got, &gl));
    CHECK_EQ_INT(gl, 2 * n);
    /* all ccc 220 marks first, then all ccc 230 marks */
    CHECK(gl == 2 * n && !memcmp(got, "\xCC\x96", 2) && !memcmp(got + n - 2, "\xCC\x96", 2) &&
          !memcmp(got + n, "\xCC\x81", 2));
    r1_nfc_buf_free(&b);
    free(s);
}

static r1_tok *mk_norm(const char *normalizer) {
    char json[4096];
    snprintf(json, sizeof json,
             "{\"added_tokens\":[{\"id\":9,\"content\":\"<s>\",\"special\":true}],\"normalizer\":%s,"
             "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
             "\"model\":{\"type\":\"BPE\",\"vocab\":{\"e\":0,\"\\u00c3\":1,\"\\u00a9\":2,\"\\u00cc\":3,"
             "\"\\u0123\":4,\"\\u00c3\\u00a9\":5,\"x\":6,\"\\u00ef\":7,\"\\u0138\":8},\"merges\":[\"\\u00c3 \\u00a9\"]}}",
             normalizer);
    r1_tok *t = NULL;
    if (r1_tok_load_mem(&t, json, strlen(json), NULL, 0)) return NULL;
    return t;
}

static int ids_of(const r1_tok *t, const char *text, int32_t *out, int max) {
    int32_t *ids;
    int64_t n;
    if (r1_tok_encode(t, text, strlen(text), 0, &ids, &n) || n > max) return -1;
    memcpy(out, ids, (size_t)n * sizeof *ids);
    free(ids);
    return (int)n;
}

TEST(tokenizer_applies_nfc) {
    static const char *forms[] = {"{\"type\":\"NFC\"}", "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"}]}"};
    for (int f = 0; f < 2; f++) {
        r1_tok *t = mk_norm(forms[f]);
        CHECK(t != NULL);
        if (!t) continue;
        int32_t ids[16];
        /* "é" precomposed is one merged token; decomposed e + U+0301 becomes the same */
        CHECK_EQ_INT(ids_of(t, "\xC3\xA9", ids, 16), 1);
        CHECK_EQ_INT(ids[0], 5);
        CHECK_EQ_INT(ids_of(t, "e\xCC\x81", ids, 16), 1);
        CHECK_EQ_INT(ids[0], 5);
        /* normalized per section: the added token stays whole */
        CHECK_EQ_INT(ids_of(t, "xe\xCC\x81<s>e\xCC\x81", ids, 16), 4);
        CHECK(ids[0] == 6 && ids[1] == 5 && ids[2] == 9 && ids[3] == 5);
        r1_tok_free(t);
    }
    r1_tok *t = mk_norm("{\"type\":\"Sequence\",\"normalizers\":[]}");
    CHECK(t != NULL);
    int32_t ids[16];
    if (t) CHECK_EQ_INT(ids_of(t, "e\xCC\x81", ids, 16), 3); /* no normalizer: e, 0xCC, 0x81 */
    r1_tok_free(t);
}

TEST(unknown_normalizers_are_refused) {
    static const char *bad[] = {"{\"type\":\"NFKC\"}", "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Lowercase\"}]}",
                                "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"x\"}"};
    static const char *name[] = {"NFKC", "Lowercase", "Replace"};
    for (int i = 0; i < 3; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"normalizer\":%s,\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                 bad[i]);
        r1_tok *t = NULL;
        CHECK_EQ_INT(r1_tok_load_mem(&t, json, strlen(json), NULL, 0), R1_UNSUPPORTED);
        CHECK(t == NULL);
        CHECK(strstr(r1_errmsg(), name[i]) != NULL);
    }
}

int main(void) {
    RUN(golden_strings_match_python);
    RUN(every_code_point_alone);
    RUN(properties);
    RUN(hand_cases);
    RUN(fast_path_does_not_copy);
    RUN(random_fast_equals_full_and_idempotent);
    RUN(long_mark_run);
    RUN(tokenizer_applies_nfc);
    RUN(unknown_normalizers_are_refused);
    free(g_golden);
    TEST_MAIN_END();
}
