/* adamw: decoupled weight decay Adam (Loshchilov & Hutter 2019), the same
 * update as torch.optim.AdamW:
 *   p <- p - lr wd p;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
 *   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * and the learning-rate schedule (linear warm-up, cosine to min_lr). */
#include <math.h>

#include "train/train.h"

void r1_adamw(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2, float eps, float wd,
              int64_t t) {
    float c1 = (float)(1.0 - pow(b1, (double)t)), c2 = (float)(1.0 - pow(b2, (double)t));
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        float upd = (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
        p[i] -= lr * (wd * p[i] + upd);
    }
}

float r1_train_lr(const r1_train_opts *o, int64_t step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    int64_t span = o->total_steps - o->warmup;
    if (span <= 0) return o->lr;
    double f = (double)(step - o->warmup) / (double)span;
    if (f > 1.0) f = 1.0;
    return (float)(o->min_lr + 0.5 * (o->lr - o->min_lr) * (1.0 + cos(M_PI * f)));
}
