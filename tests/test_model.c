/* test_model: the C forward against the PyTorch reference's golden logits
 * (tests/golden, made by tests/reference/make_golden.py) for every family
 * switch, through every path: whole-prompt prefill, token-by-token decode
 * with the cache, naive vs absorbed MLA, several sequences in one batch, 1 and
 * 2 threads; plus load errors and a save/load round trip.
 * Error measure: max |got - ref| / max |ref| over all logits of a case. */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io/file.h"
#include "model/model.h"

static const char *CASES[] = {"ds_v3", "ds_v3_bf16", "ds_v2lite", "ds_v2group", "ds_mscale", "qwen2", "qwen2_f16", "llama"};
enum { NCASES = sizeof CASES / sizeof CASES[0], MAXT = 64 };
static const double TOL = 1e-4;

typedef struct {
    int32_t ids[MAXT];
    int64_t T, V;
    float *ref; /* [T, V] */
} golden;

static int load_golden(const char *name, golden *g) {
    char path[512], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "tests/golden/%s/prompt.txt", name);
    if (r1_file_read_all(path, &buf, &len, 1 << 20) != R1_OK) return -1;
    g->T = 0;
    char *p = buf, *end;
    for (long v; g->T < MAXT && (v = strtol(p, &end, 10), end != p); p = end) g->ids[g->T++] = (int32_t)v;
    free(buf);
    snprintf(path, sizeof path, "tests/golden/%s/logits.bin", name);
    if (r1_file_read_all(path, &buf, &len, 1 << 26) != R1_OK) return -1;
    g->V = (int64_t)(len / sizeof(float)) / g->T;
    g->ref = (float *)buf;
    return 0;
}

/* Runs the prompt in `chunks` rows per call (T = prefill, 1 = decode) into out [T, V]. */
static r1_status run(r1_model *m, const golden *g, int64_t chunk, float *out) {
    r1_kvcache kv;
    R1_TRY(r1_kvcache_init(&kv, &m->cfg, 1, 32));
    r1_status s = R1_OK;
    for (int64_t t0 = 0; t0 < g->T && s == R1_OK; t0 += chunk) {
        int64_t n = g->T - t0 < chunk ? g->T - t0 : chunk;
        int32_t slot[MAXT] = {0};
        int64_t pos[MAXT];
        for (int64_t i = 0; i < n; i++) pos[i] = t0 + i;
        r1_batch b = {n, g->ids + t0, slot, pos};
        s = r1_model_forward(m, &kv, &b, NULL, n, out + t0 * g->V);
    }
    r1_kvcache_free(&kv);
    return s;
}

TEST(golden_prefill_and_decode) {
    for (int c = 0; c < NCASES; c++) {
        golden g;
        if (load_golden(CASES[c], &g) != 0) {
            T_FAIL_AT("cannot read golden %s", CASES[c]);
            continue;
        }
        for (int threads = 1; threads <= 2; threads++) {
            char dir[256];
            snprintf(dir, sizeof dir, "tests/golden/%s", CASES[c]);
            r1_model *m = NULL;
            CHECK_OK(r1_model_load(&m, dir, threads));
            if (!m) continue;
            m->par_macs = 0; /* the golden models are tiny: put every region on the pool anyway */
            CHECK_EQ_INT(m->cfg.vocab, g.V);
            float *out = malloc((size_t)(g.T * g.V) * sizeof(float));
            double worst = 0;
            static const r1_mla_mode modes[] = {R1_MLA_AUTO, R1_MLA_NAIVE, R1_MLA_ABSORBED};
            for (int mi = 0; mi < (r1_config_is_mla(&m->cfg) ? 3 : 1); mi++) {
                m->mla_mode = modes[mi];
                for (int64_t chunk = 1; chunk <= g.T; chunk = chunk == 1 ? 4 : chunk == 4 ? g.T : g.T + 1) {
                    CHECK_OK(run(m, &g, chunk, out));
                    double err = t_max_rel_err(out, g.ref, g.T * g.V);
                    worst = err > worst ? err : worst;
                    if (!(err <= TOL))
                        T_FAIL_AT("%s threads=%d mla_mode=%d chunk=%lld: rel err %.3g > %g", CASES[c], threads, mi,
                                  (long long)chunk, err, TOL);
                }
            }
            printf("    %-10s threads=%d worst rel err %.2e\n", CASES[c], threads, worst);
            free(out);
            r1_model_destroy(m);
        }
        free(g.ref);
    }
}

/* Two sequences decoded together, one row of each per step, at different
 * offsets: slot 1 starts 3 tokens later. Every row must match the golden. */
