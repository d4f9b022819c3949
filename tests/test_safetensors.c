/* Tests for io/safetensors: write then read back every dtype, sharded
 * folders, and every malformed input -> the right status and message. */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/dtype.h"
#include "core/status.h"
#include "io/file.h"
#include "io/safetensors.h"

static char g_dir[64];

static char *path_in(const char *name) {
    char *p = r1_path_join(g_dir, name);
    R1_ASSERT(p);
    return p;
}

/* A safetensors image: 8-byte length, header text, data_len bytes of data. */
static unsigned char *make_image(const char *header, size_t data_len, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    unsigned char *b = calloc(1, *len);
    R1_ASSERT(b);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (unsigned char)i;
    return b;
}

/* Parses header+data in memory and checks the status and a message fragment. */
static void expect_bad(const char *header, size_t data_len, r1_status want, const char *frag,
                       int line) {
    size_t len;
    unsigned char *b = make_image(header, data_len, &len);
    r1_st *st = (r1_st *)1;
    r1_status s = r1_st_parse_buffer(&st, b, len, "model.safetensors");
    if (s != want) T_FAIL_AT("line %d: status %d, want %d (%s)", line, s, want, r1_errmsg());
    if (!strstr(r1_errmsg(), frag))
        T_FAIL_AT("line %d: message \"%s\" lacks \"%s\"", line, r1_errmsg(), frag);
    if (s == R1_OK) r1_st_close(st);
    else if (st != NULL) T_FAIL_AT("line %d: out not NULL on failure", line);
    free(b);
}
#define BAD(h, n, want, frag) expect_bad(h, n, want, frag, __LINE__)

TEST(write_read_all_dtypes) {
    float a[6] = {1, -2, 3.5f, 0.25f, -0.0f, 1e30f};
    float src[5] = {1.0f, -1.5f, 65504.0f, 1e-3f, 3.14159f};
    uint16_t h[5], b[5];
    r1_from_f32(h, src, R1_DT_F16, 5);
    r1_from_f32(b, src, R1_DT_BF16, 5);
    float scalar = 42.0f;
    float q[16];
    for (int i = 0; i < 16; i++) q[i] = (float)i;
    r1_tensor ts[6] = {
        {R1_DT_BF16, 1, {5}, b},
        {R1_DT_F32, 2, {2, 3}, a},
        {R1_DT_F16, 1, {5}, h},
        {R1_DT_F32, 0, {0}, &scalar},
        {R1_DT_F32, 2, {0, 3}, NULL},
        {R1_DT_F32, 4, {2, 2, 2, 2}, q},
    };
    const char *names[6] = {"model.b", "model.layers.0.w", "model.h", "scalar", "empty", "q4d"};
    char *p = path_in("model.safetensors");
    CHECK_OK(r1_st_write(p, ts, names, 6));
    r1_st *st;
    CHECK_OK(r1_st_open(&st, p));
    if (!st) return;
    CHECK_EQ_INT(r1_st_count(st), 6);
    for (int i = 0; i < 6; i++) {
        const r1_tensor *t = r1_st_find(st, names[i]);
        CHECK(t != NULL);
        if (!t) continue;
        CHECK_EQ_INT(t->dtype, ts[i].dtype);
        CHECK_EQ_INT(t->ndim, ts[i].ndim);
        for (int d = 0; d < t->ndim; d++) CHECK_EQ_INT(t->shape[d], ts[i].shape[d]);
        size_t n = r1_tensor_bytes(t);
        CHECK_EQ_INT(n, r1_tensor_bytes(&ts[i]));
        if (n) CHECK(memcmp(t->data, ts[i].data, n) == 0);
        /* written widest dtype first: every tensor aligned to its element size */
        CHECK(((uintptr_t)t->data % r1_dtype_size(t->dtype)) == 0);
    }
    /* entries come back sorted by name with their file */
    const r1_st_entry *e0 = r1_st_at(st, 0), *e5 = r1_st_at(st, 5);
    CHECK(e0 && e5 && r1_st_at(st, 6) == NULL && r1_st_at(st, -1) == NULL);
    if (e0 && e5) {
        CHECK_STR(e0->name, "empty");
        CHECK_STR(e5->name, "scalar");
        CHECK_STR(e0->file, "model.safetensors");
        CHECK_STR(e0->dtype_name, "F32");
        CHECK(e0->supported);
    }
    /* values survive the f16/bf16 round trip exactly as converted */
    r1_tensor t;
    CHECK_OK(r1_st_get(st, "model.h", R1_DT_F16, 1, (int64_t[]){5}, &t));
    float back[5];
    r1_to_f32(back, t.data, R1_DT_F16, 5);
    CHECK(back[0] == 1.0f && back[1] == -1.5f && back[2] == 65504.0f);
    CHECK_OK(r1_st_get(st, "model.b", R1_ST_ANY, 1, (int64_t[]){-1}, &t));
    r1_to_f32(back, t.data, R1_DT_BF16, 5);
    CHECK(back[0] == 1.0f && back[1] == -1.5f);
    CHECK_OK(r1_st_get(st, "scalar", R1_DT_F32, 0, (int64_t[]){0}, &t));
    CHECK_OK(r1_st_get(st, "q4d", R1_DT_F32, -1, NULL, &t));
    r1_st_close(st);
    /* header is padded: the data section starts 8-byte aligned */
    char *raw;
    size_t len;
    CHECK_OK(r1_file_read_all(p, &raw, &len, 1 << 20));
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)raw[i];
    CHECK_EQ_INT(hlen % 8, 0);
    CHECK(raw[8 + hlen - 1] == ' ' || raw[8 + hlen - 1] == '}');
    CHECK(strstr(raw + 8, "\"__metadata__\"") != NULL);
    free(raw);
    /* opening the folder finds model.safetensors */
    CHECK_OK(r1_st_open(&st, g_dir));
    CHECK_EQ_INT(r1_st_count(st), 6);
    r1_st_close(st);
    unlink(p);
    free(p);
}

