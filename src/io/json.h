/* json: thin helpers over Debian's cJSON for reading HF files (config.json,
 * safetensors headers and indexes). A getter tells apart a key that is absent,
 * one that is null and one of the wrong type, because HF configs use all three
 * with different meanings (q_lora_rank: null = no q compression). Messages name
 * the key: "'hidden_size' must be an integer (got string)"; callers prefix the
 * file with r1_err_wrap. Numbers are doubles in cJSON, so integers are accepted
 * only when integral and within +-2^53, where a double is exact. */
#ifndef R1_JSON_H
#define R1_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* What a getter found under a key. */
typedef enum { R1_JSON_ABSENT = 0, R1_JSON_NULL, R1_JSON_SET } r1_json_state;

/* Parses len bytes of text (need not be NUL-terminated) into *out (caller
 * frees with cJSON_Delete). Only whitespace may follow the value. Fails with
 * R1_FORMAT "<where>: parse error near byte N". */
r1_status r1_json_parse(cJSON **out, const char *text, size_t len, const char *where);

/* Typed getters on object obj. When the key is absent or null they return
 * R1_OK and leave *out untouched; *state (may be NULL) says which. A present
 * value of the wrong type is R1_FORMAT naming the key. */
r1_status r1_json_get_int(const cJSON *obj, const char *key, int64_t *out, r1_json_state *state);
r1_status r1_json_get_num(const cJSON *obj, const char *key, double *out, r1_json_state *state);
r1_status r1_json_get_bool(const cJSON *obj, const char *key, bool *out, r1_json_state *state);
/* *out points into the cJSON tree (valid until it is deleted). */
r1_status r1_json_get_str(const cJSON *obj, const char *key, const char **out, r1_json_state *state);
r1_status r1_json_get_obj(const cJSON *obj, const char *key, const cJSON **out, r1_json_state *state);
r1_status r1_json_get_arr(const cJSON *obj, const char *key, const cJSON **out, r1_json_state *state);

/* True when item is a number that is an exact integer in [-2^53, 2^53]. */
bool r1_json_as_int(const cJSON *item, int64_t *out);
/* "string", "number", "object", "array", "bool", "null" or "invalid". */
const char *r1_json_type_name(const cJSON *item);

#endif
