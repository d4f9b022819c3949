/* test_serve: the OpenAI server.
 *   - unit: request parsing (defaults, every error names its param), JSON
 *     string escaping and UTF-8 repair, the reasoning splitter fed byte by
 *     byte, SSE chunks and bodies that parse back with the right fields;
 *   - end to end: a tiny random DeepSeek model with the committed tiny
 *     tokenizer is written to a temp folder, served in-process on a free
 *     port, and driven by the official npm `openai` client
 *     (tests/serve/e2e.js: streaming, reasoning_content, n, stop, errors,
 *     disconnects) and by a small load test (tests/serve/load.js: 16 streaming
 *     clients x 160 requests, 0 errors, RSS flat after warm-up).
 * `test_serve --make-model DIR [CONFIG]` only writes the model (for
 * scripts/serve_load.sh and bench/serve_bench.sh). */
#include "test.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"
#include "serve/openai.h"
#include "tok/chat.h"
#include "serve/serve.h"

static r1_openai_err g_err;

static int parse(r1_openai_req *r, r1_openai_kind kind, const char *body) {
    return (int)r1_openai_parse(r, kind, R1_CHAT_R1, body, strlen(body), &g_err);
}

TEST(parse_chat_defaults) {
    r1_openai_req r;
    CHECK_OK(parse(&r, R1_OPENAI_CHAT,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},"
                   "{\"role\":\"assistant\",\"content\":\"<think>x</think>y\"},{\"role\":\"user\",\"content\":\"q\"}]}"));
    CHECK_STR(r.model, "m");
    CHECK_STR(r.text, "<｜begin▁of▁sentence｜>S<｜User｜>ab<｜Assistant｜>y<｜end▁of▁sentence｜><｜User｜>q<｜Assistant｜><think>\n");
    CHECK(r.think && !r.stream && r.n == 1 && !r.has_seed && r.max_tokens == 0 && r.n_stop == 0);
    CHECK_NEAR(r.temperature, 0.6, 1e-12);
    CHECK_NEAR(r.top_p, 0.95, 1e-12);
    r1_openai_req_free(&r);
}

