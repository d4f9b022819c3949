/* test_batch: the continuous-batching engine produces, for every sequence,
 * the same greedy tokens as decoding it alone, whatever the interleaving:
 * sequences join mid-flight, prefill in chunks smaller than their prompt,
 * finish at different lengths and free their slots for new ones. */
#include "test.h"

#include "infer/batch.h"

enum { NSEQ = 7, MAXNEW = 9 };

static void prompt_of(int s, int32_t *p, int64_t *n, int64_t vocab) {
    *n = 2 + (s * 5) % 11;
    for (int64_t i = 0; i < *n; i++) p[i] = (int32_t)((s * 31 + i * 17 + 3) % vocab);
}

static void check_model(const char *dir) {
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, dir, 2));
    if (!m) return;
    int32_t expect[NSEQ][MAXNEW], p[16];
    int64_t n_expect[NSEQ];
    for (int s = 0; s < NSEQ; s++) {
        int64_t n;
        prompt_of(s, p, &n, m->cfg.vocab);
        r1_gen_params gp = {.max_new = 3 + s % 7, .sampling = {.temp = 0, .top_p = 1}};
        CHECK_OK(r1_generate(m, p, n, &gp, expect[s], &n_expect[s], NULL));
    }
    r1_engine *e = NULL;
    CHECK_OK(r1_engine_create(&e, m, 3, 32, 5)); /* 3 slots, 5 rows per step: prefill is chunked */
    if (!e) return r1_model_destroy(m);
    int next = 0, done = 0, owner[3] = {-1, -1, -1};
    for (int step = 0; step < 500 && done < NSEQ; step++) {
        /* admit one new sequence every other step while slots are free */
        if (next < NSEQ && step % 2 == 0) {
            int64_t n;
            prompt_of(next, p, &n, m->cfg.vocab);
            r1_seq_params sp = {.max_new = 3 + next % 7, .sampling = {.temp = 0, .top_p = 1}};
            int slot;
            if (r1_engine_add(e, p, n, &sp, &slot) == R1_OK) owner[slot] = next++;
        }
        CHECK_OK(r1_engine_step(e));
        for (int i = 0; i < 3; i++) {
            if (e->seqs[i].state != R1_SEQ_DONE) continue;
            int s = owner[i];
            CHECK_EQ_INT(e->seqs[i].n_out, n_expect[s]);
            for (int64_t k = 0; k < n_expect[s] && k < e->seqs[i].n_out; k++)
                if (e->seqs[i].out[k] != expect[s][k]) T_FAIL_AT("%s seq %d token %lld: %d vs %d", dir, s, (long long)k, e->seqs[i].out[k], expect[s][k]);
            r1_engine_release(e, i);
            owner[i] = -1;
            done++;
        }
    }
    CHECK_EQ_INT(done, NSEQ);
    CHECK(!r1_engine_busy(e));
    r1_engine_destroy(e);
    r1_model_destroy(m);
}

TEST(engine_matches_single_stream_deepseek) { check_model("tests/golden/ds_v3"); }
TEST(engine_matches_single_stream_qwen2) { check_model("tests/golden/qwen2"); }

/* A GRPO-style group: copies of one prompt (and two that extend it) added
 * together prefill the shared prefix once and still decode exactly the
 * tokens each gets alone; with a 5-row budget the donor's prefill is chunked
 * and the copies wait for it. */
static void check_shared_prefix(const char *dir, int64_t step_rows) {
    enum { NG = 5, NP = 9 };
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, dir, 2));
    if (!m) return;
    int32_t p[NP + 2], expect[NG][MAXNEW];
    int64_t len[NG] = {NP, NP, NP + 2, NP, NP + 1}, n_expect[NG];
    for (int i = 0; i < NP + 2; i++) p[i] = (int32_t)((i * 13 + 7) % m->cfg.vocab);
    for (int s = 0; s < NG; s++) {
        r1_gen_params gp = {.max_new = 4 + s, .sampling = {.temp = 0, .top_p = 1}};
        CHECK_OK(r1_generate(m, p, len[s], &gp, expect[s], &n_expect[s], NULL));
    }
    r1_engine *e = NULL;
    CHECK_OK(r1_engine_create(&e, m, NG, 32, step_rows));
    if (!e) return r1_model_destroy(m);
    int64_t prompt_rows = 0;
    for (int s = 0; s < NG; s++) {
        r1_seq_params sp = {.max_new = 4 + s, .sampling = {.temp = 0, .top_p = 1}};
        int slot;
        CHECK_OK(r1_engine_add(e, p, len[s], &sp, &slot));
        CHECK_EQ_INT(slot, s);
        prompt_rows += len[s];
    }
    while (r1_engine_busy(e)) CHECK_OK(r1_engine_step(e));
    int64_t gen_rows = 0;
    for (int s = 0; s < NG; s++) {
        CHECK_EQ_INT(e->seqs[s].n_out, n_expect[s]);
        for (int64_t k = 0; k < n_expect[s] && k < e->seqs[s].n_out; k++)
            if (e->seqs[s].out[k] != expect[s][k])
                T_FAIL_AT("%s seq %d token %lld: %d vs %d", dir, s, (long long)k, e->seqs[s].out[k], expect[s][k]);
        gen_rows += n_expect[s] - 1; /* the last sampled token is never fed */
    }
    /* the 9-token prompt once, then per copy its unshared tail: at least the
     * last token (copies 1 and 3: 1 row; 4 extends it by one token: 1 row
     * after copying all 9; 2 by two: 2 rows) */
    CHECK_EQ_INT(e->rows_done, NP + 1 + 2 + 1 + 1 + gen_rows);
    CHECK(e->rows_done < prompt_rows + gen_rows);
    r1_engine_destroy(e);
    r1_model_destroy(m);
}

TEST(engine_shares_prompt_prefix) {
    check_shared_prefix("tests/golden/ds_v3", 64);
    check_shared_prefix("tests/golden/ds_v3", 5);
    check_shared_prefix("tests/golden/qwen2", 64);
}

TEST(engine_limits) {
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, "tests/golden/llama", 1));
    if (!m) return;
    r1_engine *e = NULL;
    CHECK(r1_engine_create(&e, m, 2, 8, 1) == R1_INVALID); /* budget below one row per slot */
    CHECK_OK(r1_engine_create(&e, m, 1, 8, 4));
    int32_t p[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    r1_seq_params sp = {.max_new = 100, .sampling = {.temp = 0, .top_p = 1}};
    int slot;
    CHECK(r1_engine_add(e, p, 8, &sp, &slot) == R1_LIMIT); /* no room for a generated token */
    CHECK_OK(r1_engine_add(e, p, 5, &sp, &slot));
    CHECK(r1_engine_add(e, p, 2, &sp, &slot) == R1_LIMIT); /* all slots busy */
    while (r1_engine_busy(e)) CHECK_OK(r1_engine_step(e));
    CHECK_EQ_INT(e->seqs[0].n_out, 3); /* the context (8) caps the output */
    CHECK_EQ_INT(e->seqs[0].reason, R1_STOP_LENGTH);
    r1_engine_destroy(e);
    r1_model_destroy(m);
}

int main(void) {
    RUN(engine_matches_single_stream_deepseek);
    RUN(engine_matches_single_stream_qwen2);
    RUN(engine_shares_prompt_prefix);
    RUN(engine_limits);
    TEST_MAIN_END();
}
