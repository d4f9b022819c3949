/* sft: response-only cross-entropy over prompt/response pairs (see sft.h). */
#include "rl/sft.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "dist/dist.h"
#include "infer/generate.h"
#include "io/file.h"

void r1_sft_defaults(r1_sft_cfg *c) {
    *c = (r1_sft_cfg){.B = 16, .epochs = 3, .lr = 1e-3f, .min_lr = 1e-4f, .wd = 0.0f, .warmup = 10, .seed = 1};
}

r1_status r1_sft_example_make(const r1_tok *tok, const char *prompt, const char *response, r1_sft_example *ex) {
    int32_t *a = NULL, *b = NULL;
    int64_t na = 0, nb = 0;
    *ex = (r1_sft_example){0};
    R1_TRY(r1_tok_encode(tok, prompt, strlen(prompt), 1, &a, &na));
    r1_status s = r1_tok_encode(tok, response, strlen(response), 0, &b, &nb);
    int32_t eos = r1_tok_eos(tok);
    int32_t *ids = s == R1_OK ? malloc((size_t)(na + nb + 1) * sizeof *ids) : NULL;
    if (s == R1_OK && !ids) s = r1_fail(R1_NOMEM, "sft: out of memory");
    if (s == R1_OK) {
        memcpy(ids, a, (size_t)na * sizeof *ids);
        memcpy(ids + na, b, (size_t)nb * sizeof *ids);
        *ex = (r1_sft_example){.ids = ids, .n = na + nb, .from = na};
        if (eos >= 0) ids[ex->n++] = eos;
    }
    free(a);
    free(b);
    return s;
}

void r1_sft_examples_free(r1_sft_example *ex, int64_t n) {
    for (int64_t i = 0; ex && i < n; i++) free(ex[i].ids);
    free(ex);
}

r1_status r1_sft_load_jsonl(const char *path, const r1_tok *tok, r1_sft_example **out, int64_t *n_out) {
    *out = NULL, *n_out = 0;
    char *buf = NULL;
    size_t len = 0;
    R1_TRY(r1_file_read_all(path, &buf, &len, (size_t)1 << 31));
    int64_t n = 0, cap = 0, line_no = 0;
    r1_sft_example *ex = NULL;
    r1_status s = R1_OK;
    for (char *line = buf; s == R1_OK && line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t k = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        line_no++;
        size_t i = 0;
        while (i < k && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i < k) {
            cJSON *o = cJSON_ParseWithLength(line, k);
            const cJSON *p = o ? cJSON_GetObjectItemCaseSensitive(o, "prompt") : NULL;
            const cJSON *r = o ? cJSON_GetObjectItemCaseSensitive(o, "response") : NULL;
            if (!cJSON_IsString(p) || !cJSON_IsString(r)) {
                s = r1_fail(R1_FORMAT, "%s:%lld: need a JSON object with string \"prompt\" and \"response\"", path,
                            (long long)line_no);
            } else {
                if (n == cap) {
                    r1_sft_example *e2 = realloc(ex, (size_t)(cap = cap ? cap * 2 : 256) * sizeof *ex);
                    if (!e2) s = r1_fail(R1_NOMEM, "sft: out of memory");
                    else ex = e2;
                }
                if (s == R1_OK) s = r1_sft_example_make(tok, p->valuestring, r->valuestring, &ex[n]);
                if (s == R1_OK) n++;
            }
            cJSON_Delete(o);
        }
        line += k + 1;
    }
    free(buf);
    if (s == R1_OK && n == 0) s = r1_fail(R1_FORMAT, "%s: no examples", path);
    if (s != R1_OK) {
        r1_sft_examples_free(ex, n);
        return s;
    }
    *out = ex;
    *n_out = n;
    return R1_OK;
}

/* Data parallel: every rank draws the same global batch of B examples (same
 * seeded shuffle) and trains rows [r*B/n, (r+1)*B/n) of it; the weights are
 * 1/(response tokens of the global batch), so the summed gradient is the
 * one-process token mean. */
