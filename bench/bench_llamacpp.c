/* bench_llamacpp: r1 and llama.cpp (the npm peer, scripts/peer_llamacpp.sh)
 * load the same GGUF and are compared in one run:
 *  (1) correctness: max |dlogit| and top-1 agreement over every prompt
 *      position, and the greedy continuation of 64 tokens (both argmax of
 *      their own logits; the length of the common prefix is printed);
 *  (2) speed: prefill of PROMPT tokens and decode of GEN tokens, tok/s at 1
 *      and 2 threads (best of REPS, each run after 50 ms with both engines
 *      idle), the ratio r1/llama.cpp, and r1's decode
 *      next to the memory roofline (weight bytes read per token / measured
 *      read bandwidth at that thread count, the best of REPS + 1 readings;
 *      "fits in L3" where a token's weights are no larger than the
 *      last-level cache, which then serves part of them).
 * Models: a random tiny deepseek2 (MLA + MoE) and a random qwen2 with
 * R1-Distill-Qwen-1.5B's widths and 4 layers, at f16, q8_0 and q4_K; on
 * request ("dswide") a 3-layer deepseek2 with 64 experts of V2-Lite's
 * width and ("dsdeep") the tiny deepseek2 with 24 layers; the files are
 * cached in build/bench-gguf/. llama.cpp runs with its defaults
 * (weight repacking on) except an F32 K/V cache and no flash attention, the
 * configuration in which its logits are comparable.
 * Usage: bench_llamacpp [all|ds|qwen|dswide|dsdeep] [f16|q8_0|q4_K ...] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tests/peer_llamacpp.h"
#include "bench_util.h"
#include "infer/sampler.h"
#include "model/model.h"

enum { PROMPT = 128, GEN = 64, CMP_T = 32, REPS = 3 };

static void die(const char *what) {
    fprintf(stderr, "bench_llamacpp: %s: %s\n", what, r1_errmsg());
    exit(1);
}

static r1_config qwen_cfg(void) {
    const char *json = "{\"model_type\":\"qwen2\",\"vocab_size\":151936,\"hidden_size\":1536,\"intermediate_size\":8960,"
                       "\"num_hidden_layers\":4,\"num_attention_heads\":12,\"num_key_value_heads\":2,"
                       "\"max_position_embeddings\":4096,\"rms_norm_eps\":1e-6,\"rope_theta\":10000,"
                       "\"tie_word_embeddings\":false,\"bos_token_id\":151643,\"eos_token_id\":151643}";
    r1_config c;
    if (r1_config_parse(&c, json, strlen(json), "qwen") != R1_OK) die("config");
    return c;
}

/* deepseek2-tiny with `layers` layers: 4, or 24 ("dsdeep": 155-542 MB a
 * token, more than an L3 holds, so its decode reads DRAM on any machine). */
static r1_config ds_cfg(int layers) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"model_type\":\"deepseek_v3\",\"vocab_size\":32000,\"hidden_size\":1024,\"intermediate_size\":2816,"
             "\"num_hidden_layers\":%d,\"num_attention_heads\":8,\"num_key_value_heads\":8,"
             "\"max_position_embeddings\":4096,\"rms_norm_eps\":1e-6,\"rope_theta\":10000,"
             "\"q_lora_rank\":512,\"kv_lora_rank\":256,\"qk_nope_head_dim\":64,\"qk_rope_head_dim\":32,"
             "\"v_head_dim\":64,\"n_routed_experts\":16,\"num_experts_per_tok\":4,\"n_shared_experts\":1,"
             "\"moe_intermediate_size\":512,\"first_k_dense_replace\":1,\"n_group\":4,\"topk_group\":2,"
             "\"norm_topk_prob\":true,\"routed_scaling_factor\":2.5,\"num_nextn_predict_layers\":0,"
             "\"rope_scaling\":null,\"bos_token_id\":0,\"eos_token_id\":1}", layers);
    r1_config c;
    if (r1_config_parse(&c, json, strlen(json), "ds") != R1_OK) die("config");
    return c;
}

