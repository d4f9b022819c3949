/* eval: batched held-out evaluation (see eval.h). */
#include "rl/eval.h"

#include <stdlib.h>
#include <string.h>

#include "infer/generate.h"

int64_t r1_think_tokens(const r1_tok *tok, const char *text, size_t len) {
    r1_parsed q = r1_reward_parse(text, len);
    if (!q.think || q.think_len == 0) return 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    if (r1_tok_encode(tok, q.think, q.think_len, 0, &ids, &n) != R1_OK) n = 0;
    free(ids);
    return n;
}

static bool has_steps(const char *text, size_t len) {
    r1_parsed q = r1_reward_parse(text, len);
    for (size_t i = 0; q.think && i < q.think_len; i++)
        if (q.think[i] != ' ' && q.think[i] != '\n') return true;
    return false;
}

void r1_eval_free_jobs(r1_rollout_job *jobs, r1_item *items, int64_t n) {
    if (jobs) r1_rollout_jobs_free(jobs, n);
    for (int64_t i = 0; items && i < n; i++) r1_item_free(&items[i]);
    free(jobs);
    free(items);
}

r1_status r1_eval_run(r1_engine *e, const r1_tok *tok, const r1_taskset *ts, const r1_eval_opts *o, r1_eval_result *res,
                      r1_rollout_job **jobs_out, r1_item **items_out) {
    *res = (r1_eval_result){0};
    if (jobs_out) *jobs_out = NULL;
    if (items_out) *items_out = NULL;
    int64_t n = o->n;
    r1_item *items = calloc((size_t)n, sizeof *items);
    r1_rollout_job *jobs = calloc((size_t)n, sizeof *jobs);
    r1_status s = items && jobs ? R1_OK : r1_fail(R1_NOMEM, "eval: out of memory");
    for (int64_t i = 0; i < n && s == R1_OK; i++) {
        r1_taskset_item(ts, R1_SPLIT_EVAL, (uint64_t)i, &items[i]);
        s = r1_item_encode(&items[i], tok);
        jobs[i].prompt = items[i].ids;
        jobs[i].n_prompt = items[i].n_ids;
        jobs[i].seed = o->seed * 0x9e3779b97f4a7c15ull + (uint64_t)i;
    }
    double t0 = r1_now();
    r1_rollout_opts ro = {.max_new = o->max_new, .temp = o->temp, .top_p = 1.0f, .eos = o->eos, .stop = "</answer>"};
    if (s == R1_OK) s = r1_rollout_run(e, tok, jobs, n, &ro, &res->gen_tokens);
    res->seconds = r1_now() - t0;
    r1_reward_weights w = r1_reward_defaults();
    int64_t n_steps = 0, ok_steps = 0, ok_direct = 0;
    for (int64_t i = 0; i < n && s == R1_OK; i++) {
        r1_reward r = r1_reward_score(items[i].task, &items[i].p, jobs[i].text, jobs[i].len, &w);
        bool st = has_steps(jobs[i].text, jobs[i].len);
        res->accuracy += r.accuracy;
        res->format += r.format;
        res->think_len += (double)r1_think_tokens(tok, jobs[i].text, jobs[i].len);
        res->resp_len += (double)jobs[i].n_out;
        n_steps += st;
        ok_steps += st && r.accuracy > 0;
        ok_direct += !st && r.accuracy > 0;
    }
    if (s == R1_OK && n > 0) {
        res->n = n;
        res->accuracy /= (double)n;
        res->format /= (double)n;
        res->think_len /= (double)n;
        res->resp_len /= (double)n;
        res->with_steps = (double)n_steps / (double)n;
        res->acc_steps = n_steps ? (double)ok_steps / (double)n_steps : 0.0;
        res->acc_direct = n - n_steps ? (double)ok_direct / (double)(n - n_steps) : 0.0;
    }
    if (s == R1_OK && jobs_out && items_out) {
        *jobs_out = jobs;
        *items_out = items;
    } else {
        r1_eval_free_jobs(jobs, items, n);
    }
    return s;
}
