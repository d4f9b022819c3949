/* dist_single: the one-process build of dist.h (no MPI symbols). Rank 0 of
 * 1: SUM, MEAN and MAX over one rank are the identity, bcast and barrier
 * have nothing to do. */
#include <stdlib.h>

#include "dist/dist.h"

/* Launchers export their world size; a value > 1 means mpirun -np N started
 * this binary, which cannot talk to its peers. */
static long launcher_size(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}; /* Open MPI; MPICH and srun */
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strtol(v, NULL, 10);
    }
    return 1;
}

r1_status r1_dist_init(int *argc, char ***argv) {
    (void)argc, (void)argv;
    long n = launcher_size();
    if (n > 1)
        return r1_fail(R1_UNSUPPORTED, "dist: started as one of %ld ranks, but this r1 was built without MPI "
                                       "(build it with `make MPI=1` and run build-mpi/r1)", n);
    return R1_OK;
}

void r1_dist_finalize(void) {}
_Noreturn void r1_dist_abort(int code) { exit(code); }
int r1_dist_rank(void) { return 0; }
int r1_dist_size(void) { return 1; }

/* The same argument checks as dist_mpi.c, so a bad call fails in both builds. */
static r1_status check(const void *buf, int64_t n, r1_dist_op op, bool integer) {
    if (n < 0 || (n > 0 && !buf)) return r1_fail(R1_INVALID, "dist: allreduce of %lld elements at %p", (long long)n, buf);
    if (op != R1_DIST_SUM && op != R1_DIST_MEAN && op != R1_DIST_MAX) return r1_fail(R1_INVALID, "dist: unknown op %d", (int)op);
    if (integer && op == R1_DIST_MEAN) return r1_fail(R1_INVALID, "dist: the mean of integers is not an integer; sum them");
    return R1_OK;
}

r1_status r1_dist_allreduce_f32(float *buf, int64_t n, r1_dist_op op) { return check(buf, n, op, false); }
r1_status r1_dist_allreduce_f64(double *buf, int64_t n, r1_dist_op op) { return check(buf, n, op, false); }
r1_status r1_dist_allreduce_i64(int64_t *buf, int64_t n, r1_dist_op op) { return check(buf, n, op, true); }

r1_status r1_dist_bcast(void *buf, size_t bytes, int root) {
    if (root != 0) return r1_fail(R1_INVALID, "dist: bcast from rank %d of 1", root);
    if (bytes && !buf) return r1_fail(R1_INVALID, "dist: bcast of %zu bytes from NULL", bytes);
    return R1_OK;
}

r1_status r1_dist_barrier(void) { return R1_OK; }
