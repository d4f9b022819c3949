/* test_tasks: task generation (deterministic, solvable, disjoint splits), the
 * safe expression evaluator, the verifiers against adversarial answers, and
 * the reward parser. */
#include "test.h"

#include "tasks/expr.h"
#include "tasks/reward.h"
#include "tasks/task.h"

static bool ok(const r1_task *t, const r1_problem *p, const char *ans) { return t->check(p, ans, strlen(ans)); }

TEST(expr_evaluator) {
    r1_expr_result r = r1_expr_eval("(1 + 2) / 3", 11);
    CHECK(r.ok && r.value.num == 1 && r.value.den == 1 && r.n_nums == 3);
    r = r1_expr_eval("7/2*2", 5);
    CHECK(r.ok && r.value.num == 7 && r.value.den == 1);
    r = r1_expr_eval("1/3+1/6", 7);
    CHECK(r.ok && r.value.num == 1 && r.value.den == 2);
    r = r1_expr_eval("10-2-3", 6); /* left associative */
    CHECK(r.ok && r.value.num == 5);
    static const char *const bad[] = {"", "1+", "(1+2", "1+2)", "5/0", "5/(3-3)", "-1+2", "1.5*2", "2**3", "abc",
                                      "1 2", "99999999999", "import os", "1e3", "((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = r1_expr_eval(bad[i], strlen(bad[i]));
        if (r.ok) T_FAIL_AT("'%s' should be invalid", bad[i]);
    }
    /* overflow is detected, not wrapped */
    r = r1_expr_eval("1000000000*1000000000*1000000000", 32);
    CHECK(!r.ok);
    r = r1_expr_eval("(((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))", 63); /* 31 deep: fine */
    CHECK(r.ok);
}

TEST(tasks_are_deterministic_and_split) {
    for (const r1_task *const *t = r1_task_all(); *t; t++)
        for (int d = 1; d <= (*t)->max_difficulty; d++)
            for (uint64_t i = 0; i < 300; i++) {
                r1_problem a, b, e;
                (*t)->make(&a, r1_task_seed(R1_SPLIT_TRAIN, i), d);
                (*t)->make(&b, r1_task_seed(R1_SPLIT_TRAIN, i), d);
                (*t)->make(&e, r1_task_seed(R1_SPLIT_EVAL, i), d);
                CHECK(!memcmp(&a, &b, sizeof a));
                if (!ok(*t, &a, a.answer)) T_FAIL_AT("%s d=%d seed %llu: own answer '%s' rejected (%s)", (*t)->name, d, (unsigned long long)i, a.answer, a.question);
                CHECK(ok(*t, &e, e.answer));
                CHECK(a.steps[0] != '\0' && a.question[0] != '\0');
            }
    CHECK(r1_task_seed(R1_SPLIT_EVAL, 0) > r1_task_seed(R1_SPLIT_TRAIN, 1000000000));
    CHECK(r1_task_find("countdown") != NULL && r1_task_find("nope") == NULL);
}

TEST(arith_and_lineq_answers) {
    const r1_task *t = r1_task_find("arith");
    r1_problem p;
    t->make(&p, 5, 3);
    char buf[80];
    snprintf(buf, sizeof buf, " %lld ", (long long)p.target);
    CHECK(ok(t, &p, buf));
    snprintf(buf, sizeof buf, "%lld", (long long)p.target + 1);
    CHECK(!ok(t, &p, buf));
    snprintf(buf, sizeof buf, "%lld apples", (long long)p.target);
    CHECK(!ok(t, &p, buf)); /* extra text */
    CHECK(!ok(t, &p, ""));
    CHECK(!ok(t, &p, "-"));
    CHECK(!ok(t, &p, "99999999999999999999999999"));
    const r1_task *l = r1_task_find("lineq");
    l->make(&p, 9, 2);
    snprintf(buf, sizeof buf, "x = %lld", (long long)p.target);
    CHECK(ok(l, &p, buf));
    snprintf(buf, sizeof buf, "y = %lld", (long long)p.target);
    CHECK(!ok(l, &p, buf));
    /* chain: the running total stays >= 0, the steps replay the question */
    const r1_task *c = r1_task_find("chain");
    for (uint64_t i = 0; i < 200; i++) {
        c->make(&p, i, 4);
        CHECK(p.target >= 0);
        int steps = 0;
        for (const char *q = p.steps; *q; q++) steps += *q == '=';
        CHECK_EQ_INT(steps, 4);
    }
    c->make(&p, 7, 2);
    char want[128];
    snprintf(want, sizeof want, "%lld", (long long)p.target);
    CHECK(strlen(p.steps) > strlen(want) && !strcmp(p.steps + strlen(p.steps) - strlen(want), want));
    c->make(&p, 1, 3);
    snprintf(buf, sizeof buf, "%lld", (long long)p.target);
    CHECK(ok(c, &p, buf));
    snprintf(buf, sizeof buf, "%lld.5", (long long)p.target);
    CHECK(!ok(c, &p, buf));
}

