/* r1 serve: the OpenAI-compatible HTTP server over a model folder that holds
 * config.json, the safetensors weights and tokenizer.json. Runs until SIGINT
 * or SIGTERM, then finishes cleanly (open streams are ended). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/serve.h"

static const char *USAGE =
    "usage: r1 serve -m MODEL [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--parallel N]\n"
    "                [--queue N] [--ctx N] [--max-tokens N] [--batch N] [--max-body BYTES]\n"
    "                [--name ID] [--tokenizer PATH] [--threads N]\n"
    "  OpenAI-compatible server: POST /v1/chat/completions, POST /v1/completions,\n"
    "  GET /v1/models, GET /health. Chat replies put the text inside <think>...</think>\n"
    "  in reasoning_content (DeepSeek API style); stream: true sends SSE chunks.\n"
    "  --parallel  sequences decoded together in one batch (default 8)\n"
    "  --queue     requests waiting for a free sequence before 503 (default 128)\n"
    "  --ctx       tokens per sequence, prompt + completion (default 4096, or the model's limit)\n"
    "  --max-tokens cap on a request's max_tokens (default: --ctx)\n"
    "  --batch     rows per model call, decode rows + prefill chunks (default 512)\n"
    "  --api-key   require \"Authorization: Bearer KEY\" on /v1/ (also env R1_API_KEY)\n"
    "  --name      the model id clients send (default: the MODEL folder's name)\n"
    "  Binds 127.0.0.1 unless --host says otherwise; --port 0 picks a free port.\n";

static int opt_int(const char *cmd, const char *flag, const char *v, long long lo, long long hi, long long *out) {
    if (!v) return cli_usage(cmd, "option %s needs a value", flag), -1;
    if (cli_parse_i64(v, out) || *out < lo || *out > hi) return cli_usage(cmd, "bad %s '%s'", flag, v), -1;
    return 0;
}

int cmd_serve(int argc, char **argv) {
    r1_serve_opts o;
    r1_serve_opts_default(&o);
    o.ctx = 0;
    o.api_key = getenv("R1_API_KEY");
    const char *model = NULL, *tok_path = NULL, *name = NULL;
    long long threads = 0, v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (cli_is(a, "--help") || cli_is(a, "-h")) return printf("%s", USAGE), 0;
        if (cli_is(a, "-m") || cli_is(a, "--model")) model = val;
        else if (cli_is(a, "--host")) o.host = val;
        else if (cli_is(a, "--api-key")) o.api_key = val;
        else if (cli_is(a, "--name")) name = val;
        else if (cli_is(a, "--tokenizer")) tok_path = val;
        else if (cli_is(a, "--port")) r = opt_int("serve", a, val, 0, 65535, &v), o.port = (int)v;
        else if (cli_is(a, "--parallel")) r = opt_int("serve", a, val, 1, 1024, &v), o.parallel = (int)v;
        else if (cli_is(a, "--queue")) r = opt_int("serve", a, val, 0, 1 << 20, &v), o.queue = (int)v;
        else if (cli_is(a, "--ctx")) r = opt_int("serve", a, val, 2, 1 << 24, &v), o.ctx = v;
        else if (cli_is(a, "--max-tokens")) r = opt_int("serve", a, val, 1, 1 << 24, &v), o.max_tokens = v;
        else if (cli_is(a, "--batch")) r = opt_int("serve", a, val, 1, 1 << 20, &v), o.step_rows = v;
        else if (cli_is(a, "--max-body")) r = opt_int("serve", a, val, 16, 1LL << 32, &v), o.max_body = (size_t)v;
        else if (cli_is(a, "--threads")) r = opt_int("serve", a, val, 1, 1024, &threads);
        else return cli_usage("serve", "unknown option '%s'", a);
        if (r) return 2;
        if (!val) return cli_usage("serve", "option %s needs a value", a);
        i++;
    }
    if (!model) return cli_usage("serve", "missing -m MODEL");
    if (!o.host || !o.host[0]) return cli_usage("serve", "bad --host");
    char id[256];
    if (!name) { /* the folder's last component */
        size_t n = strlen(model);
        while (n > 1 && model[n - 1] == '/') n--;
        size_t b = n;
        while (b > 0 && model[b - 1] != '/') b--;
        snprintf(id, sizeof id, "%.*s", (int)(n - b), model + b);
        name = id;
    }
    o.model_id = name;
    r1_tok *tok = NULL;
    r1_model *m = NULL;
    r1_status s = r1_tok_load(&tok, tok_path ? tok_path : model);
    if (s != R1_OK) return cli_fail("serve: tokenizer", s);
    s = r1_model_load(&m, model, (int)threads);
    if (s != R1_OK) {
        r1_tok_free(tok);
        return cli_fail("serve: model", s);
    }
    if (!o.ctx) o.ctx = m->cfg.max_pos > 0 && m->cfg.max_pos < 4096 ? m->cfg.max_pos : 4096;
    /* Signals are taken by sigwait below; threads started from here inherit the mask. */
    sigset_t sig;
    sigemptyset(&sig);
    sigaddset(&sig, SIGINT);
    sigaddset(&sig, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sig, NULL);
    signal(SIGPIPE, SIG_IGN);
    r1_server *srv = NULL;
    s = r1_serve_start(&srv, m, tok, &o);
    if (s != R1_OK) {
        r1_model_destroy(m);
        r1_tok_free(tok);
        return cli_fail("serve", s);
    }
    fprintf(stderr, "r1 serve: model '%s' on http://%s:%d (parallel %d, ctx %lld, queue %d%s)\n", name, o.host,
            r1_serve_port(srv), o.parallel, (long long)o.ctx, o.queue, o.api_key && o.api_key[0] ? ", api key" : "");
    int got = 0;
    sigwait(&sig, &got);
    fprintf(stderr, "r1 serve: signal %d, stopping\n", got);
    r1_serve_stop(srv);
    r1_model_destroy(m);
    r1_tok_free(tok);
    return 0;
}