TEST(parse_chat_options) {
    r1_openai_req r;
    CHECK_OK(parse(&r, R1_OPENAI_CHAT,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
                   "\"stream_options\":{\"include_usage\":true},\"temperature\":0,\"top_p\":0.5,\"max_tokens\":9,"
                   "\"max_completion_tokens\":7,\"stop\":[\"x\",\"\",\"yz\"],\"seed\":-1,\"n\":3,\"top_k\":4,"
                   "\"user\":\"u\",\"frequency_penalty\":0,\"some_future_key\":{}}"));
    CHECK(r.stream && r.include_usage && r.has_seed && r.seed == UINT64_MAX);
    CHECK_EQ_INT(r.max_tokens, 7);
    CHECK_EQ_INT(r.n, 3);
    CHECK_EQ_INT(r.top_k, 4);
    CHECK_EQ_INT(r.n_stop, 2); /* the empty stop string is dropped */
    CHECK_STR(r.stop[1], "yz");
    r1_openai_req_free(&r);
    CHECK_OK(parse(&r, R1_OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[\"p\"],\"stop\":\"s\"}"));
    CHECK_STR(r.text, "p");
    CHECK_STR(r.stop[0], "s");
    r1_openai_req_free(&r);
    CHECK_OK(parse(&r, R1_OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[1,2,3]}"));
    CHECK(r.text == NULL && r.n_ids == 3 && r.ids[2] == 3);
    r1_openai_req_free(&r);
}

TEST(parse_errors_name_the_param) {
    static const struct {
        r1_openai_kind kind;
        const char *body, *param;
    } cases[] = {
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[", NULL},
        {R1_OPENAI_CHAT, "[]", NULL},
        {R1_OPENAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model"},
        {R1_OPENAI_CHAT, "{\"model\":7,\"messages\":[]}", "model"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\"}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":{}}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[]}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[1]}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"stream\":1,\"messages\":[]}", "stream"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"temperature\":\"hot\"}", "temperature"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"temperature\":3}", "temperature"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"top_p\":-0.1}", "top_p"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"max_tokens\":0}", "max_tokens"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"max_tokens\":2.5}", "max_tokens"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"max_completion_tokens\":1e300}", "max_completion_tokens"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"n\":9}", "n"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"seed\":\"1\"}", "seed"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"stop\":5}", "stop"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"stop\":[null]}", "stop"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"logprobs\":true}", "logprobs"},
        {R1_OPENAI_CHAT, "{\"model\":\"m\",\"stream_options\":3}", "stream_options"},
        {R1_OPENAI_COMPLETION, "{\"model\":\"m\"}", "prompt"},
        {R1_OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":{}}", "prompt"},
        {R1_OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[]}", "prompt"},
        {R1_OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[1,-2]}", "prompt"},
        {R1_OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}", "prompt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r1_openai_req r;
        g_err = (r1_openai_err){0};
        int s = parse(&r, cases[i].kind, cases[i].body);
        if (s != R1_INVALID || g_err.status != 400 || strcmp(g_err.type, "invalid_request_error"))
            T_FAIL_AT("case %zu (%s): status %d http %d", i, cases[i].body, s, g_err.status);
        const char *want = cases[i].param, *got = g_err.param;
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
            T_FAIL_AT("case %zu (%s): param %s, want %s (%s)", i, cases[i].body, got ? got : "null",
                      want ? want : "null", g_err.message);
        CHECK(r.model == NULL && r.text == NULL);
    }
}

TEST(json_strings_are_escaped_and_utf8_repaired) {
    r1_openai_buf b = {0};
    r1_openai_buf_json_str(&b, "a\"b\\c\n\t\x01\x7f é 😀", strlen("a\"b\\c\n\t\x01\x7f é 😀"));
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f é 😀\"");
    b.len = 0;
    static const char bad[] = "x\xff" "y\xc3" "z\xed\xa0\x80" "\xf0\x9f\x98";
    r1_openai_buf_json_str(&b, bad, sizeof bad - 1);
    cJSON *j = cJSON_Parse(b.data);
    CHECK(j && cJSON_IsString(j));
    if (j) CHECK_STR(j->valuestring, "x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    cJSON_Delete(j);
    r1_openai_buf_free(&b);
}

static void to_bufs(void *ctx, int part, const char *s, size_t n) {
    r1_openai_buf_put(((r1_openai_buf **)ctx)[part], s, n);
}

/* Feeds text in pieces of `step` bytes through the tok/chat stream splitter
 * and returns the two parts. */
static void split_in_steps(const char *text, size_t step, r1_think_start think, r1_openai_buf *r, r1_openai_buf *c) {
    r1_chat_stream t;
    r1_openai_buf *parts[2] = {r, c};
    r1_chat_stream_init(&t, think);
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += step) CHECK_OK(r1_chat_stream_feed(&t, text + i, i + step < n ? step : n - i, to_bufs, parts));
    r1_chat_stream_flush(&t, to_bufs, parts);
    r1_openai_buf_put(r, "", 0);
    r1_openai_buf_put(c, "", 0);
}

