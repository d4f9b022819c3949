/* config: HF config.json <-> r1_config (see config.h).
 * Absent keys take the defaults of the HF class for the model_type
 * (DeepseekV3Config and DeepseekV2Config from the models' remote code,
 * Qwen2Config, LlamaConfig), so a sparse config means what it means to HF.
 * Some keys are nullable with a meaning of their own (q_lora_rank: null =
 * plain q_proj; n_group: null = 1). Other nulls are errors naming the key.
 * Every value is then validated, including an overall parameter-count cap so
 * that no product of dimensions computed later can overflow int64. */
#include "model/config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"

enum { MAX_CONFIG_BYTES = 16 << 20 };
static const int64_t DIM_CAP = (int64_t)1 << 24;

/* An integer key: absent -> def, null -> error. */
static r1_status get_i(const cJSON *o, const char *key, int64_t def, int64_t *out) {
    r1_json_state st;
    *out = def;
    R1_TRY(r1_json_get_int(o, key, out, &st));
    if (st == R1_JSON_NULL) return r1_fail(R1_FORMAT, "'%s' must not be null", key);
    return R1_OK;
}

/* A nullable integer key: absent -> def_absent, null -> def_null. */
static r1_status get_i_null(const cJSON *o, const char *key, int64_t def_absent, int64_t def_null,
                            int64_t *out) {
    r1_json_state st;
    *out = def_absent;
    R1_TRY(r1_json_get_int(o, key, out, &st));
    if (st == R1_JSON_NULL) *out = def_null;
    return R1_OK;
}

static r1_status get_d(const cJSON *o, const char *key, double def, double *out) {
    r1_json_state st;
    *out = def;
    R1_TRY(r1_json_get_num(o, key, out, &st));
    if (st == R1_JSON_NULL) return r1_fail(R1_FORMAT, "'%s' must not be null", key);
    return R1_OK;
}

/* A number that must be present. */
static r1_status need_d(const cJSON *o, const char *key, double *out) {
    r1_json_state st;
    R1_TRY(r1_json_get_num(o, key, out, &st));
    if (st != R1_JSON_SET) return r1_fail(R1_FORMAT, "'%s' is missing", key);
    return R1_OK;
}

static r1_status get_f(const cJSON *o, const char *key, float def, float *out) {
    double v = def;
    R1_TRY(get_d(o, key, def, &v));
    if (!(fabs(v) <= FLT_MAX)) /* converting it would be undefined behaviour */
        return r1_fail(R1_INVALID, "'%s' is out of range for a float (got %g)", key, v);
    *out = (float)v;
    return R1_OK;
}

static r1_status get_b(const cJSON *o, const char *key, bool def, bool *out) {
    r1_json_state st;
    *out = def;
    R1_TRY(r1_json_get_bool(o, key, out, &st));
    if (st == R1_JSON_NULL) return r1_fail(R1_FORMAT, "'%s' must not be null", key);
    return R1_OK;
}

static r1_status get_s(const cJSON *o, const char *key, const char *def, const char **out) {
    r1_json_state st;
    *out = def;
    R1_TRY(r1_json_get_str(o, key, out, &st));
    if (st == R1_JSON_NULL) *out = def;
    return R1_OK;
}

/* bos/eos: an integer, null (-1), or an array whose first entry is used
 * (Llama 3.1 lists several end tokens). */
static r1_status get_token(const cJSON *o, const char *key, int64_t def, int64_t *out) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = def;
    if (!it) return R1_OK;
    if (cJSON_IsNull(it)) {
        *out = -1;
        return R1_OK;
    }
    if (cJSON_IsArray(it)) {
        if (!it->child) {
            *out = -1;
            return R1_OK;
        }
        it = it->child;
    }
    if (!r1_json_as_int(it, out))
        return r1_fail(R1_FORMAT, "'%s' must be an integer, null or an array of integers", key);
    return R1_OK;
}

