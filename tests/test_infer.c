/* test_infer: sampler (greedy, filters, determinism, distribution), argmax
 * against the plain scan, stop
 * strings over streamed text, generate (greedy = argmax of the golden logits,
 * EOS stops, callback stops), kv cache sizes. */
#include "test.h"

#include <math.h>

#include "core/rng.h"
#include "infer/generate.h"
#include "infer/sampler.h"
#include "infer/stop.h"
#include "model/model.h"

TEST(sampler_greedy_and_filters) {
    float logits[6] = {0.1f, 2.0f, 2.0f, -1.0f, 1.9f, -5.0f};
    r1_sampler s;
    r1_sampler_params p = {.temp = 0, .top_p = 1};
    CHECK_OK(r1_sampler_init(&s, &p, 6));
    CHECK_EQ_INT(r1_sampler_sample(&s, logits), 1); /* ties go to the lower id */
    r1_sampler_free(&s);
    /* top-k 1 at any temperature is greedy */
    p = (r1_sampler_params){.temp = 1.5f, .top_k = 1, .top_p = 1, .seed = 3};
    CHECK_OK(r1_sampler_init(&s, &p, 6));
    for (int i = 0; i < 50; i++) CHECK_EQ_INT(r1_sampler_sample(&s, logits), 1);
    r1_sampler_free(&s);
    /* top-k 3: only {1, 2, 4} ever appear */
    p = (r1_sampler_params){.temp = 1.0f, .top_k = 3, .top_p = 1, .seed = 4};
    CHECK_OK(r1_sampler_init(&s, &p, 6));
    for (int i = 0; i < 500; i++) {
        int32_t t = r1_sampler_sample(&s, logits);
        CHECK(t == 1 || t == 2 || t == 4);
    }
    r1_sampler_free(&s);
    /* min-p 0.5: tokens below half the best probability never appear */
    p = (r1_sampler_params){.temp = 1.0f, .top_p = 1, .min_p = 0.5f, .seed = 5};
    CHECK_OK(r1_sampler_init(&s, &p, 6));
    for (int i = 0; i < 500; i++) {
        int32_t t = r1_sampler_sample(&s, logits);
        CHECK(t == 1 || t == 2 || t == 4);
    }
    r1_sampler_free(&s);
    p = (r1_sampler_params){.temp = -1.0f, .top_p = 1};
    CHECK(r1_sampler_init(&s, &p, 6) == R1_INVALID);
    p = (r1_sampler_params){.temp = 1.0f, .top_p = 0};
    CHECK(r1_sampler_init(&s, &p, 6) == R1_INVALID);
}

/* The scan r1_argmax replaces: the first index of the largest value. */
static int32_t scan_argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

/* r1_argmax against the scan: ties (first wins), +-0, infinities, NaNs
 * anywhere (never win; at index 0 they give 0), every length around the
 * vector widths, and a vocabulary's worth: the best table's kernel
 * (test_kernels checks every table against ref's scan). */
TEST(argmax_matches_scan) {
    r1_rng rng;
    r1_rng_seed(&rng, 9);
    static float x[32000];
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.0f, 1.0f, -1.0f};
    for (int trial = 0; trial < 2000; trial++) {
        int64_t n = trial < 1000 ? 1 + trial % 41 : 32000;
        int mode = trial % 4; /* 0: random, 1: few distinct values (ties), 2: specials, 3: all equal */
        for (int64_t i = 0; i < n; i++) {
            float r = r1_rng_f32(&rng);
            x[i] = mode == 0   ? r * 2 - 1
                   : mode == 1 ? (float)(int)(r * 4)
                   : mode == 2 ? special[(int)(r * 8) & 7]
                               : 3.0f;
        }
        int32_t got = r1_argmax(x, n), want = scan_argmax(x, n);
        if (got != want) {
            T_FAIL_AT("trial %d n=%lld mode %d: %d, the scan %d", trial, (long long)n, mode, got, want);
            break;
        }
    }
}

