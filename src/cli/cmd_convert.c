/* r1 convert: HF folder <-> GGUF (llama.cpp's names and block layouts),
 * quantizing on the way (docs/FORMATS.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "io/file.h"
#include "io/gguf.h"
#include "io/gguf_tok.h"
#include "model/model.h"

static const char *USAGE =
    "usage: r1 convert IN OUT [--type f32|f16|bf16|q8_0|q4_0|q4_k|q6_k] [--threads N]\n"
    "  IN is an HF folder (config.json + safetensors [+ tokenizer.json]) or a .gguf file.\n"
    "  OUT ending in .gguf is written as GGUF v3 for llama.cpp (deepseek2, qwen2, llama):\n"
    "  matrices as --type (default f16; rows that do not fill the type's blocks fall\n"
    "  back to q8_0 or f16), norms, biases and the MoE router in f32.\n"
    "  Any other OUT is an HF folder: float tensors keep their type, quantized ones\n"
    "  are dequantized to f32; a GGUF's gpt2 tokenizer becomes tokenizer.json.\n";

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* tokenizer.json (+ tokenizer_config.json with the chat template) from the GGUF. */
static r1_status write_tokenizer(const r1_model *m, const char *dir) {
    if (!m->gguf) return R1_OK;
    char *json = NULL, *tmpl = NULL;
    r1_status s = r1_gguf_tok_to_json(m->gguf, &json, &tmpl);
    if (s == R1_UNSUPPORTED) return R1_OK; /* "none" or another model: nothing to write */
    char *path = s == R1_OK ? r1_path_join(dir, "tokenizer.json") : NULL;
    if (s == R1_OK) s = path ? r1_file_write_atomic(path, json, strlen(json)) : r1_fail(R1_NOMEM, "out of memory");
    free(path);
    if (s == R1_OK && tmpl) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "chat_template", tmpl);
        char *text = cJSON_Print(o);
        path = r1_path_join(dir, "tokenizer_config.json");
        s = text && path ? r1_file_write_atomic(path, text, strlen(text)) : r1_fail(R1_NOMEM, "out of memory");
        free(path);
        cJSON_free(text);
        cJSON_Delete(o);
    }
    free(json);
    free(tmpl);
    return s;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *type_name = "f16";
    long long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) return printf("%s", USAGE), 0;
        if (cli_is(argv[i], "--type") && i + 1 < argc) {
            type_name = argv[++i];
        } else if (cli_is(argv[i], "--threads") && i + 1 < argc) {
            if (cli_parse_i64(argv[++i], &threads) != 0) return cli_usage("convert", "bad --threads '%s'", argv[i]);
        } else if (argv[i][0] == '-') {
            return cli_usage("convert", "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return cli_usage("convert", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!in || !out) return cli_usage("convert", "need IN and OUT");
    int type = r1_dtype_from_name(type_name);
    if (type < 0) return cli_usage("convert", "unknown --type '%s'", type_name);
    r1_model *m = NULL;
    r1_status s = r1_model_load(&m, in, (int)threads);
    if (s != R1_OK) return cli_fail("convert", s);
    if (ends_with(out, ".gguf")) {
        char *tok = r1_model_path_is_gguf(in) ? NULL : r1_path_join(in, "tokenizer.json");
        bool has_tok = tok && r1_file_exists(tok);
        free(tok);
        s = r1_model_save_gguf(m, out, (r1_dtype)type, has_tok ? in : NULL);
    } else {
        s = r1_model_save(m, out);
        if (s == R1_OK) s = write_tokenizer(m, out);
    }
    r1_model_destroy(m);
    if (s != R1_OK) return cli_fail("convert", s);
    fprintf(stderr, "r1: wrote %s\n", out);
    return 0;
}
