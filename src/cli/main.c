/* r1: command-line entry point; dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"demo", cmd_demo, "tiny DeepSeek-MoE from scratch -> R1-Zero GRPO -> before/after table"},
    {"grpo", cmd_grpo, "R1-Zero GRPO on a built-in task (rule rewards)"},
    {"eval", cmd_eval, "held-out accuracy on a built-in task"},
    {"sft", cmd_sft, "supervised fine-tuning on prompt/response JSONL"},
    {"sample", cmd_sample, "rejection sampling: keep verified traces (--best-of N)"},
    {"distill", cmd_distill, "teacher traces -> SFT of a student of another config"},
    {"plot", cmd_plot, "metrics.jsonl -> SVG line plots"},
    {"init", cmd_init, "a randomly initialised model as an HF folder"},
    {"generate", cmd_generate, "generate a continuation of a prompt"},
    {"chat", cmd_chat, "interactive chat in the model's format; reasoning shown dimmed"},
    {"convert", cmd_convert, "HF folder <-> GGUF (llama.cpp), quantizing on the way"},
    {"logits", cmd_logits, "raw f32 logits of every prompt position (reference checks)"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server (chat, completions, streaming)"},
    {"tokenize", cmd_tokenize, "text <-> token ids with a tokenizer.json"},
    {"tokenizer-train", cmd_tokenizer_train, "learn a byte-level BPE tokenizer from text"},
    {"pretrain", cmd_pretrain, "train a model from scratch on a token file or task stream"},
    {NULL, NULL, NULL},
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
    for (const command *c = COMMANDS; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "r1: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
