/* batch: the continuous-batching step (see batch.h). Rows of a step are laid
 * out decode rows first, then prefill chunks in slot order; the forward takes
 * logits only for rows that end a prompt or carry a decoded token.
 * Prompt prefixes are shared: a prefilling sequence copies the cached
 * positions of the longest prefix it has in common with another slot's fed
 * prompt, and waits a step while a lower slot is still computing a longer
 * one. A GRPO group (G copies of one prompt) thus prefills its prompt once,
 * plus one row per copy for the last prompt token, whose logits each copy
 * samples on its own. */
#include "infer/batch.h"

#include <stdlib.h>
#include <string.h>

r1_status r1_engine_create(r1_engine **out, r1_model *m, int n_slots, int64_t max_ctx, int64_t step_rows) {
    *out = NULL;
    if (n_slots < 1 || step_rows < n_slots)
        return r1_fail(R1_INVALID, "engine: need n_slots >= 1 and step_rows >= n_slots (got %d, %lld)", n_slots,
                       (long long)step_rows);
    r1_engine *e = calloc(1, sizeof *e);
    if (!e) return r1_fail(R1_NOMEM, "engine: out of memory");
    e->m = m;
    e->n_slots = n_slots;
    e->step_rows = step_rows;
    r1_status s = r1_kvcache_init(&e->kv, &m->cfg, n_slots, max_ctx);
    e->seqs = calloc((size_t)n_slots, sizeof *e->seqs);
    e->tok = malloc((size_t)step_rows * sizeof(int32_t));
    e->slot = malloc((size_t)step_rows * sizeof(int32_t));
    e->pos = malloc((size_t)step_rows * sizeof(int64_t));
    e->out_rows = malloc((size_t)step_rows * sizeof(int64_t));
    e->out_seq = malloc((size_t)step_rows * sizeof(int));
    e->sampled = malloc((size_t)step_rows * sizeof(int32_t));
    e->logits = malloc((size_t)n_slots * (size_t)m->cfg.vocab * sizeof(float));
    if (s == R1_OK && (!e->seqs || !e->tok || !e->slot || !e->pos || !e->out_rows || !e->out_seq || !e->sampled ||
                         !e->logits))
        s = r1_fail(R1_NOMEM, "engine: out of memory");
    if (s == R1_OK) s = r1_model_reserve(m, step_rows, max_ctx);
    if (s != R1_OK) {
        r1_engine_destroy(e);
        return s;
    }
    *out = e;
    return R1_OK;
}

void r1_engine_release(r1_engine *e, int slot) {
    r1_seq *q = &e->seqs[slot];
    r1_sampler_free(&q->sampler);
    free(q->prompt);
    free(q->out);
    free(q->stop_ids);
    *q = (r1_seq){0};
    r1_kvcache_clear(&e->kv, slot);
}

void r1_engine_destroy(r1_engine *e) {
    if (!e) return;
    for (int i = 0; e->seqs && i < e->n_slots; i++) r1_engine_release(e, i);
    r1_kvcache_free(&e->kv);
    free(e->seqs);
    free(e->tok);
    free(e->slot);
    free(e->pos);
    free(e->out_rows);
    free(e->out_seq);
    free(e->sampled);
    free(e->logits);
    free(e);
}

r1_status r1_engine_add(r1_engine *e, const int32_t *prompt, int64_t n, const r1_seq_params *p, int *slot) {
    if (n < 1) return r1_fail(R1_INVALID, "engine: empty prompt");
    if (n + 1 > e->kv.max_ctx)
        return r1_fail(R1_LIMIT, "engine: prompt of %lld tokens does not fit the context of %lld", (long long)n,
                       (long long)e->kv.max_ctx);
    for (int i = 0; i < e->n_slots; i++) {
        r1_seq *q = &e->seqs[i];
        if (q->state != R1_SEQ_FREE) continue;
        *q = (r1_seq){.state = R1_SEQ_PREFILL, .p = *p, .n_prompt = n};
        int64_t cap = p->max_new < e->kv.max_ctx - n ? p->max_new : e->kv.max_ctx - n;
        q->prompt = malloc((size_t)n * sizeof(int32_t));
        q->out = malloc((size_t)(cap > 0 ? cap : 1) * sizeof(int32_t));
        q->stop_ids = malloc((size_t)(p->n_stop_ids > 0 ? p->n_stop_ids : 1) * sizeof(int32_t));
        q->p.max_new = cap;
        r1_status s = r1_sampler_init(&q->sampler, &p->sampling, e->m->cfg.vocab);
        if (s == R1_OK && (!q->prompt || !q->out || !q->stop_ids)) s = r1_fail(R1_NOMEM, "engine: out of memory");
        if (s != R1_OK) {
            r1_engine_release(e, i);
            return s;
        }
        memcpy(q->prompt, prompt, (size_t)n * sizeof(int32_t));
        if (p->n_stop_ids > 0) memcpy(q->stop_ids, p->stop_ids, (size_t)p->n_stop_ids * sizeof(int32_t));
        q->p.stop_ids = q->stop_ids;
        r1_kvcache_clear(&e->kv, i);
        *slot = i;
        return R1_OK;
    }
    return r1_fail(R1_LIMIT, "engine: all %d slots are busy", e->n_slots);
}

bool r1_engine_busy(const r1_engine *e) {
    for (int i = 0; i < e->n_slots; i++)
        if (e->seqs[i].state == R1_SEQ_PREFILL || e->seqs[i].state == R1_SEQ_DECODE) return true;
    return false;
}

static void finish(r1_seq *q, r1_stop_reason why) {
    q->state = R1_SEQ_DONE;
    q->reason = why;
}

