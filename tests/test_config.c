/* Tests for model/config: real HF configs (DeepSeek-V3 671B, V2-Lite,
 * R1-Distill-Qwen-1.5B, R1-Distill-Llama-8B), HF defaults, round trips
 * parse -> json -> parse, and every invalid value -> a message naming the key. */
#include "test.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#include "core/status.h"
#include "io/file.h"
#include "model/config.h"

static const char V3_671B[] =
    "{\"architectures\":[\"DeepseekV3ForCausalLM\"],\"attention_bias\":false,"
    "\"attention_dropout\":0.0,\"auto_map\":{\"AutoConfig\":\"configuration_deepseek.DeepseekV3Config\","
    "\"AutoModel\":\"modeling_deepseek.DeepseekV3Model\","
    "\"AutoModelForCausalLM\":\"modeling_deepseek.DeepseekV3ForCausalLM\"},"
    "\"aux_loss_alpha\":0.001,\"bos_token_id\":0,\"eos_token_id\":1,\"ep_size\":1,"
    "\"first_k_dense_replace\":3,\"hidden_act\":\"silu\",\"hidden_size\":7168,"
    "\"initializer_range\":0.02,\"intermediate_size\":18432,\"kv_lora_rank\":512,"
    "\"max_position_embeddings\":163840,\"model_type\":\"deepseek_v3\","
    "\"moe_intermediate_size\":2048,\"moe_layer_freq\":1,\"n_group\":8,\"n_routed_experts\":256,"
    "\"n_shared_experts\":1,\"norm_topk_prob\":true,\"num_attention_heads\":128,"
    "\"num_experts_per_tok\":8,\"num_hidden_layers\":61,\"num_key_value_heads\":128,"
    "\"num_nextn_predict_layers\":1,\"q_lora_rank\":1536,\"qk_nope_head_dim\":128,"
    "\"qk_rope_head_dim\":64,\"quantization_config\":{\"activation_scheme\":\"dynamic\","
    "\"fmt\":\"e4m3\",\"quant_method\":\"fp8\",\"weight_block_size\":[128,128]},"
    "\"rms_norm_eps\":1e-06,\"rope_scaling\":{\"beta_fast\":32,\"beta_slow\":1,\"factor\":40,"
    "\"mscale\":1.0,\"mscale_all_dim\":1.0,\"original_max_position_embeddings\":4096,"
    "\"type\":\"yarn\"},\"rope_theta\":10000,\"routed_scaling_factor\":2.5,"
    "\"scoring_func\":\"sigmoid\",\"seq_aux\":true,\"tie_word_embeddings\":false,"
    "\"topk_group\":4,\"topk_method\":\"noaux_tc\",\"torch_dtype\":\"bfloat16\","
    "\"transformers_version\":\"4.46.3\",\"use_cache\":true,\"v_head_dim\":128,"
    "\"vocab_size\":129280}";

static const char V2_LITE[] =
    "{\n  \"architectures\": [\"DeepseekV2ForCausalLM\"],\n  \"attention_bias\": false,\n"
    "  \"attention_dropout\": 0.0,\n  \"aux_loss_alpha\": 0.001,\n  \"bos_token_id\": 100000,\n"
    "  \"eos_token_id\": 100001,\n  \"first_k_dense_replace\": 1,\n  \"hidden_act\": \"silu\",\n"
    "  \"hidden_size\": 2048,\n  \"initializer_range\": 0.02,\n  \"intermediate_size\": 10944,\n"
    "  \"kv_lora_rank\": 512,\n  \"max_position_embeddings\": 163840,\n"
    "  \"model_type\": \"deepseek_v2\",\n  \"moe_intermediate_size\": 1408,\n"
    "  \"moe_layer_freq\": 1,\n  \"n_group\": 1,\n  \"n_routed_experts\": 64,\n"
    "  \"n_shared_experts\": 2,\n  \"norm_topk_prob\": false,\n  \"num_attention_heads\": 16,\n"
    "  \"num_experts_per_tok\": 6,\n  \"num_hidden_layers\": 27,\n  \"num_key_value_heads\": 16,\n"
    "  \"pretraining_tp\": 1,\n  \"q_lora_rank\": null,\n  \"qk_nope_head_dim\": 128,\n"
    "  \"qk_rope_head_dim\": 64,\n  \"rms_norm_eps\": 1e-06,\n  \"rope_scaling\": {\n"
    "    \"beta_fast\": 32,\n    \"beta_slow\": 1,\n    \"factor\": 40,\n    \"mscale\": 0.707,\n"
    "    \"mscale_all_dim\": 0.707,\n    \"original_max_position_embeddings\": 4096,\n"
    "    \"type\": \"yarn\"\n  },\n  \"rope_theta\": 10000,\n  \"routed_scaling_factor\": 1.0,\n"
    "  \"scoring_func\": \"softmax\",\n  \"seq_aux\": true,\n  \"tie_word_embeddings\": false,\n"
    "  \"topk_group\": 1,\n  \"topk_method\": \"greedy\",\n  \"torch_dtype\": \"bfloat16\",\n"
    "  \"transformers_version\": \"4.33.1\",\n  \"use_cache\": true,\n  \"v_head_dim\": 128,\n"
    "  \"vocab_size\": 102400\n}\n";