TEST(get_reports_shape_dtype_missing) {
    float w[8 * 32] = {0};
    r1_tensor ts[1] = {{R1_DT_F32, 2, {8, 32}, w}};
    const char *names[1] = {"model.layers.3.mlp.gate.weight"};
    char *p = path_in("model.safetensors");
    CHECK_OK(r1_st_write(p, ts, names, 1));
    r1_st *st;
    CHECK_OK(r1_st_open(&st, p));
    r1_tensor t;
    CHECK(r1_st_get(st, names[0], R1_DT_F32, 2, (int64_t[]){8, 48}, &t) == R1_SHAPE);
    CHECK_STR(r1_errmsg(), "model.safetensors: tensor 'model.layers.3.mlp.gate.weight' has shape "
                           "[8,32], expected [8,48]");
    CHECK(t.data == NULL);
    CHECK(r1_st_get(st, names[0], R1_DT_F32, 1, (int64_t[]){256}, &t) == R1_SHAPE);
    CHECK_STR(r1_errmsg(), "model.safetensors: tensor 'model.layers.3.mlp.gate.weight' has shape "
                           "[8,32], expected [256]");
    CHECK(r1_st_get(st, names[0], R1_DT_BF16, 2, (int64_t[]){8, 32}, &t) == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "model.safetensors: tensor 'model.layers.3.mlp.gate.weight' has dtype "
                           "f32, expected bf16");
    CHECK(r1_st_get(st, "lm_head.weight", R1_ST_ANY, -1, NULL, &t) == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "model.safetensors: tensor 'lm_head.weight' not found");
    CHECK(r1_st_find(st, "lm_head.weight") == NULL);
    CHECK_OK(r1_st_get(st, names[0], R1_DT_F32, 2, (int64_t[]){8, -1}, &t));
    CHECK(t.data != NULL && t.shape[1] == 32);
    r1_st_close(st);
    r1_st_close(NULL);
    unlink(p);
    free(p);
}

TEST(unsupported_dtype_only_when_asked) {
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                      "\"w8\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[16,20]},"
                      "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]}}";
    size_t len;
    unsigned char *b = make_image(hdr, 24, &len);
    r1_st *st;
    CHECK_OK(r1_st_parse_buffer(&st, b, len, "model.safetensors"));
    if (st) {
        CHECK_EQ_INT(r1_st_count(st), 3);
        CHECK(r1_st_find(st, "ids") == NULL);
        CHECK(r1_st_find(st, "w") != NULL);
        r1_tensor t;
        CHECK(r1_st_get(st, "w8", R1_ST_ANY, -1, NULL, &t) == R1_UNSUPPORTED);
        CHECK_STR(r1_errmsg(), "model.safetensors: tensor 'w8' has dtype F8_E4M3 (r1 reads F32, F16, BF16)");
        const r1_st_entry *e = r1_st_at(st, 0);
        CHECK(e && !e->supported && strcmp(e->dtype_name, "I64") == 0 && e->nbytes == 16);
        r1_st_close(st);
    }
    free(b);
}