TEST(think_split_streamed_any_way) {
    static const struct {
        const char *in, *reasoning, *content;
        r1_think_start think;
    } cases[] = {
        {"Let me see.\n</think>\n\nThe answer is 4.", "Let me see.\n", "The answer is 4.", R1_THINK_OPENED},
        {"no tag yet </thi", "no tag yet </thi", "", R1_THINK_OPENED},
        {"</think>   ", "", "", R1_THINK_OPENED},
        {"a</think>b</think>c", "a", "b</think>c", R1_THINK_OPENED},
        {"<</</think>x", "<</", "x", R1_THINK_OPENED},
        {"plain answer", "", "plain answer", R1_THINK_NONE},
        {" <think> x", "", " <think> x", R1_THINK_NONE},
        /* R1-Zero: the model opens the block itself */
        {" <think> 2+2 = 4 </think> <answer> 4 </answer>", " 2+2 = 4 ", "<answer> 4 </answer>", R1_THINK_MAYBE},
        {"<think></think>4", "", "4", R1_THINK_MAYBE},
        {"  <thin", "", "<thin", R1_THINK_MAYBE},
        {"<thinking", "", "<thinking", R1_THINK_MAYBE},
        {"\n4 apples", "", "4 apples", R1_THINK_MAYBE},
        {"<think> still thinking", " still thinking", "", R1_THINK_MAYBE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t step = 1; step <= 9; step++) {
            r1_openai_buf r = {0}, c = {0};
            split_in_steps(cases[i].in, step, cases[i].think, &r, &c);
            if (strcmp(r.data, cases[i].reasoning) || strcmp(c.data, cases[i].content))
                T_FAIL_AT("case %zu step %zu: [%s|%s] want [%s|%s]", i, step, r.data, c.data, cases[i].reasoning,
                          cases[i].content);
            r1_openai_buf_free(&r);
            r1_openai_buf_free(&c);
        }
}

/* Parses one "data: {...}\n\n" event. */
static cJSON *sse_json(const r1_openai_buf *b) {
    if (b->len < 8 || strncmp(b->data, "data: ", 6) || strcmp(b->data + b->len - 2, "\n\n")) return NULL;
    return cJSON_ParseWithLength(b->data + 6, b->len - 8);
}

TEST(sse_chunks_and_bodies_parse_back) {
    r1_openai_meta m = {.kind = R1_OPENAI_CHAT, .id = "chatcmpl-1", .model = "tiny", .created = 42};
    r1_openai_buf b = {0};
    r1_openai_sse_chunk(&b, &m, 2, false, "reasoning_content", "hm\n", 3, NULL);
    cJSON *j = sse_json(&b);
    CHECK(j != NULL);
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "chat.completion.chunk");
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(ch, "index")), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "delta"), "reasoning_content")), "hm\n");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(ch, "finish_reason")));
    cJSON_Delete(j);
    b.len = 0;
    r1_openai_sse_chunk(&b, &m, 0, true, NULL, NULL, 0, NULL);
    CHECK(strstr(b.data, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}") != NULL);
    b.len = 0;
    r1_openai_sse_chunk(&b, &m, 0, false, NULL, NULL, 0, "length");
    CHECK(strstr(b.data, "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\"") != NULL);
    b.len = 0;
    r1_openai_sse_usage(&b, &m, 5, 7);
    j = sse_json(&b);
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")) == 0);
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "total_tokens")), 12);
    cJSON_Delete(j);
    b.len = 0;
    r1_openai_sse_done(&b);
    CHECK_STR(b.data, "data: [DONE]\n\n");
    b.len = 0;
    r1_openai_choice cs[1] = {{.finish = "stop"}};
    r1_openai_buf_puts(&cs[0].reasoning, "why");
    r1_openai_buf_puts(&cs[0].content, "because \"x\"");
    r1_openai_response(&b, &m, cs, 1, true, 3, 4);
    j = cJSON_Parse(b.data);
    cJSON *msg = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content")), "because \"x\"");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "reasoning_content")), "why");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "chat.completion");
    cJSON_Delete(j);
    r1_openai_buf_free(&cs[0].reasoning);
    r1_openai_buf_free(&cs[0].content);
    b.len = 0;
    r1_openai_err e;
    r1_openai_err_set(&e, 404, "invalid_request_error", "model", "model_not_found", "no '%s'", "x\"y");
    r1_openai_err_json(&b, &e);
    j = cJSON_Parse(b.data);
    cJSON *err = cJSON_GetObjectItem(j, "error");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(err, "message")), "no 'x\"y'");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(err, "code")), "model_not_found");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(err, "param")), "model");
    cJSON_Delete(j);
    r1_openai_buf_free(&b);
}

/* ---- end to end ------------------------------------------------------------- */

static const char *TOK_DIR = "tests/tok/tiny";

static int copy_file(const char *from, const char *to) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    return system(cmd);
}

/* A random model with the tiny tokenizer's vocab: by default the 3-layer
 * DeepSeek-V3 (MLA + MoE) of tests/golden/ds_v3, or the config at cfg. */
