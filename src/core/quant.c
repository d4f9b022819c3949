/* quant: reference quantizers and dequantizers of the block types in dtype.h.
 * Each quantizer performs the same float operations in the same order as
 * llama.cpp's quantize_row_*_ref (ggml-quants.c), so a file r1 writes is byte
 * for byte what llama-quantize would write without an importance matrix
 * (tests/test_quant.c checks this against the peer's ggml_quantize_chunk).
 * The algorithms:
 *   Q8_0  d = amax/127, q = round(x/d)
 *   Q4_0  d = -max/8 (max = the signed element of largest magnitude), q = x/d + 8 truncated
 *   Q4_K  per 32: scale and min by a weighted least-squares search over 21
 *         candidate ranges (make_qkx2_quants), then the 8 scales/mins are
 *         themselves quantized to 6 bits under the f16 super-scales d, dmin
 *   Q6_K  per 16: an RMSE-weighted search over 19 candidate scales
 *         (make_qx_quants), scales quantized to int8 under the f16 d
 * Inputs with NaN or Inf give unspecified (but defined) block bytes. */
#include <math.h>
#include <string.h>

#include "core/dtype.h"

/* Round to nearest, ties to even, for |f| < 2^22: adding 1.5 * 2^23 leaves the
 * integer in the low mantissa bits (llama.cpp's nearest_int, the same result
 * for every input; no float-to-int conversion, so no undefined behaviour). */
static inline int near_int(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Below this a group counts as all zero (ggml's GROUP_MAX_EPS). */
#define GROUP_EPS 1e-15f

void r1_quantize_q8_0(r1_block_q8_0 *y, const float *x, int64_t n) {
    for (int64_t b = 0; b < n / R1_QK; b++, x += R1_QK) {
        float amax = 0.0f;
        for (int j = 0; j < R1_QK; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = r1_f32_to_f16(d);
        for (int j = 0; j < R1_QK; j++) {
            float r = roundf(x[j] * id);
            y[b].qs[j] = (int8_t)(r >= 127.0f ? 127 : r <= -127.0f ? -127 : r == r ? (int)r : 0);
        }
    }
}

void r1_dequantize_q8_0(float *y, const r1_block_q8_0 *x, int64_t n) {
    for (int64_t b = 0; b < n / R1_QK; b++) {
        float d = r1_f16_to_f32(x[b].d);
        for (int j = 0; j < R1_QK; j++) *y++ = d * (float)x[b].qs[j];
    }
}

/* x/d + 8.5 truncated to [0, 15]: the finite inputs land in [0.5, 16.5]. */
static inline uint8_t q4_code(float v) {
    v += 8.5f;
    if (!(v >= 0.0f)) v = 0.0f;
    return (uint8_t)imin(15, (int)(v < 16.0f ? v : 16.0f));
}

void r1_quantize_q4_0(r1_block_q4_0 *y, const float *x, int64_t n) {
    for (int64_t b = 0; b < n / R1_QK; b++, x += R1_QK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < R1_QK; j++)
            if (amax < fabsf(x[j])) amax = fabsf(x[j]), max = x[j];
        float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = r1_f32_to_f16(d);
        for (int j = 0; j < R1_QK / 2; j++)
            y[b].qs[j] = (uint8_t)(q4_code(x[j] * id) | (q4_code(x[j + R1_QK / 2] * id) << 4));
    }
}

void r1_dequantize_q4_0(float *y, const r1_block_q4_0 *x, int64_t n) {
    for (int64_t b = 0; b < n / R1_QK; b++, y += R1_QK) {
        float d = r1_f16_to_f32(x[b].d);
        for (int j = 0; j < R1_QK / 2; j++) {
            y[j] = d * (float)((x[b].qs[j] & 15) - 8);
            y[j + R1_QK / 2] = d * (float)((x[b].qs[j] >> 4) - 8);
        }
    }
}

/* Asymmetric n-element fit x ~ scale * L - min_out (L in 0..nmax) minimising
 * the weighted squared error: the plain min/max fit, then nstep+1 stretched
 * ranges, each refit by weighted least squares (min clamped to <= 0). Returns
 * the scale and stores -min in *min_out (llama.cpp's make_qkx2_quants). */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *min_out,
                           uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *min_out = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)imax(0, imin(nmax, near_int(iscale * (x[i] - min))));
        float diff = scale * (float)L[i] + min - x[i];
        best += w[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = imax(0, imin(nmax, near_int(iscale * (x[i] - min))));
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D, this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)Laux[i] + this_min - x[i];
            err += w[i] * (diff * diff);
        }
        if (err < best) {
            memcpy(L, Laux, (size_t)n);
            best = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *min_out = -min;
    return scale;
}