TEST(malformed_headers) {
    const char *ok_t = "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]";
    char h[512];
    snprintf(h, sizeof h, "{\"a\":{%s}}", ok_t);
    size_t len;
    unsigned char *b = make_image(h, 8, &len);
    r1_st *st;
    CHECK_OK(r1_st_parse_buffer(&st, b, len, "model.safetensors"));
    r1_st_close(st);
    /* truncated: shorter than the length field; and a cut data section */
    CHECK(r1_st_parse_buffer(&st, b, 5, "model.safetensors") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "model.safetensors: file is 5 bytes, too short for the 8-byte header length");
    CHECK(r1_st_parse_buffer(&st, b, len - 1, "model.safetensors") == R1_FORMAT);
    CHECK(strstr(r1_errmsg(), "tensor 'a' ends at byte 8 of the data, which has 7 bytes") != NULL);
    /* header length past EOF, and 0 */
    b[0] = 0xff;
    b[1] = 0xff;
    CHECK(r1_st_parse_buffer(&st, b, len, "model.safetensors") == R1_FORMAT);
    CHECK(strstr(r1_errmsg(), "runs past the end of the file") != NULL);
    memset(b, 0, 8);
    CHECK(r1_st_parse_buffer(&st, b, len, "model.safetensors") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "model.safetensors: header length is 0");
    free(b);
    BAD("{\"a\":{\"dtype\":\"F32\",", 0, R1_FORMAT, "model.safetensors: header: parse error near byte");
    BAD("not json", 0, R1_FORMAT, "parse error near byte 0");
    BAD("[1,2]      ", 0, R1_FORMAT, "header is not a JSON object");
    BAD("{}  x", 0, R1_FORMAT, "text after the value");
    BAD("{}      ", 0, R1_OK, "");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 8, R1_FORMAT,
        "tensor 'a' ends at byte 12 of the data, which has 8 bytes");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, R1_FORMAT,
        "tensor 'a': 3 elements of F32 do not fill the 8 bytes of data_offsets");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, R1_FORMAT,
        "tensor 'a': shape[0] is not a non-negative integer");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, R1_FORMAT,
        "shape[0] is not a non-negative integer");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
        R1_UNSUPPORTED, "tensor 'a' has 5 dimensions, at most 4 are supported");
    BAD("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, R1_FORMAT,
        "tensor 'a': unknown dtype 'Q4'");
    BAD("{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, R1_FORMAT,
        "tensor 'a': 'dtype' must be a string (got 7)");
    BAD("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, R1_FORMAT, "tensor 'a': 'dtype' is missing");
    BAD("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, R1_FORMAT, "'shape' is missing");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, R1_FORMAT, "'data_offsets' is missing");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, R1_FORMAT,
        "data_offsets must be [begin, end]");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, R1_FORMAT,
        "data_offsets must be [begin, end]");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, R1_FORMAT,
        "data_offsets must be [begin, end]");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e300]}}", 8, R1_FORMAT,
        "data_offsets must be [begin, end]");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[4503599627370496,4503599627370496],"
        "\"data_offsets\":[0,8]}}", 8, R1_FORMAT, "tensor 'a': element count overflows");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[1125899906842624,4],\"data_offsets\":[0,8]}}", 8,
        R1_FORMAT, "do not fill");
    /* a zero extent makes 0 elements but must not hide extents whose product overflows */
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,1125899906842624,1024],\"data_offsets\":[0,0]}}", 8,
        R1_FORMAT, "more than 2^50 elements");
    BAD("{\"a\":[1]}", 8, R1_FORMAT, "tensor 'a': entry is not an object");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, R1_FORMAT,
        "tensor 'a' appears twice");
    /* __metadata__ of any shape is ignored */
    BAD("{\"__metadata__\":[1,2],\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
        R1_OK, "");
}

TEST(header_cap) {
    /* a header length above 100 MB inside a file that really is that big */
    size_t len = (size_t)R1_ST_MAX_HEADER + 64;
    unsigned char *b = calloc(1, len);
    R1_ASSERT(b);
    uint64_t h = (uint64_t)R1_ST_MAX_HEADER + 8;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> (8 * i));
    r1_st *st;
    CHECK(r1_st_parse_buffer(&st, b, len, "big.safetensors") == R1_LIMIT);
    CHECK(strstr(r1_errmsg(), "exceeds the 100000000-byte cap") != NULL);
    free(b);
}

