/* test_grpo: GRPO's arithmetic against a float64 PyTorch autograd reference
 * (tests/golden/grpo, made by tests/reference/make_grpo_golden.py): group
 * advantages with and without std scaling (equal-reward groups exactly 0),
 * aggregation weights, the clipped-ratio + k3 loss and its per-token
 * coefficient g = dL/dlogp with clip-higher; finite differences of the loss;
 * the mu = 1 identity; and a short R1-Zero run on a toy whose reward must
 * rise: a tiny MoE pretrained on documents of which half lack the
 * think/answer tags learns from the format reward alone to always emit them. */
#include "test.h"

#include "core/status.h"
#include "rl/corpus.h"
#include "rl/grpo.h"
#include "rl/grpo_loss.h"
#include "rl/lm.h"
#include "tok/bpe_train.h"

typedef struct {
    char name[32];
    int64_t n;
    double *v;
} garr;

static garr G_ARR[64];
static int G_N;

static void load_golden(void) {
    if (G_N) return;
    FILE *f = fopen("tests/golden/grpo/grpo.txt", "r");
    if (!f) {
        T_FAIL_AT("cannot open tests/golden/grpo/grpo.txt");
        return;
    }
    while (G_N < 64) {
        garr *a = &G_ARR[G_N];
        long long n;
        if (fscanf(f, "%31s %lld", a->name, &n) != 2) break;
        a->n = n;
        a->v = malloc((size_t)n * sizeof(double));
        for (int64_t i = 0; i < n; i++)
            if (fscanf(f, "%lf", &a->v[i]) != 1) a->v[i] = NAN;
        G_N++;
    }
    fclose(f);
}

static const garr *get(const char *name) {
    load_golden();
    for (int i = 0; i < G_N; i++)
        if (!strcmp(G_ARR[i].name, name)) return &G_ARR[i];
    T_FAIL_AT("golden array '%s' missing", name);
    static garr none;
    return &none;
}

static float *f32(const garr *a) {
    float *x = calloc((size_t)(a->n ? a->n : 1), sizeof(float));
    for (int64_t i = 0; i < a->n; i++) x[i] = (float)a->v[i];
    return x;
}

TEST(advantages_match_reference) {
    const garr *r = get("rewards"), *as = get("adv_std"), *an = get("adv_nostd");
    if (r->n != 24) return;
    float *rr = f32(r), adv[24];
    CHECK_EQ_INT(r1_grpo_advantages(rr, 6, 4, true, 1e-4f, adv), 2);
    for (int i = 0; i < 24; i++) CHECK_NEAR(adv[i], as->v[i], 1e-6);
    for (int i = 4; i < 12; i++) CHECK(adv[i] == 0.0f); /* equal rewards: exactly zero, not float noise */
    CHECK_EQ_INT(r1_grpo_advantages(rr, 6, 4, false, 1e-4f, adv), 2);
    for (int i = 0; i < 24; i++) CHECK_NEAR(adv[i], an->v[i], 1e-6);
    double sum = 0;
    for (int i = 0; i < 4; i++) sum += adv[i];
    CHECK_NEAR(sum, 0.0, 1e-6); /* zero mean per group */
    float one = 0.7f, a1;
    CHECK_EQ_INT(r1_grpo_advantages(&one, 1, 1, true, 1e-4f, &a1), 1); /* a group of one has no baseline */
    CHECK(a1 == 0.0f);
    free(rr);
}

TEST(aggregation_weights_match_reference) {
    const garr *l = get("lens");
    if (l->n != 5) return;
    int64_t lens[5], total = 0;
    for (int i = 0; i < 5; i++) total += lens[i] = (int64_t)l->v[i];
    float w[5], wsplit[5];
    const char *names[3] = {"w_seq", "w_tok", "w_const"};
    r1_grpo_agg aggs[3] = {R1_AGG_SEQ_MEAN, R1_AGG_TOKEN_MEAN, R1_AGG_CONSTANT};
    for (int k = 0; k < 3; k++) {
        const garr *ref = get(names[k]);
        r1_grpo_weights(aggs[k], lens, 5, 12, 5, total, w);
        for (int i = 0; i < 5 && ref->n == 5; i++) CHECK_NEAR(w[i], ref->v[i], 1e-6);
        /* data parallel: two ranks holding 2 and 3 of the sequences, with the global counts */
        r1_grpo_weights(aggs[k], lens, 2, 12, 5, total, wsplit);
        r1_grpo_weights(aggs[k], lens + 2, 3, 12, 5, total, wsplit + 2);
        for (int i = 0; i < 5; i++) CHECK_EQ_INT(memcmp(&w[i], &wsplit[i], sizeof(float)), 0);
    }
}