static r1_status parse_rope_scaling(r1_config *c, const cJSON *root) {
    const cJSON *rs = NULL;
    r1_json_state st;
    R1_TRY(r1_json_get_obj(root, "rope_scaling", &rs, &st));
    c->rope_scaling = R1_ROPE_NONE;
    if (st != R1_JSON_SET) return R1_OK;
    const char *type = NULL;
    R1_TRY(get_s(rs, "rope_type", NULL, &type));
    if (!type) R1_TRY(get_s(rs, "type", NULL, &type));
    if (!type) return r1_fail(R1_FORMAT, "'rope_scaling' has no 'type' or 'rope_type'");
    r1_status s = R1_OK;
    if (strcmp(type, "default") == 0) {
        return R1_OK;
    } else if (strcmp(type, "yarn") == 0) {
        c->rope_scaling = R1_ROPE_YARN;
        double orig = (double)c->max_pos;
        if ((s = need_d(rs, "factor", &c->rope_factor)) != R1_OK ||
            (s = get_d(rs, "original_max_position_embeddings", orig, &orig)) != R1_OK ||
            (s = get_d(rs, "beta_fast", 32.0, &c->yarn_beta_fast)) != R1_OK ||
            (s = get_d(rs, "beta_slow", 1.0, &c->yarn_beta_slow)) != R1_OK ||
            (s = get_d(rs, "mscale", 1.0, &c->yarn_mscale)) != R1_OK ||
            (s = get_d(rs, "mscale_all_dim", 0.0, &c->yarn_mscale_all_dim)) != R1_OK)
            return r1_err_wrap(s, "rope_scaling");
        if (orig != floor(orig) || !(fabs(orig) <= (double)DIM_CAP * 64))
            return r1_fail(R1_FORMAT, "rope_scaling: 'original_max_position_embeddings' must be an integer");
        c->rope_orig_max_pos = (int64_t)orig;
    } else if (strcmp(type, "llama3") == 0) {
        c->rope_scaling = R1_ROPE_LLAMA3;
        double orig = 0;
        if ((s = need_d(rs, "factor", &c->rope_factor)) != R1_OK ||
            (s = need_d(rs, "low_freq_factor", &c->llama3_low_freq_factor)) != R1_OK ||
            (s = need_d(rs, "high_freq_factor", &c->llama3_high_freq_factor)) != R1_OK ||
            (s = need_d(rs, "original_max_position_embeddings", &orig)) != R1_OK)
            return r1_err_wrap(s, "rope_scaling");
        if (orig != floor(orig) || !(fabs(orig) <= (double)DIM_CAP * 64))
            return r1_fail(R1_FORMAT, "rope_scaling: 'original_max_position_embeddings' must be an integer");
        c->rope_orig_max_pos = (int64_t)orig;
    } else {
        return r1_fail(R1_UNSUPPORTED, "rope_scaling type '%.32s' is not supported (yarn, llama3)", type);
    }
    return R1_OK;
}

/* HF defaults per family, applied to absent keys. */
typedef struct {
    int64_t vocab, D, ffn, n_layers, H, max_pos, bos, eos;
} family_defaults;

