/* stop: hold back the longest tail that is a prefix of some stop string. */
#include "infer/stop.h"

#include <stdlib.h>
#include <string.h>

void r1_stopper_init(r1_stopper *s, const char *const *stops, int n_stops) {
    *s = (r1_stopper){.stops = stops, .n_stops = n_stops};
}

void r1_stopper_free(r1_stopper *s) {
    free(s->held);
    s->held = NULL;
    s->len = s->cap = 0;
}

/* Emits held[0..n) and keeps the rest at the front of the buffer. The emitted
 * bytes are parked past the kept tail so the pointer stays valid. */
static void emit_prefix(r1_stopper *s, size_t n, const char **emit, size_t *emit_len) {
    size_t keep = s->len - n;
    /* buffer has room for len*2: copy the emitted part after the kept tail */
    memmove(s->held + s->len, s->held, n);
    memmove(s->held, s->held + n, keep);
    *emit = s->held + s->len;
    *emit_len = n;
    s->len = keep;
}

r1_status r1_stopper_feed(r1_stopper *s, const char *text, size_t len, const char **emit, size_t *emit_len) {
    *emit = "";
    *emit_len = 0;
    if (s->stopped) return R1_OK;
    if ((s->len + len) * 2 + 1 > s->cap) {
        size_t cap = (s->len + len) * 2 + 64;
        char *nb = realloc(s->held, cap);
        if (!nb) return r1_fail(R1_NOMEM, "stop: out of memory");
        s->held = nb;
        s->cap = cap;
    }
    memcpy(s->held + s->len, text, len);
    s->len += len;
    size_t first = s->len;
    for (int i = 0; i < s->n_stops; i++) {
        size_t k = strlen(s->stops[i]);
        if (!k || k > s->len) continue;
        for (size_t at = 0; at + k <= s->len && at < first; at++)
            if (!memcmp(s->held + at, s->stops[i], k)) {
                first = at;
                break;
            }
    }
    if (first < s->len) {
        s->stopped = true;
        s->len = first;
        emit_prefix(s, first, emit, emit_len);
        return R1_OK;
    }
    size_t hold = 0; /* longest tail that is a proper prefix of a stop string */
    for (int i = 0; i < s->n_stops; i++) {
        size_t k = strlen(s->stops[i]);
        for (size_t t = k - (k > 0); t > hold; t--)
            if (t <= s->len && !memcmp(s->held + s->len - t, s->stops[i], t)) {
                hold = t;
                break;
            }
    }
    emit_prefix(s, s->len - hold, emit, emit_len);
    return R1_OK;
}

void r1_stopper_flush(r1_stopper *s, const char **emit, size_t *emit_len) {
    if (!s->held) {
        *emit = "";
        *emit_len = 0;
        return;
    }
    emit_prefix(s, s->len, emit, emit_len);
}