TEST(token_coefficients_match_autograd) {
    const garr *m = get("mask"), *cl = get("clip");
    int64_t n = m->n;
    if (n != 60 || cl->n != 3) return;
    uint8_t mask[60];
    for (int i = 0; i < 60; i++) mask[i] = m->v[i] != 0;
    float *logp = f32(get("logp")), *old = f32(get("old")), *ref = f32(get("ref")), *adv = f32(get("adv")),
          *w = f32(get("w")), g[60];
    r1_grpo_clip c = {(float)cl->v[0], (float)cl->v[1], (float)cl->v[2]};
    r1_grpo_stats st = {0};
    r1_grpo_token_grad(&c, n, mask, logp, old, ref, adv, w, g, &st);
    const garr *gr = get("g");
    float *gref = f32(gr);
    CHECK(t_max_rel_err(g, gref, n) < 1e-5);
    CHECK_NEAR(st.loss, get("loss")->v[0], 1e-5);
    CHECK_NEAR(st.kl, get("kl_sum")->v[0], 1e-5);
    CHECK_EQ_INT(st.clipped, (int64_t)get("clipped")->v[0]);
    CHECK(st.clipped > 0 && st.clip_low > 0 && st.clip_high > 0); /* the data exercises both sides */
    CHECK_EQ_INT(st.n, 26);
    for (int i = 0; i < 60; i++)
        if (!mask[i]) CHECK(g[i] == 0.0f);

    /* finite differences of the loss in each unclipped coordinate */
    for (int i = 0; i < 60; i++) {
        if (!mask[i]) continue;
        double rho = exp((double)logp[i] - old[i]);
        if (fabs(rho - (1 - c.eps_low)) < 2e-3 || fabs(rho - (1 + c.eps_high)) < 2e-3) continue; /* kink */
        float keep = logp[i], scratch[60];
        double h = 1e-3, L[2];
        for (int s = 0; s < 2; s++) {
            logp[i] = keep + (float)(s ? h : -h);
            r1_grpo_stats q = {0};
            r1_grpo_token_grad(&c, n, mask, logp, old, ref, adv, w, scratch, &q);
            L[s] = q.loss;
        }
        logp[i] = keep;
        double fd = (L[1] - L[0]) / (2 * h);
        if (fabs(fd - g[i]) > 1e-4 * fmax(1.0, fabs(g[i])) + 2e-6) T_FAIL_AT("fd at %d: %.8g vs %.8g", i, fd, g[i]);
    }
    free(logp), free(old), free(ref), free(adv), free(w), free(gref);
}

TEST(mu_one_has_unit_ratio_and_no_clipping) {
    /* old = current: rho = 1, nothing clips, g = -w A + beta (1 - kappa) */
    float logp[4] = {-1.0f, -2.0f, -0.5f, -3.0f}, ref[4] = {-1.1f, -1.9f, -0.5f, -2.0f};
    float adv[4] = {0.5f, 0.5f, -1.5f, -1.5f}, w[4] = {0.25f, 0.25f, 0.25f, 0.25f}, g[4];
    uint8_t mask[4] = {1, 1, 1, 1};
    r1_grpo_clip c = {0.2f, 0.28f, 0.1f};
    r1_grpo_stats st = {0};
    r1_grpo_token_grad(&c, 4, mask, logp, logp, ref, adv, w, g, &st);
    CHECK_EQ_INT(st.clipped, 0);
    CHECK_NEAR(st.ratio, 4.0, 1e-12);
    for (int i = 0; i < 4; i++) {
        double kappa = exp((double)ref[i] - logp[i]);
        CHECK_NEAR(g[i], 0.25 * (-adv[i] + 0.1 * (1 - kappa)), 1e-6);
    }
    /* without a reference the KL term is absent whatever beta says */
    r1_grpo_stats s2 = {0};
    r1_grpo_token_grad(&c, 4, mask, logp, logp, NULL, adv, w, g, &s2);
    for (int i = 0; i < 4; i++) CHECK_NEAR(g[i], -0.25 * adv[i], 1e-7);
    CHECK(s2.kl == 0.0);
}

/* ---- toy run ---- */

typedef struct {
    double fmt[64];
    int n;
} toy_log;

static void on_step(void *ctx, const r1_grpo_report *r) {
    toy_log *l = ctx;
    if (l->n < 64) l->fmt[l->n++] = r->format;
}