static r1_status parse_deepseek(r1_config *c, const cJSON *o, bool v3) {
    /* DeepseekV3Config: 256 experts in 8 groups (keep 4), K 8, sigmoid +
     * noaux_tc, 3 dense layers, one MTP layer. DeepseekV2Config (remote
     * code): a dense model unless n_routed_experts is set, softmax, no groups.
     * Its topk_method default is the typo "gready", which its own MoEGate
     * does not handle; we take "greedy", what V2-Lite writes. */
    const char *score = v3 ? "sigmoid" : "softmax", *topk = v3 ? "noaux_tc" : "greedy";
    bool attn_bias = false;
    r1_status s;
    if ((s = get_i_null(o, "q_lora_rank", 1536, 0, &c->Rq)) != R1_OK ||
        (s = get_i(o, "kv_lora_rank", 512, &c->Rkv)) != R1_OK ||
        (s = get_i(o, "qk_nope_head_dim", 128, &c->Dn)) != R1_OK ||
        (s = get_i(o, "qk_rope_head_dim", 64, &c->Dr)) != R1_OK ||
        (s = get_i(o, "v_head_dim", 128, &c->Dv)) != R1_OK ||
        (s = get_i_null(o, "n_routed_experts", v3 ? 256 : 0, 0, &c->E)) != R1_OK ||
        (s = get_i_null(o, "num_experts_per_tok", v3 ? 8 : 0, 0, &c->K)) != R1_OK ||
        (s = get_i_null(o, "n_shared_experts", v3 ? 1 : 0, 0, &c->n_shared)) != R1_OK ||
        (s = get_i(o, "moe_intermediate_size", v3 ? 2048 : 1407, &c->moe_ffn)) != R1_OK ||
        (s = get_i(o, "first_k_dense_replace", v3 ? 3 : 0, &c->first_dense)) != R1_OK ||
        (s = get_i(o, "moe_layer_freq", 1, &c->moe_freq)) != R1_OK ||
        (s = get_i_null(o, "n_group", v3 ? 8 : 1, 1, &c->n_group)) != R1_OK ||
        (s = get_i_null(o, "topk_group", v3 ? 4 : 1, 1, &c->topk_group)) != R1_OK ||
        (s = get_s(o, "scoring_func", score, &score)) != R1_OK ||
        (s = get_s(o, "topk_method", topk, &topk)) != R1_OK ||
        (s = get_b(o, "norm_topk_prob", v3, &c->norm_topk_prob)) != R1_OK ||
        (s = get_f(o, "routed_scaling_factor", v3 ? 2.5f : 1.0f, &c->routed_scale)) != R1_OK ||
        (s = get_i_null(o, "num_nextn_predict_layers", v3 ? 1 : 0, 0, &c->n_mtp)) != R1_OK ||
        (s = get_b(o, "attention_bias", false, &attn_bias)) != R1_OK)
        return s;
    if (attn_bias) return r1_fail(R1_UNSUPPORTED, "'attention_bias' true is not supported for MLA");
    if (strcmp(score, "softmax") == 0) c->score_func = R1_SCORE_SOFTMAX;
    else if (strcmp(score, "sigmoid") == 0) c->score_func = R1_SCORE_SIGMOID;
    else return r1_fail(R1_UNSUPPORTED, "scoring_func '%.32s' is not supported (softmax, sigmoid)", score);
    if (strcmp(topk, "greedy") == 0 || strcmp(topk, "gready") == 0) c->topk_method = R1_TOPK_GREEDY;
    else if (strcmp(topk, "group_limited_greedy") == 0) c->topk_method = R1_TOPK_GROUP_LIMITED;
    else if (strcmp(topk, "noaux_tc") == 0) c->topk_method = R1_TOPK_NOAUX_TC;
    else
        return r1_fail(R1_UNSUPPORTED,
                       "topk_method '%.32s' is not supported (greedy, group_limited_greedy, noaux_tc)",
                       topk);
    c->Hkv = c->H; /* MLA: every head has its own K and V from the shared latent */
    c->head_dim = c->Dn + c->Dr;
    return R1_OK;
}

static r1_status parse_gqa(r1_config *c, const cJSON *o, bool qwen) {
    r1_json_state st;
    int64_t hd = 0;
    bool attn_bias = false, mlp_bias = false, sliding = false;
    r1_status s;
    if ((s = r1_json_get_int(o, "head_dim", &hd, &st)) != R1_OK ||
        (s = get_b(o, "attention_bias", false, &attn_bias)) != R1_OK ||
        (s = get_b(o, "mlp_bias", false, &mlp_bias)) != R1_OK ||
        (s = get_b(o, "use_sliding_window", false, &sliding)) != R1_OK)
        return s;
    if (st == R1_JSON_SET) {
        c->head_dim = hd;
    } else {
        if (c->H <= 0) return r1_fail(R1_INVALID, "'num_attention_heads' must be > 0 (got %lld)", (long long)c->H);
        if (c->D % c->H != 0)
            return r1_fail(R1_INVALID, "'hidden_size' (%lld) is not divisible by 'num_attention_heads' (%lld)",
                           (long long)c->D, (long long)c->H);
        c->head_dim = c->D / c->H;
    }
    if (!qwen && attn_bias) return r1_fail(R1_UNSUPPORTED, "'attention_bias' true is not supported");
    if (mlp_bias) return r1_fail(R1_UNSUPPORTED, "'mlp_bias' true is not supported");
    if (sliding) return r1_fail(R1_UNSUPPORTED, "'use_sliding_window' true is not supported");
    c->qkv_bias = qwen; /* Qwen2 always has q/k/v biases */
    c->n_group = c->topk_group = 1;
    return R1_OK;
}

