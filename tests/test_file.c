/* Tests for io/file: read_all, mmap, atomic file writes (no temporaries left),
 * atomic directory replacement and recovery from each crash window. */
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/status.h"
#include "io/file.h"

static char g_dir[64];

static void make_tmpdir(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/r1_test_file_XXXXXX");
    R1_ASSERT(mkdtemp(g_dir) != NULL);
}

static char *path_in(const char *name) {
    char *p = r1_path_join(g_dir, name);
    R1_ASSERT(p);
    return p;
}

/* Number of entries in dir (without . and ..); names joined into `names`. */
static int list_dir(const char *dir, char *names, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    names[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        n++;
        strncat(names, e->d_name, cap - strlen(names) - 2);
        strncat(names, " ", cap - strlen(names) - 1);
    }
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text) {
    CHECK_OK(r1_file_write_atomic(path, text, strlen(text)));
}

static void check_contents(const char *path, const char *want) {
    char *buf;
    size_t len;
    CHECK_OK(r1_file_read_all(path, &buf, &len, 1 << 20));
    if (buf) {
        CHECK_STR(buf, want);
        CHECK_EQ_INT(len, strlen(want));
    }
    free(buf);
}

TEST(read_all_and_cap) {
    char *p = path_in("a.txt");
    write_text(p, "hello");
    check_contents(p, "hello");
    char *buf = (char *)1;
    size_t len = 7;
    CHECK(r1_file_read_all(p, &buf, &len, 4) == R1_LIMIT);
    CHECK(buf == NULL && len == 0);
    CHECK(strstr(r1_errmsg(), "more than the 4 allowed") != NULL);
    char *missing = path_in("nope.txt");
    CHECK(r1_file_read_all(missing, &buf, &len, 100) == R1_IO);
    CHECK(strstr(r1_errmsg(), "nope.txt: cannot open") != NULL);
    CHECK(r1_file_read_all(g_dir, &buf, &len, 100) == R1_IO); /* a directory */
    write_text(p, "");
    check_contents(p, "");
    unlink(p);
    free(p);
    free(missing);
}

TEST(atomic_write_leaves_no_tmp) {
    char *sub = path_in("aw");
    CHECK(mkdir(sub, 0755) == 0);
    char *p = r1_path_join(sub, "f.bin");
    write_text(p, "one");
    write_text(p, "two, longer");
    check_contents(p, "two, longer");
    char names[512];
    CHECK_EQ_INT(list_dir(sub, names, sizeof names), 1);
    CHECK_STR(names, "f.bin ");
    /* abort after a partial write: neither the file nor a temporary changes */
    r1_file_atomic f;
    CHECK_OK(r1_file_atomic_open(&f, p));
    CHECK_OK(r1_file_atomic_write(&f, "zzz", 3));
    CHECK_EQ_INT(list_dir(sub, names, sizeof names), 2); /* f.bin + f.bin.tmp.<pid> */
    r1_file_atomic_abort(&f);
    CHECK_EQ_INT(list_dir(sub, names, sizeof names), 1);
    check_contents(p, "two, longer");
    /* streaming write in pieces */
    CHECK_OK(r1_file_atomic_open(&f, p));
    for (int i = 0; i < 3; i++) CHECK_OK(r1_file_atomic_write(&f, "ab", 2));
    CHECK_OK(r1_file_atomic_commit(&f));
    check_contents(p, "ababab");
    CHECK_EQ_INT(list_dir(sub, names, sizeof names), 1);
    /* a folder that does not exist */
    char *bad = r1_path_join(sub, "no/such/file");
    CHECK(r1_file_write_atomic(bad, "x", 1) == R1_IO);
    CHECK_OK(r1_file_remove_tree(sub));
    CHECK(!r1_file_exists(sub));
    free(bad);
    free(p);
    free(sub);
}

TEST(mmap_whole_file_and_empty) {
    char *p = path_in("m.bin");
    write_text(p, "mapped bytes");
    r1_mmap m;
    CHECK_OK(r1_file_mmap(&m, p));
    CHECK_EQ_INT(m.len, 12);
    CHECK(m.data && memcmp(m.data, "mapped bytes", 12) == 0);
    r1_file_munmap(&m);
    CHECK(m.data == NULL && m.len == 0);
    write_text(p, "");
    CHECK_OK(r1_file_mmap(&m, p));
    CHECK(m.data == NULL && m.len == 0);
    r1_file_munmap(&m);
    unlink(p);
    CHECK(r1_file_mmap(&m, p) == R1_IO);
    free(p);
}

TEST(paths) {
    char *j = r1_path_join("a/b", "c");
    CHECK_STR(j, "a/b/c");
    free(j);
    j = r1_path_join("a/b/", "c");
    CHECK_STR(j, "a/b/c");
    free(j);
    CHECK_STR(r1_path_base("x/y/config.json"), "config.json");
    CHECK_STR(r1_path_base("config.json"), "config.json");
}

