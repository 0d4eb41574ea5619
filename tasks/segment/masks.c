#include "tasks/segment/masks.h"

#include <math.h>
#include <string.h>

// process_mask's crop on the prototype grid: the box scaled by mw / iw and mh / ih (exactly 1/4 for
// the usual prototypes), in float32 as torch scales it, and the integers r with x1 <= r < x2
// (from ceil(x1) up to ceil(x2) - 1), rows likewise: [rect[0], rect[2]) x [rect[1], rect[3]).
static void crop_rect(const Protos *p, const float box[4], int in_w, int in_h, int rect[4]) {
    float rw = (float)((double)p->mw / in_w), rh = (float)((double)p->mh / in_h);
    float x1 = box[0] * rw, y1 = box[1] * rh, x2 = box[2] * rw, y2 = box[3] * rh;
    int x0 = (int)fmaxf(ceilf(x1), 0.0f), xe = (int)fminf(ceilf(x2), (float)p->mw);
    int y0 = (int)fmaxf(ceilf(y1), 0.0f), ye = (int)fminf(ceilf(y2), (float)p->mh);
    rect[0] = x0, rect[1] = y0, rect[2] = xe < x0 ? x0 : xe, rect[3] = ye < y0 ? y0 : ye;
}

// coeff . proto at grid cell `at`, summed in float in the coefficients' order.
static float logit_at(const Protos *p, const float *coeff, int64_t coeff_stride, size_t at) {
    size_t plane = (size_t)p->mh * (size_t)p->mw;
    float logit = 0.0f;
    for (int k = 0; k < p->nm; k++) logit += coeff[k * coeff_stride] * p->data[(size_t)k * plane + at];
    return logit;
}

int seg_predict_mask(const Protos *p, const float *coeff, int64_t coeff_stride, const float box[4], int in_w, int in_h,
                     uint8_t *bits, int rect[4]) {
    memset(bits, 0, (size_t)p->mh * (size_t)p->mw);
    crop_rect(p, box, in_w, in_h, rect);
    int area = 0;
    for (int y = rect[1]; y < rect[3]; y++)
        for (int x = rect[0]; x < rect[2]; x++) {
            size_t at = (size_t)y * (size_t)p->mw + (size_t)x;
            bits[at] = logit_at(p, coeff, coeff_stride, at) > 0.0f;
            area += bits[at];
        }
    return area;
}

void seg_mask_logits(const Protos *p, const float *coeff, int64_t coeff_stride, const float box[4], int in_w, int in_h,
                     float *logits, int rect[4]) {
    size_t plane = (size_t)p->mh * (size_t)p->mw;
    memset(logits, 0, sizeof *logits * plane);
    crop_rect(p, box, in_w, in_h, rect);
    // Prototype by prototype over the crop (each cell still sums in the coefficients' order, so
    // the same floats as logit_at), which reads the planes in order.
    for (int k = 0; k < p->nm; k++) {
        const float c = coeff[k * coeff_stride], *proto = p->data + (size_t)k * plane;
        for (int y = rect[1]; y < rect[3]; y++) {
            size_t row = (size_t)y * (size_t)p->mw;
            for (int x = rect[0]; x < rect[2]; x++) logits[row + (size_t)x] += c * proto[row + (size_t)x];
        }
    }
}

const float *seg_anchor_coeffs(const Tensor *const *coeffs, int n_levels, int image, int a, int64_t *stride) {
    for (int l = 0; l < n_levels; l++) {
        const Tensor *t = coeffs[l];
        int64_t hw = tensor_h(t) * tensor_w(t);
        if (a < hw) {
            *stride = hw;
            return t->data + (int64_t)image * tensor_c(t) * hw + a;
        }
        a -= (int)hw;
    }
    return NULL;
}

// PyTorch's source coordinate for bilinear resizing without corner alignment: (i + 0.5) * in / out
// - 0.5, clamped below at 0; the two taps and the weight of the second.
static void bilinear_tap(int i, int in, int out, int *i0, int *i1, float *w1) {
    float scale = (float)in / (float)out, src = ((float)i + 0.5f) * scale - 0.5f;
    if (src < 0.0f) src = 0.0f;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    *w1 = src - (float)*i0;
}