TEST(golden_batched_decode) {
    for (int c = 0; c < NCASES; c++) {
        golden g;
        if (load_golden(CASES[c], &g) != 0) continue;
        char dir[256];
        snprintf(dir, sizeof dir, "tests/golden/%s", CASES[c]);
        r1_model *m = NULL;
        CHECK_OK(r1_model_load(&m, dir, 2));
        if (!m) continue;
        m->par_macs = 0;
        r1_kvcache kv;
        CHECK_OK(r1_kvcache_init(&kv, &m->cfg, 3, 16));
        float *out = malloc((size_t)(2 * g.V) * sizeof(float));
        double worst = 0;
        for (int64_t step = 0; step < g.T + 3; step++) {
            int32_t tok[2], slot[2];
            int64_t pos[2], n = 0, ref_row[2];
            if (step < g.T) tok[n] = g.ids[step], slot[n] = 0, pos[n] = step, ref_row[n++] = step;
            if (step >= 3) tok[n] = g.ids[step - 3], slot[n] = 2, pos[n] = step - 3, ref_row[n++] = step - 3;
            r1_batch b = {n, tok, slot, pos};
            CHECK_OK(r1_model_forward(m, &kv, &b, NULL, n, out));
            for (int64_t i = 0; i < n; i++) {
                double e = t_max_rel_err(out + i * g.V, g.ref + ref_row[i] * g.V, g.V);
                worst = e > worst ? e : worst;
            }
        }
        if (!(worst <= TOL)) T_FAIL_AT("%s: batched decode rel err %.3g", CASES[c], worst);
        free(out);
        r1_kvcache_free(&kv);
        r1_model_destroy(m);
        free(g.ref);
    }
}

TEST(forward_rejects_bad_batches) {
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, "tests/golden/ds_v3", 1));
    if (!m) return;
    r1_kvcache kv;
    CHECK_OK(r1_kvcache_init(&kv, &m->cfg, 1, 4));
    float logits[101 * 8];
    int32_t tok[5] = {1, 2, 3, 4, 5}, slot[5] = {0};
    int64_t pos[5] = {0, 1, 2, 3, 4};
    r1_batch b = {1, tok, slot, pos};
    pos[0] = 1;
    CHECK(r1_model_forward(m, &kv, &b, NULL, 1, logits) == R1_INVALID); /* gap in positions */
    pos[0] = 0;
    tok[0] = 101;
    CHECK(r1_model_forward(m, &kv, &b, NULL, 1, logits) == R1_INVALID); /* token outside vocab */
    tok[0] = 1;
    slot[0] = 1;
    CHECK(r1_model_forward(m, &kv, &b, NULL, 1, logits) == R1_INVALID); /* no such slot */
    slot[0] = 0;
    b.N = 5;
    CHECK(r1_model_forward(m, &kv, &b, NULL, 5, logits) == R1_LIMIT); /* past the context */
    r1_kvcache_free(&kv);
    r1_model_destroy(m);
}

static void copy_file(const char *from, const char *to) {
    char *buf;
    size_t len;
    if (r1_file_read_all(from, &buf, &len, 1 << 26) != R1_OK) return;
    r1_file_write_atomic(to, buf, len);
    free(buf);
}

