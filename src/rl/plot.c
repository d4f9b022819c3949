/* plot: hand-written SVG line charts of metrics.jsonl (see plot.h). */
#include "rl/plot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

enum { MAX_SERIES = 4, PANEL_W = 300, PANEL_H = 210, COLS = 3 };

typedef struct {
    const char *title;
    const char *keys[MAX_SERIES];
} panel;

static const panel PANELS[] = {
    {"reward (mean over rollouts)", {"reward_mean"}},
    {"accuracy", {"accuracy", "eval_accuracy", "format"}},
    {"length (tokens)", {"response_len", "think_len"}},
    {"KL to reference / clip fraction", {"kl", "clip_frac"}},
    {"entropy (nats/token)", {"entropy"}},
    {"loss", {"loss", "heldout_loss"}},
};
static const char *COLORS[MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

typedef struct {
    double *x, *y;
    int64_t n, cap;
} series;

static int push(series *s, double x, double y) {
    if (s->n == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 256;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (!nx) return -1;
        s->x = nx;
        double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
        if (!ny) return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return 0;
}

static void draw(FILE *f, const panel *p, series *ser, int px, int py) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < MAX_SERIES && p->keys[k]; k++)
        for (int64_t i = 0; i < ser[k].n; i++) {
            x0 = fmin(x0, ser[k].x[i]), x1 = fmax(x1, ser[k].x[i]);
            y0 = fmin(y0, ser[k].y[i]), y1 = fmax(y1, ser[k].y[i]);
        }
    if (y0 > 0 && y0 < 0.5 * y1) y0 = 0; /* anchor at zero when it is near */
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + (y0 == 0 ? 1 : fabs(y0) * 0.1);
    int L = px + 48, R = px + PANEL_W - 10, T = py + 26, B = py + PANEL_H - 28;
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#999'/>\n", L, T, R - L, B - T);
    fprintf(f, "<text x='%d' y='%d' font-size='13' font-weight='bold'>%s</text>\n", px + 8, py + 16, p->title);
    fprintf(f, "<text x='%d' y='%d' font-size='10' text-anchor='end'>%.3g</text>\n", L - 4, T + 8, y1);
    fprintf(f, "<text x='%d' y='%d' font-size='10' text-anchor='end'>%.3g</text>\n", L - 4, B, y0);
    fprintf(f, "<text x='%d' y='%d' font-size='10'>%.0f</text>\n", L, B + 13, x0);
    fprintf(f, "<text x='%d' y='%d' font-size='10' text-anchor='end'>%.0f</text>\n", R, B + 13, x1);
    fprintf(f, "<text x='%d' y='%d' font-size='10' text-anchor='middle'>step</text>\n", (L + R) / 2, B + 13);
    for (int k = 0; k < MAX_SERIES && p->keys[k]; k++) {
        if (ser[k].n == 0) continue;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", COLORS[k]);
        for (int64_t i = 0; i < ser[k].n; i++)
            fprintf(f, "%.1f,%.1f ", L + (ser[k].x[i] - x0) / (x1 - x0) * (R - L),
                    B - (ser[k].y[i] - y0) / (y1 - y0) * (B - T));
        fprintf(f, "'/>\n");
        if (ser[k].n == 1)
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n", L + (ser[k].x[0] - x0) / (x1 - x0) * (R - L),
                    B - (ser[k].y[0] - y0) / (y1 - y0) * (B - T), COLORS[k]);
        fprintf(f, "<text x='%d' y='%d' font-size='10' fill='%s'>%s</text>\n", L + 6, T + 14 + 12 * k, COLORS[k],
                p->keys[k]);
    }
}

r1_status r1_plot_run(const char *run, const char *svg) {
    char *path = r1_file_is_dir(run) ? r1_path_join(run, "metrics.jsonl") : strdup(run);
    if (!path) return r1_fail(R1_NOMEM, "plot: out of memory");
    char *buf = NULL;
    size_t len = 0;
    r1_status s = r1_file_read_all(path, &buf, &len, (size_t)1 << 30);
    free(path);
    if (s != R1_OK) return s;
    enum { NP = sizeof PANELS / sizeof *PANELS };
    series ser[NP][MAX_SERIES];
    memset(ser, 0, sizeof ser);
    for (char *line = buf; s == R1_OK && line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        cJSON *o = n ? cJSON_ParseWithLength(line, n) : NULL;
        const cJSON *st = o ? cJSON_GetObjectItemCaseSensitive(o, "step") : NULL;
        if (cJSON_IsNumber(st))
            for (int p = 0; p < NP; p++)
                for (int k = 0; k < MAX_SERIES && PANELS[p].keys[k]; k++) {
                    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, PANELS[p].keys[k]);
                    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && push(&ser[p][k], st->valuedouble, v->valuedouble))
                        s = r1_fail(R1_NOMEM, "plot: out of memory");
                }
        cJSON_Delete(o);
        line += n + 1;
    }
    free(buf);
    int shown[NP], n_shown = 0;
    for (int p = 0; p < NP; p++) {
        bool any = false;
        for (int k = 0; k < MAX_SERIES; k++) any |= ser[p][k].n > 0;
        if (any) shown[n_shown++] = p;
    }
    if (s == R1_OK && n_shown == 0) s = r1_fail(R1_FORMAT, "plot: %s has no plottable metrics", run);
    r1_file_atomic f = {0};
    FILE *mem = NULL;
    char *out = NULL;
    size_t out_len = 0;
    if (s == R1_OK && !(mem = open_memstream(&out, &out_len))) s = r1_fail(R1_NOMEM, "plot: out of memory");
    if (s == R1_OK) {
        int rows = (n_shown + COLS - 1) / COLS;
        fprintf(mem, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n",
                COLS * PANEL_W, rows * PANEL_H);
        fprintf(mem, "<rect width='100%%' height='100%%' fill='white'/>\n");
        for (int i = 0; i < n_shown; i++) draw(mem, &PANELS[shown[i]], ser[shown[i]], (i % COLS) * PANEL_W, (i / COLS) * PANEL_H);
        fprintf(mem, "</svg>\n");
        fclose(mem);
        s = r1_file_atomic_open(&f, svg);
        if (s == R1_OK) s = r1_file_atomic_write(&f, out, out_len);
        if (s == R1_OK) s = r1_file_atomic_commit(&f);
        else r1_file_atomic_abort(&f);
    }
    free(out);
    for (int p = 0; p < NP; p++)
        for (int k = 0; k < MAX_SERIES; k++) free(ser[p][k].x), free(ser[p][k].y);
    return s;
}