TEST(countdown_adversarial_answers) {
    const r1_task *t = r1_task_find("countdown");
    r1_problem p = {.nums = {3, 5, 7}, .n_nums = 3, .target = 22};
    CHECK(ok(t, &p, "3*5+7"));
    CHECK(ok(t, &p, " (3 * 5) + 7 "));
    CHECK(ok(t, &p, "3*5+7 = 22"));
    CHECK(!ok(t, &p, "3*5+7 = 23"));
    CHECK(!ok(t, &p, "22"));          /* a number not given */
    CHECK(!ok(t, &p, "3*5+7+0"));     /* 0 not given */
    CHECK(!ok(t, &p, "7*3+1"));       /* 1 not given */
    CHECK(!ok(t, &p, "5*5-3"));       /* 5 reused */
    CHECK(!ok(t, &p, "3*5+7 extra")); /* trailing text */
    CHECK(!ok(t, &p, "7/(5-5)+22"));  /* division by zero */
    CHECK(!ok(t, &p, "3*5+7.0"));
    CHECK(!ok(t, &p, "(((3*5)+7)"));
    CHECK(!ok(t, &p, ""));
    r1_problem q = {.nums = {6, 4, 2}, .n_nums = 3, .target = 3};
    CHECK(ok(t, &q, "6/(4-2)"));
    CHECK(ok(t, &q, "6/2"));  /* subsets allowed: each number at most once */
    CHECK(!ok(t, &q, "4-2+1"));
    r1_problem big = {.nums = {1000000000, 1000000000, 1000000000}, .n_nums = 3, .target = 1};
    CHECK(!ok(t, &big, "1000000000*1000000000*1000000000"));
    CHECK(ok(t, &big, "1000000000/1000000000"));
}

TEST(reward_parse_and_score) {
    const r1_task *t = r1_task_find("arith");
    r1_problem p = {.target = 42};
    r1_reward_weights w = r1_reward_defaults();
    const char *good = "<think> 6*7=42. </think> <answer>42</answer>";
    r1_reward r = r1_reward_score(t, &p, good, strlen(good), &w);
    CHECK(r.accuracy == 1.0f && r.format == 1.0f);
    CHECK_NEAR(r.total, 1.1, 1e-6);
    const char *wrong = "<think>x</think>\n<answer>41</answer>\n";
    r = r1_reward_score(t, &p, wrong, strlen(wrong), &w);
    CHECK(r.accuracy == 0.0f && r.format == 1.0f);
    const char *no_think = "<answer>42</answer>";
    r = r1_reward_score(t, &p, no_think, strlen(no_think), &w);
    CHECK(r.accuracy == 1.0f && r.format == 0.0f);
    static const char *const malformed[] = {
        "<think>a</think><answer>42</answer> trailing", "text <think>a</think><answer>42</answer>",
        "<think>a</think><answer>42</answer></answer>", "<think>a<think></think><answer>42</answer>",
        "<answer>42</answer><think>a</think>", "<think>a</think> mid <answer>42</answer>", "<think>a</think><answer>42",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        r1_parsed q = r1_reward_parse(malformed[i], strlen(malformed[i]));
        if (q.well_formed) T_FAIL_AT("'%s' should be malformed", malformed[i]);
    }
    /* the last complete answer counts for accuracy */
    const char *two = "<answer>1</answer> <answer>42</answer>";
    r = r1_reward_score(t, &p, two, strlen(two), &w);
    CHECK(r.accuracy == 1.0f && r.format == 0.0f);
    w.w_lang = 1.0f;
    const char *mixed = "<think>six 六 seven</think><answer>42</answer>";
    r = r1_reward_score(t, &p, mixed, strlen(mixed), &w);
    CHECK_NEAR(r.language, 2.0 / 3.0, 1e-6);
    char buf[1024];
    size_t n = r1_task_prompt(buf, sizeof buf, &(r1_problem){.question = "Compute 1 + 2."}, 1);
    CHECK_STR(buf, "User: Compute 1 + 2. Assistant:");
    CHECK_EQ_INT(n, strlen(buf));
    n = r1_task_prompt(buf, sizeof buf, &(r1_problem){.question = "Q."}, 0);
    CHECK(strstr(buf, "<think> reasoning process here </think>") && strstr(buf, "User: Q. Assistant:"));
}

int main(void) {
    RUN(expr_evaluator);
    RUN(tasks_are_deterministic_and_split);
    RUN(arith_and_lineq_answers);
    RUN(countdown_adversarial_answers);
    RUN(reward_parse_and_score);
    TEST_MAIN_END();
}