int seg_upsample_mask(const float *logits, int mw, int mh, const int rect[4], int out_w, int out_h, uint8_t *bits) {
    memset(bits, 0, (size_t)out_w * (size_t)out_h);
    // The columns whose taps reach the crop: the taps only grow with the column.
    int xa = 0, xb = out_w, t0, t1;
    float w;
    for (; xa < out_w; xa++) {
        bilinear_tap(xa, mw, out_w, &t0, &t1, &w);
        if (t1 >= rect[0]) break;
    }
    for (; xb > xa; xb--) {
        bilinear_tap(xb - 1, mw, out_w, &t0, &t1, &w);
        if (t0 < rect[2]) break;
    }
    int area = 0;
    for (int y = 0; y < out_h; y++) {
        int y0, y1;
        float wy1;
        bilinear_tap(y, mh, out_h, &y0, &y1, &wy1);
        if (y1 < rect[1] || y0 >= rect[3]) continue; // both taps in rows of zeros
        float wy0 = 1.0f - wy1;
        const float *r0 = logits + (size_t)y0 * (size_t)mw, *r1 = logits + (size_t)y1 * (size_t)mw;
        uint8_t *out = bits + (size_t)y * (size_t)out_w;
        for (int x = xa; x < xb; x++) {
            int x0, x1;
            float wx1;
            bilinear_tap(x, mw, out_w, &x0, &x1, &wx1);
            float wx0 = 1.0f - wx1;
            // As torch's CPU kernel for channels-first input: each row along x, then the two rows
            // along y (float rounding aside, the order only matters for a logit within it of 0).
            float top = r0[x0] * wx0 + r0[x1] * wx1, bottom = r1[x0] * wx0 + r1[x1] * wx1;
            out[x] = top * wy0 + bottom * wy1 > 0.0f;
            area += out[x];
        }
    }
    return area;
}

void seg_instance_masks(const uint8_t *map, int map_h, int map_w, int n, int mh, int mw, uint8_t *out) {
    size_t plane = (size_t)mh * (size_t)mw;
    if (map_h == mh && map_w == mw) {
        for (int k = 0; k < n; k++)
            for (size_t p = 0; p < plane; p++) out[(size_t)k * plane + p] = map[p] == k + 1;
        return;
    }
    for (int k = 0; k < n; k++)
        for (int y = 0; y < mh; y++) {
            int y0, y1, x0, x1;
            float wy, wx;
            bilinear_tap(y, map_h, mh, &y0, &y1, &wy);
            const uint8_t *r0 = map + (size_t)y0 * (size_t)map_w, *r1 = map + (size_t)y1 * (size_t)map_w;
            for (int x = 0; x < mw; x++) {
                bilinear_tap(x, map_w, mw, &x0, &x1, &wx);
                float a = r0[x0] == k + 1, b = r0[x1] == k + 1, c = r1[x0] == k + 1, d = r1[x1] == k + 1;
                float v = (1.0f - wy) * ((1.0f - wx) * a + wx * b) + wy * ((1.0f - wx) * c + wx * d);
                out[(size_t)k * plane + (size_t)y * (size_t)mw + (size_t)x] = v > 0.5f;
            }
        }
}

void seg_mask_iou(const uint8_t *pred, int pred_area, const int pred_rect[4], int det_cls, const uint8_t *gt_masks,
                  const int *gt_area, const int *gt_cls, int n_gt, int mh, int mw, float *iou, int64_t iou_stride) {
    size_t plane = (size_t)mh * (size_t)mw;
    for (int g = 0; g < n_gt; g++) {
        float *out = iou + (int64_t)g * iou_stride;
        *out = 0.0f;
        if (gt_cls[g] != det_cls) continue;
        const uint8_t *m = gt_masks + (size_t)g * plane;
        int inter = 0;
        for (int y = pred_rect[1]; y < pred_rect[3]; y++) {
            size_t row = (size_t)y * (size_t)mw;
            for (int x = pred_rect[0]; x < pred_rect[2]; x++) inter += pred[row + (size_t)x] & m[row + (size_t)x];
        }
        // torch: union = (sum1 + sum2) - intersection, iou = intersection / (union + eps), float32.
        float fi = (float)inter, uni = ((float)gt_area[g] + (float)pred_area) - fi;
        *out = fi / (uni + 1e-7f);
    }
}
