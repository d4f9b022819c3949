/* plot: metrics.jsonl -> one SVG of line charts (written by hand, no
 * library): reward, accuracy (training rollouts, held-out, format rate),
 * response and think length, KL and clip fraction for a GRPO run; loss and
 * held-out loss for a pretraining run. A panel is drawn when the file has any
 * of its keys. */
#ifndef R1_PLOT_H
#define R1_PLOT_H

#include "core/status.h"

/* Reads RUN/metrics.jsonl (or RUN itself when it is a file) and writes svg. */
r1_status r1_plot_run(const char *run, const char *svg);

#endif
