/* r1 tokenize: text <-> ids on stdin/stdout with a tokenizer.json (DESIGN.md).
 *   r1 tokenize -t TOK [--special]           all of stdin is one text -> "id id id\n"
 *   r1 tokenize -t TOK --decode              whitespace-separated ids -> the exact bytes
 *   r1 tokenize -t TOK --jsonl [--special]   each line a JSON string -> a JSON array of ids
 *   r1 tokenize -t TOK --jsonl --decode      each line a JSON array of ids -> a JSON string
 *   r1 tokenize -t TOK --jsonl --roundtrip   each line a JSON string -> {"ids":[..],"text":decode(ids)}
 * JSON strings are parsed here rather than with cJSON so that "\u0000" and
 * lone surrogates survive exactly (a lone surrogate becomes U+FFFD, as the JS
 * TextEncoder does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

static const char USAGE[] =
    "usage: r1 tokenize -t TOKENIZER [--decode] [--jsonl [--roundtrip]] [--special]\n"
    "  -t PATH     tokenizer.json, or a model folder that holds one\n"
    "  (default)   stdin text -> space-separated ids\n"
    "  --decode    stdin ids -> text\n"
    "  --jsonl     one JSON string per line -> one JSON array of ids per line\n"
    "              (with --decode: arrays of ids -> JSON strings)\n"
    "  --roundtrip with --jsonl: {\"ids\":[...],\"text\":decoded ids} per line (tests)\n"
    "  --special   also add BOS/EOS as tokenizer_config.json says (HF add_special_tokens)\n";

static int read_all(FILE *f, char **out, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b) return -1;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) return free(b), -1;
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    *out = b, *len = n;
    return 0;
}

static int hex4(const char *s, uint32_t *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Parses one JSON string s[0..n) (surrounding whitespace allowed) into out
 * (capacity >= n). Returns the byte length or -1. */