/* A wider DeepSeek-V3-style MoE (64 experts of V2-Lite's width, 6 routed
 * and 1 shared a token, 3 layers: 1.3 B parameters, 0.7 GB at q4_K) whose
 * experts do not fit in any L3 cache: the tiny model's 42-146 MB a token
 * sit in the 260 MB L3 of the Intel VM, where its roofline column says
 * nothing. Not in "all" (nor dsdeep): writing its GGUFs takes minutes. */
static r1_config wide_cfg(void) {
    const char *json = "{\"model_type\":\"deepseek_v3\",\"vocab_size\":32000,\"hidden_size\":2048,\"intermediate_size\":10944,"
                       "\"num_hidden_layers\":3,\"num_attention_heads\":16,\"num_key_value_heads\":16,"
                       "\"max_position_embeddings\":4096,\"rms_norm_eps\":1e-6,\"rope_theta\":10000,"
                       "\"q_lora_rank\":512,\"kv_lora_rank\":512,\"qk_nope_head_dim\":128,\"qk_rope_head_dim\":64,"
                       "\"v_head_dim\":128,\"n_routed_experts\":64,\"num_experts_per_tok\":6,\"n_shared_experts\":1,"
                       "\"moe_intermediate_size\":1408,\"first_k_dense_replace\":1,\"n_group\":8,\"topk_group\":3,"
                       "\"norm_topk_prob\":true,\"routed_scaling_factor\":2.5,\"num_nextn_predict_layers\":0,"
                       "\"rope_scaling\":null,\"bos_token_id\":0,\"eos_token_id\":1}";
    r1_config c;
    if (r1_config_parse(&c, json, strlen(json), "dswide") != R1_OK) die("config");
    return c;
}

/* build/bench-gguf/<name>-<type>.gguf, made once from a random f32 model. */
static void make_gguf(const char *path, const r1_config *c, r1_dtype t) {
    struct stat st;
    if (stat(path, &st) == 0) return;
    mkdir("build", 0755);
    mkdir("build/bench-gguf", 0755);
    fprintf(stderr, "bench_llamacpp: writing %s ...\n", path);
    r1_model *m = NULL;
    if (r1_model_create_random(&m, c, R1_DT_F32, 1234, 2) != R1_OK) die("random model");
    if (r1_model_save_gguf(m, path, t, NULL) != R1_OK) die(path);
    r1_model_destroy(m);
}

