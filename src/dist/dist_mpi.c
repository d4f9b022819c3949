/* dist_mpi: dist.h over MPI_COMM_WORLD (built only by `make MPI=1`).
 * MPI counts are int, so long buffers go in pieces of at most CHUNK
 * elements; MEAN is SUM then a multiply by 1/size on every rank (the same
 * float operation everywhere, so replicas stay identical). Each rank keeps
 * its own thread pool; MPI is called from the main thread only
 * (MPI_THREAD_FUNNELED). */
#include <mpi.h>
#include <stdlib.h>

#include "dist/dist.h"

enum { CHUNK = 1 << 28 };

static int g_rank = 0, g_size = 1;

static r1_status mpi_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = '\0';
    return r1_fail(R1_IO, "dist: %s failed on rank %d of %d: %s", what, g_rank, g_size, len ? msg : "?");
}

r1_status r1_dist_init(int *argc, char ***argv) {
    int up = 0, down = 0, rc;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (down) return r1_fail(R1_INVALID, "dist: MPI was already finalized");
    if (!up) {
        int got = 0;
        if ((rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &got)) != MPI_SUCCESS) return mpi_fail(rc, "MPI_Init");
        /* errors come back as codes (and become r1_status) instead of killing the job */
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return R1_OK;
}

void r1_dist_finalize(void) {
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down) MPI_Finalize();
}

_Noreturn void r1_dist_abort(int code) {
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int r1_dist_rank(void) { return g_rank; }
int r1_dist_size(void) { return g_size; }

static r1_status allreduce(void *buf, int64_t n, size_t elem, MPI_Datatype type, r1_dist_op op, bool integer) {
    if (n < 0 || (n > 0 && !buf)) return r1_fail(R1_INVALID, "dist: allreduce of %lld elements at %p", (long long)n, buf);
    if (op != R1_DIST_SUM && op != R1_DIST_MEAN && op != R1_DIST_MAX) return r1_fail(R1_INVALID, "dist: unknown op %d", (int)op);
    if (integer && op == R1_DIST_MEAN) return r1_fail(R1_INVALID, "dist: the mean of integers is not an integer; sum them");
    if (g_size == 1) return R1_OK;
    MPI_Op mop = op == R1_DIST_MAX ? MPI_MAX : MPI_SUM;
    for (int64_t i = 0; i < n; i += CHUNK) {
        int cnt = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)i * elem, cnt, type, mop, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce");
    }
    return R1_OK;
}

r1_status r1_dist_allreduce_f32(float *buf, int64_t n, r1_dist_op op) {
    R1_TRY(allreduce(buf, n, sizeof *buf, MPI_FLOAT, op, false));
    if (op == R1_DIST_MEAN && g_size > 1)
        for (int64_t i = 0; i < n; i++) buf[i] /= (float)g_size;
    return R1_OK;
}

r1_status r1_dist_allreduce_f64(double *buf, int64_t n, r1_dist_op op) {
    R1_TRY(allreduce(buf, n, sizeof *buf, MPI_DOUBLE, op, false));
    if (op == R1_DIST_MEAN && g_size > 1)
        for (int64_t i = 0; i < n; i++) buf[i] /= (double)g_size;
    return R1_OK;
}

r1_status r1_dist_allreduce_i64(int64_t *buf, int64_t n, r1_dist_op op) {
    return allreduce(buf, n, sizeof *buf, MPI_INT64_T, op, true);
}

r1_status r1_dist_bcast(void *buf, size_t bytes, int root) {
    if (root < 0 || root >= g_size) return r1_fail(R1_INVALID, "dist: bcast from rank %d of %d", root, g_size);
    if (bytes && !buf) return r1_fail(R1_INVALID, "dist: bcast of %zu bytes from NULL", bytes);
    if (g_size == 1) return R1_OK;
    for (size_t i = 0; i < bytes; i += CHUNK) {
        int cnt = (int)(bytes - i < CHUNK ? bytes - i : CHUNK);
        int rc = MPI_Bcast((char *)buf + i, cnt, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast");
    }
    return R1_OK;
}

r1_status r1_dist_barrier(void) {
    if (g_size == 1) return R1_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? R1_OK : mpi_fail(rc, "MPI_Barrier");
}
