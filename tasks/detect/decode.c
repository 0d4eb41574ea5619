#include "tasks/detect/decode.h"

#include <math.h>
#include <stdlib.h>

#include "core/status.h"
#include "tasks/detect/loss.h"

int detect_anchor_count(const Tensor *const *outputs, int n_levels) {
    int n = 0;
    for (int l = 0; l < n_levels; l++) n += (int)(tensor_h(outputs[l]) * tensor_w(outputs[l]));
    return n;
}

// The expected bin of a 16-bin distribution (softmax then the mean index), read with `stride`
// between bins.
static float dfl_expectation(const float *logits, int64_t stride) {
    float max = logits[0];
    for (int k = 1; k < DETECT_REG_MAX; k++) max = fmaxf(max, logits[k * stride]);
    float sum = 0.0f, weighted = 0.0f;
    for (int k = 0; k < DETECT_REG_MAX; k++) {
        float e = expf(logits[k * stride] - max);
        sum += e;
        weighted += e * (float)k;
    }
    return weighted / sum;
}

void detect_decode(const Tensor *const *outputs, int n_levels, const int *strides, int nc, int image, float *out) {
    int row = 0;
    for (int l = 0; l < n_levels; l++) {
        const Tensor *t = outputs[l];
        int64_t h = tensor_h(t), w = tensor_w(t), plane = h * w;
        const float *base = t->data + (int64_t)image * tensor_c(t) * plane;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++, row++) {
                const float *a = base + y * w + x;
                float side[4]; // left, top, right, bottom in grid units
                for (int s = 0; s < 4; s++) side[s] = dfl_expectation(a + (int64_t)s * DETECT_REG_MAX * plane, plane);
                float ax = (float)x + 0.5f, ay = (float)y + 0.5f, st = (float)strides[l];
                float x1 = ax - side[0], y1 = ay - side[1], x2 = ax + side[2], y2 = ay + side[3];
                float *o = out + (int64_t)row * (4 + nc);
                o[0] = 0.5f * (x1 + x2) * st;
                o[1] = 0.5f * (y1 + y2) * st;
                o[2] = (x2 - x1) * st;
                o[3] = (y2 - y1) * st;
                for (int c = 0; c < nc; c++) o[4 + c] = 1.0f / (1.0f + expf(-a[(int64_t)(4 * DETECT_REG_MAX + c) * plane]));
            }
    }
}

int detect_image_targets(const float *targets, int n_targets, int image, int w, int h, float *boxes, int *cls) {
    int n = 0;
    for (int t = 0; t < n_targets; t++) {
        const float *r = &targets[6 * t];
        if ((int)r[0] != image) continue;
        float *box = &boxes[4 * n];
        box[0] = (r[2] - 0.5f * r[4]) * (float)w;
        box[1] = (r[3] - 0.5f * r[5]) * (float)h;
        box[2] = (r[2] + 0.5f * r[4]) * (float)w;
        box[3] = (r[3] + 0.5f * r[5]) * (float)h;
        cls[n++] = (int)r[1];
    }
    return n;
}

void detect_box_to_native(float box[4], const float ratio_pad[4], int w0, int h0) {
    for (int k = 0; k < 4; k++) {
        float v = (box[k] - ratio_pad[2 + k % 2]) / ratio_pad[k % 2];
        float hi = (float)(k % 2 ? h0 : w0);
        box[k] = v < 0.0f ? 0.0f : v > hi ? hi : v;
    }
}

int detect_image_nms(DetectScratch *s, const Tensor *const *outputs, int n_levels, const int *strides, int nc, int image,
                     const NmsOptions *o, Detection *dets) {
    int anchors = detect_anchor_count(outputs, n_levels);
    if (anchors > s->cap) {
        detect_scratch_free(s);
        s->decoded = malloc(sizeof(float) * (size_t)anchors * (size_t)(4 + nc));
        s->scratch = malloc(nms_scratch_bytes(anchors, nc));
        if (!s->decoded || !s->scratch) {
            detect_scratch_free(s);
            return yolo_fail("out of memory decoding %d anchors", anchors);
        }
        s->cap = anchors;
    }
    detect_decode(outputs, n_levels, strides, nc, image, s->decoded);
    return nms(s->decoded, anchors, nc, o, s->scratch, dets);
}

void detect_scratch_free(DetectScratch *s) {
    free(s->decoded);
    free(s->scratch);
    *s = (DetectScratch){0};
}
