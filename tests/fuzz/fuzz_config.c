/* fuzz_config: the input bytes are a config.json. A config that parses must
 * validate, serialise, and read back to the same JSON (the round trip the
 * checkpoint writer relies on). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    r1_config c, d;
    if (r1_config_parse(&c, (const char *)data, size, "config.json") != R1_OK) return 0;
    R1_ASSERT(r1_config_validate(&c) == R1_OK);
    char *a = NULL, *b = NULL;
    R1_ASSERT(r1_config_to_json(&c, &a) == R1_OK);
    R1_ASSERT(r1_config_parse(&d, a, strlen(a), "round trip") == R1_OK);
    R1_ASSERT(r1_config_to_json(&d, &b) == R1_OK);
    R1_ASSERT(strcmp(a, b) == 0);
    free(a);
    free(b);
    return 0;
}
