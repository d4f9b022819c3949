/* stop: stop-string matching over streamed text. Text that could still turn
 * into a stop string is held back, so a caller that prints what feed() returns
 * never shows part of a stop string. */
#ifndef R1_STOP_H
#define R1_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

typedef struct {
    const char *const *stops; /* not owned */
    int n_stops;
    char *held;
    size_t len, cap;
    bool stopped;
} r1_stopper;

void r1_stopper_init(r1_stopper *s, const char *const *stops, int n_stops);
void r1_stopper_free(r1_stopper *s);
/* Appends text; points emit (emit_len bytes) at the text now safe to show (valid
 * until the next call). After a match, stopped is true and emit ends just
 * before the stop string. */
r1_status r1_stopper_feed(r1_stopper *s, const char *text, size_t len, const char **emit, size_t *emit_len);
/* End of stream: everything still held back is safe. */
void r1_stopper_flush(r1_stopper *s, const char **emit, size_t *emit_len);

#endif
