#include "engine/predict_image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/augment.h"
#include "data/augment_classify.h"

void predict_letterbox_plan(int w0, int h0, int imgsz, int stride, PredictLetterbox *lb) {
    double r = fmin((double)imgsz / h0, (double)imgsz / w0);
    // Python's round (half to even) is nearbyint; a sliver keeps one pixel.
    int nw = (int)fmax(nearbyint(w0 * r), 1.0), nh = (int)fmax(nearbyint(h0 * r), 1.0);
    // auto=True: only the padding that makes each side a multiple of the stride, split in two;
    // -0.1 / +0.1 give the odd pixel to the right and bottom.
    double dw = ((imgsz - nw) % stride) / 2.0, dh = ((imgsz - nh) % stride) / 2.0;
    int left = (int)nearbyint(dw - 0.1), right = (int)nearbyint(dw + 0.1);
    int top = (int)nearbyint(dh - 0.1), bottom = (int)nearbyint(dh + 0.1);
    *lb = (PredictLetterbox){.w = nw + left + right, .h = nh + top + bottom, .nw = nw, .nh = nh, .left = left, .top = top};
}

void predict_center_crop_plan(int w0, int h0, int imgsz, PredictLetterbox *lb) {
    int nw, nh, left, top;
    classify_val_plan(w0, h0, imgsz, &nw, &nh, &left, &top);
    *lb = (PredictLetterbox){.w = imgsz, .h = imgsz, .nw = nw, .nh = nh, .left = -left, .top = -top};
}

int predict_center_crop(const Image *src, int imgsz, float *chw) { return classify_val_transform(src, imgsz, chw); }

int predict_letterbox(const Image *src, const PredictLetterbox *lb, float *chw) {
    Image resized = {0};
    const Image *body = src;
    if (lb->nw != src->w || lb->nh != src->h) {
        TRY(image_resize_linear(src, lb->nw, lb->nh, &resized));
        body = &resized;
    }
    size_t plane = (size_t)lb->w * (size_t)lb->h;
    const float pad = AUGMENT_PAD_VALUE / 255.0f;
    for (size_t p = 0; p < 3 * plane; p++) chw[p] = pad;
    // The resized image's pixels that land inside the input (all of them unless cropped).
    for (int y = 0; y < lb->nh; y++) {
        int iy = lb->top + y;
        if (iy < 0 || iy >= lb->h) continue;
        const uint8_t *row = body->rgb + (size_t)y * (size_t)lb->nw * 3;
        for (int x = 0; x < lb->nw; x++) {
            int ix = lb->left + x;
            if (ix < 0 || ix >= lb->w) continue;
            size_t at = (size_t)iy * (size_t)lb->w + (size_t)ix;
            for (int c = 0; c < 3; c++) chw[(size_t)c * plane + at] = (float)row[3 * x + c] * (1.0f / 255.0f);
        }
    }
    image_free(&resized);
    return 0;
}

void predict_input_mapping(int in_w, int in_h, int w0, int h0, double *gain, int *pad_x, int *pad_y) {
    *gain = fmin((double)in_h / h0, (double)in_w / w0);
    *pad_x = (int)nearbyint((in_w - w0 * *gain) / 2.0 - 0.1);
    *pad_y = (int)nearbyint((in_h - h0 * *gain) / 2.0 - 0.1);
}

void predict_scale_boxes(float *boxes, int n, int in_w, int in_h, int w0, int h0) {
    double gain;
    int pad[2];
    predict_input_mapping(in_w, in_h, w0, h0, &gain, &pad[0], &pad[1]);
    // float32 arithmetic, as on Ultralytics' tensors.
    float g = (float)gain, hi[2] = {(float)w0, (float)h0};
    for (int i = 0; i < 4 * n; i++) {
        float v = (boxes[i] - (float)pad[i % 2]) / g;
        boxes[i] = v < 0.0f ? 0.0f : v > hi[i % 2] ? hi[i % 2] : v;
    }
}

void predict_scale_points(float *xy, int n, int in_w, int in_h, int w0, int h0) {
    double gain = fmin((double)in_h / h0, (double)in_w / w0);
    // numpy on float32 coordinates with Python floats: every operand rounded to float32 first.
    float g = (float)gain, size[2] = {(float)w0, (float)h0};
    float pad[2] = {(float)((in_w - w0 * gain) / 2.0), (float)((in_h - h0 * gain) / 2.0)};
    for (int i = 0; i < 2 * n; i++) {
        float v = (xy[i] - pad[i % 2]) / g;
        v = v < 0.0f ? 0.0f : v > size[i % 2] ? size[i % 2] : v;
        xy[i] = v / size[i % 2];
    }
}

int predict_mask_polygon(Contours *c, const uint8_t *mask, int mw, int mh, int w0, int h0, float **xy, size_t *cap, int *n) {
    *n = 0;
    TRY(contours_find(c, mask, mw, mh));
    TRY(contours_merge(c));
    if ((size_t)c->n_merged > *cap) {
        float *grown = realloc(*xy, sizeof *grown * 2 * (size_t)c->n_merged);
        if (!grown) return yolo_fail("out of memory for a polygon of %d points", c->n_merged);
        *xy = grown;
        *cap = (size_t)c->n_merged;
    }
    for (int i = 0; i < c->n_merged; i++) {
        (*xy)[2 * i] = (float)c->merged[i].x;
        (*xy)[2 * i + 1] = (float)c->merged[i].y;
    }
    predict_scale_points(*xy, c->n_merged, mw, mh, w0, h0);
    *n = c->n_merged;
    return 0;
}