static const char QWEN2_1_5B[] =
    "{\"architectures\":[\"Qwen2ForCausalLM\"],\"attention_dropout\":0.0,"
    "\"bos_token_id\":151643,\"eos_token_id\":151643,\"hidden_act\":\"silu\",\"hidden_size\":1536,"
    "\"initializer_range\":0.02,\"intermediate_size\":8960,\"max_position_embeddings\":131072,"
    "\"max_window_layers\":21,\"model_type\":\"qwen2\",\"num_attention_heads\":12,"
    "\"num_hidden_layers\":28,\"num_key_value_heads\":2,\"rms_norm_eps\":1e-06,"
    "\"rope_theta\":10000,\"sliding_window\":4096,\"tie_word_embeddings\":false,"
    "\"torch_dtype\":\"bfloat16\",\"transformers_version\":\"4.44.0\",\"use_cache\":true,"
    "\"use_mrope\":false,\"use_sliding_window\":false,\"vocab_size\":151936}";

static const char LLAMA_8B[] =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"attention_bias\":false,\"attention_dropout\":0.0,"
    "\"bos_token_id\":128000,\"eos_token_id\":128001,\"hidden_act\":\"silu\",\"hidden_size\":4096,"
    "\"initializer_range\":0.02,\"intermediate_size\":14336,\"max_position_embeddings\":131072,"
    "\"mlp_bias\":false,\"model_type\":\"llama\",\"num_attention_heads\":32,"
    "\"num_hidden_layers\":32,\"num_key_value_heads\":8,\"pretraining_tp\":1,\"rms_norm_eps\":1e-05,"
    "\"rope_scaling\":{\"factor\":8.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
    "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},\"rope_theta\":500000.0,"
    "\"tie_word_embeddings\":false,\"torch_dtype\":\"bfloat16\","
    "\"transformers_version\":\"4.43.0.dev0\",\"use_cache\":true,\"vocab_size\":128256}";

static r1_status parse(r1_config *c, const char *json) {
    return r1_config_parse(c, json, strlen(json), "config.json");
}