TEST(load_errors_name_the_file_and_tensor) {
    char dir[] = "/tmp/r1_test_model_XXXXXX", path[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    copy_file("tests/golden/qwen2/model.safetensors", path);
    /* a config whose intermediate_size disagrees with the weights */
    char *cfg;
    size_t len;
    CHECK_OK(r1_file_read_all("tests/golden/qwen2/config.json", &cfg, &len, 1 << 20));
    char *at = strstr(cfg, "\"intermediate_size\": 91");
    CHECK(at != NULL);
    if (at) memcpy(at, "\"intermediate_size\": 92", 23);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK_OK(r1_file_write_atomic(path, cfg, len));
    r1_model *m = NULL;
    CHECK(r1_model_load(&m, dir, 1) == R1_SHAPE);
    CHECK(m == NULL);
    CHECK(strstr(r1_errmsg(), "model.layers.0.mlp.gate_proj.weight") != NULL);
    CHECK(strstr(r1_errmsg(), dir) != NULL);
    /* an unknown model_type */
    at = strstr(cfg, "\"qwen2\"");
    if (at) memcpy(at, "\"gpt99\"", 7);
    CHECK_OK(r1_file_write_atomic(path, cfg, len));
    CHECK(r1_model_load(&m, dir, 1) == R1_UNSUPPORTED);
    free(cfg);
    /* no weights at all */
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    copy_file("tests/golden/qwen2/config.json", (snprintf(path, sizeof path, "%s/config.json", dir), path));
    CHECK(r1_model_load(&m, dir, 1) != R1_OK);
    CHECK(r1_model_load(&m, "/nonexistent/model", 1) != R1_OK);
    r1_file_remove_tree(dir);
}

TEST(random_model_save_load_round_trip) {
    r1_config c;
    CHECK_OK(r1_config_load(&c, "tests/golden/ds_v3"));
    char dir[] = "/tmp/r1_test_save_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    for (int dt = 0; dt < R1_DT_FLOAT_COUNT; dt++) {
        r1_model *a = NULL, *b = NULL;
        CHECK_OK(r1_model_create_random(&a, &c, (r1_dtype)dt, 7, 1));
        if (!a) continue;
        CHECK_OK(r1_model_save(a, dir));
        CHECK_OK(r1_model_load(&b, dir, 1));
        if (b) {
            golden g = {.ids = {3, 1, 4, 1, 5, 9, 2, 6}, .T = 8, .V = c.vocab};
            float *la = malloc((size_t)(g.T * g.V) * 4), *lb = malloc((size_t)(g.T * g.V) * 4);
            CHECK_OK(run(a, &g, g.T, la));
            CHECK_OK(run(b, &g, g.T, lb));
            CHECK(memcmp(la, lb, (size_t)(g.T * g.V) * 4) == 0);
            free(la);
            free(lb);
        }
        r1_model_destroy(a);
        r1_model_destroy(b);
    }
    r1_file_remove_tree(dir);
}

/* A safetensors file whose data section starts with a 2-byte tensor, so every
 * f32 tensor after it sits at an address that is not a multiple of 4: the
 * model must still load (aligned copies) and give the golden logits. */
TEST(misaligned_tensors_are_copied) {
    char *buf;
    size_t len;
    CHECK_OK(r1_file_read_all("tests/golden/qwen2/model.safetensors", &buf, &len, 1 << 26));
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    cJSON *h = cJSON_ParseWithLength(buf + 8, (size_t)hlen);
    CHECK(h != NULL);
    if (!h) return;
    for (cJSON *e = h->child; e; e = e->next) {
        cJSON *off = cJSON_GetObjectItem(e, "data_offsets");
        if (!off) continue;
        for (int k = 0; k < 2; k++) {
            cJSON *v = cJSON_GetArrayItem(off, k);
            cJSON_SetNumberValue(v, v->valuedouble + 2);
        }
    }
    cJSON *pad = cJSON_AddObjectToObject(h, "pad");
    cJSON_AddStringToObject(pad, "dtype", "F16");
    cJSON_AddItemToObject(pad, "shape", cJSON_CreateIntArray((int[]){1}, 1));
    cJSON_AddItemToObject(pad, "data_offsets", cJSON_CreateIntArray((int[]){0, 2}, 2));
    char *json0 = cJSON_PrintUnformatted(h), json[1 << 16];
    size_t jl = strlen(json0);
    memcpy(json, json0, jl);
    while (jl % 8) json[jl++] = ' '; /* data section 8-aligned, so +2 really misaligns */
    size_t data = len - 8 - (size_t)hlen, total = 8 + jl + 2 + data;
    char *out = calloc(1, total);
    uint64_t njl = jl;
    memcpy(out, &njl, 8);
    memcpy(out + 8, json, jl);
    memcpy(out + 8 + jl + 2, buf + 8 + hlen, data);
    char dir[] = "/tmp/r1_test_misaligned_XXXXXX", path[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK_OK(r1_file_write_atomic(path, out, total));
    snprintf(path, sizeof path, "%s/config.json", dir);
    copy_file("tests/golden/qwen2/config.json", path);
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, dir, 1));
    golden g;
    CHECK(8 + jl + 2 + 4 < total && (8 + jl + 2) % 4 != 0);
    if (m && load_golden("qwen2", &g) == 0) {
        CHECK((uintptr_t)m->w.layers[0].q.data % 4 == 0);
        float *logits = malloc((size_t)(g.T * g.V) * sizeof(float));
        CHECK_OK(run(m, &g, g.T, logits));
        CHECK(t_max_rel_err(logits, g.ref, g.T * g.V) <= TOL);
        free(logits);
        free(g.ref);
    }
    r1_model_destroy(m);
    r1_file_remove_tree(dir);
    cJSON_free(json0);
    cJSON_Delete(h);
    free(out);
    free(buf);
}