static r1_status make_model(const char *dir, const char *cfg) {
    r1_tok *tok = NULL;
    R1_TRY(r1_tok_load(&tok, TOK_DIR));
    r1_config c;
    r1_status s = r1_config_load(&c, cfg ? cfg : "tests/golden/ds_v3/config.json");
    if (s == R1_OK) {
        c.vocab = r1_tok_n_vocab(tok);
        c.bos_id = r1_tok_bos(tok);
        c.eos_id = r1_tok_eos(tok);
        c.max_pos = 4096;
    }
    r1_tok_free(tok);
    r1_model *m = NULL;
    if (s == R1_OK) s = r1_model_create_random(&m, &c, R1_DT_F32, 1234, 1);
    mkdir(dir, 0755);
    if (s == R1_OK) s = r1_model_save(m, dir);
    r1_model_destroy(m);
    char to[512];
    snprintf(to, sizeof to, "%s/tokenizer.json", dir);
    if (s == R1_OK && copy_file("tests/tok/tiny/tokenizer.json", to)) s = r1_fail(R1_IO, "cannot copy the tokenizer");
    snprintf(to, sizeof to, "%s/tokenizer_config.json", dir);
    if (s == R1_OK && copy_file("tests/tok/tiny/tokenizer_config.json", to)) s = r1_fail(R1_IO, "cannot copy the tokenizer");
    return s;
}

static char g_out[1 << 16];

/* Runs a shell command, shows its output, and returns the "<name>: P passed,
 * F failed" counts of its last such line (pass -1 if none). */
static void run_peer(const char *cmd, const char *name, long *pass, long *fail) {
    *pass = -1, *fail = -1;
    size_t len = 0, n;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    while ((n = fread(g_out + len, 1, sizeof g_out - 1 - len, p)) > 0) len += n;
    g_out[len] = '\0';
    pclose(p);
    fputs(g_out, stdout);
    char key[64];
    snprintf(key, sizeof key, "%s: ", name);
    for (const char *at = g_out; (at = strstr(at, key)); at++)
        if (at == g_out || at[-1] == '\n') sscanf(at + strlen(key), "%ld passed, %ld failed", pass, fail);
}

static long json_num(const char *line, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *at = strstr(line, k);
    return at ? strtol(at + strlen(k), NULL, 10) : -1;
}

TEST(end_to_end_with_openai_client) {
    char dir[] = "/tmp/r1-serve-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK_OK(make_model(dir, NULL));
    r1_tok *tok = NULL;
    r1_model *m = NULL;
    CHECK_OK(r1_tok_load(&tok, dir));
    CHECK_OK(r1_model_load(&m, dir, 2));
    r1_serve_opts o;
    r1_serve_opts_default(&o);
    o.port = 0;
    o.api_key = "sk-test-key";
    o.model_id = "tiny-r1";
    o.parallel = 8;
    o.queue = 256;
    o.ctx = 256;
    r1_server *srv = NULL;
    if (tok && m) CHECK_OK(r1_serve_start(&srv, m, tok, &o));
    if (srv) {
        char cmd[512];
        long pass, fail;
        snprintf(cmd, sizeof cmd, "tests/serve/peer.sh e2e.js %d tiny-r1 sk-test-key 256 2>&1", r1_serve_port(srv));
        run_peer(cmd, "e2e", &pass, &fail);
        CHECK(pass >= 60);
        CHECK_EQ_INT(fail, 0);
        snprintf(cmd, sizeof cmd, "tests/serve/peer.sh load.js %d tiny-r1 sk-test-key 16 160 24 %d 2>&1",
                 r1_serve_port(srv), (int)getpid());
        run_peer(cmd, "load", &pass, &fail);
        CHECK_EQ_INT(pass, 160);
        CHECK_EQ_INT(fail, 0);
        long warm = json_num(g_out, "rss_warm_kb"), end = json_num(g_out, "rss_max_kb");
        printf("  load: RSS %ld kB after warm-up, %ld kB max after\n", warm, end);
#if !defined(__SANITIZE_ADDRESS__)
        CHECK(warm > 0 && end > 0 && end - warm < 16 * 1024); /* flat: under 16 MB of growth */
#endif
        r1_serve_stop(srv);
    }
    r1_model_destroy(m);
    r1_tok_free(tok);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(rm), 0);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--make-model")) {
        r1_status s = make_model(argv[2], argc == 4 ? argv[3] : NULL);
        if (s != R1_OK) fprintf(stderr, "test_serve: %s\n", r1_errmsg());
        return s == R1_OK ? 0 : 1;
    }
    RUN(parse_chat_defaults);
    RUN(parse_chat_options);
    RUN(parse_errors_name_the_param);
    RUN(json_strings_are_escaped_and_utf8_repaired);
    RUN(think_split_streamed_any_way);
    RUN(sse_chunks_and_bodies_parse_back);
    RUN(end_to_end_with_openai_client);
    TEST_MAIN_END();
}