static const char *TOY_MODEL =
    "{\"model_type\": \"deepseek_v3\", \"vocab_size\": %d, \"hidden_size\": 48, \"intermediate_size\": 96,"
    " \"moe_intermediate_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_key_value_heads\": 2,"
    " \"q_lora_rank\": null, \"kv_lora_rank\": 16, \"qk_nope_head_dim\": 16, \"qk_rope_head_dim\": 8,"
    " \"v_head_dim\": 16, \"n_routed_experts\": 4, \"n_shared_experts\": 1, \"num_experts_per_tok\": 2,"
    " \"n_group\": 1, \"topk_group\": 1, \"topk_method\": \"noaux_tc\", \"scoring_func\": \"sigmoid\","
    " \"norm_topk_prob\": true, \"routed_scaling_factor\": 1.0, \"first_k_dense_replace\": 1,"
    " \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000, \"max_position_embeddings\": 128,"
    " \"tie_word_embeddings\": true, \"bos_token_id\": %d, \"eos_token_id\": %d}";

TEST(grpo_toy_reward_rises) {
    r1_taskset ts;
    CHECK_OK(r1_taskset_parse(&ts, "arith", 1, 1, 1));
    r1_corpus_mix mix = {.p_steps = 0.0f, .p_bare = 0.5f};
    char *text = NULL, *tj = NULL, *cj = NULL;
    size_t len = 0;
    r1_tok *tok = NULL;
    CHECK_OK(r1_corpus_text(&ts, R1_SPLIT_TRAIN, 0, 2000, &mix, 1, &text, &len));
    r1_bpe_train_opts bo = {.vocab_size = 320, .min_frequency = 2, .pattern = NULL};
    CHECK_OK(r1_bpe_train(text, len, &bo, &tj, &cj));
    free(text);
    CHECK_OK(r1_tok_load_mem(&tok, tj, strlen(tj), cj, strlen(cj)));
    free(tj), free(cj);
    if (!tok) return;
    int32_t *train = NULL, *held = NULL;
    int64_t nt = 0, nh = 0;
    CHECK_OK(r1_corpus_stream(&ts, R1_SPLIT_TRAIN, 0, 4000, &mix, 1, tok, &train, &nt));
    CHECK_OK(r1_corpus_stream(&ts, R1_SPLIT_EVAL, 0, 200, &mix, 2, tok, &held, &nh));
    char cfg_json[2048];
    snprintf(cfg_json, sizeof cfg_json, TOY_MODEL, r1_tok_n_vocab(tok), r1_tok_bos(tok), r1_tok_eos(tok));
    r1_config cfg;
    r1_model *m = NULL;
    CHECK_OK(r1_config_parse(&cfg, cfg_json, strlen(cfg_json), "toy"));
    CHECK_OK(r1_model_create_random(&m, &cfg, R1_DT_F32, 3, 2));
    if (!m || !train || !held) return;
    r1_policy pol;
    r1_policy_init(&pol, m);
    r1_lm_cfg lc;
    r1_lm_defaults(&lc);
    lc.B = 8, lc.T = 64, lc.max_steps = 150, lc.warmup = 10, lc.eval_every = 50, lc.eval_windows = 16, lc.quiet = true;
    lc.lr = 1e-2f, lc.min_lr = 1e-3f, lc.patience = 0;
    r1_lm_result lr;
    CHECK_OK(r1_lm_train(&pol, train, nt, held, nh, &lc, &lr));
    CHECK(lr.best_heldout < 2.0);

    r1_grpo_cfg g;
    r1_grpo_defaults(&g);
    g.ts = ts;
    g.first = 100000;
    g.steps = 12, g.prompts = 4, g.G = 8, g.max_new = 24, g.mu = 2, g.micro = 32;
    g.lr = 3e-3f, g.beta = 0.0f, g.warmup = 0;
    g.rw = (r1_reward_weights){0.0f, 1.0f, 0.0f}; /* format only */
    g.quiet = true;
    toy_log log = {0};
    g.on_step = on_step, g.ctx = &log;
    CHECK_OK(r1_grpo_run(&pol, tok, &g));
    CHECK_EQ_INT(log.n, 12);
    if (log.n == 12) {
        double first = (log.fmt[0] + log.fmt[1] + log.fmt[2]) / 3, last = (log.fmt[9] + log.fmt[10] + log.fmt[11]) / 3;
        printf("    format reward: first 3 steps %.3f, last 3 steps %.3f\n", first, last);
        CHECK(first < 0.8);
        CHECK(last > first + 0.15);
    }
    free(train), free(held);
    r1_policy_free(&pol);
    r1_tok_free(tok);
}

int main(void) {
    RUN(advantages_match_reference);
    RUN(aggregation_weights_match_reference);
    RUN(token_coefficients_match_autograd);
    RUN(mu_one_has_unit_ratio_and_no_clipping);
    RUN(grpo_toy_reward_rises);
    for (int i = 0; i < G_N; i++) free(G_ARR[i].v);
    TEST_MAIN_END();
}
