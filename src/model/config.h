/* config: one description of all three model families (deepseek_v3, qwen2,
 * llama), read from an HF config.json with HF key names unchanged. A family
 * is a set of switches, not a copy of the forward pass: qwen2/llama are the
 * same decoder with GQA attention instead of MLA and no MoE layers.
 * Dimension letters follow docs/glossary.md (D, H, Hkv, Rq, Rkv, Dn, Dr, Dv, E, K). */
#ifndef R1_CONFIG_H
#define R1_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Routed experts per layer are capped so routers can use stack arrays. */
enum { R1_MAX_EXPERTS = 1024 };

typedef enum { R1_ARCH_DEEPSEEK = 0, R1_ARCH_QWEN2, R1_ARCH_LLAMA } r1_arch;
typedef enum { R1_SCORE_SOFTMAX = 0, R1_SCORE_SIGMOID } r1_score_func;
/* How expert groups are ranked when n_group > 1: V3 noaux_tc sums the top-2
 * biased scores of a group; V2 group_limited_greedy takes the max score. */
typedef enum { R1_TOPK_GREEDY = 0, R1_TOPK_GROUP_LIMITED, R1_TOPK_NOAUX_TC } r1_topk_method;
typedef enum { R1_ROPE_NONE = 0, R1_ROPE_YARN, R1_ROPE_LLAMA3 } r1_rope_scaling;

typedef struct {
    r1_arch arch;
    char model_type[32]; /* as written in config.json */
    int64_t vocab;       /* vocab_size */
    int64_t D;           /* hidden_size */
    int64_t n_layers;    /* num_hidden_layers */
    int64_t H;           /* num_attention_heads */
    int64_t Hkv;         /* num_key_value_heads (GQA); = H for deepseek */
    int64_t head_dim;    /* GQA head width (hidden_size / H unless head_dim is given) */
    int64_t ffn;         /* intermediate_size: dense SwiGLU width */
    float rms_eps;       /* rms_norm_eps */
    bool tie_embeddings; /* tie_word_embeddings */
    bool qkv_bias;       /* qwen2: q/k/v projections carry a bias */
    int64_t max_pos;     /* max_position_embeddings */
    int64_t bos_id, eos_id; /* -1 when absent */

    /* RoPE. deepseek rotates adjacent pairs of the Dr rope dims; qwen2/llama
     * rotate the two halves of each head (NEOX). */
    double rope_theta;
    r1_rope_scaling rope_scaling;
    double rope_factor;        /* s */
    int64_t rope_orig_max_pos; /* original_max_position_embeddings (L0) */
    double yarn_beta_fast, yarn_beta_slow;
    double yarn_mscale, yarn_mscale_all_dim; /* 0 when the key is absent */
    double llama3_low_freq_factor, llama3_high_freq_factor;

    /* MLA (deepseek). Rq = 0 means a plain q_proj (V2-Lite). */
    int64_t Rq;  /* q_lora_rank */
    int64_t Rkv; /* kv_lora_rank */
    int64_t Dn;  /* qk_nope_head_dim */
    int64_t Dr;  /* qk_rope_head_dim */
    int64_t Dv;  /* v_head_dim */

    /* DeepSeekMoE. */
    int64_t E;         /* n_routed_experts (0: dense model) */
    int64_t K;         /* num_experts_per_tok */
    int64_t n_shared;  /* n_shared_experts (0 when null/absent) */
    int64_t moe_ffn;   /* moe_intermediate_size */
    int64_t first_dense; /* first_k_dense_replace */
    int64_t moe_freq;  /* moe_layer_freq */
    int64_t n_group, topk_group;
    r1_score_func score_func;
    r1_topk_method topk_method;
    bool norm_topk_prob;
    float routed_scale; /* routed_scaling_factor */
    int64_t n_mtp;      /* num_nextn_predict_layers */
} r1_config;

/* Parses config.json text (len bytes). On error returns R1_FORMAT/R1_INVALID/
 * R1_UNSUPPORTED with a message naming the key, e.g.
 * "config: 'kv_lora_rank' must be > 0 (got -3)". `where` (the file name)
 * prefixes every message. */
r1_status r1_config_parse(r1_config *c, const char *json, size_t len, const char *where);
/* Reads and parses PATH/config.json or a config file path. */
r1_status r1_config_load(r1_config *c, const char *path);
/* Writes c back as HF config.json text (malloc'd, caller frees). */
r1_status r1_config_to_json(const r1_config *c, char **out);
/* Checks every value for consistency (positive sizes, K <= E, groups divide
 * E, topk_group <= n_group, ...). Called by parse; exposed for configs built in code. */
r1_status r1_config_validate(const r1_config *c);

/* Derived facts. */
static inline bool r1_config_is_mla(const r1_config *c) { return c->arch == R1_ARCH_DEEPSEEK; }
static inline bool r1_config_layer_is_moe(const r1_config *c, int64_t l) {
    return c->E > 0 && l >= c->first_dense && c->moe_freq > 0 && l % c->moe_freq == 0;
}

#endif