TEST(sampler_matches_distribution_and_seed) {
    float logits[4] = {0.0f, (float)log(2.0), (float)log(3.0), (float)log(4.0)}; /* p = .1 .2 .3 .4 */
    r1_sampler a, b;
    r1_sampler_params p = {.temp = 1.0f, .top_p = 1, .seed = 11};
    CHECK_OK(r1_sampler_init(&a, &p, 4));
    CHECK_OK(r1_sampler_init(&b, &p, 4));
    int counts[4] = {0}, n = 40000;
    for (int i = 0; i < n; i++) {
        int32_t t = r1_sampler_sample(&a, logits);
        CHECK_EQ_INT(t, r1_sampler_sample(&b, logits));
        counts[t]++;
    }
    for (int k = 0; k < 4; k++) CHECK_NEAR(counts[k] / (double)n, 0.1 * (k + 1), 0.01);
    r1_sampler_free(&a);
    r1_sampler_free(&b);
    /* top-p 0.5: the nucleus is {3 (.4), 2 (.3)}: mass .7 >= .5 after two */
    p = (r1_sampler_params){.temp = 1.0f, .top_p = 0.5f, .seed = 12};
    CHECK_OK(r1_sampler_init(&a, &p, 4));
    int c3 = 0;
    for (int i = 0; i < 20000; i++) {
        int32_t t = r1_sampler_sample(&a, logits);
        CHECK(t == 2 || t == 3);
        c3 += t == 3;
    }
    CHECK_NEAR(c3 / 20000.0, 4.0 / 7.0, 0.015);
    r1_sampler_free(&a);
}

/* The walk orders the sampler promises. With a filter (here top-p 0.9):
 * probability descending, ties by id (what a qsort with that comparator gave
 * before the radix sort), over the nucleus. Without one: ids in order over
 * the unnormalised exp values, no sort. */
static const float *g_ref_prob;
static int ref_desc(const void *a, const void *b) {
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (g_ref_prob[i] != g_ref_prob[j]) return g_ref_prob[i] > g_ref_prob[j] ? -1 : 1;
    return (i > j) - (i < j);
}

static int32_t ref_sorted_walk(const float *prob, int32_t *order, int n, float top_p, double u) {
    for (int i = 0; i < n; i++) order[i] = i;
    g_ref_prob = prob;
    qsort(order, (size_t)n, sizeof(int32_t), ref_desc);
    double mass = 0.0, acc = 0.0;
    int keep = n;
    for (int i = 0; i < n; i++)
        if ((mass += prob[order[i]]) >= top_p) {
            keep = i + 1;
            break;
        }
    double r = u * mass;
    for (int i = 0; i < keep; i++)
        if (r < (acc += prob[order[i]])) return order[i];
    return order[keep - 1];
}

TEST(sampler_walk_orders) {
    enum { V = 700 };
    static float logits[V], prob[V], ex[V];
    static int32_t order[V];
    r1_rng g;
    r1_rng_seed(&g, 5);
    for (int i = 0; i < V; i++) logits[i] = (float)(int)(8 * r1_rng_f64(&g)) * 0.5f; /* many ties */
    r1_sampler s, su;
    r1_sampler_params p = {.temp = 1.0f, .top_p = 0.9f, .seed = 9}, pu = {.temp = 1.0f, .top_p = 1, .seed = 10};
    CHECK_OK(r1_sampler_init(&s, &p, V));
    CHECK_OK(r1_sampler_init(&su, &pu, V));
    r1_rng ref, refu;
    r1_rng_seed(&ref, 9);
    r1_rng_seed(&refu, 10);
    int spread = 0;
    for (int rep = 0; rep < 300; rep++) {
        logits[17] = rep % 2 ? 8.0f : 1.0f; /* a dominant token, or none */
        float mx = logits[0];
        for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += ex[i] = expf(logits[i] - mx);
        for (int i = 0; i < V; i++) prob[i] = (float)(ex[i] / sum);
        CHECK_EQ_INT(r1_sampler_sample(&s, logits), ref_sorted_walk(prob, order, V, p.top_p, r1_rng_f64(&ref)));
        double r = r1_rng_f64(&refu) * sum, acc = 0.0;
        int32_t want = V - 1;
        for (int i = 0; i < V; i++)
            if (r < (acc += ex[i])) {
                want = i;
                break;
            }
        int32_t got = r1_sampler_sample(&su, logits);
        CHECK_EQ_INT(got, want);
        spread += got != 17;
    }
    CHECK(spread > 100); /* the draws do cover the tail */
    r1_sampler_free(&s);
    r1_sampler_free(&su);
}

static void feed_all(r1_stopper *s, const char *const *pieces, int n, char *out) {
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *e;
        size_t len;
        r1_stopper_feed(s, pieces[i], strlen(pieces[i]), &e, &len);
        strncat(out, e, len);
    }
    const char *e;
    size_t len;
    r1_stopper_flush(s, &e, &len);
    strncat(out, e, len);
}

TEST(stop_strings_across_pieces) {
    static const char *const stops[] = {"</answer>", "\n\n"};
    char out[256];
    r1_stopper s;
    static const char *const a[] = {"<answer>4", "2</ans", "wer> trailing"};
    r1_stopper_init(&s, stops, 2);
    feed_all(&s, a, 3, out);
    CHECK_STR(out, "<answer>42");
    CHECK(s.stopped);
    r1_stopper_free(&s);
    /* a near-miss is released once it can no longer match */
    static const char *const b[] = {"x </an", "t> y\n", "z"};
    r1_stopper_init(&s, stops, 2);
    feed_all(&s, b, 3, out);
    CHECK_STR(out, "x </ant> y\nz");
    CHECK(!s.stopped);
    r1_stopper_free(&s);
    static const char *const c[] = {"a\n", "\nb"};
    r1_stopper_init(&s, stops, 2);
    feed_all(&s, c, 2, out);
    CHECK_STR(out, "a");
    r1_stopper_free(&s);
}