TEST(files_on_disk_malformed) {
    char *p = path_in("bad.safetensors");
    CHECK_OK(r1_file_write_atomic(p, "abc", 3));
    r1_st *st;
    CHECK(r1_st_open(&st, p) == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "bad.safetensors: file is 3 bytes, too short for the 8-byte header length");
    CHECK(st == NULL);
    CHECK_OK(r1_file_write_atomic(p, "", 0));
    CHECK(r1_st_open(&st, p) == R1_FORMAT);
    unlink(p);
    CHECK(r1_st_open(&st, p) == R1_IO);
    char *empty = path_in("emptydir");
    CHECK(mkdir(empty, 0755) == 0);
    CHECK(r1_st_open(&st, empty) == R1_IO);
    CHECK(strstr(r1_errmsg(), "no model.safetensors or model.safetensors.index.json") != NULL);
    rmdir(empty);
    free(empty);
    free(p);
}

TEST(writer_rejects_bad_input) {
    float x[2] = {1, 2};
    r1_tensor ts[2] = {{R1_DT_F32, 1, {2}, x}, {R1_DT_F32, 1, {2}, x}};
    const char *dup[2] = {"w", "w"}, *empty[2] = {"w", ""};
    char *p = path_in("w.safetensors");
    CHECK(r1_st_write(p, ts, dup, 2) == R1_INVALID);
    CHECK(strstr(r1_errmsg(), "given twice") != NULL);
    CHECK(r1_st_write(p, ts, empty, 2) == R1_INVALID);
    r1_tensor bad = {R1_DT_F32, 5, {1, 1, 1, 1}, x};
    CHECK(r1_st_write(p, &bad, dup, 1) == R1_INVALID);
    r1_tensor neg = {R1_DT_F32, 1, {-1}, x};
    CHECK(r1_st_write(p, &neg, dup, 1) == R1_INVALID);
    r1_tensor nodata = {R1_DT_F32, 1, {2}, NULL};
    CHECK(r1_st_write(p, &nodata, dup, 1) == R1_INVALID);
    CHECK(!r1_file_exists(p));
    /* zero tensors is a valid (empty) file */
    CHECK_OK(r1_st_write(p, ts, dup, 0));
    r1_st *st;
    CHECK_OK(r1_st_open(&st, p));
    CHECK_EQ_INT(r1_st_count(st), 0);
    r1_st_close(st);
    unlink(p);
    free(p);
}

/* n tensors "layer.<i>.w" of 4*(i+1) f32 values each, cycling the dtype. */
enum { NSH = 7 };
static float g_vals[NSH][8];

static void make_tensors(r1_tensor *ts, char names[][32], const char **np) {
    for (int i = 0; i < NSH; i++) {
        for (int j = 0; j < 8; j++) g_vals[i][j] = (float)(i * 10 + j);
        ts[i] = (r1_tensor){R1_DT_F32, 2, {2, 4}, g_vals[i]};
        snprintf(names[i], 32, "layer.%d.w", i);
        np[i] = names[i];
    }
}

