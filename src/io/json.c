/* json: parse with a byte offset on error, and typed getters (see json.h). */
#include "io/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

r1_status r1_json_parse(cJSON **out, const char *text, size_t len, const char *where) {
    *out = NULL;
    /* cJSON is given a private NUL-terminated copy: it then never depends on
     * the caller's buffer having a terminator or on its own length checks. */
    char *buf = malloc(len + 1);
    if (!buf) return r1_fail(R1_NOMEM, "%s: cannot allocate %zu bytes", where, len + 1);
    if (len) memcpy(buf, text, len);
    buf[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, false);
    size_t pos = end && end >= buf ? (size_t)(end - buf) : 0;
    if (!root) {
        free(buf);
        if (pos > len) pos = len;
        return r1_fail(R1_FORMAT, "%s: parse error near byte %zu", where, pos);
    }
    for (; pos < len; pos++) {
        char c = buf[pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            cJSON_Delete(root);
            free(buf);
            return r1_fail(R1_FORMAT, "%s: parse error near byte %zu (text after the value)", where,
                           pos);
        }
    }
    free(buf);
    *out = root;
    return R1_OK;
}

const char *r1_json_type_name(const cJSON *item) {
    if (!item) return "absent";
    if (cJSON_IsString(item)) return "string";
    if (cJSON_IsNumber(item)) return "number";
    if (cJSON_IsObject(item)) return "object";
    if (cJSON_IsArray(item)) return "array";
    if (cJSON_IsBool(item)) return "bool";
    if (cJSON_IsNull(item)) return "null";
    return "invalid";
}

bool r1_json_as_int(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    const double lim = 9007199254740992.0; /* 2^53 */
    if (!(v >= -lim && v <= lim) || v != floor(v)) return false;
    *out = (int64_t)v;
    return true;
}

/* Looks up key; returns the item when it is set (not absent, not null). */
static const cJSON *lookup(const cJSON *obj, const char *key, r1_json_state *state) {
    const cJSON *it = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    r1_json_state s = !it ? R1_JSON_ABSENT : cJSON_IsNull(it) ? R1_JSON_NULL : R1_JSON_SET;
    if (state) *state = s;
    return s == R1_JSON_SET ? it : NULL;
}

static r1_status wrong_type(const char *key, const char *want, const cJSON *it) {
    if (cJSON_IsNumber(it))
        return r1_fail(R1_FORMAT, "'%s' must be %s (got %.17g)", key, want, it->valuedouble);
    return r1_fail(R1_FORMAT, "'%s' must be %s (got %s)", key, want, r1_json_type_name(it));
}

r1_status r1_json_get_int(const cJSON *obj, const char *key, int64_t *out, r1_json_state *state) {
    const cJSON *it = lookup(obj, key, state);
    if (!it) return R1_OK;
    int64_t v;
    if (!r1_json_as_int(it, &v)) return wrong_type(key, "an integer", it);
    *out = v;
    return R1_OK;
}

r1_status r1_json_get_num(const cJSON *obj, const char *key, double *out, r1_json_state *state) {
    const cJSON *it = lookup(obj, key, state);
    if (!it) return R1_OK;
    if (!cJSON_IsNumber(it)) return wrong_type(key, "a number", it);
    *out = it->valuedouble;
    return R1_OK;
}

r1_status r1_json_get_bool(const cJSON *obj, const char *key, bool *out, r1_json_state *state) {
    const cJSON *it = lookup(obj, key, state);
    if (!it) return R1_OK;
    if (!cJSON_IsBool(it)) return wrong_type(key, "true or false", it);
    *out = cJSON_IsTrue(it);
    return R1_OK;
}

r1_status r1_json_get_str(const cJSON *obj, const char *key, const char **out, r1_json_state *state) {
    const cJSON *it = lookup(obj, key, state);
    if (!it) return R1_OK;
    if (!cJSON_IsString(it) || !it->valuestring) return wrong_type(key, "a string", it);
    *out = it->valuestring;
    return R1_OK;
}

r1_status r1_json_get_obj(const cJSON *obj, const char *key, const cJSON **out, r1_json_state *state) {
    const cJSON *it = lookup(obj, key, state);
    if (!it) return R1_OK;
    if (!cJSON_IsObject(it)) return wrong_type(key, "an object", it);
    *out = it;
    return R1_OK;
}

r1_status r1_json_get_arr(const cJSON *obj, const char *key, const cJSON **out, r1_json_state *state) {
    const cJSON *it = lookup(obj, key, state);
    if (!it) return R1_OK;
    if (!cJSON_IsArray(it)) return wrong_type(key, "an array", it);
    *out = it;
    return R1_OK;
}