TEST(atomic_dir_replace) {
    char *ck = path_in("ckpt"), names[512];
    r1_file_dir d;
    /* first checkpoint: no previous folder */
    CHECK_OK(r1_file_dir_begin(&d, ck));
    char *f1 = r1_path_join(d.tmp, "step.txt");
    write_text(f1, "100");
    CHECK_OK(r1_file_dir_commit(&d));
    char *in = r1_path_join(ck, "step.txt");
    check_contents(in, "100");
    CHECK_EQ_INT(list_dir(g_dir, names, sizeof names), 1);
    CHECK_STR(names, "ckpt ");
    /* second checkpoint replaces the whole folder (old files vanish) */
    CHECK(r1_file_dir_begin(&d, "/dev/null/x") == R1_IO);
    char *slash = path_in("ckpt/");
    CHECK_OK(r1_file_dir_begin(&d, slash));
    char *f2 = r1_path_join(d.tmp, "other.txt");
    write_text(f2, "200");
    CHECK_OK(r1_file_dir_commit(&d));
    CHECK(!r1_file_exists(in));
    char *in2 = r1_path_join(ck, "other.txt");
    check_contents(in2, "200");
    CHECK_EQ_INT(list_dir(g_dir, names, sizeof names), 1);
    /* abort: the temporary goes, the published folder stays */
    CHECK_OK(r1_file_dir_begin(&d, ck));
    char *f3 = r1_path_join(d.tmp, "junk.txt");
    write_text(f3, "junk");
    r1_file_dir_abort(&d);
    CHECK_EQ_INT(list_dir(g_dir, names, sizeof names), 1);
    check_contents(in2, "200");
    CHECK_OK(r1_file_remove_tree(ck));
    free(ck), free(f1), free(f2), free(f3), free(in), free(in2), free(slash);
}

/* The pid of a process that has exited (so its leftovers count as stale). */
static long dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

TEST(dir_recover_each_window) {
    char *ck = path_in("rc"), names[512], buf[512];
    long pid = dead_pid();
    /* window 2: DIR gone, DIR.old.<pid> and a complete DIR.tmp.<pid> exist */
    snprintf(buf, sizeof buf, "%s.old.%ld", ck, pid);
    CHECK(mkdir(buf, 0755) == 0);
    char *f = r1_path_join(buf, "state.txt");
    write_text(f, "good");
    free(f);
    snprintf(buf, sizeof buf, "%s.tmp.%ld", ck, pid);
    CHECK(mkdir(buf, 0755) == 0);
    CHECK_OK(r1_file_dir_recover(ck));
    CHECK_EQ_INT(list_dir(g_dir, names, sizeof names), 1);
    CHECK_STR(names, "rc ");
    f = r1_path_join(ck, "state.txt");
    check_contents(f, "good");
    free(f);
    /* window 3 (and 1): DIR present, stale leftovers removed */
    snprintf(buf, sizeof buf, "%s.old.%ld", ck, pid);
    CHECK(mkdir(buf, 0755) == 0);
    snprintf(buf, sizeof buf, "%s.tmp.%ld", ck, pid);
    CHECK(mkdir(buf, 0755) == 0);
    /* a live process's temporary (our parent's pid) is left alone */
    snprintf(buf, sizeof buf, "%s.tmp.%ld", ck, (long)getppid());
    CHECK(mkdir(buf, 0755) == 0);
    CHECK_OK(r1_file_dir_recover(ck));
    CHECK_EQ_INT(list_dir(g_dir, names, sizeof names), 2);
    CHECK_OK(r1_file_remove_tree(buf));
    CHECK_OK(r1_file_dir_recover(ck)); /* nothing to do */
    CHECK_EQ_INT(list_dir(g_dir, names, sizeof names), 1);
    CHECK_OK(r1_file_remove_tree(ck));
    free(ck);
}

TEST(remove_tree_nested) {
    char *root = path_in("tree"), buf[512];
    CHECK(mkdir(root, 0755) == 0);
    snprintf(buf, sizeof buf, "%s/a", root);
    CHECK(mkdir(buf, 0755) == 0);
    snprintf(buf, sizeof buf, "%s/a/b", root);
    CHECK(mkdir(buf, 0755) == 0);
    snprintf(buf, sizeof buf, "%s/a/b/f", root);
    write_text(buf, "x");
    snprintf(buf, sizeof buf, "%s/link", root);
    CHECK(symlink("/etc", buf) == 0); /* removed as a link, not followed */
    CHECK_OK(r1_file_remove_tree(root));
    CHECK(!r1_file_exists(root));
    CHECK(r1_file_exists("/etc/passwd") || r1_file_exists("/etc"));
    CHECK_OK(r1_file_remove_tree(root)); /* missing is fine */
    free(root);
}

int main(void) {
    make_tmpdir();
    RUN(read_all_and_cap);
    RUN(atomic_write_leaves_no_tmp);
    RUN(mmap_whole_file_and_empty);
    RUN(paths);
    RUN(atomic_dir_replace);
    RUN(dir_recover_each_window);
    RUN(remove_tree_nested);
    r1_file_remove_tree(g_dir);
    TEST_MAIN_END();
}
