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

// Validation's ground truth of one image: the rows of targets ([n][6] = image, class, cx, cy, w, h
// normalised) for `image`, in row order, as boxes xyxy in the batch's input pixels (w x h) and
// classes. Returns how many.
int detect_image_targets(const float *targets, int n_targets, int image, int w, int h, float *boxes, int *cls);
// Letterboxed input pixels to the original image's pixels (w0 x h0), clipped to it: Ultralytics'
// scale_boxes with ratio_pad = (rx, ry, pad_x, pad_y), as the loader records it.
void detect_box_to_native(float box[4], const float ratio_pad[4], int w0, int h0);

#endif
