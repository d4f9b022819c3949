/* sample: best-of-N rejection sampling into JSONL (see sample.h). Problems
 * go through the engine in chunks so memory stays bounded for any count. */
#include "rl/sample.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "infer/generate.h"
#include "rl/rollout.h"
#include "tasks/reward.h"

enum { CHUNK = 32 }; /* problems per engine batch */

static r1_status emit(FILE *out, const r1_item *it, const char *text) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return r1_fail(R1_NOMEM, "sample: out of memory");
    cJSON_AddStringToObject(o, "prompt", it->prompt);
    cJSON_AddStringToObject(o, "response", text);
    cJSON_AddStringToObject(o, "task", it->task->name);
    cJSON_AddStringToObject(o, "answer", it->p.answer);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return r1_fail(R1_NOMEM, "sample: out of memory");
    int bad = fprintf(out, "%s\n", s) < 0;
    free(s);
    return bad ? r1_fail(R1_IO, "sample: write failed") : R1_OK;
}

r1_status r1_sample_best_of(r1_engine *e, const r1_tok *tok, const r1_taskset *ts, const r1_sample_opts *o, FILE *out,
                            r1_sample_result *res) {
    *res = (r1_sample_result){0};
    r1_item items[CHUNK];
    r1_rollout_job *jobs = calloc((size_t)(CHUNK * o->N), sizeof *jobs);
    if (!jobs) return r1_fail(R1_NOMEM, "sample: out of memory");
    r1_reward_weights w = r1_reward_defaults();
    r1_rollout_opts ro = {.max_new = o->max_new, .temp = o->temp, .top_p = 1.0f, .eos = o->eos, .stop = "</answer>"};
    double t0 = r1_now();
    r1_status s = R1_OK;
    for (int64_t base = 0; base < o->problems && s == R1_OK; base += CHUNK) {
        int64_t np = o->problems - base < CHUNK ? o->problems - base : CHUNK, nj = 0;
        memset(items, 0, sizeof items);
        for (int64_t i = 0; i < np && s == R1_OK; i++) {
            r1_taskset_item(ts, R1_SPLIT_TRAIN, o->first + (uint64_t)(base + i), &items[i]);
            s = r1_item_encode(&items[i], tok);
            for (int64_t k = 0; k < o->N && s == R1_OK; k++, nj++)
                jobs[nj] = (r1_rollout_job){.prompt = items[i].ids, .n_prompt = items[i].n_ids,
                                            .seed = o->seed * 0x9e3779b97f4a7c15ull + (uint64_t)((base + i) * o->N + k)};
        }
        int64_t gen = 0;
        if (s == R1_OK) s = r1_rollout_run(e, tok, jobs, nj, &ro, &gen);
        res->generated += gen;
        for (int64_t i = 0; i < np && s == R1_OK; i++) {
            bool solved = false;
            for (int64_t k = 0; k < o->N && s == R1_OK; k++) {
                const r1_rollout_job *j = &jobs[i * o->N + k];
                r1_reward r = r1_reward_score(items[i].task, &items[i].p, j->text, j->len, &w);
                if (r.accuracy < 1.0f || r.format < 1.0f || (solved && !o->keep_all)) continue;
                s = emit(out, &items[i], j->text);
                solved = true;
                res->kept++;
            }
            res->solved += solved;
        }
        r1_rollout_jobs_free(jobs, nj);
        for (int64_t i = 0; i < np; i++) r1_item_free(&items[i]);
        res->problems += np;
    }
    free(jobs);
    res->seconds = r1_now() - t0;
    return s;
}