static r1_status parse_root(r1_config *c, const cJSON *o) {
    const char *mt = NULL, *act = "silu";
    r1_json_state st;
    R1_TRY(r1_json_get_str(o, "model_type", &mt, &st));
    if (!mt) return r1_fail(R1_FORMAT, "'model_type' is missing");
    family_defaults d;
    if (strcmp(mt, "deepseek_v3") == 0) {
        c->arch = R1_ARCH_DEEPSEEK;
        d = (family_defaults){129280, 7168, 18432, 61, 128, 4096, 0, 1};
    } else if (strcmp(mt, "deepseek_v2") == 0) {
        c->arch = R1_ARCH_DEEPSEEK;
        d = (family_defaults){102400, 4096, 11008, 30, 32, 2048, 100000, 100001};
    } else if (strcmp(mt, "qwen2") == 0) {
        c->arch = R1_ARCH_QWEN2;
        d = (family_defaults){151936, 4096, 22016, 32, 32, 32768, -1, -1};
    } else if (strcmp(mt, "llama") == 0) {
        c->arch = R1_ARCH_LLAMA;
        d = (family_defaults){32000, 4096, 11008, 32, 32, 2048, 1, 2};
    } else {
        return r1_fail(R1_UNSUPPORTED,
                       "model_type '%.32s' is not supported (deepseek_v3, deepseek_v2, qwen2, llama)", mt);
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", mt);
    r1_status s;
    if ((s = get_i(o, "vocab_size", d.vocab, &c->vocab)) != R1_OK ||
        (s = get_i(o, "hidden_size", d.D, &c->D)) != R1_OK ||
        (s = get_i(o, "intermediate_size", d.ffn, &c->ffn)) != R1_OK ||
        (s = get_i(o, "num_hidden_layers", d.n_layers, &c->n_layers)) != R1_OK ||
        (s = get_i(o, "num_attention_heads", d.H, &c->H)) != R1_OK ||
        (s = get_i(o, "max_position_embeddings", d.max_pos, &c->max_pos)) != R1_OK ||
        (s = get_f(o, "rms_norm_eps", 1e-6f, &c->rms_eps)) != R1_OK ||
        (s = get_b(o, "tie_word_embeddings", false, &c->tie_embeddings)) != R1_OK ||
        (s = get_d(o, "rope_theta", 10000.0, &c->rope_theta)) != R1_OK ||
        (s = get_token(o, "bos_token_id", d.bos, &c->bos_id)) != R1_OK ||
        (s = get_token(o, "eos_token_id", d.eos, &c->eos_id)) != R1_OK ||
        (s = get_s(o, "hidden_act", act, &act)) != R1_OK)
        return s;
    if (strcmp(act, "silu") != 0)
        return r1_fail(R1_UNSUPPORTED, "hidden_act '%.32s' is not supported (silu)", act);
    /* num_key_value_heads: absent or null means H (multi-head attention). */
    R1_TRY(get_i_null(o, "num_key_value_heads", c->H, c->H, &c->Hkv));
    R1_TRY(parse_rope_scaling(c, o));
    if (c->arch == R1_ARCH_DEEPSEEK) return parse_deepseek(c, o, strcmp(mt, "deepseek_v3") == 0);
    return parse_gqa(c, o, c->arch == R1_ARCH_QWEN2);
}

static r1_status validate(const r1_config *c);

r1_status r1_config_parse(r1_config *c, const char *json, size_t len, const char *where) {
    memset(c, 0, sizeof *c);
    cJSON *root = NULL;
    R1_TRY(r1_json_parse(&root, json, len, where));
    r1_status s = cJSON_IsObject(root) ? parse_root(c, root)
                                       : r1_fail(R1_FORMAT, "the top level is not a JSON object");
    cJSON_Delete(root);
    if (s == R1_OK) s = validate(c);
    return s == R1_OK ? R1_OK : r1_err_wrap(s, "%s", where);
}

r1_status r1_config_load(r1_config *c, const char *path) {
    char *file = r1_file_is_dir(path) ? r1_path_join(path, "config.json") : strdup(path);
    if (!file) return r1_fail(R1_NOMEM, "config: out of memory");
    char *text = NULL;
    size_t len = 0;
    r1_status s = r1_file_read_all(file, &text, &len, MAX_CONFIG_BYTES);
    if (s == R1_OK) s = r1_config_parse(c, text, len, r1_path_base(file));
    free(text);
    free(file);
    return s;
}

/* ---- validation ---- */

/* 1 <= v <= DIM_CAP (or 0 <= v when zero_ok). */
static r1_status dim(int64_t v, const char *key, bool zero_ok) {
    if (v < 0 || (v == 0 && !zero_ok))
        return r1_fail(R1_INVALID, "'%s' must be %s (got %lld)", key, zero_ok ? ">= 0" : "> 0",
                       (long long)v);
    if (v > DIM_CAP)
        return r1_fail(R1_LIMIT, "'%s' is %lld, above the limit of %lld", key, (long long)v,
                       (long long)DIM_CAP);
    return R1_OK;
}

static r1_status positive(double v, const char *key) {
    if (!(isfinite(v) && v > 0))
        return r1_fail(R1_INVALID, "'%s' must be a positive finite number (got %g)", key, v);
    return R1_OK;
}

static r1_status finite_num(double v, const char *key) {
    if (!isfinite(v)) return r1_fail(R1_INVALID, "'%s' must be finite (got %g)", key, v);
    return R1_OK;
}

static r1_status token(int64_t id, const char *key, int64_t vocab) {
    if (id < -1 || id >= vocab)
        return r1_fail(R1_INVALID, "'%s' (%lld) is outside the vocabulary [0, %lld)", key,
                       (long long)id, (long long)vocab);
    return R1_OK;
}

static r1_status validate_rope(const r1_config *c) {
    R1_TRY(positive(c->rope_theta, "rope_theta"));
    if (c->rope_scaling == R1_ROPE_NONE) return R1_OK;
    R1_TRY(positive(c->rope_factor, "rope_scaling.factor"));
    R1_TRY(dim(c->rope_orig_max_pos, "rope_scaling.original_max_position_embeddings", false));
    if (c->rope_scaling == R1_ROPE_YARN) {
        R1_TRY(finite_num(c->yarn_beta_fast, "rope_scaling.beta_fast"));
        R1_TRY(finite_num(c->yarn_beta_slow, "rope_scaling.beta_slow"));
        R1_TRY(finite_num(c->yarn_mscale, "rope_scaling.mscale"));
        R1_TRY(finite_num(c->yarn_mscale_all_dim, "rope_scaling.mscale_all_dim"));
        if (c->yarn_mscale_all_dim < 0)
            return r1_fail(R1_INVALID, "'rope_scaling.mscale_all_dim' must be >= 0 (got %g)",
                           c->yarn_mscale_all_dim);
    } else if (c->rope_scaling == R1_ROPE_LLAMA3) {
        R1_TRY(positive(c->llama3_low_freq_factor, "rope_scaling.low_freq_factor"));
        R1_TRY(positive(c->llama3_high_freq_factor, "rope_scaling.high_freq_factor"));
        if (!(c->llama3_high_freq_factor > c->llama3_low_freq_factor))
            return r1_fail(R1_INVALID, "'rope_scaling.high_freq_factor' (%g) must be above 'low_freq_factor' (%g)",
                           c->llama3_high_freq_factor, c->llama3_low_freq_factor);
    } else {
        return r1_fail(R1_INVALID, "rope_scaling kind %d is unknown", (int)c->rope_scaling);
    }
    return R1_OK;
}

static r1_status validate_moe(const r1_config *c) {
    R1_TRY(dim(c->E, "n_routed_experts", true));
    if (c->E == 0) return R1_OK; /* dense model: the other MoE keys are unused */
    R1_TRY(dim(c->K, "num_experts_per_tok", false));
    R1_TRY(dim(c->n_shared, "n_shared_experts", true));
    R1_TRY(dim(c->moe_ffn, "moe_intermediate_size", false));
    R1_TRY(dim(c->n_group, "n_group", false));
    R1_TRY(dim(c->topk_group, "topk_group", false));
    R1_TRY(dim(c->moe_freq, "moe_layer_freq", false));
    if (c->first_dense < 0 || c->first_dense > c->n_layers)
        return r1_fail(R1_INVALID, "'first_k_dense_replace' must be in [0, %lld] (got %lld)",
                       (long long)c->n_layers, (long long)c->first_dense);
    if (c->K > c->E)
        return r1_fail(R1_INVALID, "'num_experts_per_tok' (%lld) exceeds 'n_routed_experts' (%lld)",
                       (long long)c->K, (long long)c->E);
    if (c->E % c->n_group != 0)
        return r1_fail(R1_INVALID, "'n_group' (%lld) does not divide 'n_routed_experts' (%lld)",
                       (long long)c->n_group, (long long)c->E);
    if (c->topk_group > c->n_group)
        return r1_fail(R1_INVALID, "'topk_group' (%lld) exceeds 'n_group' (%lld)",
                       (long long)c->topk_group, (long long)c->n_group);
    int64_t reachable = c->E / c->n_group * c->topk_group;
    if (c->K > reachable)
        return r1_fail(R1_INVALID,
                       "'num_experts_per_tok' (%lld) exceeds the %lld experts in 'topk_group' (%lld) groups of %lld",
                       (long long)c->K, (long long)reachable, (long long)c->topk_group,
                       (long long)(c->E / c->n_group));
    /* noaux_tc ranks a group by the sum of its two best experts */
    if (c->topk_method == R1_TOPK_NOAUX_TC && c->n_group > 1 && c->E / c->n_group < 2)
        return r1_fail(R1_INVALID, "'topk_method' noaux_tc needs at least 2 experts per group (got %lld)",
                       (long long)(c->E / c->n_group));
    return R1_OK;
}

/* An upper bound on the parameter count in 128-bit arithmetic (every factor
 * is <= 2^24, so no product of four overflows). */
static unsigned __int128 param_bound(const r1_config *c) {
    typedef unsigned __int128 u128;
    u128 D = (u128)c->D, H = (u128)c->H, attn, ffn = 3 * D * (u128)c->ffn, moe = 0;
    if (c->arch == R1_ARCH_DEEPSEEK) {
        u128 dqk = (u128)(c->Dn + c->Dr);
        attn = (c->Rq ? D * (u128)c->Rq + (u128)c->Rq * H * dqk : D * H * dqk) +
               D * (u128)(c->Rkv + c->Dr) + (u128)c->Rkv * H * (u128)(c->Dn + c->Dv) +
               H * (u128)c->Dv * D;
        moe = ((u128)c->E + (u128)c->n_shared) * 3 * D * (u128)c->moe_ffn + (u128)c->E * D;
    } else {
        u128 hd = (u128)c->head_dim;
        attn = 2 * D * H * hd + 2 * D * (u128)c->Hkv * hd;
    }
    u128 layers = (u128)c->n_layers + (u128)c->n_mtp;
    return 2 * (u128)c->vocab * D + layers * (attn + ffn + moe + 4 * D);
}

static r1_status validate(const r1_config *c) {
    if ((int)c->arch < 0 || c->arch > R1_ARCH_LLAMA)
        return r1_fail(R1_INVALID, "arch %d is unknown", (int)c->arch);
    R1_TRY(dim(c->vocab, "vocab_size", false));
    R1_TRY(dim(c->D, "hidden_size", false));
    R1_TRY(dim(c->n_layers, "num_hidden_layers", false));
    R1_TRY(dim(c->H, "num_attention_heads", false));
    R1_TRY(dim(c->Hkv, "num_key_value_heads", false));
    R1_TRY(dim(c->ffn, "intermediate_size", false));
    R1_TRY(dim(c->max_pos, "max_position_embeddings", false));
    R1_TRY(dim(c->head_dim, "head_dim", false));
    if (c->H % c->Hkv != 0)
        return r1_fail(R1_INVALID, "'num_key_value_heads' (%lld) does not divide 'num_attention_heads' (%lld)",
                       (long long)c->Hkv, (long long)c->H);
    R1_TRY(positive(c->rms_eps, "rms_norm_eps"));
    R1_TRY(token(c->bos_id, "bos_token_id", c->vocab));
    R1_TRY(token(c->eos_id, "eos_token_id", c->vocab));
    R1_TRY(validate_rope(c));
    if (c->arch == R1_ARCH_DEEPSEEK) {
        R1_TRY(dim(c->Rq, "q_lora_rank", true));
        R1_TRY(dim(c->Rkv, "kv_lora_rank", false));
        R1_TRY(dim(c->Dn, "qk_nope_head_dim", false));
        R1_TRY(dim(c->Dr, "qk_rope_head_dim", false));
        R1_TRY(dim(c->Dv, "v_head_dim", false));
        if (c->Dr % 2 != 0)
            return r1_fail(R1_INVALID, "'qk_rope_head_dim' must be even (got %lld)", (long long)c->Dr);
        if (c->Hkv != c->H)
            return r1_fail(R1_INVALID, "'num_key_value_heads' must equal 'num_attention_heads' for MLA");
        R1_TRY(dim(c->n_mtp, "num_nextn_predict_layers", true));
        if ((int)c->score_func < 0 || c->score_func > R1_SCORE_SIGMOID)
            return r1_fail(R1_INVALID, "'scoring_func' %d is unknown", (int)c->score_func);
        if ((int)c->topk_method < 0 || c->topk_method > R1_TOPK_NOAUX_TC)
            return r1_fail(R1_INVALID, "'topk_method' %d is unknown", (int)c->topk_method);
        R1_TRY(positive(c->routed_scale, "routed_scaling_factor")); /* written even when dense */
        R1_TRY(validate_moe(c));
    } else {
        if (c->head_dim % 2 != 0)
            return r1_fail(R1_INVALID, "'head_dim' must be even for RoPE (got %lld)", (long long)c->head_dim);
        if (c->E != 0 || c->n_mtp != 0 || c->Rq != 0 || c->Rkv != 0)
            return r1_fail(R1_INVALID, "MoE/MLA fields must be 0 for model_type '%s'", c->model_type);
    }
    unsigned __int128 params = param_bound(c), cap = (unsigned __int128)1 << 48;
    if (params > cap)
        return r1_fail(R1_LIMIT, "the model would have about %.3g parameters, above the limit of 2^48",
                       (double)params);
    return R1_OK;
}

r1_status r1_config_validate(const r1_config *c) {
    r1_status s = validate(c);
    return s == R1_OK ? R1_OK : r1_err_wrap(s, "config");
}

/* ---- writing ---- */

/* The shortest decimal that reads back as the same float ("1e-06", not
 * "9.9999999747524271e-07"). */
static bool add_float(cJSON *o, const char *key, float v) {
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if ((float)strtod(buf, NULL) == v) break; /* what the parser does */
    }
    return cJSON_AddRawToObject(o, key, buf) != NULL;
}