/* base with key set to the JSON text value (NULL removes the key). */
static char *with(const char *base, const char *key, const char *value) {
    cJSON *o = cJSON_Parse(base);
    R1_ASSERT(o);
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (value) {
        cJSON *v = cJSON_Parse(value);
        R1_ASSERT(v);
        cJSON_AddItemToObject(o, key, v);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void expect(const char *base, const char *key, const char *value, r1_status want,
                   const char *msg, int line) {
    char *j = with(base, key, value);
    r1_config c;
    r1_status s = parse(&c, j);
    if (s != want) T_FAIL_AT("line %d: %s=%s: status %d, want %d (%s)", line, key, value, s, want, r1_errmsg());
    if (!strstr(r1_errmsg(), msg))
        T_FAIL_AT("line %d: %s=%s: message \"%s\" lacks \"%s\"", line, key, value, r1_errmsg(), msg);
    free(j);
}
#define EXPECT(base, key, value, want, msg) expect(base, key, value, want, msg, __LINE__)

#define CONFIG_FIELDS(X)                                                                    \
    X(arch) X(vocab) X(D) X(n_layers) X(H) X(Hkv) X(head_dim) X(ffn) X(rms_eps)             \
    X(tie_embeddings) X(qkv_bias) X(max_pos) X(bos_id) X(eos_id) X(rope_theta) X(rope_scaling) \
    X(rope_factor) X(rope_orig_max_pos) X(yarn_beta_fast) X(yarn_beta_slow) X(yarn_mscale)  \
    X(yarn_mscale_all_dim) X(llama3_low_freq_factor) X(llama3_high_freq_factor) X(Rq) X(Rkv) \
    X(Dn) X(Dr) X(Dv) X(E) X(K) X(n_shared) X(moe_ffn) X(first_dense) X(moe_freq) X(n_group) \
    X(topk_group) X(score_func) X(topk_method) X(norm_topk_prob) X(routed_scale) X(n_mtp)

static int same_config(const r1_config *a, const r1_config *b) {
    int diff = 0;
#define CMP_FIELD(f)                                                                        \
    if (a->f != b->f) {                                                                     \
        printf("    field %s differs: %.17g vs %.17g\n", #f, (double)a->f, (double)b->f);   \
        diff++;                                                                             \
    }
    CONFIG_FIELDS(CMP_FIELD)
#undef CMP_FIELD
    if (strcmp(a->model_type, b->model_type) != 0) diff++;
    return diff == 0;
}

static void check_round_trip(const char *json) {
    r1_config a, b;
    CHECK_OK(parse(&a, json));
    char *out = NULL;
    CHECK_OK(r1_config_to_json(&a, &out));
    if (!out) return;
    CHECK_OK(parse(&b, out));
    CHECK(same_config(&a, &b));
    char *out2 = NULL;
    CHECK_OK(r1_config_to_json(&b, &out2));
    if (out2) CHECK_STR(out2, out);
    free(out);
    free(out2);
}

TEST(deepseek_v3_671b) {
    r1_config c;
    CHECK_OK(parse(&c, V3_671B));
    CHECK_EQ_INT(c.arch, R1_ARCH_DEEPSEEK);
    CHECK_STR(c.model_type, "deepseek_v3");
    CHECK_EQ_INT(c.vocab, 129280);
    CHECK_EQ_INT(c.D, 7168);
    CHECK_EQ_INT(c.n_layers, 61);
    CHECK_EQ_INT(c.H, 128);
    CHECK_EQ_INT(c.Hkv, 128);
    CHECK_EQ_INT(c.ffn, 18432);
    CHECK_EQ_INT(c.Rq, 1536);
    CHECK_EQ_INT(c.Rkv, 512);
    CHECK_EQ_INT(c.Dn, 128);
    CHECK_EQ_INT(c.Dr, 64);
    CHECK_EQ_INT(c.Dv, 128);
    CHECK_EQ_INT(c.head_dim, 192);
    CHECK_EQ_INT(c.E, 256);
    CHECK_EQ_INT(c.K, 8);
    CHECK_EQ_INT(c.n_shared, 1);
    CHECK_EQ_INT(c.moe_ffn, 2048);
    CHECK_EQ_INT(c.first_dense, 3);
    CHECK_EQ_INT(c.moe_freq, 1);
    CHECK_EQ_INT(c.n_group, 8);
    CHECK_EQ_INT(c.topk_group, 4);
    CHECK_EQ_INT(c.score_func, R1_SCORE_SIGMOID);
    CHECK_EQ_INT(c.topk_method, R1_TOPK_NOAUX_TC);
    CHECK(c.norm_topk_prob);
    CHECK(c.routed_scale == 2.5f);
    CHECK_EQ_INT(c.n_mtp, 1);
    CHECK(c.rms_eps == 1e-6f);
    CHECK(c.rope_theta == 10000.0);
    CHECK_EQ_INT(c.max_pos, 163840);
    CHECK_EQ_INT(c.rope_scaling, R1_ROPE_YARN);
    CHECK(c.rope_factor == 40 && c.rope_orig_max_pos == 4096);
    CHECK(c.yarn_beta_fast == 32 && c.yarn_beta_slow == 1);
    CHECK(c.yarn_mscale == 1.0 && c.yarn_mscale_all_dim == 1.0);
    CHECK(!c.tie_embeddings && !c.qkv_bias);
    CHECK_EQ_INT(c.bos_id, 0);
    CHECK_EQ_INT(c.eos_id, 1);
    CHECK(!r1_config_layer_is_moe(&c, 2) && r1_config_layer_is_moe(&c, 3));
    check_round_trip(V3_671B);
}

TEST(deepseek_v2_lite) {
    r1_config c;
    CHECK_OK(parse(&c, V2_LITE));
    CHECK_EQ_INT(c.arch, R1_ARCH_DEEPSEEK);
    CHECK_EQ_INT(c.D, 2048);
    CHECK_EQ_INT(c.n_layers, 27);
    CHECK_EQ_INT(c.H, 16);
    CHECK_EQ_INT(c.ffn, 10944);
    CHECK_EQ_INT(c.moe_ffn, 1408);
    CHECK_EQ_INT(c.Rq, 0); /* null: plain q_proj */
    CHECK_EQ_INT(c.E, 64);
    CHECK_EQ_INT(c.K, 6);
    CHECK_EQ_INT(c.n_shared, 2);
    CHECK_EQ_INT(c.n_group, 1);
    CHECK_EQ_INT(c.topk_group, 1);
    CHECK_EQ_INT(c.first_dense, 1);
    CHECK_EQ_INT(c.topk_method, R1_TOPK_GREEDY);
    CHECK_EQ_INT(c.score_func, R1_SCORE_SOFTMAX);
    CHECK(!c.norm_topk_prob && c.routed_scale == 1.0f);
    CHECK_EQ_INT(c.n_mtp, 0);
    CHECK(c.yarn_mscale == 0.707 && c.yarn_mscale_all_dim == 0.707);
    CHECK_EQ_INT(c.bos_id, 100000);
    CHECK_EQ_INT(c.eos_id, 100001);
    check_round_trip(V2_LITE);
}

TEST(qwen2_1_5b) {
    r1_config c;
    CHECK_OK(parse(&c, QWEN2_1_5B));
    CHECK_EQ_INT(c.arch, R1_ARCH_QWEN2);
    CHECK_EQ_INT(c.D, 1536);
    CHECK_EQ_INT(c.n_layers, 28);
    CHECK_EQ_INT(c.H, 12);
    CHECK_EQ_INT(c.Hkv, 2);
    CHECK_EQ_INT(c.head_dim, 128);
    CHECK_EQ_INT(c.ffn, 8960);
    CHECK_EQ_INT(c.vocab, 151936);
    CHECK_EQ_INT(c.max_pos, 131072);
    CHECK(c.rope_theta == 10000.0 && c.rope_scaling == R1_ROPE_NONE);
    CHECK(c.rms_eps == 1e-6f);
    CHECK(c.qkv_bias && !c.tie_embeddings);
    CHECK_EQ_INT(c.E, 0);
    CHECK(!r1_config_layer_is_moe(&c, 5) && !r1_config_is_mla(&c));
    CHECK_EQ_INT(c.bos_id, 151643);
    CHECK_EQ_INT(c.eos_id, 151643);
    check_round_trip(QWEN2_1_5B);
}

TEST(llama_8b) {
    r1_config c;
    CHECK_OK(parse(&c, LLAMA_8B));
    CHECK_EQ_INT(c.arch, R1_ARCH_LLAMA);
    CHECK_EQ_INT(c.D, 4096);
    CHECK_EQ_INT(c.H, 32);
    CHECK_EQ_INT(c.Hkv, 8);
    CHECK_EQ_INT(c.head_dim, 128);
    CHECK_EQ_INT(c.ffn, 14336);
    CHECK_EQ_INT(c.vocab, 128256);
    CHECK(c.rms_eps == 1e-5f && c.rope_theta == 500000.0);
    CHECK_EQ_INT(c.rope_scaling, R1_ROPE_LLAMA3);
    CHECK(c.rope_factor == 8.0 && c.llama3_low_freq_factor == 1.0 && c.llama3_high_freq_factor == 4.0);
    CHECK_EQ_INT(c.rope_orig_max_pos, 8192);
    CHECK(!c.qkv_bias);
    CHECK_EQ_INT(c.bos_id, 128000);
    CHECK_EQ_INT(c.eos_id, 128001);
    check_round_trip(LLAMA_8B);
    /* Llama 3.1 Instruct lists several eos ids: the first is taken */
    char *j = with(LLAMA_8B, "eos_token_id", "[128001,128008,128009]");
    CHECK_OK(parse(&c, j));
    CHECK_EQ_INT(c.eos_id, 128001);
    free(j);
    j = with(LLAMA_8B, "bos_token_id", "null");
    CHECK_OK(parse(&c, j));
    CHECK_EQ_INT(c.bos_id, -1);
    check_round_trip(j);
    free(j);
    j = with(LLAMA_8B, "head_dim", "64"); /* explicit head_dim wins over D/H */
    CHECK_OK(parse(&c, j));
    CHECK_EQ_INT(c.head_dim, 64);
    check_round_trip(j);
    free(j);
}

TEST(hf_defaults) {
    r1_config c;
    CHECK_OK(parse(&c, "{\"model_type\":\"deepseek_v3\"}"));
    CHECK(c.D == 7168 && c.E == 256 && c.K == 8 && c.n_group == 8 && c.topk_group == 4);
    CHECK(c.topk_method == R1_TOPK_NOAUX_TC && c.score_func == R1_SCORE_SIGMOID);
    CHECK(c.rope_scaling == R1_ROPE_NONE && c.max_pos == 4096 && c.n_mtp == 1);
    CHECK(c.Rq == 1536 && c.first_dense == 3 && c.norm_topk_prob && c.routed_scale == 2.5f);
    /* V2 defaults: dense unless n_routed_experts is set; greedy; softmax */
    CHECK_OK(parse(&c, "{\"model_type\":\"deepseek_v2\"}"));
    CHECK(c.D == 4096 && c.E == 0 && c.n_shared == 0 && c.n_layers == 30);
    CHECK(c.topk_method == R1_TOPK_GREEDY && c.score_func == R1_SCORE_SOFTMAX);
    CHECK(c.n_group == 1 && c.topk_group == 1 && c.bos_id == 100000);
    CHECK(!r1_config_layer_is_moe(&c, 3));
    CHECK_OK(parse(&c, "{\"model_type\":\"deepseek_v2\",\"n_routed_experts\":16,"
                       "\"num_experts_per_tok\":2,\"n_group\":null,\"topk_group\":null,"
                       "\"topk_method\":\"gready\"}"));
    CHECK(c.E == 16 && c.n_group == 1 && c.topk_group == 1 && c.topk_method == R1_TOPK_GREEDY);
    CHECK_OK(parse(&c, "{\"model_type\":\"llama\"}"));
    CHECK(c.vocab == 32000 && c.Hkv == 32 && c.head_dim == 128 && c.bos_id == 1 && c.eos_id == 2);
    CHECK_OK(parse(&c, "{\"model_type\":\"llama\",\"num_attention_heads\":16,\"num_key_value_heads\":null}"));
    CHECK_EQ_INT(c.Hkv, 16);
    CHECK_OK(parse(&c, "{\"model_type\":\"qwen2\",\"rope_scaling\":{\"rope_type\":\"default\"}}"));
    CHECK(c.rope_scaling == R1_ROPE_NONE && c.bos_id == -1 && c.max_pos == 32768);
    /* YaRN defaults: beta 32/1, mscale 1, mscale_all_dim absent = 0 */
    CHECK_OK(parse(&c, "{\"model_type\":\"qwen2\",\"max_position_embeddings\":131072,"
                       "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4.0}}"));
    CHECK(c.rope_scaling == R1_ROPE_YARN && c.rope_factor == 4.0 && c.yarn_beta_fast == 32);
    CHECK(c.yarn_beta_slow == 1 && c.yarn_mscale == 1 && c.yarn_mscale_all_dim == 0);
    CHECK_EQ_INT(c.rope_orig_max_pos, 131072);
}

TEST(load_from_folder) {
    char dir[] = "/tmp/r1_test_cfg_XXXXXX";
    R1_ASSERT(mkdtemp(dir));
    char *p = r1_path_join(dir, "config.json");
    CHECK_OK(r1_file_write_atomic(p, QWEN2_1_5B, strlen(QWEN2_1_5B)));
    r1_config c;
    CHECK_OK(r1_config_load(&c, dir));
    CHECK_EQ_INT(c.D, 1536);
    CHECK_OK(r1_config_load(&c, p));
    CHECK_OK(r1_file_write_atomic(p, "{\"model_type\":\"gpt2\"}", 21));
    CHECK(r1_config_load(&c, dir) == R1_UNSUPPORTED);
    CHECK_STR(r1_errmsg(), "config.json: model_type 'gpt2' is not supported (deepseek_v3, deepseek_v2, qwen2, llama)");
    unlink(p);
    CHECK(r1_config_load(&c, dir) == R1_IO);
    r1_file_remove_tree(dir);
    free(p);
}

TEST(syntax_and_types) {
    r1_config c;
    CHECK(parse(&c, "{\"model_type\": \"llama\",,}") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "config.json: parse error near byte 24");
    CHECK(parse(&c, "") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "config.json: parse error near byte 0");
    CHECK(parse(&c, "[1]") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "config.json: the top level is not a JSON object");
    CHECK(parse(&c, "{}") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "config.json: 'model_type' is missing");
    CHECK(parse(&c, "{\"model_type\":3}") == R1_FORMAT);
    CHECK_STR(r1_errmsg(), "config.json: 'model_type' must be a string (got 3)");
    EXPECT(QWEN2_1_5B, "hidden_size", "\"1536\"", R1_FORMAT, "config.json: 'hidden_size' must be an integer (got string)");
    EXPECT(QWEN2_1_5B, "hidden_size", "1536.5", R1_FORMAT, "'hidden_size' must be an integer (got 1536.5)");
    EXPECT(QWEN2_1_5B, "hidden_size", "null", R1_FORMAT, "'hidden_size' must not be null");
    EXPECT(QWEN2_1_5B, "tie_word_embeddings", "1", R1_FORMAT, "'tie_word_embeddings' must be true or false (got 1)");
    EXPECT(QWEN2_1_5B, "rms_norm_eps", "\"1e-6\"", R1_FORMAT, "'rms_norm_eps' must be a number (got string)");
    EXPECT(QWEN2_1_5B, "eos_token_id", "\"x\"", R1_FORMAT, "'eos_token_id' must be an integer, null or an array");
    EXPECT(QWEN2_1_5B, "rope_scaling", "3", R1_FORMAT, "'rope_scaling' must be an object (got 3)");
    EXPECT(QWEN2_1_5B, "hidden_act", "\"gelu\"", R1_UNSUPPORTED, "hidden_act 'gelu' is not supported");
    EXPECT(QWEN2_1_5B, "use_sliding_window", "true", R1_UNSUPPORTED, "'use_sliding_window'");
    EXPECT(LLAMA_8B, "attention_bias", "true", R1_UNSUPPORTED, "'attention_bias'");
    EXPECT(LLAMA_8B, "mlp_bias", "true", R1_UNSUPPORTED, "'mlp_bias'");
    EXPECT(V3_671B, "scoring_func", "\"tanh\"", R1_UNSUPPORTED, "scoring_func 'tanh' is not supported");
    EXPECT(V3_671B, "topk_method", "\"best\"", R1_UNSUPPORTED, "topk_method 'best' is not supported");
    EXPECT(V3_671B, "attention_bias", "true", R1_UNSUPPORTED, "'attention_bias' true");
}

TEST(rope_scaling_variants) {
    EXPECT(LLAMA_8B, "rope_scaling", "{\"type\":\"linear\",\"factor\":2}", R1_UNSUPPORTED,
           "config.json: rope_scaling type 'linear' is not supported (yarn, llama3)");
    EXPECT(LLAMA_8B, "rope_scaling", "{\"rope_type\":\"dynamic\",\"factor\":2}", R1_UNSUPPORTED,
           "rope_scaling type 'dynamic' is not supported");
    EXPECT(LLAMA_8B, "rope_scaling", "{\"factor\":2}", R1_FORMAT, "'rope_scaling' has no 'type' or 'rope_type'");
    EXPECT(V3_671B, "rope_scaling", "{\"type\":\"yarn\"}", R1_FORMAT, "rope_scaling: 'factor' is missing");
    EXPECT(LLAMA_8B, "rope_scaling", "{\"rope_type\":\"llama3\",\"factor\":8,\"high_freq_factor\":4,"
           "\"original_max_position_embeddings\":8192}", R1_FORMAT, "rope_scaling: 'low_freq_factor' is missing");
    EXPECT(LLAMA_8B, "rope_scaling", "{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,"
           "\"high_freq_factor\":4,\"original_max_position_embeddings\":8192}", R1_INVALID,
           "'rope_scaling.high_freq_factor' (4) must be above 'low_freq_factor' (4)");
    EXPECT(V3_671B, "rope_scaling", "{\"type\":\"yarn\",\"factor\":-40}", R1_INVALID,
           "'rope_scaling.factor' must be a positive finite number (got -40)");
    EXPECT(V3_671B, "rope_scaling", "{\"type\":\"yarn\",\"factor\":40,\"original_max_position_embeddings\":0}",
           R1_INVALID, "'rope_scaling.original_max_position_embeddings' must be > 0");
    EXPECT(V3_671B, "rope_scaling", "{\"type\":\"yarn\",\"factor\":40,\"original_max_position_embeddings\":4096.5}",
           R1_FORMAT, "'original_max_position_embeddings' must be an integer");
    EXPECT(V3_671B, "rope_scaling", "{\"type\":\"yarn\",\"factor\":40,\"mscale_all_dim\":-1}",
           R1_INVALID, "'rope_scaling.mscale_all_dim' must be >= 0");
    EXPECT(V3_671B, "rope_scaling", "null", R1_OK, "");
    EXPECT(V3_671B, "rope_theta", "0", R1_INVALID, "'rope_theta' must be a positive finite number (got 0)");
    EXPECT(V3_671B, "rope_theta", "-5", R1_INVALID, "'rope_theta' must be a positive finite number");
}

TEST(impossible_values) {
    EXPECT(QWEN2_1_5B, "hidden_size", "0", R1_INVALID, "config.json: 'hidden_size' must be > 0 (got 0)");
    EXPECT(QWEN2_1_5B, "hidden_size", "-1536", R1_INVALID, "'hidden_size' must be > 0 (got -1536)");
    EXPECT(QWEN2_1_5B, "hidden_size", "1537", R1_INVALID, "'hidden_size' (1537) is not divisible by 'num_attention_heads' (12)");
    EXPECT(QWEN2_1_5B, "num_attention_heads", "0", R1_INVALID, "'num_attention_heads' must be > 0 (got 0)");
    EXPECT(QWEN2_1_5B, "num_key_value_heads", "5", R1_INVALID, "'num_key_value_heads' (5) does not divide 'num_attention_heads' (12)");
    EXPECT(QWEN2_1_5B, "num_key_value_heads", "0", R1_INVALID, "'num_key_value_heads' must be > 0");
    EXPECT(QWEN2_1_5B, "vocab_size", "-1", R1_INVALID, "'vocab_size' must be > 0");
    EXPECT(QWEN2_1_5B, "vocab_size", "16777217", R1_LIMIT, "'vocab_size' is 16777217, above the limit of 16777216");
    EXPECT(QWEN2_1_5B, "intermediate_size", "33554432", R1_LIMIT, "'intermediate_size' is 33554432");
    EXPECT(QWEN2_1_5B, "num_hidden_layers", "0", R1_INVALID, "'num_hidden_layers' must be > 0");
    EXPECT(QWEN2_1_5B, "max_position_embeddings", "0", R1_INVALID, "'max_position_embeddings' must be > 0");
    EXPECT(QWEN2_1_5B, "head_dim", "0", R1_INVALID, "'head_dim' must be > 0");
    EXPECT(QWEN2_1_5B, "head_dim", "127", R1_INVALID, "'head_dim' must be even for RoPE (got 127)");
    EXPECT(QWEN2_1_5B, "rms_norm_eps", "0", R1_INVALID, "'rms_norm_eps' must be a positive finite number (got 0)");
    EXPECT(QWEN2_1_5B, "rms_norm_eps", "-1e-6", R1_INVALID, "'rms_norm_eps' must be a positive finite number");
    EXPECT(QWEN2_1_5B, "rms_norm_eps", "1e300", R1_INVALID, "'rms_norm_eps' is out of range for a float (got 1e+300)");
    EXPECT(QWEN2_1_5B, "eos_token_id", "151936", R1_INVALID, "'eos_token_id' (151936) is outside the vocabulary [0, 151936)");
    EXPECT(QWEN2_1_5B, "bos_token_id", "-2", R1_INVALID, "'bos_token_id' (-2) is outside");
    EXPECT(QWEN2_1_5B, "num_hidden_layers", "16777216", R1_LIMIT, "parameters, above the limit of 2^48");
    /* MLA and MoE */
    EXPECT(V3_671B, "kv_lora_rank", "-3", R1_INVALID, "config.json: 'kv_lora_rank' must be > 0 (got -3)");
    EXPECT(V3_671B, "q_lora_rank", "-1", R1_INVALID, "'q_lora_rank' must be >= 0 (got -1)");
    EXPECT(V3_671B, "qk_rope_head_dim", "63", R1_INVALID, "'qk_rope_head_dim' must be even (got 63)");
    EXPECT(V3_671B, "qk_nope_head_dim", "0", R1_INVALID, "'qk_nope_head_dim' must be > 0");
    EXPECT(V3_671B, "v_head_dim", "0", R1_INVALID, "'v_head_dim' must be > 0");
    EXPECT(V3_671B, "num_experts_per_tok", "300", R1_INVALID, "'num_experts_per_tok' (300) exceeds 'n_routed_experts' (256)");
    EXPECT(V3_671B, "num_experts_per_tok", "0", R1_INVALID, "'num_experts_per_tok' must be > 0");
    EXPECT(V3_671B, "n_group", "7", R1_INVALID, "'n_group' (7) does not divide 'n_routed_experts' (256)");
    EXPECT(V3_671B, "n_group", "0", R1_INVALID, "'n_group' must be > 0");
    EXPECT(V3_671B, "topk_group", "9", R1_INVALID, "'topk_group' (9) exceeds 'n_group' (8)");
    EXPECT(V3_671B, "topk_group", "0", R1_INVALID, "'topk_group' must be > 0");
    char *b = with(V3_671B, "topk_group", "1");
    EXPECT(b, "n_group", "64", R1_INVALID, "'num_experts_per_tok' (8) exceeds the 4 experts in 'topk_group' (1) groups of 4");
    free(b);
    b = with(V3_671B, "topk_group", "8");
    EXPECT(b, "n_group", "256", R1_INVALID, "noaux_tc needs at least 2 experts per group (got 1)");
    free(b);
    EXPECT(V3_671B, "n_shared_experts", "-1", R1_INVALID, "'n_shared_experts' must be >= 0");
    EXPECT(V3_671B, "n_routed_experts", "-1", R1_INVALID, "'n_routed_experts' must be >= 0");
    EXPECT(V3_671B, "moe_intermediate_size", "0", R1_INVALID, "'moe_intermediate_size' must be > 0");
    EXPECT(V3_671B, "first_k_dense_replace", "62", R1_INVALID, "'first_k_dense_replace' must be in [0, 61] (got 62)");
    EXPECT(V3_671B, "moe_layer_freq", "0", R1_INVALID, "'moe_layer_freq' must be > 0");
    EXPECT(V3_671B, "routed_scaling_factor", "0", R1_INVALID, "'routed_scaling_factor' must be a positive finite number");
    EXPECT(V2_LITE, "routed_scaling_factor", "1e67", R1_INVALID, "'routed_scaling_factor' is out of range for a float (got 1e+67)");
    b = with(V2_LITE, "n_routed_experts", "null");
    EXPECT(b, "routed_scaling_factor", "-1", R1_INVALID, "'routed_scaling_factor' must be a positive finite number");
    free(b);
    EXPECT(V3_671B, "num_nextn_predict_layers", "-1", R1_INVALID, "'num_nextn_predict_layers' must be >= 0");
    EXPECT(V3_671B, "n_routed_experts", "16777216", R1_LIMIT, "above the limit of 2^48");
}

TEST(validate_structs_built_in_code) {
    r1_config c;
    CHECK_OK(parse(&c, V3_671B));
    c.K = 0;
    CHECK(r1_config_validate(&c) == R1_INVALID);
    CHECK_STR(r1_errmsg(), "config: 'num_experts_per_tok' must be > 0 (got 0)");
    char *out = (char *)1;
    CHECK(r1_config_to_json(&c, &out) == R1_INVALID);
    CHECK(out == NULL);
    CHECK_OK(parse(&c, QWEN2_1_5B));
    c.E = 8;
    CHECK(r1_config_validate(&c) == R1_INVALID);
    CHECK(strstr(r1_errmsg(), "must be 0 for model_type 'qwen2'") != NULL);
    CHECK_OK(parse(&c, V3_671B));
    c.Hkv = 16;
    CHECK(r1_config_validate(&c) == R1_INVALID);
    c.Hkv = c.H;
    c.score_func = (r1_score_func)7;
    CHECK(r1_config_validate(&c) == R1_INVALID);
    c.score_func = R1_SCORE_SIGMOID;
    c.rms_eps = NAN;
    CHECK(r1_config_validate(&c) == R1_INVALID);
    c.rms_eps = 1e-6f;
    CHECK_OK(r1_config_validate(&c));
}

int main(void) {
    RUN(deepseek_v3_671b);
    RUN(deepseek_v2_lite);
    RUN(qwen2_1_5b);
    RUN(llama_8b);
    RUN(hf_defaults);
    RUN(load_from_folder);
    RUN(syntax_and_types);
    RUN(rope_scaling_variants);
    RUN(impossible_values);
    RUN(validate_structs_built_in_code);
    TEST_MAIN_END();
}
