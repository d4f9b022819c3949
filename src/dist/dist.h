/* dist: the collectives of data-parallel training (docs/DISTRIBUTED.md).
 * Two implementations behind one header: dist_mpi.c (MPI_COMM_WORLD, built
 * only by `make MPI=1` with mpicc) and dist_single.c (one process: rank 0 of
 * 1, every collective is the identity), so the trainers call the same code
 * whether or not MPI is linked. Every rank must make the same sequence of
 * calls with the same counts; a failure on one rank is fatal for all, so
 * callers stop the job with r1_dist_abort rather than return alone.
 * Reductions are in place. MPI_SUM of floats over two ranks is a + b on both
 * ranks (IEEE addition commutes), so replicas stay bit-identical. */
#ifndef R1_DIST_H
#define R1_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum { R1_DIST_SUM = 0, R1_DIST_MEAN, R1_DIST_MAX } r1_dist_op;

/* Joins the job (MPI_Init; idempotent). The single-process build fails with
 * R1_UNSUPPORTED when a launcher (mpirun, srun) started more than one copy,
 * so a non-MPI binary never trains N independent replicas by mistake. */
r1_status r1_dist_init(int *argc, char ***argv);
/* Leaves the job (MPI_Finalize); a no-op before init or after finalize. */
void r1_dist_finalize(void);
/* Kills every rank of the job with exit code `code` (after an error on this
 * rank, which the others would otherwise wait for forever). Single process: exit. */
_Noreturn void r1_dist_abort(int code);

int r1_dist_rank(void); /* 0 before init */
int r1_dist_size(void); /* 1 before init */
static inline bool r1_dist_is_root(void) { return r1_dist_rank() == 0; }

/* buf[0..n) <- op over the ranks' buf (every rank gets the result). */
r1_status r1_dist_allreduce_f32(float *buf, int64_t n, r1_dist_op op);
r1_status r1_dist_allreduce_f64(double *buf, int64_t n, r1_dist_op op);
r1_status r1_dist_allreduce_i64(int64_t *buf, int64_t n, r1_dist_op op);
/* bytes of buf from rank root to every rank. */
r1_status r1_dist_bcast(void *buf, size_t bytes, int root);
r1_status r1_dist_barrier(void);

#endif