static bool add_int(cJSON *o, const char *key, int64_t v) {
    return cJSON_AddNumberToObject(o, key, (double)v) != NULL;
}

/* v, or null when v == null_value. */
static bool add_int_or_null(cJSON *o, const char *key, int64_t v, int64_t null_value) {
    return v == null_value ? cJSON_AddNullToObject(o, key) != NULL : add_int(o, key, v);
}

static bool add_rope_scaling(cJSON *o, const r1_config *c) {
    if (c->rope_scaling == R1_ROPE_NONE) return cJSON_AddNullToObject(o, "rope_scaling") != NULL;
    cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
    if (!rs) return false;
    bool ok = add_int(rs, "original_max_position_embeddings", c->rope_orig_max_pos) &&
              cJSON_AddNumberToObject(rs, "factor", c->rope_factor);
    if (c->rope_scaling == R1_ROPE_YARN) {
        ok = ok && cJSON_AddStringToObject(rs, "type", "yarn") &&
             cJSON_AddNumberToObject(rs, "beta_fast", c->yarn_beta_fast) &&
             cJSON_AddNumberToObject(rs, "beta_slow", c->yarn_beta_slow) &&
             cJSON_AddNumberToObject(rs, "mscale", c->yarn_mscale);
        if (c->yarn_mscale_all_dim != 0)
            ok = ok && cJSON_AddNumberToObject(rs, "mscale_all_dim", c->yarn_mscale_all_dim);
    } else {
        ok = ok && cJSON_AddStringToObject(rs, "rope_type", "llama3") &&
             cJSON_AddNumberToObject(rs, "low_freq_factor", c->llama3_low_freq_factor) &&
             cJSON_AddNumberToObject(rs, "high_freq_factor", c->llama3_high_freq_factor);
    }
    return ok;
}