r1_status r1_sft_run(r1_policy *p, const r1_sft_example *ex, int64_t n, const r1_sft_cfg *c, r1_sft_result *res) {
    *res = (r1_sft_result){0};
    if (n < 1) return r1_fail(R1_INVALID, "sft: no examples");
    int64_t T = 2;
    for (int64_t i = 0; i < n; i++) T = ex[i].n > T ? ex[i].n : T;
    if (T > p->m->cfg.max_pos)
        return r1_fail(R1_LIMIT, "sft: an example of %lld tokens exceeds max_position_embeddings %lld", (long long)T,
                       (long long)p->m->cfg.max_pos);
    int64_t B = c->B < n ? c->B : n, per_epoch = (n + B - 1) / B;
    int size = r1_dist_size();
    bool root = r1_dist_is_root();
    if (B % size != 0)
        return r1_fail(R1_INVALID, "sft: the global batch of %lld examples does not split over %d ranks "
                                   "(give --batch a multiple of the rank count)", (long long)B, size);
    int64_t Bl = B / size, first = r1_dist_rank() * Bl;
    int64_t steps = c->max_steps > 0 ? c->max_steps : per_epoch * c->epochs;
    r1_train_opts o;
    r1_train_opts_default(&o);
    o.B = Bl, o.T = T, o.lr = c->lr, o.min_lr = c->min_lr, o.warmup = c->warmup, o.total_steps = steps;
    o.weight_decay = c->wd, o.mtp_lambda = 0.0f, o.seed = c->seed;
    R1_TRY(r1_policy_train(p, &o));
    R1_TRY(r1_train_bcast(p->t, 0));
    int64_t *order = malloc((size_t)n * sizeof *order);
    r1_seqview *v = malloc((size_t)B * sizeof *v);
    int32_t *tok = malloc((size_t)(Bl * T) * sizeof *tok), *tgt = malloc((size_t)(Bl * T) * sizeof *tgt);
    float *w = malloc((size_t)(Bl * T) * sizeof *w);
    FILE *mf = NULL;
    r1_status s = order && v && tok && tgt && w ? R1_OK : r1_fail(R1_NOMEM, "sft: out of memory");
    if (s == R1_OK && root && c->metrics && !(mf = fopen(c->metrics, "w")))
        s = r1_fail(R1_IO, "%s: %s", c->metrics, strerror(errno));
    r1_rng rng;
    r1_rng_seed(&rng, c->seed);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    double t0 = r1_now();
    int64_t cursor = n;
    for (int64_t step = 1; s == R1_OK && step <= steps; step++) {
        int64_t targets = 0;
        for (int64_t cnt = 0; cnt < B; cnt++) {
            if (cursor == n) { /* new epoch: Fisher-Yates */
                for (int64_t i = n - 1; i > 0; i--) {
                    int64_t j = (int64_t)r1_rng_below(&rng, (uint64_t)(i + 1)), tmp = order[i];
                    order[i] = order[j], order[j] = tmp;
                }
                cursor = 0;
            }
            const r1_sft_example *e = &ex[order[cursor++]];
            v[cnt] = (r1_seqview){.ids = e->ids, .n = e->n, .from = e->from, .w = 0.0f};
            targets += e->n - e->from;
        }
        for (int64_t i = 0; i < B; i++) v[i].w = 1.0f / (float)(targets > 0 ? targets : 1);
        r1_rows_fill(Bl, T, v + first, Bl, tok, tgt, w, NULL);
        r1_train_batch b = {.tokens = tok, .targets = tgt, .weight = w};
        r1_train_loss L;
        s = r1_train_forward(p->t, &b, NULL, &L);
        if (s != R1_OK) break;
        r1_train_backward(p->t, NULL);
        if ((s = r1_dist_allreduce_f64(&L.loss, 1, R1_DIST_SUM)) != R1_OK) break;
        if ((s = r1_train_allreduce(p->t, NULL)) != R1_OK) break;
        r1_train_stats st;
        r1_train_step(p->t, &st);
        if (step == 1) res->first_loss = L.loss;
        res->last_loss = L.loss;
        res->steps = step;
        res->tokens += targets;
        if (mf) {
            fprintf(mf, "{\"step\": %lld, \"loss\": %.6f, \"lr\": %.6g, \"grad_norm\": %.6g}\n", (long long)step, L.loss,
                    st.lr, st.grad_norm);
            fflush(mf);
        }
        if (root && !c->quiet && (step % 20 == 0 || step == steps))
            fprintf(stderr, "sft %lld/%lld loss %.4f lr %.2e | %.0f s\n", (long long)step, (long long)steps, L.loss, st.lr,
                    r1_now() - t0);
    }
    if (s == R1_OK) s = r1_train_check_replicas(p->t); /* the model rank 0 saves is every rank's */
    res->examples = n;
    res->seconds = r1_now() - t0;
    if (mf) fclose(mf);
    free(order), free(v), free(tok), free(tgt), free(w);
    return s;
}
