/* recipe: the demo model config (see recipe.h). */
#include "rl/recipe.h"

#include <stdio.h>
#include <string.h>

static const char *MODEL_JSON =
    "{\"architectures\": [\"DeepseekV3ForCausalLM\"], \"model_type\": \"deepseek_v3\", \"vocab_size\": %lld,"
    " \"hidden_size\": 128, \"intermediate_size\": 384, \"moe_intermediate_size\": 96, \"num_hidden_layers\": 4,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 4, \"q_lora_rank\": null, \"kv_lora_rank\": 64,"
    " \"qk_nope_head_dim\": 32, \"qk_rope_head_dim\": 16, \"v_head_dim\": 32, \"n_routed_experts\": 8,"
    " \"n_shared_experts\": 1, \"num_experts_per_tok\": 2, \"n_group\": 1, \"topk_group\": 1,"
    " \"topk_method\": \"noaux_tc\", \"scoring_func\": \"sigmoid\", \"norm_topk_prob\": true,"
    " \"routed_scaling_factor\": 1.0, \"first_k_dense_replace\": 1, \"moe_layer_freq\": 1,"
    " \"num_nextn_predict_layers\": 0, \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000,"
    " \"max_position_embeddings\": 256, \"rope_scaling\": null, \"tie_word_embeddings\": true,"
    " \"bos_token_id\": %lld, \"eos_token_id\": %lld, \"torch_dtype\": \"float32\"}";

r1_status r1_recipe_model(r1_config *c, int64_t vocab, int64_t bos, int64_t eos) {
    char json[2048];
    snprintf(json, sizeof json, MODEL_JSON, (long long)vocab, (long long)bos, (long long)eos);
    return r1_config_parse(c, json, strlen(json), "demo model");
}