static bool add_deepseek(cJSON *o, const r1_config *c) {
    static const char *const SCORE[] = {"softmax", "sigmoid"};
    static const char *const TOPK[] = {"greedy", "group_limited_greedy", "noaux_tc"};
    return add_int_or_null(o, "q_lora_rank", c->Rq, 0) && add_int(o, "kv_lora_rank", c->Rkv) &&
           add_int(o, "qk_nope_head_dim", c->Dn) && add_int(o, "qk_rope_head_dim", c->Dr) &&
           add_int(o, "v_head_dim", c->Dv) && add_int_or_null(o, "n_routed_experts", c->E, 0) &&
           add_int_or_null(o, "num_experts_per_tok", c->K, 0) &&
           add_int_or_null(o, "n_shared_experts", c->n_shared, 0) &&
           add_int(o, "moe_intermediate_size", c->moe_ffn) &&
           add_int(o, "first_k_dense_replace", c->first_dense) &&
           add_int(o, "moe_layer_freq", c->moe_freq) && add_int(o, "n_group", c->n_group) &&
           add_int(o, "topk_group", c->topk_group) &&
           cJSON_AddStringToObject(o, "scoring_func", SCORE[c->score_func]) &&
           cJSON_AddStringToObject(o, "topk_method", TOPK[c->topk_method]) &&
           cJSON_AddBoolToObject(o, "norm_topk_prob", c->norm_topk_prob) &&
           add_float(o, "routed_scaling_factor", c->routed_scale) &&
           add_int(o, "num_nextn_predict_layers", c->n_mtp) &&
           cJSON_AddBoolToObject(o, "attention_bias", false);
}

