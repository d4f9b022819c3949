/* gguf_tok: HF tokenizer.json <-> GGUF tokenizer.ggml.* (see gguf_tok.h). */
#include "io/gguf_tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io/file.h"
#include "io/json.h"

enum { TOK_NORMAL = 1, TOK_UNUSED = 5, TOK_CONTROL = 3, TOK_USER = 4, MAX_TOKENIZER = 256 << 20 };

static char *read_json(const char *dir, const char *name, r1_status *s) {
    char *path = r1_path_join(dir, name), *text = NULL;
    size_t len;
    *s = path ? r1_file_read_all(path, &text, &len, MAX_TOKENIZER) : r1_fail(R1_NOMEM, "out of memory");
    free(path);
    return text;
}

/* "content" of an added-token object, or the string itself. */
static const char *token_text(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static r1_status from_config(r1_gguf_writer *w, const char *dir) {
    r1_status s;
    char *text = read_json(dir, "tokenizer_config.json", &s);
    if (!text) return R1_OK; /* optional */
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o) return r1_fail(R1_FORMAT, "%s/tokenizer_config.json: not JSON", dir);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "chat_template");
    s = R1_OK;
    if (cJSON_IsString(t)) s = r1_gguf_set_str(w, "tokenizer.chat_template", t->valuestring, strlen(t->valuestring));
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(o, "add_bos_token");
    if (s == R1_OK && cJSON_IsBool(ab)) s = r1_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", cJSON_IsTrue(ab));
    const cJSON *ae = cJSON_GetObjectItemCaseSensitive(o, "add_eos_token");
    if (s == R1_OK && cJSON_IsBool(ae)) s = r1_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", cJSON_IsTrue(ae));
    cJSON_Delete(o);
    return s;
}

r1_status r1_gguf_tok_from_hf(r1_gguf_writer *w, const char *dir, const r1_config *c) {
    r1_status s;
    char *text = read_json(dir, "tokenizer.json", &s);
    if (!text) return r1_err_wrap(s, "tokenizer");
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return r1_fail(R1_FORMAT, "%s/tokenizer.json: not JSON", dir);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int64_t n = c->vocab;
    const char **toks = NULL;
    char **pads = NULL, **mstr = NULL;
    int32_t *types = NULL;
    int64_t nm = 0;
    if (!cJSON_IsObject(vocab) || (type && !(cJSON_IsString(type) && !strcmp(type->valuestring, "BPE")))) {
        s = r1_fail(R1_UNSUPPORTED, "%s/tokenizer.json: only BPE tokenizers are converted", dir);
        goto done;
    }
    toks = calloc((size_t)n, sizeof *toks);
    pads = calloc((size_t)n, sizeof *pads);
    types = calloc((size_t)n, sizeof *types);
    if (!toks || !pads || !types) {
        s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
        goto done;
    }
    for (const cJSON *v = vocab->child; v; v = v->next) {
        int64_t id;
        if (!r1_json_as_int(v, &id) || id < 0 || id >= n) continue; /* ids beyond the model's vocab are unusable */
        toks[id] = v->string;
        types[id] = TOK_NORMAL;
    }
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        int64_t id;
        const char *t = token_text(a);
        if (!t || !r1_json_as_int(cJSON_GetObjectItemCaseSensitive(a, "id"), &id) || id < 0 || id >= n) continue;
        toks[id] = t;
        types[id] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "special")) ? TOK_CONTROL : TOK_USER;
    }
    for (int64_t i = 0; i < n; i++)
        if (!toks[i]) {
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%lld]", (long long)i);
            if (!(pads[i] = strdup(buf))) {
                s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
                goto done;
            }
            toks[i] = pads[i];
            types[i] = TOK_UNUSED;
        }
    nm = cJSON_GetArraySize(merges);
    mstr = calloc((size_t)nm + 1, sizeof *mstr);
    if (!mstr) {
        s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
        goto done;
    }
    int64_t k = 0;
    for (const cJSON *m = merges ? merges->child : NULL; m; m = m->next) {
        if (cJSON_IsString(m)) {
            mstr[k] = strdup(m->valuestring);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) { /* newer files: ["a", "b"] */
            size_t la = strlen(m->child->valuestring), lb = strlen(m->child->next->valuestring);
            if ((mstr[k] = malloc(la + lb + 2))) {
                memcpy(mstr[k], m->child->valuestring, la);
                mstr[k][la] = ' ';
                memcpy(mstr[k] + la + 1, m->child->next->valuestring, lb + 1);
            }
        } else {
            continue;
        }
        if (!mstr[k++]) {
            s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
            goto done;
        }
    }
    nm = k;
    const char *pre = c->arch == R1_ARCH_DEEPSEEK ? "deepseek-v3" : c->arch == R1_ARCH_QWEN2 ? "deepseek-r1-qwen" : "llama-bpe";
    if ((s = r1_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", 4)) ||
        (s = r1_gguf_set_str(w, "tokenizer.ggml.pre", pre, strlen(pre))) ||
        (s = r1_gguf_set_str_arr(w, "tokenizer.ggml.tokens", toks, NULL, (uint64_t)n)) ||
        (s = r1_gguf_set_arr(w, "tokenizer.ggml.token_type", R1_GGUF_I32, types, (uint64_t)n)) ||
        (s = r1_gguf_set_str_arr(w, "tokenizer.ggml.merges", (const char *const *)mstr, NULL, (uint64_t)nm)))
        goto done;
    if (c->bos_id >= 0 && (s = r1_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos_id))) goto done;
    if (c->eos_id >= 0 && (s = r1_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos_id))) goto done;
    s = from_config(w, dir);