TEST(sharded_write_read) {
    r1_tensor ts[NSH];
    char names[NSH][32];
    const char *np[NSH];
    make_tensors(ts, names, np);
    char *dir = path_in("sharded");
    CHECK(mkdir(dir, 0755) == 0);
    int ns = 0;
    CHECK_OK(r1_st_write_sharded(dir, ts, np, NSH, 70, &ns)); /* 32 bytes each: 2 per shard */
    CHECK_EQ_INT(ns, 4);
    char *idx = r1_path_join(dir, "model.safetensors.index.json");
    char *s3 = r1_path_join(dir, "model-00003-of-00004.safetensors");
    CHECK(r1_file_exists(idx) && r1_file_exists(s3));
    r1_st *st;
    const char *opens[2] = {dir, idx};
    for (int k = 0; k < 2; k++) {
        CHECK_OK(r1_st_open(&st, opens[k]));
        if (!st) continue;
        CHECK_EQ_INT(r1_st_count(st), NSH);
        for (int i = 0; i < NSH; i++) {
            r1_tensor t;
            CHECK_OK(r1_st_get(st, np[i], R1_DT_F32, 2, (int64_t[]){2, 4}, &t));
            if (t.data) CHECK(memcmp(t.data, g_vals[i], 32) == 0);
        }
        const r1_st_entry *e = r1_st_at(st, 4); /* layer.4.w lives in shard 3 */
        CHECK(e && strcmp(e->file, "model-00003-of-00004.safetensors") == 0);
        r1_st_close(st);
    }
    /* index pointing a tensor at the wrong shard */
    char *text;
    size_t len;
    CHECK_OK(r1_file_read_all(idx, &text, &len, 1 << 20));
    char *hit = strstr(text, "\"layer.0.w\":\t\"model-00001");
    CHECK(hit != NULL);
    if (hit) {
        char *digit = strstr(hit, "00001-of");
        digit[4] = '2';
        CHECK_OK(r1_file_write_atomic(idx, text, len));
        CHECK(r1_st_open(&st, dir) == R1_FORMAT);
        CHECK_STR(r1_errmsg(), "model.safetensors.index.json: tensor 'layer.0.w' is mapped to "
                               "model-00002-of-00004.safetensors, which does not contain it");
    }
    free(text);
    /* a missing shard; a shard name that leaves the folder; no weight_map */
    const char *miss = "{\"weight_map\":{\"x\":\"model-9.safetensors\"}}";
    CHECK_OK(r1_file_write_atomic(idx, miss, strlen(miss)));
    CHECK(r1_st_open(&st, dir) == R1_IO);
    CHECK(strstr(r1_errmsg(), "model-9.safetensors: cannot open") != NULL);
    const char *evil = "{\"weight_map\":{\"x\":\"../secret.safetensors\"}}";
    CHECK_OK(r1_file_write_atomic(idx, evil, strlen(evil)));
    CHECK(r1_st_open(&st, dir) == R1_FORMAT);
    CHECK(strstr(r1_errmsg(), "invalid shard name") != NULL);
    CHECK_OK(r1_file_write_atomic(idx, "{\"metadata\":{}}", 15));
    CHECK(r1_st_open(&st, dir) == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "model.safetensors.index.json: 'weight_map' is missing");
    CHECK_OK(r1_file_write_atomic(idx, "{\"weight_map\":", 14));
    CHECK(r1_st_open(&st, dir) == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "model.safetensors.index.json: parse error near byte 14");
    /* the same tensor in two shards */
    const char *twice = "{\"weight_map\":{\"layer.0.w\":\"model-00001-of-00004.safetensors\","
                        "\"layer.1.w\":\"model-00001-of-00004.safetensors\","
                        "\"x\":\"dup.safetensors\"}}";
    char *dup = r1_path_join(dir, "dup.safetensors");
    CHECK_OK(r1_st_write(dup, ts, np, 1));
    CHECK_OK(r1_file_write_atomic(idx, twice, strlen(twice)));
    CHECK(r1_st_open(&st, dir) == R1_FORMAT);
    CHECK(strstr(r1_errmsg(), "tensor 'layer.0.w' appears twice") != NULL);
    CHECK_OK(r1_file_remove_tree(dir));
    /* everything fits in one shard: a plain model.safetensors */
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_OK(r1_st_write_sharded(dir, ts, np, NSH, 1 << 20, &ns));
    CHECK_EQ_INT(ns, 1);
    CHECK(!r1_file_exists(idx));
    CHECK_OK(r1_st_open(&st, dir));
    CHECK_EQ_INT(r1_st_count(st), NSH);
    r1_st_close(st);
    /* a tensor bigger than the shard size gets a shard of its own */
    CHECK_OK(r1_file_remove_tree(dir));
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_OK(r1_st_write_sharded(dir, ts, np, NSH, 10, &ns));
    CHECK_EQ_INT(ns, NSH);
    CHECK_OK(r1_st_open(&st, dir));
    CHECK_EQ_INT(r1_st_count(st), NSH);
    r1_st_close(st);
    CHECK_OK(r1_file_remove_tree(dir));
    free(dup), free(idx), free(s3), free(dir);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/r1_test_st_XXXXXX");
    R1_ASSERT(mkdtemp(g_dir) != NULL);
    RUN(write_read_all_dtypes);
    RUN(get_reports_shape_dtype_missing);
    RUN(unsupported_dtype_only_when_asked);
    RUN(malformed_headers);
    RUN(header_cap);
    RUN(files_on_disk_malformed);
    RUN(writer_rejects_bad_input);
    RUN(sharded_write_read);
    r1_file_remove_tree(g_dir);
    TEST_MAIN_END();
}