r1_status r1_config_to_json(const r1_config *c, char **out) {
    *out = NULL;
    R1_TRY(r1_config_validate(c));
    static const char *const ARCH_NAME[] = {"DeepseekV3ForCausalLM", "Qwen2ForCausalLM",
                                            "LlamaForCausalLM"};
    const char *arch = ARCH_NAME[c->arch];
    if (strcmp(c->model_type, "deepseek_v2") == 0) arch = "DeepseekV2ForCausalLM";
    cJSON *o = cJSON_CreateObject(), *archs = cJSON_AddArrayToObject(o, "architectures");
    cJSON *an = cJSON_CreateString(arch);
    if (!archs || !an) {
        cJSON_Delete(an);
        goto fail;
    }
    cJSON_AddItemToArray(archs, an);
    bool ok = cJSON_AddStringToObject(o, "model_type", c->model_type) &&
              add_int(o, "vocab_size", c->vocab) && add_int(o, "hidden_size", c->D) &&
              add_int(o, "intermediate_size", c->ffn) &&
              add_int(o, "num_hidden_layers", c->n_layers) &&
              add_int(o, "num_attention_heads", c->H) &&
              add_int(o, "num_key_value_heads", c->Hkv) &&
              add_int(o, "max_position_embeddings", c->max_pos) &&
              add_float(o, "rms_norm_eps", c->rms_eps) &&
              cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta) && add_rope_scaling(o, c) &&
              cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tie_embeddings) &&
              add_int_or_null(o, "bos_token_id", c->bos_id, -1) &&
              add_int_or_null(o, "eos_token_id", c->eos_id, -1) &&
              cJSON_AddStringToObject(o, "hidden_act", "silu");
    if (ok && c->arch == R1_ARCH_DEEPSEEK) ok = add_deepseek(o, c);
    if (ok && c->arch != R1_ARCH_DEEPSEEK) ok = add_int(o, "head_dim", c->head_dim);
    if (!ok || !(*out = cJSON_Print(o))) goto fail;
    cJSON_Delete(o);
    return R1_OK;
fail:
    cJSON_Delete(o);
    return r1_fail(R1_NOMEM, "config: out of memory");
}