/* Weight bytes read per decoded token: every matrix once, K of E experts, one embedding row. */
static double active_bytes(const r1_model *m) {
    const r1_config *c = &m->cfg;
    double b = (double)r1_tensor_row_bytes(&m->w.embed) + (double)r1_tensor_bytes(&m->w.lm_head);
    for (int64_t l = 0; l < c->n_layers; l++) {
        const r1_layer_weights *L = &m->w.layers[l];
        const r1_tensor *mats[] = {&L->q_a, &L->q_b, &L->q, &L->kv_a, &L->kv_b, &L->k, &L->v, &L->o, &L->gate,
                                   &L->up, &L->down, &L->router, &L->sh_gate, &L->sh_up, &L->sh_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            if (mats[i]->data && !(mats[i] == &L->kv_b && m->kT)) b += (double)r1_tensor_bytes(mats[i]);
        if (m->kT) b += (double)r1_tensor_bytes(&m->kT[l]);
        if (m->vb && m->vb[l].data) b += (double)r1_tensor_bytes(&m->vb[l]);
        else if (m->kT && L->kv_b.data) b += (double)r1_tensor_bytes(&L->kv_b) * (double)c->Dv / (double)(c->Dn + c->Dv);
        if (r1_config_layer_is_moe(c, l))
            b += (double)c->K * (double)(r1_tensor_bytes(&L->e_gate[0]) + r1_tensor_bytes(&L->e_up[0]) + r1_tensor_bytes(&L->e_down[0]));
    }
    return b;
}

/* Both engines' greedy tokens come from r1's argmax (the kernel table's),
 * so the harness costs both the same few microseconds. */
static int argmax(const float *v, int64_t n) { return r1_argmax(v, n); }

/* ---- r1 side ---- */
typedef struct {
    double prefill, decode; /* tok/s */
} speed;

static void r1_run(r1_model *m, const int32_t *prompt, int64_t np, int ngen, float *prompt_logits, int32_t *gen,
                   speed *sp) {
    int64_t V = m->cfg.vocab;
    r1_kvcache kv;
    if (r1_kvcache_init(&kv, &m->cfg, 1, np + ngen + 1) != R1_OK) die("kv");
    int32_t *slot = calloc((size_t)np, sizeof *slot);
    int64_t *pos = malloc((size_t)np * sizeof *pos);
    for (int64_t i = 0; i < np; i++) pos[i] = i;
    float *last = malloc((size_t)V * 4);
    r1_batch b = {np, prompt, slot, pos};
    int64_t lastrow = np - 1;
    double t0 = r1_bench_now();
    if (prompt_logits) {
        if (r1_model_forward(m, &kv, &b, NULL, np, prompt_logits) != R1_OK) die("forward");
        memcpy(last, prompt_logits + (np - 1) * V, (size_t)V * 4);
    } else if (r1_model_forward(m, &kv, &b, &lastrow, 1, last) != R1_OK) {
        die("forward");
    }
    double t1 = r1_bench_now();
    int32_t tok = argmax(last, V);
    for (int i = 0; i < ngen; i++) {
        if (gen) gen[i] = tok;
        int32_t s0 = 0;
        int64_t p = np + i;
        r1_batch d = {1, &tok, &s0, &p};
        if (r1_model_forward(m, &kv, &d, NULL, 1, last) != R1_OK) die("decode");
        tok = argmax(last, V);
    }
    double t2 = r1_bench_now();
    if (sp) sp->prefill = (double)np / (t1 - t0), sp->decode = ngen / (t2 - t1);
    free(slot), free(pos), free(last);
    r1_kvcache_free(&kv);
}

/* Each engine's idle threads spin for a while after a run (r1's pool about
 * 0.5 ms; ggml's threadpool polls too) and would take a core from the other
 * engine's next run on a 2-core machine: wait until both pools sleep. */
static void settle(void) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* ---- llama.cpp side ---- */
static void ll_run(peer_llama *p, struct llama_context *ctx, int64_t V, const int32_t *prompt, int64_t np, int ngen,
                   bool all_logits, float *prompt_logits, int32_t *gen, speed *sp) {
    p->llama_memory_clear(p->llama_get_memory(ctx), true);
    llama_batch b = p->llama_batch_init((int32_t)np, 0, 1);
    for (int64_t i = 0; i < np; i++) {
        b.token[i] = prompt[i];
        b.pos[i] = (int32_t)i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = all_logits || i == np - 1;
    }
    b.n_tokens = (int32_t)np;
    double t0 = r1_bench_now();
    if (p->llama_decode(ctx, b) != 0) die("llama_decode (prompt)");
    double t1 = r1_bench_now();
    if (prompt_logits)
        for (int64_t i = 0; i < np; i++) memcpy(prompt_logits + i * V, p->llama_get_logits_ith(ctx, (int32_t)i), (size_t)V * 4);
    int32_t tok = argmax(p->llama_get_logits_ith(ctx, (int32_t)np - 1), V);
    llama_batch d = p->llama_batch_init(1, 0, 1);
    for (int i = 0; i < ngen; i++) {
        if (gen) gen[i] = tok;
        d.n_tokens = 1;
        d.token[0] = tok;
        d.pos[0] = (int32_t)(np + i);
        d.n_seq_id[0] = 1;
        d.seq_id[0][0] = 0;
        d.logits[0] = 1;
        if (p->llama_decode(ctx, d) != 0) die("llama_decode");
        tok = argmax(p->llama_get_logits_ith(ctx, 0), V);
    }
    double t2 = r1_bench_now();
    if (sp) sp->prefill = (double)np / (t1 - t0), sp->decode = ngen / (t2 - t1);
    p->llama_batch_free(b);
    p->llama_batch_free(d);
}

static void bench_one(peer_llama *p, const char *name, const r1_config *c, r1_dtype t) {
    char path[256];
    snprintf(path, sizeof path, "build/bench-gguf/%s-%s.gguf", name, r1_dtype_name(t));
    make_gguf(path, c, t);
    int32_t prompt[PROMPT];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int32_t)((i * 7919 + 13) % c->vocab);
    struct llama_model_params mp = p->llama_model_default_params();
    struct llama_model *lm = p->llama_model_load_from_file(path, mp);
    if (!lm) die("llama.cpp load");
    struct llama_context *ctx = peer_context(p, lm, PROMPT + GEN + 8, PROMPT, 2);
    if (!ctx) die("llama.cpp context");
    int64_t V = c->vocab;

    /* (1) correctness at 2 threads */
    r1_model *m = NULL;
    if (r1_model_load(&m, path, 2) != R1_OK) die(path);
    float *la = malloc((size_t)(CMP_T * V) * 4), *lb = malloc((size_t)(CMP_T * V) * 4);
    int32_t ga[GEN], gb[GEN];
    r1_run(m, prompt, CMP_T, GEN, la, ga, NULL);
    ll_run(p, ctx, V, prompt, CMP_T, GEN, true, lb, gb, NULL);
    double maxd = 0, maxl = 0;
    int top1 = 0, same = 0;
    for (int64_t i = 0; i < CMP_T; i++) {
        for (int64_t v = 0; v < V; v++) {
            double d = fabs((double)la[i * V + v] - lb[i * V + v]);
            maxd = d > maxd ? d : maxd;
            maxl = fabs(lb[i * V + v]) > maxl ? fabs(lb[i * V + v]) : maxl;
        }
        top1 += argmax(la + i * V, V) == argmax(lb + i * V, V);
    }
    while (same < GEN && ga[same] == gb[same]) same++;
    printf("| %s | %s | %d/%d | %.2e (max |logit| %.1f) | %d/%d |", name, r1_dtype_name(t), top1, CMP_T, maxd, maxl, same,
           GEN);
    free(la), free(lb);
    double bytes = active_bytes(m);
    r1_model_destroy(m);

    /* (2) speed, 1 and 2 threads, best of REPS */
    for (int th = 1; th <= 2; th++) {
        if (r1_model_load(&m, path, th) != R1_OK) die(path);
        /* the bandwidth moves by a third within a minute on a shared VM:
         * measured between the repetitions too, the best reading counts */
        double bw = r1_bench_read_bandwidth(m->pool);
        speed best_r = {0, 0}, best_l = {0, 0}, s;
        p->llama_set_n_threads(ctx, th, th);
        for (int r = 0; r < REPS; r++) {
            settle();
            r1_run(m, prompt, PROMPT, GEN, NULL, NULL, &s);
            best_r.prefill = s.prefill > best_r.prefill ? s.prefill : best_r.prefill;
            best_r.decode = s.decode > best_r.decode ? s.decode : best_r.decode;
            settle();
            ll_run(p, ctx, V, prompt, PROMPT, GEN, false, NULL, NULL, &s);
            best_l.prefill = s.prefill > best_l.prefill ? s.prefill : best_l.prefill;
            best_l.decode = s.decode > best_l.decode ? s.decode : best_l.decode;
            settle();
            double b = r1_bench_read_bandwidth(m->pool);
            bw = b > bw ? b : bw;
        }
        double roof = bw * 1e9 / bytes;
        printf(" %d: pp %.0f vs %.0f (%.2fx), tg %.1f vs %.1f (%.2fx), roofline %.1f (%.0f%%, %.1f GB/s) |", th,
               best_r.prefill, best_l.prefill, best_r.prefill / best_l.prefill, best_r.decode, best_l.decode,
               best_r.decode / best_l.decode, roof, 100 * best_r.decode / roof, bw);
        fflush(stdout);
        r1_model_destroy(m);
    }
    /* a token's weights that fit in the last-level cache are partly read
     * from it, faster than the probe's 1 GiB stream: the DRAM roofline is
     * then no bound (the Intel VM's 260 MB L3 holds qwen2 q4_K's 237 MB) */
    long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    printf(" %.0f MB/token%s |\n", bytes / 1e6, llc > 0 && bytes <= (double)llc ? " (fits in L3)" : "");
    p->llama_free(ctx);
    p->llama_model_free(lm);
}

