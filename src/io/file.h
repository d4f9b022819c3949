/* file: whole-file reads, read-only mappings, and crash-safe writes.
 * A write never leaves a half-written file under its final name: data goes to
 * PATH.tmp.<pid>, is fsync'd, renamed over PATH (atomic on POSIX), and the
 * directory is fsync'd so the rename itself survives a power cut. Checkpoint
 * folders use the same idea one level up (r1_file_dir_*); see the crash
 * windows documented there. Not for two writers of one path in one process. */
#ifndef R1_FILE_H
#define R1_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

/* Reads the whole file at path into a malloc'd buffer (*out, caller frees),
 * NUL-terminated one byte past *len so text parsers may use it directly.
 * Fails with R1_LIMIT when the file is larger than max_len, R1_IO when it
 * cannot be read. On failure *out is NULL and *len 0. */
r1_status r1_file_read_all(const char *path, char **out, size_t *len, size_t max_len);

/* A read-only private mapping of a whole file. An empty file maps to
 * data = NULL, len = 0 (still a success). */
typedef struct {
    const void *data;
    size_t len;
} r1_mmap;

/* Maps path read-only. On failure *m is zeroed. */
r1_status r1_file_mmap(r1_mmap *m, const char *path);
/* Unmaps (no-op on a zeroed struct) and zeroes *m. */
void r1_file_munmap(r1_mmap *m);

/* True when path names an existing directory / any existing file system object. */
bool r1_file_is_dir(const char *path);
bool r1_file_exists(const char *path);

/* "dir/name" in a malloc'd string (caller frees); NULL when out of memory. */
char *r1_path_join(const char *dir, const char *name);
/* The last component of path (points into path). */
const char *r1_path_base(const char *path);

/* A streaming atomic write: open, write any number of times, then commit
 * (which publishes the file) or abort (which removes the temporary). Either
 * one releases everything; after a failed write or commit the struct is
 * already released and abort is a harmless no-op. */
typedef struct {
    int fd;
    char *path; /* final name */
    char *tmp;  /* path.tmp.<pid> */
} r1_file_atomic;

r1_status r1_file_atomic_open(r1_file_atomic *f, const char *path);
r1_status r1_file_atomic_write(r1_file_atomic *f, const void *data, size_t len);
r1_status r1_file_atomic_commit(r1_file_atomic *f);
void r1_file_atomic_abort(r1_file_atomic *f);

/* Writes len bytes to path atomically (the steps above in one call). */
r1_status r1_file_write_atomic(const char *path, const void *data, size_t len);

/* fsyncs a directory so renames and creations inside it are durable. */
r1_status r1_file_fsync_dir(const char *dir);

/* Removes path and, if it is a directory, everything below it, without
 * following symbolic links. A missing path is a success. */
r1_status r1_file_remove_tree(const char *path);

/* Atomic replacement of a whole directory (training checkpoints).
 *   r1_file_dir_begin(&d, "run/ckpt")  creates run/ckpt.tmp.<pid>/ (d.tmp),
 *   the caller writes its files into d.tmp (r1_file_write_atomic is fine),
 *   r1_file_dir_commit(&d)              publishes it as run/ckpt.
 * Commit: fsync d.tmp; if DIR exists rename it to DIR.old.<pid>; rename
 * d.tmp to DIR; fsync the parent; remove DIR.old.<pid>.
 * Crash windows (a kill or power cut at each point leaves):
 *   before the first rename    DIR = last good; DIR.tmp.<pid> is garbage.
 *   between the two renames    no DIR; DIR.old.<pid> = last good and
 *                              DIR.tmp.<pid> = complete new (it was fsync'd).
 *   after the second rename    DIR = new; DIR.old.<pid> is garbage.
 * r1_file_dir_recover(DIR) repairs all three: with no DIR it renames a
 * DIR.old.* back (the last good state), and it removes stale DIR.tmp.* and
 * DIR.old.* left by processes that no longer run. Call it before reading or
 * writing a checkpoint. (Linux renameat2(RENAME_EXCHANGE) would close the
 * middle window; it is not used because not every file system supports it.) */
typedef struct {
    char *dir; /* final name, trailing slashes removed */
    char *tmp; /* DIR.tmp.<pid>: write the new contents here */
} r1_file_dir;

r1_status r1_file_dir_begin(r1_file_dir *d, const char *dir);
r1_status r1_file_dir_commit(r1_file_dir *d);
/* Removes d->tmp and releases d. */
void r1_file_dir_abort(r1_file_dir *d);
r1_status r1_file_dir_recover(const char *dir);

#endif
