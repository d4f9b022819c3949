/* replay: a main() for libFuzzer targets so their corpora run in `make test`
 * without libFuzzer. With no arguments it replays tests/fuzz/corpus/<target>/
 * where <target> is this binary's name minus "_replay"; otherwise each
 * argument is a file or a directory of files. A crash is the failure signal;
 * every input that returns counts as a pass. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    /* an exactly-sized copy so ASan sees reads past the input's end */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact && len) memcpy(exact, buf, len);
    free(buf);
    if (!exact) return -1;
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int run_path(const char *path, int *n) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) != 0) return -1;
        (*n)++;
        return 0;
    }
    struct dirent **ents;
    int k = scandir(path, &ents, NULL, alphasort);
    if (k < 0) return -1;
    int rc = 0;
    for (int i = 0; i < k; i++) {
        if (ents[i]->d_name[0] != '.' && rc == 0) {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name);
            rc = run_path(sub, n);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int main(int argc, char **argv) {
    char name[256], dir[512];
    const char *base = strrchr(argv[0], '/');
    snprintf(name, sizeof name, "%s", base ? base + 1 : argv[0]);
    char *suffix = strstr(name, "_replay");
    if (suffix) *suffix = '\0';
    int n = 0, rc = 0;
    if (argc < 2) {
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
        rc = run_path(dir, &n);
    }
    for (int i = 1; i < argc && rc == 0; i++) rc = run_path(argv[i], &n);
    printf("%s: %d passed, %d failed\n", name, rc == 0 ? n : 0, rc == 0 ? 0 : 1);
    return rc == 0 ? 0 : 1;
}