int main(int argc, char **argv) {
    /* the three types by default; q6_K (Q4_K_M files keep some
     * matrices in it) and q4_0 when asked for */
    static const r1_dtype types[] = {R1_DT_F16, R1_DT_Q8_0, R1_DT_Q4_K, R1_DT_Q6_K, R1_DT_Q4_0};
    enum { NT = sizeof types / sizeof types[0], NDEFAULT = 3 };
    const char *which = argc > 1 ? argv[1] : "all";
    static const char *names[] = {"deepseek2-tiny", "qwen2-1.5B-4L", "deepseek2-wide-3L", "deepseek2-tiny-24L"},
                      *keys[] = {"ds", "qwen", "dswide", "dsdeep"};
    bool bad = true;
    for (int mi = 0; mi < 4; mi++) bad &= strcmp(which, keys[mi]) != 0;
    bad &= strcmp(which, "all") != 0;
    for (int a = 2; a < argc; a++) {
        bool known = false;
        for (int t = 0; t < NT; t++) known |= r1_dtype_from_name(argv[a]) == (int)types[t];
        bad |= !known;
    }
    if (bad) {
        fprintf(stderr, "usage: bench_llamacpp [all|ds|qwen|dswide|dsdeep] [f16|q8_0|q4_K|q6_K|q4_0 ...]\n");
        return 2;
    }
    peer_llama p;
    char err[512];
    if (peer_open(&p, err, sizeof err) != 0) {
        fprintf(stderr, "bench_llamacpp: %s\n", err);
        return 1;
    }
    const char *rp = getenv("R1_REPACK");
    bool interleaved = r1_kernels_get()->qmatmul[R1_DT_Q4_K_R8] && !(rp && strcmp(rp, "0") == 0);
    printf("r1 (isa %s, q4_K/q8_0/q4_0/q6_K rows %s) vs llama.cpp (npm @node-llama-cpp/linux-x64@3.22.1), same GGUF, same prompt "
           "of %d tokens, %d decoded tokens; tok/s best of %d; r1/llama.cpp ratios\n\n",
           r1_kernels_get()->isa, interleaved ? "interleaved at load" : "in the file's layout", PROMPT, GEN, REPS);
    printf("| model | weights | top-1 over %d prompt positions | max abs dlogit | greedy tokens equal | threads 1 | "
           "threads 2 | weights read |\n|---|---|---|---|---|---|---|---|\n",
           CMP_T);
    for (int mi = 0; mi < 4; mi++) {
        if (strcmp(which, keys[mi]) && (strcmp(which, "all") || mi >= 2)) continue;
        const char *name = names[mi];
        r1_config c = mi == 0 ? ds_cfg(4) : mi == 1 ? qwen_cfg() : mi == 2 ? wide_cfg() : ds_cfg(24);
        for (int t = 0; t < NT; t++) {
            bool want = argc <= 2 && t < NDEFAULT;
            for (int a = 2; a < argc; a++) want |= r1_dtype_from_name(argv[a]) == (int)types[t];
            if (want) bench_one(&p, name, &c, types[t]);
        }
    }
    return 0;
}
