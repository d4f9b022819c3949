/* r1: command-line entry point; dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: r1 <command> [options]\n");
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "r1: unknown command '%s'\n", argv[1]);
    return 2;
}
