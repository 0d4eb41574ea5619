// The inference form of Detect's output (spec §2): per anchor a box in input pixels (centre x,
// centre y, w, h) from the DFL expectation and dist2bbox times the stride, then the class
// probabilities (sigmoid).
#ifndef YOLO_TASKS_DETECT_DECODE_H
#define YOLO_TASKS_DETECT_DECODE_H

#include "core/tensor.h"

// Anchors of the levels' grids: sum of h_l * w_l.
int detect_anchor_count(const Tensor *const *outputs, int n_levels);
// out: [anchors][4 + nc] for image `image` of the batch.
void detect_decode(const Tensor *const *outputs, int n_levels, const int *strides, int nc, int image, float *out);

#endif
