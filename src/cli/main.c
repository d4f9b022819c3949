/* r1: command-line entry point; dispatches to one file per subcommand.
 * The data-parallel commands (pretrain, sft, grpo) join the MPI job first;
 * when one of them fails on any rank the whole job is aborted, because the
 * other ranks would wait for it in their next collective forever. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dist/dist.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    bool dist; /* runs data-parallel over the ranks of an MPI job */
} command;

static const command COMMANDS[] = {
    {"demo", cmd_demo, "tiny DeepSeek-MoE from scratch -> R1-Zero GRPO -> before/after table", false},
    {"grpo", cmd_grpo, "R1-Zero GRPO on a built-in task (rule rewards)", true},
    {"eval", cmd_eval, "held-out accuracy on a built-in task", false},
    {"sft", cmd_sft, "supervised fine-tuning on prompt/response JSONL", true},
    {"sample", cmd_sample, "rejection sampling: keep verified traces (--best-of N)", false},
    {"distill", cmd_distill, "teacher traces -> SFT of a student of another config", false},
    {"plot", cmd_plot, "metrics.jsonl -> SVG line plots", false},
    {"init", cmd_init, "a randomly initialised model as an HF folder", false},
    {"generate", cmd_generate, "generate a continuation of a prompt", false},
    {"chat", cmd_chat, "interactive chat in the model's format; reasoning shown dimmed", false},
    {"convert", cmd_convert, "HF folder <-> GGUF (llama.cpp), quantizing on the way", false},
    {"logits", cmd_logits, "raw f32 logits of every prompt position (reference checks)", false},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server (chat, completions, streaming)", false},
    {"tokenize", cmd_tokenize, "text <-> token ids with a tokenizer.json", false},
    {"tokenizer-train", cmd_tokenizer_train, "learn a byte-level BPE tokenizer from text", false},
    {"pretrain", cmd_pretrain, "train a model from scratch on a token file or task stream", true},
    {NULL, NULL, NULL, false},
};

static void usage(FILE *f) {
    fprintf(f, "r1: DeepSeek-R1 in C\n\nusage: r1 <command> [options]   (r1 <command> --help for details)\n\n");
    for (const command *c = COMMANDS; c->name; c++) fprintf(f, "  %-14s %s\n", c->name, c->summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (const command *c = COMMANDS; c->name; c++) {
        if (strcmp(argv[1], c->name) != 0) continue;
        if (!c->dist) return c->fn(argc - 1, argv + 1);
        r1_status s = r1_dist_init(&argc, &argv);
        if (s != R1_OK) return cli_fail(c->name, s);
        int rc = c->fn(argc - 1, argv + 1);
        if (rc != 0 && r1_dist_size() > 1) r1_dist_abort(rc);
        r1_dist_finalize();
        return rc;
    }
    fprintf(stderr, "r1: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
