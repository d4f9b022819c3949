/* checkpoint: the training checkpoint folder (see pretrain.h). Everything is
 * f32 and written bit-exactly, the rng state as hex, so a resumed run reads
 * back exactly the state an uninterrupted run holds at that step. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "io/safetensors.h"
#include "train/pretrain.h"

/* Writes slabs w0..w1 (0 params, 1 m, 2 v) of every parameter into one file. */
static r1_status write_slabs(const char *path, r1_train *t, int w0, int w1) {
    r1_train_slabs s = r1_train_get_slabs(t);
    static const char *const suffix[] = {"", ".exp_avg", ".exp_avg_sq"};
    int64_t n = s.n * (w1 - w0 + 1);
    r1_tensor *ts = calloc((size_t)n, sizeof *ts);
    char **names = calloc((size_t)n, sizeof *names);
    r1_status st = R1_OK;
    if (!ts || !names) st = r1_fail(R1_NOMEM, "checkpoint: out of memory");
    for (int64_t k = 0; k < n && st == R1_OK; k++) {
        int which = w0 + (int)(k / s.n);
        const float *base = which == 0 ? s.param : which == 1 ? s.m : s.v;
        const r1_train_param *p = &s.p[k % s.n];
        ts[k] = (r1_tensor){.dtype = R1_DT_F32, .ndim = p->ndim, .shape = {p->shape[0], p->shape[1]},
                            .data = (void *)(base + p->off)};
        size_t len = strlen(p->name) + strlen(suffix[which]) + 1;
        names[k] = malloc(len);
        if (!names[k]) st = r1_fail(R1_NOMEM, "checkpoint: out of memory");
        else snprintf(names[k], len, "%s%s", p->name, suffix[which]);
    }
    if (st == R1_OK) st = r1_st_write(path, ts, (const char *const *)names, n);
    for (int64_t k = 0; names && k < n; k++) free(names[k]);
    free(names);
    free(ts);
    return st;
}

static r1_status write_text(const char *dir, const char *name, const char *text) {
    char *path = r1_path_join(dir, name);
    if (!path) return r1_fail(R1_NOMEM, "checkpoint: out of memory");
    r1_status s = r1_file_write_atomic(path, text, strlen(text));
    free(path);
    return s;
}

r1_status r1_ckpt_save(const char *dir, r1_train *t, const r1_model *m, const r1_data *d) {
    R1_TRY(r1_file_dir_recover(dir));
    r1_file_dir fd;
    R1_TRY(r1_file_dir_begin(&fd, dir));
    char *json = NULL, *path = NULL, state[1024];
    r1_status s = r1_config_to_json(&m->cfg, &json);
    if (s == R1_OK) s = write_text(fd.tmp, "config.json", json);
    free(json);
    if (s == R1_OK && !(path = r1_path_join(fd.tmp, "model.safetensors"))) s = r1_fail(R1_NOMEM, "checkpoint: out of memory");
    if (s == R1_OK) s = write_slabs(path, t, 0, 0);
    free(path);
    path = NULL;
    if (s == R1_OK && !(path = r1_path_join(fd.tmp, "optimizer.safetensors"))) s = r1_fail(R1_NOMEM, "checkpoint: out of memory");
    if (s == R1_OK) s = write_slabs(path, t, 1, 2);
    free(path);
    if (s == R1_OK) {
        snprintf(state, sizeof state,
                 "{\n  \"step\": %" PRId64 ",\n  \"data_cursor\": %" PRId64 ",\n  \"rng\": [\"%016" PRIx64 "\", \"%016" PRIx64
                 "\", \"%016" PRIx64 "\", \"%016" PRIx64 "\"]\n}\n",
                 r1_train_steps_done(t), d->cursor, d->rng.s[0], d->rng.s[1], d->rng.s[2], d->rng.s[3]);
        s = write_text(fd.tmp, "trainer_state.json", state);
    }
    if (s != R1_OK) {
        r1_file_dir_abort(&fd);
        return r1_err_wrap(s, "checkpoint %s", dir);
    }
    return r1_file_dir_commit(&fd);
}

static r1_status read_slab(const char *dir, const char *file, r1_train *t, int which) {
    static const char *const suffix[] = {"", ".exp_avg", ".exp_avg_sq"};
    char *path = r1_path_join(dir, file);
    if (!path) return r1_fail(R1_NOMEM, "checkpoint: out of memory");
    r1_st *st = NULL;
    r1_status s = r1_st_open(&st, path);
    free(path);
    if (s != R1_OK) return s;
    r1_train_slabs sl = r1_train_get_slabs(t);
    float *base = which == 1 ? sl.m : sl.v;
    for (int64_t i = 0; i < sl.n && s == R1_OK; i++) {
        char name[300];
        snprintf(name, sizeof name, "%s%s", sl.p[i].name, suffix[which]);
        r1_tensor x;
        int64_t shape[2] = {sl.p[i].shape[0], sl.p[i].shape[1]};
        s = r1_st_get(st, name, R1_DT_F32, sl.p[i].ndim, shape, &x);
        if (s == R1_OK) memcpy(base + sl.p[i].off, x.data, (size_t)sl.p[i].n * sizeof(float));
    }
    r1_st_close(st);
    return s;
}

r1_status r1_ckpt_load(const char *dir, r1_train *t, r1_data *d) {
    R1_TRY(read_slab(dir, "optimizer.safetensors", t, 1));
    R1_TRY(read_slab(dir, "optimizer.safetensors", t, 2));
    char *path = r1_path_join(dir, "trainer_state.json"), *buf = NULL;
    size_t len;
    if (!path) return r1_fail(R1_NOMEM, "checkpoint: out of memory");
    r1_status s = r1_file_read_all(path, &buf, &len, 1 << 20);
    cJSON *j = NULL;
    if (s == R1_OK) s = r1_json_parse(&j, buf, len, path);
    int64_t step = -1, cursor = -1;
    const cJSON *rng = NULL;
    if (s == R1_OK) s = r1_json_get_int(j, "step", &step, NULL);
    if (s == R1_OK) s = r1_json_get_int(j, "data_cursor", &cursor, NULL);
    if (s == R1_OK) s = r1_json_get_arr(j, "rng", &rng, NULL);
    if (s == R1_OK && (step < 0 || cursor < 0 || !rng || cJSON_GetArraySize(rng) != 4))
        s = r1_fail(R1_FORMAT, "%s: needs step, data_cursor and a 4-word rng", path);
    for (int i = 0; s == R1_OK && i < 4; i++) {
        const cJSON *w = cJSON_GetArrayItem(rng, i);
        char *end;
        if (!cJSON_IsString(w) || (d->rng.s[i] = strtoull(w->valuestring, &end, 16), *end))
            s = r1_fail(R1_FORMAT, "%s: rng word %d is not a hex string", path, i);
    }
    if (s == R1_OK) {
        r1_train_set_steps_done(t, step);
        d->cursor = cursor;
    }
    cJSON_Delete(j);
    free(buf);
    free(path);
    return s;
}
