/* norm: RMSNorm, computed in f32 (HF upcasts too): y = w * x * rsqrt(mean x^2 + eps). */
#include <math.h>

#include "model/layers.h"

void r1_rmsnorm_forward(float *y, const float *x, const float *w, int64_t N, int64_t D, float eps) {
    for (int64_t i = 0; i < N; i++) {
        const float *xi = x + i * D;
        float *yi = y + i * D;
        double ss = 0.0;
        for (int64_t j = 0; j < D; j++) ss += (double)xi[j] * xi[j];
        float r = (float)(1.0 / sqrt(ss / (double)D + eps));
        for (int64_t j = 0; j < D; j++) yi[j] = w[j] * (xi[j] * r);
    }
}

void r1_softmax_inplace(float *s, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = s[i] > mx ? s[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s[i] = expf(s[i] - mx);
        sum += s[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) s[i] *= inv;
}
