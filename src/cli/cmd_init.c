/* r1 init: a randomly initialised model as an HF folder (config.json +
 * model.safetensors, plus a copy of a tokenizer's files), the starting point
 * of pretraining and the test models of the server and chat tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/file.h"
#include "model/model.h"
#include "tok/tokenizer.h"

static const char *USAGE =
    "usage: r1 init --config CFG.json --out DIR [--tokenizer PATH] [--dtype f32|bf16|f16] [--seed S]\n"
    "  Writes DIR/config.json and DIR/model.safetensors with random weights\n"
    "  (matrices N(0, 0.02^2), norms 1). --tokenizer copies tokenizer.json and\n"
    "  tokenizer_config.json from PATH (a folder or a tokenizer.json) and checks\n"
    "  that the config's vocab_size covers every token id.\n";

static r1_status copy_into(const char *src, const char *dir, const char *name) {
    char *buf, *to = r1_path_join(dir, name);
    size_t len;
    if (!to) return r1_fail(R1_NOMEM, "out of memory");
    r1_status s = r1_file_read_all(src, &buf, &len, (size_t)1 << 30);
    if (s == R1_OK) {
        s = r1_file_write_atomic(to, buf, len);
        free(buf);
    }
    free(to);
    return s;
}

static r1_status copy_tokenizer(const char *path, const char *dir, int64_t vocab) {
    r1_tok *tok;
    R1_TRY(r1_tok_load(&tok, path));
    int32_t n = r1_tok_n_vocab(tok);
    r1_tok_free(tok);
    if (n > vocab) return r1_fail(R1_INVALID, "tokenizer has %d ids but vocab_size is %lld", n, (long long)vocab);
    char *base = r1_file_is_dir(path) ? strdup(path) : NULL;
    if (!base) { /* a tokenizer.json path: its folder */
        base = strdup(path);
        char *slash = base ? strrchr(base, '/') : NULL;
        if (slash)
            *slash = '\0';
        else if (base)
            strcpy(base, ".");
    }
    if (!base) return r1_fail(R1_NOMEM, "out of memory");
    char *tj = r1_file_is_dir(path) ? r1_path_join(base, "tokenizer.json") : strdup(path);
    char *tc = r1_path_join(base, "tokenizer_config.json");
    r1_status s = tj && tc ? copy_into(tj, dir, "tokenizer.json") : r1_fail(R1_NOMEM, "out of memory");
    if (s == R1_OK && r1_file_exists(tc)) s = copy_into(tc, dir, "tokenizer_config.json");
    free(tj);
    free(tc);
    free(base);
    return s;
}

int cmd_init(int argc, char **argv) {
    const char *cfg_path = NULL, *out = NULL, *tok = NULL;
    r1_dtype dt = R1_DT_F32;
    long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (!v) return cli_usage("init", "option %s needs a value", a);
        i++;
        if (cli_is(a, "--config"))
            cfg_path = v;
        else if (cli_is(a, "--out"))
            out = v;
        else if (cli_is(a, "--tokenizer"))
            tok = v;
        else if (cli_is(a, "--seed")) {
            if (cli_parse_i64(v, &seed)) return cli_usage("init", "bad --seed '%s'", v);
        } else if (cli_is(a, "--dtype")) {
            if (!strcmp(v, "f32"))
                dt = R1_DT_F32;
            else if (!strcmp(v, "bf16"))
                dt = R1_DT_BF16;
            else if (!strcmp(v, "f16"))
                dt = R1_DT_F16;
            else
                return cli_usage("init", "bad --dtype '%s' (f32, bf16, f16)", v);
        } else
            return cli_usage("init", "unknown option '%s'", a);
    }
    if (!cfg_path || !out) return cli_usage("init", "need --config and --out");
    r1_config c;
    r1_model *m = NULL;
    r1_status s = r1_config_load(&c, cfg_path);
    if (s == R1_OK) s = r1_model_create_random(&m, &c, dt, (uint64_t)seed, 1);
    if (s == R1_OK) s = r1_model_save(m, out);
    if (s == R1_OK && tok) s = copy_tokenizer(tok, out, c.vocab);
    r1_model_destroy(m);
    return s == R1_OK ? 0 : cli_fail("init", s);
}