void r1_quantize_q4_K(r1_block_q4_K *y, const float *x, int64_t n) {
    uint8_t L[R1_QK_K], Laux[32];
    float w[32], mins[8], scales[8];
    for (int64_t b = 0; b < n / R1_QK_K; b++, x += R1_QK_K) {
        r1_block_q4_K *o = &y[b];
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; j++) {
            const float *xj = x + 32 * j;
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++) sum_x2 += xj[l] * xj[l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(xj[l]);
            scales[j] = fit_scale_min(32, 15, xj, w, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f, inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        for (int j = 0; j < 8; j++) {
            uint8_t ls = (uint8_t)near_int(inv_scale * scales[j]), lm = (uint8_t)near_int(inv_min * mins[j]);
            ls = ls < 63 ? ls : 63;
            lm = lm < 63 ? lm : 63;
            if (j < 4) {
                o->scales[j] = ls;
                o->scales[j + 4] = lm;
            } else { /* low 4 bits in bytes 8..11, the top 2 in bits 6-7 of bytes 0..7 */
                o->scales[j + 4] = (uint8_t)((ls & 15) | ((lm & 15) << 4));
                o->scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
                o->scales[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        o->d = r1_f32_to_f16(max_scale / 63.0f);
        o->dmin = r1_f32_to_f16(max_min / 63.0f);
        for (int j = 0; j < 8; j++) { /* requantize against the rounded scales */
            uint8_t sc, m;
            r1_q4_K_scale_min(o->scales, j, &sc, &m);
            float d = r1_f16_to_f32(o->d) * (float)sc;
            if (d == 0.0f) continue;
            float dm = r1_f16_to_f32(o->dmin) * (float)m;
            for (int i = 0; i < 32; i++) L[32 * j + i] = (uint8_t)imax(0, imin(15, near_int((x[32 * j + i] + dm) / d)));
        }
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) o->qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

void r1_dequantize_q4_K(float *y, const r1_block_q4_K *x, int64_t n) {
    for (int64_t b = 0; b < n / R1_QK_K; b++) {
        float d = r1_f16_to_f32(x[b].d), dmin = r1_f16_to_f32(x[b].dmin);
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            r1_q4_K_scale_min(x[b].scales, 2 * c, &sc0, &m0);
            r1_q4_K_scale_min(x[b].scales, 2 * c + 1, &sc1, &m1);
            float d0 = d * (float)sc0, mm0 = dmin * (float)m0, d1 = d * (float)sc1, mm1 = dmin * (float)m1;
            const uint8_t *q = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++) *y++ = d0 * (float)(q[l] & 15) - mm0;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] >> 4) - mm1;
        }
    }
}

/* Symmetric fit x ~ scale * (L - nmax), L in 0..2 nmax - 1, weighted by x^2:
 * the plain fit, then 18 perturbed scales kept when they raise
 * (sum w x l)^2 / sum w l^2 (llama.cpp's make_qx_quants, rmse_type 1). */
static float fit_scale_sym(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]), max = x[i];
    if (amax < GROUP_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    float iscale = (float)(-nmax) / max, sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = imax(-nmax, imin(nmax - 1, near_int(iscale * x[i])));
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f, best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = imax(-nmax, imin(nmax - 1, near_int(iscale * x[i])));
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, near_int(iscale * x[i]))));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void r1_quantize_q6_K(r1_block_q6_K *y, const float *x, int64_t n) {
    int8_t L[R1_QK_K];
    float scales[16];
    for (int64_t b = 0; b < n / R1_QK_K; b++, x += R1_QK_K) {
        r1_block_q6_K *o = &y[b];
        float max_scale = 0, max_abs = 0;
        for (int s = 0; s < 16; s++) {
            scales[s] = fit_scale_sym(16, 32, x + 16 * s, L + 16 * s);
            if (fabsf(scales[s]) > max_abs) max_abs = fabsf(scales[s]), max_scale = scales[s];
        }
        if (max_abs < GROUP_EPS) {
            memset(o, 0, sizeof *o);
            continue;
        }
        float iscale = -128.0f / max_scale;
        o->d = r1_f32_to_f16(1 / iscale);
        for (int s = 0; s < 16; s++) o->scales[s] = (int8_t)imin(127, near_int(iscale * scales[s]));
        for (int s = 0; s < 16; s++) {
            float d = r1_f16_to_f32(o->d) * (float)o->scales[s];
            if (d == 0.0f) continue;
            for (int i = 0; i < 16; i++) L[16 * s + i] = (int8_t)(imax(-32, imin(31, near_int(x[16 * s + i] / d))) + 32);
        }
        /* per 128: ql[l] = low nibbles of elements l | l+64, ql[l+32] = l+32 | l+96,
         * qh[l] = the top 2 bits of l, l+32, l+64, l+96 */
        for (int h = 0; h < 2; h++) {
            const int8_t *Lh = L + 128 * h;
            uint8_t *ql = o->ql + 64 * h, *qh = o->qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((Lh[l] & 15) | ((Lh[l + 64] & 15) << 4));
                ql[l + 32] = (uint8_t)((Lh[l + 32] & 15) | ((Lh[l + 96] & 15) << 4));
                qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                  ((Lh[l + 96] >> 4) << 6));
            }
        }
    }
}

void r1_dequantize_q6_K(float *y, const r1_block_q6_K *x, int64_t n) {
    for (int64_t b = 0; b < n / R1_QK_K; b++) {
        float d = r1_f16_to_f32(x[b].d);
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *sc = x[b].scales + 8 * h;
            for (int l = 0; l < 32; l++) {
                int s = l / 16;
                y[l] = d * (float)sc[s] * (float)((int)((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32);
                y[l + 32] = d * (float)sc[s + 2] * (float)((int)((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
                y[l + 64] = d * (float)sc[s + 4] * (float)((int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                y[l + 96] = d * (float)sc[s + 6] * (float)((int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
    }
}