/* A quantized DeepSeek MoE from GGUF: one token per call (absorbed MLA, each
 * row's shared and routed experts sharing one quantized x, the per-head
 * region) must give the logits of the whole-prompt call (naive MLA, gathered
 * expert rows, the GEMMs). */
TEST(quantized_moe_decode_matches_prefill) {
    const char *json = "{\"model_type\":\"deepseek_v3\",\"vocab_size\":320,\"hidden_size\":256,\"intermediate_size\":512,"
                       "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":4,"
                       "\"max_position_embeddings\":256,\"rms_norm_eps\":1e-6,\"rope_theta\":10000,"
                       "\"q_lora_rank\":256,\"kv_lora_rank\":256,\"qk_nope_head_dim\":64,\"qk_rope_head_dim\":32,"
                       "\"v_head_dim\":64,\"n_routed_experts\":8,\"num_experts_per_tok\":3,\"n_shared_experts\":1,"
                       "\"moe_intermediate_size\":256,\"first_k_dense_replace\":1,\"n_group\":4,\"topk_group\":2,"
                       "\"norm_topk_prob\":true,\"routed_scaling_factor\":2.5,\"num_nextn_predict_layers\":0,"
                       "\"rope_scaling\":null,\"bos_token_id\":0,\"eos_token_id\":1}";
    r1_config c;
    CHECK_OK(r1_config_parse(&c, json, strlen(json), "test"));
    char dir[] = "/tmp/r1_test_qmoe_XXXXXX", path[512];
    CHECK(mkdtemp(dir) != NULL);
    r1_model *src = NULL;
    CHECK_OK(r1_model_create_random(&src, &c, R1_DT_F32, 11, 1));
    if (!src) return;
    golden g = {.ids = {5, 77, 301, 2, 140, 9, 9, 250, 64, 31, 199, 8}, .T = 12, .V = c.vocab};
    float *pre = malloc((size_t)(g.T * g.V) * 4), *dec = malloc((size_t)(g.T * g.V) * 4);
    static const r1_dtype types[] = {R1_DT_Q8_0, R1_DT_Q4_K};
    for (int ti = 0; ti < 2; ti++) {
        snprintf(path, sizeof path, "%s/%s.gguf", dir, r1_dtype_name(types[ti]));
        CHECK_OK(r1_model_save_gguf(src, path, types[ti], NULL));
        r1_model *m = NULL;
        /* 3 threads: decode's expert shares (mlp.c) end inside experts */
        for (int th = 3; th >= 2; th--) {
            r1_model_destroy(m);
            m = NULL;
            CHECK_OK(r1_model_load(&m, path, th));
            if (!m) break;
            m->par_macs = 0; /* every region on the pool */
            CHECK_OK(run(m, &g, g.T, pre));
            CHECK_OK(run(m, &g, 1, dec));
            double e = t_max_rel_err(dec, pre, g.T * g.V);
            printf("    %s, %d threads: decode vs prefill rel err %.2e, k_b %s\n", r1_dtype_name(types[ti]), th, e,
                   r1_dtype_name(m->kT[0].dtype));
            CHECK(e <= 2e-2); /* other summation orders; a wrong expert input gives O(1) */
        }
        if (!m) continue;
        /* the per-head k_b / v_b are interleaved where the table can: saving reads them back */
        char again[512], plain[512];
        snprintf(again, sizeof again, "%s/again.gguf", dir);
        snprintf(plain, sizeof plain, "%s/plain.gguf", dir);
        CHECK_OK(r1_model_save_gguf(m, again, types[ti], NULL));
        r1_model *mp = NULL;
        setenv("R1_REPACK", "0", 1);
        CHECK_OK(r1_model_load(&mp, path, 1));
        unsetenv("R1_REPACK");
        if (mp) CHECK_OK(r1_model_save_gguf(mp, plain, types[ti], NULL));
        CHECK(t_same_file(again, plain));
        r1_model_destroy(mp);
        r1_model_destroy(m);
    }
    free(pre), free(dec);
    r1_model_destroy(src);
    r1_file_remove_tree(dir);
}

int main(void) {
    RUN(golden_prefill_and_decode);
    RUN(golden_batched_decode);
    RUN(forward_rejects_bad_batches);
    RUN(load_errors_name_the_file_and_tensor);
    RUN(random_model_save_load_round_trip);
    RUN(misaligned_tensors_are_copied);
    RUN(quantized_moe_decode_matches_prefill);
    TEST_MAIN_END();
}
