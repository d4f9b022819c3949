/* mlp: the SwiGLU feed-forward block, down(silu(gate x) * up x), used for the
 * dense layers, every routed expert and the shared experts. */
#include <math.h>

#include "kernels/matmul.h"
#include "model/layers.h"

void r1_swiglu_forward(r1_model *m, float *y, const float *x, int64_t N, const r1_tensor *gate, const r1_tensor *up,
                       const r1_tensor *down, float *h) {
    int64_t F = gate->shape[0];
    float *g = h, *u = h + N * F;
    r1_matmul(m->pool, g, x, N, gate);
    r1_matmul(m->pool, u, x, N, up);
    for (int64_t i = 0; i < N * F; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    r1_matmul(m->pool, y, g, N, down);
}