done:
    for (int64_t i = 0; pads && i < n; i++) free(pads[i]);
    for (int64_t i = 0; mstr && i < nm; i++) free(mstr[i]);
    free(mstr);
    free(pads);
    free(toks);
    free(types);
    cJSON_Delete(root);
    return s;
}

r1_status r1_gguf_tok_copy(r1_gguf_writer *w, const r1_gguf *g) {
    bool any = false;
    for (int64_t i = 0; i < r1_gguf_kv_count(g); i++) {
        const r1_gguf_kv *kv = r1_gguf_kv_at(g, i);
        if (strncmp(kv->key, "tokenizer.", 10) == 0) {
            R1_TRY(r1_gguf_copy_kv(w, kv));
            any = true;
        }
    }
    return any ? R1_OK : r1_gguf_tok_none(w);
}

r1_status r1_gguf_tok_none(r1_gguf_writer *w) { return r1_gguf_set_str(w, "tokenizer.ggml.model", "none", 4); }

/* The split regex llama.cpp uses for a "pre" name (one combined pattern). */
static const char *pre_regex(const char *pre, size_t len) {
#define IS(s) (len == strlen(s) && !memcmp(pre, s, len))
    if (IS("deepseek-v3"))
        return "\\p{N}{1,3}|[一-龥぀-ゟ゠-ヿ]+|[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
               "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
    if (IS("deepseek-r1-qwen") || IS("qwen2"))
        return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
               "\\s+(?!\\S)|\\s+";
    if (IS("llama-bpe") || IS("llama3"))
        return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
#undef IS
    return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"; /* GPT-2 */
}

static char *dup_str(r1_gguf_str s) {
    char *p = malloc(s.len + 1);
    if (p) {
        memcpy(p, s.p, s.len);
        p[s.len] = 0;
    }
    return p;
}