typedef struct {
    int seen, limit;
} cb_ctx;

static bool count_cb(void *p, int32_t tok) {
    (void)tok;
    cb_ctx *c = p;
    return ++c->seen < c->limit;
}

TEST(generate_greedy_matches_golden_argmax) {
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, "tests/golden/ds_v3", 2));
    if (!m) return;
    /* the golden's last row is the logits after the full prompt: greedy's
     * first token must be its argmax */
    int32_t prompt[11] = {0};
    FILE *f = fopen("tests/golden/ds_v3/prompt.txt", "r");
    for (int i = 0; f && i < 11; i++)
        if (fscanf(f, "%d", &prompt[i]) != 1) break;
    if (f) fclose(f);
    float *ref = malloc(11 * 101 * sizeof(float));
    f = fopen("tests/golden/ds_v3/logits.bin", "rb");
    CHECK(f && fread(ref, sizeof(float), 11 * 101, f) == 11 * 101);
    if (f) fclose(f);
    int32_t out[8];
    int64_t n = 0;
    r1_gen_params gp = {.max_new = 8, .sampling = {.temp = 0, .top_p = 1}};
    r1_gen_stats st;
    CHECK_OK(r1_generate(m, prompt, 11, &gp, out, &n, &st));
    CHECK_EQ_INT(n, 8);
    CHECK_EQ_INT(out[0], r1_argmax(ref + 10 * 101, 101));
    /* prompt + first 4 generated tokens, re-run as one prompt: same 5th token */
    int32_t longer[15];
    memcpy(longer, prompt, sizeof prompt);
    memcpy(longer + 11, out, 4 * sizeof(int32_t));
    int32_t out2[1];
    int64_t n2 = 0;
    gp.max_new = 1;
    CHECK_OK(r1_generate(m, longer, 15, &gp, out2, &n2, NULL));
    CHECK_EQ_INT(out2[0], out[4]);
    free(ref);
    r1_model_destroy(m);
}

TEST(generate_stops_on_eos_and_callback) {
    r1_model *m = NULL;
    CHECK_OK(r1_model_load(&m, "tests/golden/qwen2", 1));
    if (!m) return;
    int32_t prompt[3] = {5, 6, 7}, out[16], first[16];
    int64_t n = 0;
    r1_gen_params gp = {.max_new = 16, .sampling = {.temp = 0, .top_p = 1}};
    CHECK_OK(r1_generate(m, prompt, 3, &gp, first, &n, NULL));
    CHECK_EQ_INT(n, 16);
    int32_t stop = first[3];
    int64_t expect = 0;
    while (first[expect] != stop) expect++;
    r1_gen_stats st;
    gp.stop_ids = &stop;
    gp.n_stop_ids = 1;
    CHECK_OK(r1_generate(m, prompt, 3, &gp, out, &n, &st));
    CHECK_EQ_INT(n, expect);
    CHECK_EQ_INT(st.reason, R1_STOP_EOS);
    cb_ctx cc = {0, 5};
    gp = (r1_gen_params){.max_new = 16, .sampling = {.temp = 0, .top_p = 1}, .on_token = count_cb, .ctx = &cc};
    CHECK_OK(r1_generate(m, prompt, 3, &gp, out, &n, &st));
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(st.reason, R1_STOP_CALLBACK);
    r1_model_destroy(m);
}

TEST(kvcache_sizes) {
    r1_config c;
    CHECK_OK(r1_config_load(&c, "tests/golden/ds_v3"));
    CHECK_EQ_INT(r1_kvcache_width(&c), 16 + 4);
    CHECK_EQ_INT(r1_kvcache_naive_width(&c), 4 * (8 + 4) + 4 * 8);
    CHECK_OK(r1_config_load(&c, "tests/golden/qwen2"));
    CHECK_EQ_INT(r1_kvcache_width(&c), 2 * 2 * 8);
}

int main(void) {
    RUN(sampler_greedy_and_filters);
    RUN(argmax_matches_scan);
    RUN(sampler_matches_distribution_and_seed);
    RUN(sampler_walk_orders);
    RUN(stop_strings_across_pieces);
    RUN(generate_greedy_matches_golden_argmax);
    RUN(generate_stops_on_eos_and_callback);
    RUN(kvcache_sizes);
    TEST_MAIN_END();
}