static long json_string(const char *s, size_t n, char *out) {
    size_t i = 0, k = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
    if (i >= n || s[i++] != '"') return -1;
    for (;;) {
        if (i >= n) return -1;
        char c = s[i++];
        if (c == '"') break;
        if (c != '\\') {
            out[k++] = c;
            continue;
        }
        if (i >= n) return -1;
        char e = s[i++];
        uint32_t cp;
        switch (e) {
        case '"': case '\\': case '/': out[k++] = e; break;
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'u':
            if (i + 4 > n || hex4(s + i, &cp)) return -1;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' && !hex4(s + i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            k += (size_t)r1_utf8_encode(cp, out + k); /* \uXXXX is 6 bytes, its UTF-8 at most 4 */
            break;
        default: return -1;
        }
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
    return i == n ? (long)k : -1;
}

static void json_print_string(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fputc('\\', f), fputc(c, f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_ids(FILE *f, const int32_t *ids, int64_t n, int json, const char *end) {
    if (json) fputc('[', f);
    for (int64_t i = 0; i < n; i++) fprintf(f, i ? (json ? ",%d" : " %d") : "%d", ids[i]);
    fputs(json ? "]" : "", f);
    fputs(end, f);
}

/* Parses ids separated by whitespace/commas (brackets allowed around them). */
static int parse_ids(const char *s, size_t n, int32_t **ids, int64_t *count, int brackets) {
    int64_t cap = 64, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return -1;
    size_t i = 0;
    int open = 0;
    while (i < n) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') { i++; continue; }
        if (brackets && c == '[' && !open) { open = 1, i++; continue; }
        if (brackets && c == ']' && open == 1) { open = 2, i++; continue; }
        if (c < '0' || c > '9' || open == 2) return free(v), -1;
        long long x = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && x < (1ll << 31)) x = x * 10 + (s[i++] - '0');
        if (x >= (1ll << 31)) return free(v), -1;
        if (k == cap) {
            int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) return free(v), -1;
            v = nv;
        }
        v[k++] = (int32_t)x;
    }
    if (brackets && open != 2) return free(v), -1;
    *ids = v, *count = k;
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL;
    int decode = 0, jsonl = 0, special = 0, roundtrip = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help") || cli_is(argv[i], "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if ((cli_is(argv[i], "-t") || cli_is(argv[i], "--tokenizer")) && i + 1 < argc) {
            path = argv[++i];
        } else if (cli_is(argv[i], "--decode")) {
            decode = 1;
        } else if (cli_is(argv[i], "--jsonl")) {
            jsonl = 1;
        } else if (cli_is(argv[i], "--roundtrip")) {
            roundtrip = 1;
        } else if (cli_is(argv[i], "--special")) {
            special = 1;
        } else {
            return cli_usage("tokenize", "tokenize: unknown argument '%s'", argv[i]);
        }
    }
    if (!path) return cli_usage("tokenize", "tokenize: -t TOKENIZER is required");
    if (roundtrip && (!jsonl || decode)) return cli_usage("tokenize", "tokenize: --roundtrip needs --jsonl and no --decode");
    r1_tok *tok;
    r1_status s = r1_tok_load(&tok, path);
    if (s) return cli_fail("tokenize", s);
    char *in;
    size_t len;
    if (read_all(stdin, &in, &len)) {
        r1_tok_free(tok);
        return cli_fail("tokenize", r1_fail(R1_NOMEM, "reading stdin: out of memory"));
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    int rc = 0;
    if (!jsonl) {
        if (decode) {
            int32_t *ids;
            int64_t n;
            char *text;
            size_t tl;
            if (parse_ids(in, len, &ids, &n, 0)) {
                rc = cli_fail("tokenize", r1_fail(R1_FORMAT, "--decode: stdin is not a list of ids"));
            } else {
                if ((s = r1_tok_decode(tok, ids, n, &text, &tl))) rc = cli_fail("tokenize", s);
                else fwrite(text, 1, tl, stdout), free(text);
                free(ids);
            }
        } else {
            int32_t *ids;
            int64_t n;
            if ((s = r1_tok_encode(tok, in, len, special, &ids, &n))) rc = cli_fail("tokenize", s);
            else print_ids(stdout, ids, n, 0, "\n"), free(ids);
        }
    } else {
        char *buf = malloc(len + 1);
        size_t pos = 0;
        long lineno = 0;
        while (buf && pos < len && !rc) {
            const char *nl = memchr(in + pos, '\n', len - pos);
            size_t end = nl ? (size_t)(nl - in) : len;
            const char *line = in + pos;
            size_t ll = end - pos;
            pos = end + 1, lineno++;
            if (ll == 0 || (ll == 1 && line[0] == '\r')) continue;
            int32_t *ids;
            int64_t n;
            if (decode) {
                char *text;
                size_t tl;
                if (parse_ids(line, ll, &ids, &n, 1)) {
                    rc = cli_fail("tokenize", r1_fail(R1_FORMAT, "stdin line %ld: not a JSON array of ids", lineno));
                    break;
                }
                s = r1_tok_decode(tok, ids, n, &text, &tl);
                free(ids);
                if (s) rc = cli_fail("tokenize", r1_err_wrap(s, "stdin line %ld", lineno));
                else json_print_string(stdout, text, tl), fputc('\n', stdout), free(text);
            } else {
                long tl = json_string(line, ll, buf);
                if (tl < 0) {
                    rc = cli_fail("tokenize", r1_fail(R1_FORMAT, "stdin line %ld: not a JSON string", lineno));
                    break;
                }
                if ((s = r1_tok_encode(tok, buf, (size_t)tl, special, &ids, &n)))
                    rc = cli_fail("tokenize", r1_err_wrap(s, "stdin line %ld", lineno));
                else if (!roundtrip) print_ids(stdout, ids, n, 1, "\n"), free(ids);
                else {
                    char *text;
                    size_t dl;
                    fputs("{\"ids\":", stdout);
                    print_ids(stdout, ids, n, 1, ",\"text\":");
                    s = r1_tok_decode(tok, ids, n, &text, &dl);
                    free(ids);
                    if (s) rc = cli_fail("tokenize", r1_err_wrap(s, "stdin line %ld", lineno));
                    else json_print_string(stdout, text, dl), fputs("}\n", stdout), free(text);
                }
            }
        }
        if (!buf) rc = cli_fail("tokenize", r1_fail(R1_NOMEM, "out of memory"));
        free(buf);
    }
    fflush(stdout);
    free(in);
    r1_tok_free(tok);
    return rc;
}
