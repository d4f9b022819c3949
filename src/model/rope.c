/* rope: frequency tables (plain, YaRN, Llama 3) and the two pairings.
 * Frequencies are computed in double so that the table matches HF's fp32
 * table to within an ulp at the positions that matter and better beyond. */
#include "model/rope.h"

#include <math.h>

static double yarn_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * log(s) + 1.0; }

static double yarn_corr_dim(double rot, double dim, double base, double max_pos) {
    return dim * log(max_pos / (rot * 2.0 * M_PI)) / (2.0 * log(base));
}

r1_status r1_rope_init(r1_rope *r, const r1_config *c) {
    bool mla = r1_config_is_mla(c);
    int64_t dim = mla ? c->Dr : c->head_dim;
    if (dim <= 0 || dim % 2 || dim / 2 > R1_ROPE_MAX_PAIRS)
        return r1_fail(R1_INVALID, "rope: rotated width %lld must be even and <= %d", (long long)dim,
                       2 * R1_ROPE_MAX_PAIRS);
    r->dim = dim;
    r->adjacent = mla;
    r->cs_scale = 1.0;
    int64_t qk_width = mla ? c->Dn + c->Dr : c->head_dim;
    r->attn_scale = 1.0 / sqrt((double)qk_width);
    int64_t half = dim / 2;
    for (int64_t j = 0; j < half; j++) r->inv_freq[j] = 1.0 / pow(c->rope_theta, (double)(2 * j) / (double)dim);

    if (c->rope_scaling == R1_ROPE_YARN) {
        double s = c->rope_factor, L0 = (double)c->rope_orig_max_pos;
        double lo = floor(yarn_corr_dim(c->yarn_beta_fast, (double)dim, c->rope_theta, L0));
        double hi = ceil(yarn_corr_dim(c->yarn_beta_slow, (double)dim, c->rope_theta, L0));
        if (lo < 0) lo = 0;
        if (hi > dim - 1) hi = (double)(dim - 1);
        if (hi == lo) hi += 0.001;
        for (int64_t j = 0; j < half; j++) {
            double ramp = ((double)j - lo) / (hi - lo); /* 0: keep f_j, 1: f_j / s */
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            double f = r->inv_freq[j];
            r->inv_freq[j] = f / s * ramp + f * (1.0 - ramp);
        }
        r->cs_scale = yarn_mscale(s, c->yarn_mscale) / yarn_mscale(s, c->yarn_mscale_all_dim);
        if (c->yarn_mscale_all_dim != 0.0) {
            double m = yarn_mscale(s, c->yarn_mscale_all_dim);
            r->attn_scale *= m * m;
        }
    } else if (c->rope_scaling == R1_ROPE_LLAMA3) {
        double factor = c->rope_factor, L0 = (double)c->rope_orig_max_pos;
        double lo_f = c->llama3_low_freq_factor, hi_f = c->llama3_high_freq_factor;
        double lo_wave = L0 / lo_f, hi_wave = L0 / hi_f;
        for (int64_t j = 0; j < half; j++) {
            double f = r->inv_freq[j], wave = 2.0 * M_PI / f;
            if (wave > lo_wave) {
                f /= factor;
            } else if (wave >= hi_wave) { /* the middle band: blend */
                double t = (L0 / wave - lo_f) / (hi_f - lo_f);
                f = (1.0 - t) * f / factor + t * f;
            }
            r->inv_freq[j] = f;
        }
    }
    return R1_OK;
}

void r1_rope_table(const r1_rope *r, int64_t pos, float *cs) {
    for (int64_t j = 0; j < r->dim / 2; j++) {
        double a = (double)pos * r->inv_freq[j];
        cs[2 * j] = (float)(cos(a) * r->cs_scale);
        cs[2 * j + 1] = (float)(sin(a) * r->cs_scale);
    }
}

static void rotate(const r1_rope *r, float *x, const float *cs, float sign) {
    int64_t half = r->dim / 2;
    for (int64_t j = 0; j < half; j++) {
        float c = cs[2 * j], s = sign * cs[2 * j + 1];
        int64_t i0 = r->adjacent ? 2 * j : j, i1 = r->adjacent ? 2 * j + 1 : j + half;
        float a = x[i0], b = x[i1];
        x[i0] = a * c - b * s;
        x[i1] = a * s + b * c;
    }
}

void r1_rope_apply(const r1_rope *r, float *x, const float *cs) { rotate(r, x, cs, 1.0f); }

void r1_rope_apply_inv(const r1_rope *r, float *x, const float *cs) { rotate(r, x, cs, -1.0f); }