r1_status r1_gguf_tok_to_json(const r1_gguf *g, char **json, char **chat_template) {
    *json = NULL;
    if (chat_template) *chat_template = NULL;
    r1_gguf_str model, pre, tmpl;
    bool found;
    R1_TRY(r1_gguf_get_str(g, "tokenizer.ggml.model", &model, &found));
    if (!found || model.len != 4 || memcmp(model.p, "gpt2", 4))
        return r1_fail(R1_UNSUPPORTED, "gguf: tokenizer.ggml.model is '%.*s'; only gpt2 (byte-level BPE) converts",
                       (int)(model.len < 32 ? model.len : 32), model.p ? model.p : "");
    const r1_gguf_kv *toks = r1_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const r1_gguf_kv *types = r1_gguf_find_kv(g, "tokenizer.ggml.token_type");
    const r1_gguf_kv *merges = r1_gguf_find_kv(g, "tokenizer.ggml.merges");
    if (!toks || toks->type != R1_GGUF_ARRAY || toks->elem != R1_GGUF_STRING)
        return r1_fail(R1_FORMAT, "gguf: tokenizer.ggml.tokens is missing or not a string array");
    if (types && (types->type != R1_GGUF_ARRAY || types->n != toks->n || types->elem == R1_GGUF_STRING))
        return r1_fail(R1_FORMAT, "gguf: tokenizer.ggml.token_type does not match the tokens");
    if (merges && (merges->type != R1_GGUF_ARRAY || merges->elem != R1_GGUF_STRING))
        return r1_fail(R1_FORMAT, "gguf: tokenizer.ggml.merges is not a string array");
    R1_TRY(r1_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL));
    cJSON *root = cJSON_CreateObject(), *added = cJSON_AddArrayToObject(root, "added_tokens");
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "normalizer");
    cJSON *pt = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pt, "type", "Sequence");
    cJSON *pts = cJSON_AddArrayToObject(pt, "pretokenizers");
    cJSON *split = cJSON_CreateObject(), *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON *pat = cJSON_AddObjectToObject(split, "pattern");
    cJSON_AddStringToObject(pat, "Regex", pre_regex(pre.p ? pre.p : "", pre.len));
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", false);
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", false);
    cJSON_AddBoolToObject(bl, "trim_offsets", false);
    cJSON_AddBoolToObject(bl, "use_regex", false);
    cJSON_AddItemToArray(pts, split);
    cJSON_AddItemToArray(pts, bl);
    cJSON *dec = cJSON_AddObjectToObject(root, "decoder");
    cJSON_AddStringToObject(dec, "type", "ByteLevel");
    cJSON *m = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddBoolToObject(m, "byte_fallback", false);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab"), *ml = cJSON_AddArrayToObject(m, "merges");
    r1_status s = R1_OK;
    for (uint64_t i = 0; i < toks->n && s == R1_OK; i++) {
        char *t = dup_str(toks->str[i]);
        int64_t ty = types ? r1_gguf_arr_int(types, i) : TOK_NORMAL;
        if (!t) {
            s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
            break;
        }
        if (ty != TOK_UNUSED) cJSON_AddItemToObject(vocab, t, cJSON_CreateNumber((double)i));
        if (ty == TOK_CONTROL || ty == TOK_USER) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "id", (double)i);
            cJSON_AddStringToObject(a, "content", t);
            cJSON_AddBoolToObject(a, "single_word", false);
            cJSON_AddBoolToObject(a, "lstrip", false);
            cJSON_AddBoolToObject(a, "rstrip", false);
            cJSON_AddBoolToObject(a, "normalized", ty == TOK_USER);
            cJSON_AddBoolToObject(a, "special", ty == TOK_CONTROL);
            cJSON_AddItemToArray(added, a);
        }
        free(t);
    }
    for (uint64_t i = 0; merges && i < merges->n && s == R1_OK; i++) {
        char *t = dup_str(merges->str[i]);
        if (!t) s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
        else cJSON_AddItemToArray(ml, cJSON_CreateString(t));
        free(t);
    }
    if (s == R1_OK && !(*json = cJSON_PrintUnformatted(root))) s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
    cJSON_Delete(root);
    if (s == R1_OK && chat_template) {
        R1_TRY(r1_gguf_get_str(g, "tokenizer.chat_template", &tmpl, &found));
        if (found && !(*chat_template = dup_str(tmpl))) s = r1_fail(R1_NOMEM, "tokenizer: out of memory");
    }
    return s;
}
