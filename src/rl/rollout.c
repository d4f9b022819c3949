/* rollout: a job queue over r1_engine (see rollout.h). Text is rebuilt from
 * token pieces as tokens arrive so the stop string is found without decoding
 * whole sequences each step. */
#include "rl/rollout.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const r1_tok *tok;
    const char *stop;
    size_t stop_len;
    r1_rollout_job *jobs;
    int64_t *owner; /* [n_slots] job index of each slot, -1 when free */
    r1_status err;
} ctx;

static r1_status append(r1_rollout_job *j, const char *s, size_t n) {
    if (!j->text || j->len + n + 1 > j->cap) {
        size_t cap = (j->len + n + 1) * 2 > 64 ? (j->len + n + 1) * 2 : 64;
        char *t = realloc(j->text, cap);
        if (!t) return r1_fail(R1_NOMEM, "rollout: out of memory");
        j->text = t;
        j->cap = cap;
    }
    memcpy(j->text + j->len, s, n);
    j->len += n;
    j->text[j->len] = '\0';
    return R1_OK;
}

static bool on_token(void *vc, int slot, int32_t tok) {
    ctx *c = vc;
    r1_rollout_job *j = &c->jobs[c->owner[slot]];
    if (!c->tok) return true;
    size_t n = 0;
    const char *p = r1_tok_piece(c->tok, tok, &n);
    if (p && n && c->err == R1_OK) c->err = append(j, p, n);
    if (c->err != R1_OK) return false;
    return !(c->stop_len && j->len >= c->stop_len && !memcmp(j->text + j->len - c->stop_len, c->stop, c->stop_len));
}

/* Copies a finished slot's tokens into its job and frees the slot. */
static r1_status harvest(r1_engine *e, ctx *c, int slot, int32_t eos) {
    r1_seq *q = &e->seqs[slot];
    r1_rollout_job *j = &c->jobs[c->owner[slot]];
    j->reason = q->reason;
    j->out = malloc((size_t)(q->n_out + 1) * sizeof(int32_t));
    if (!j->out) return r1_fail(R1_NOMEM, "rollout: out of memory");
    if (q->n_out) memcpy(j->out, q->out, (size_t)q->n_out * sizeof(int32_t));
    j->n_out = q->n_out;
    if (q->reason == R1_STOP_EOS && eos >= 0) j->out[j->n_out++] = eos;
    if (!j->text) R1_TRY(append(j, "", 0));
    r1_engine_release(e, slot);
    c->owner[slot] = -1;
    return R1_OK;
}

r1_status r1_rollout_run(r1_engine *e, const r1_tok *tok, r1_rollout_job *jobs, int64_t n, const r1_rollout_opts *o,
                         int64_t *gen_tokens) {
    ctx c = {.tok = tok, .stop = o->stop, .stop_len = o->stop ? strlen(o->stop) : 0, .jobs = jobs};
    c.owner = malloc((size_t)e->n_slots * sizeof(int64_t));
    if (!c.owner) return r1_fail(R1_NOMEM, "rollout: out of memory");
    for (int i = 0; i < e->n_slots; i++) c.owner[i] = -1;
    for (int64_t i = 0; i < n; i++) {
        jobs[i].out = NULL, jobs[i].text = NULL;
        jobs[i].n_out = 0, jobs[i].len = 0, jobs[i].cap = 0;
    }
    int32_t stop_ids[1] = {o->eos};
    r1_status s = R1_OK;
    int64_t next = 0, done = 0, total = 0;
    while (s == R1_OK && done < n) {
        for (int slot = 0; slot < e->n_slots && next < n && s == R1_OK; slot++) {
            if (c.owner[slot] >= 0) continue;
            r1_seq_params sp = {.max_new = o->max_new,
                                .sampling = {.temp = o->temp, .top_k = 0, .top_p = o->top_p, .min_p = 0,
                                             .seed = jobs[next].seed},
                                .stop_ids = stop_ids,
                                .n_stop_ids = o->eos >= 0,
                                .on_token = on_token,
                                .ctx = &c};
            int got;
            s = r1_engine_add(e, jobs[next].prompt, jobs[next].n_prompt, &sp, &got);
            if (s != R1_OK) break;
            c.owner[got] = next++;
        }
        if (s == R1_OK) s = r1_engine_step(e);
        if (s == R1_OK && c.err != R1_OK) s = c.err;
        for (int slot = 0; slot < e->n_slots && s == R1_OK; slot++) {
            if (c.owner[slot] < 0 || e->seqs[slot].state != R1_SEQ_DONE) continue;
            total += e->seqs[slot].n_out;
            s = harvest(e, &c, slot, o->eos);
            done++;
        }
    }
    for (int slot = 0; slot < e->n_slots; slot++) /* after a failure: leave the engine idle */
        if (c.owner[slot] >= 0) r1_engine_release(e, slot);
    free(c.owner);
    if (gen_tokens) *gen_tokens = total;
    return s;
}

void r1_rollout_jobs_free(r1_rollout_job *jobs, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        free(jobs[i].out);
        free(jobs[i].text);
        jobs[i].out = NULL, jobs[i].text = NULL;
    }
}
