/* test_dist: the single-process build of src/dist (what every non-MPI build
 * links): rank 0 of 1, collectives are the identity and leave their buffers
 * bit-for-bit alone, bad arguments fail the same way the MPI build fails,
 * and a binary started by mpirun as one of several ranks refuses to run. The
 * MPI build itself is tested under mpirun by test_mpi. */
#include "test.h"

#include "dist/dist.h"

TEST(one_rank) {
    CHECK_OK(r1_dist_init(NULL, NULL));
    CHECK_EQ_INT(r1_dist_rank(), 0);
    CHECK_EQ_INT(r1_dist_size(), 1);
    CHECK(r1_dist_is_root());
    CHECK_OK(r1_dist_barrier());
}

TEST(collectives_are_identity) {
    float f[5] = {1.5f, -0.0f, 3e-38f, -7.25f, 1e30f}, f0[5];
    double d[3] = {0.1, -2.0, 1e300}, d0[3];
    int64_t k[3] = {-3, 0, INT64_MAX}, k0[3];
    memcpy(f0, f, sizeof f), memcpy(d0, d, sizeof d), memcpy(k0, k, sizeof k);
    r1_dist_op ops[3] = {R1_DIST_SUM, R1_DIST_MEAN, R1_DIST_MAX};
    for (int i = 0; i < 3; i++) {
        CHECK_OK(r1_dist_allreduce_f32(f, 5, ops[i]));
        CHECK_OK(r1_dist_allreduce_f64(d, 3, ops[i]));
        CHECK_EQ_INT(memcmp(f, f0, sizeof f), 0);
        CHECK_EQ_INT(memcmp(d, d0, sizeof d), 0);
    }
    CHECK_OK(r1_dist_allreduce_i64(k, 3, R1_DIST_SUM));
    CHECK_OK(r1_dist_allreduce_i64(k, 3, R1_DIST_MAX));
    CHECK_EQ_INT(memcmp(k, k0, sizeof k), 0);
    char msg[16] = "from rank 0";
    CHECK_OK(r1_dist_bcast(msg, sizeof msg, 0));
    CHECK_STR(msg, "from rank 0");
    CHECK_OK(r1_dist_allreduce_f32(NULL, 0, R1_DIST_SUM)); /* nothing to reduce is fine */
    CHECK_OK(r1_dist_bcast(NULL, 0, 0));
}

TEST(bad_arguments_fail) {
    float f[2] = {0};
    int64_t k[2] = {0};
    CHECK_EQ_INT(r1_dist_allreduce_f32(f, -1, R1_DIST_SUM), R1_INVALID);
    CHECK_EQ_INT(r1_dist_allreduce_f32(NULL, 2, R1_DIST_SUM), R1_INVALID);
    CHECK_EQ_INT(r1_dist_allreduce_f32(f, 2, (r1_dist_op)7), R1_INVALID);
    CHECK_EQ_INT(r1_dist_allreduce_i64(k, 2, R1_DIST_MEAN), R1_INVALID);
    CHECK(strstr(r1_errmsg(), "mean of integers") != NULL);
    CHECK_EQ_INT(r1_dist_bcast(f, sizeof f, 1), R1_INVALID);
    CHECK_EQ_INT(r1_dist_bcast(NULL, 4, 0), R1_INVALID);
}

TEST(refuses_to_be_one_of_many_ranks) {
    /* what mpirun -np 2 exports to a binary built without MPI */
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    CHECK_EQ_INT(r1_dist_init(NULL, NULL), R1_UNSUPPORTED);
    CHECK(strstr(r1_errmsg(), "make MPI=1") != NULL);
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1); /* mpirun -np 1 is one process: fine */
    CHECK_OK(r1_dist_init(NULL, NULL));
    unsetenv("OMPI_COMM_WORLD_SIZE");
}

int main(void) {
    unsetenv("OMPI_COMM_WORLD_SIZE"), unsetenv("PMI_SIZE");
    RUN(one_rank);
    RUN(collectives_are_identity);
    RUN(bad_arguments_fail);
    RUN(refuses_to_be_one_of_many_ranks);
    r1_dist_finalize();
    TEST_MAIN_END();
}