/* A prefilling sequence that asked for no new tokens ends without a draw. */
static bool draws(const r1_seq *q) { return !(q->state == R1_SEQ_PREFILL && q->p.max_new == 0); }

static void sample_rows(void *ctx, int64_t lo, int64_t hi, int ith) {
    (void)ith;
    r1_engine *e = ctx;
    for (int64_t r = lo; r < hi; r++) {
        r1_seq *q = &e->seqs[e->out_seq[r]];
        if (draws(q)) e->sampled[r] = r1_sampler_sample(&q->sampler, e->logits + r * e->m->cfg.vocab);
    }
}

/* Draws every output row's token: each sequence has its own sampler, so the
 * rows split across the pool without changing a token. Serial, sampling was
 * 9-15% of a batched decode step (a softmax and a sort of the vocabulary per
 * row) while the other threads waited. */
static void sample_all(r1_engine *e, int64_t n_out) {
    r1_pool *pool = e->m->pool;
    if (n_out >= 2 && n_out * e->m->cfg.vocab >= 4096 && r1_pool_size(pool) > 1)
        r1_pool_for(pool, n_out, 1, sample_rows, e);
    else
        sample_rows(e, 0, n_out, 0);
}

/* Takes token tok as the next of sequence i. */
static void advance(r1_engine *e, int i, int32_t tok) {
    r1_seq *q = &e->seqs[i];
    for (int64_t k = 0; k < q->p.n_stop_ids; k++)
        if (q->p.stop_ids[k] == tok) return finish(q, R1_STOP_EOS);
    q->out[q->n_out++] = tok;
    if (q->p.on_token && !q->p.on_token(q->p.ctx, i, tok)) return finish(q, R1_STOP_CALLBACK);
    if (q->n_out >= q->p.max_new) return finish(q, R1_STOP_LENGTH);
    q->next = tok;
    q->state = R1_SEQ_DECODE;
}

/* Common prefix of a[0..na) and b[0..nb). */
static int64_t common_prefix(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
    int64_t n = 0, lim = na < nb ? na : nb;
    while (n < lim && a[n] == b[n]) n++;
    return n;
}

/* Copies shared prompt prefixes into prefilling slots and marks the ones that
 * should wait for a lower slot's prefill. The last prompt token is never
 * copied: each sequence computes its own logits from it. */
static void share_prefixes(r1_engine *e) {
    for (int i = 0; i < e->n_slots; i++) {
        r1_seq *q = &e->seqs[i];
        if (q->state != R1_SEQ_PREFILL) continue;
        q->waiting = false;
        int64_t limit = q->n_prompt - 1, best = q->n_fed;
        int donor = -1;
        for (int d = 0; d < e->n_slots && q->n_fed < limit; d++) {
            const r1_seq *o = &e->seqs[d];
            if (d == i || o->state == R1_SEQ_FREE) continue;
            int64_t have = o->n_fed < e->kv.len[d] ? o->n_fed : e->kv.len[d];
            int64_t n = common_prefix(q->prompt, limit, o->prompt, have);
            if (n > best) best = n, donor = d;
        }
        if (donor >= 0) {
            r1_kvcache_copy(&e->kv, i, donor, best);
            q->n_fed = best;
        }
        for (int d = 0; d < i && q->n_fed < limit; d++) {
            const r1_seq *o = &e->seqs[d];
            if (o->state == R1_SEQ_PREFILL && common_prefix(q->prompt, limit, o->prompt, o->n_prompt) > q->n_fed)
                q->waiting = true;
        }
    }
}

r1_status r1_engine_step(r1_engine *e) {
    int64_t N = 0, n_out = 0;
    share_prefixes(e);
    for (int i = 0; i < e->n_slots; i++) { /* decode rows first: latency of running requests */
        r1_seq *q = &e->seqs[i];
        if (q->state != R1_SEQ_DECODE) continue;
        if (q->p.max_new == 0) {
            finish(q, R1_STOP_LENGTH);
            continue;
        }
        e->tok[N] = q->next;
        e->slot[N] = i;
        e->pos[N] = e->kv.len[i];
        e->out_seq[n_out] = i;
        e->out_rows[n_out++] = N++;
    }
    for (int i = 0; i < e->n_slots && N < e->step_rows; i++) {
        r1_seq *q = &e->seqs[i];
        if (q->state != R1_SEQ_PREFILL || q->waiting) continue;
        int64_t take = q->n_prompt - q->n_fed, room = e->step_rows - N;
        take = take < room ? take : room;
        for (int64_t k = 0; k < take; k++, N++) {
            e->tok[N] = q->prompt[q->n_fed + k];
            e->slot[N] = i;
            e->pos[N] = q->n_fed + k;
        }
        q->n_fed += take;
        if (q->n_fed == q->n_prompt) {
            e->out_seq[n_out] = i;
            e->out_rows[n_out++] = N - 1;
        }
    }
    if (N == 0) return R1_OK;
    r1_batch b = {N, e->tok, e->slot, e->pos};
    R1_TRY(r1_model_forward(e->m, &e->kv, &b, e->out_rows, n_out, e->logits));
    sample_all(e, n_out);
    for (int64_t r = 0; r < n_out; r++) { /* in order, on this thread: callbacks stream tokens */
        int i = e->out_seq[r];
        if (!draws(&e->seqs[i])) {
            finish(&e->seqs[i], R1_STOP_LENGTH);
            continue;
        }
        advance(e, i, e->sampled[r]);
    }
    e->steps++;
    e->rows_done += N;
    return R1_OK;
}
