// The inference form of Detect's output (spec §2): per anchor a box in input pixels (centre x,
// centre y, w, h) from the DFL expectation and dist2bbox times the stride, then the class
// probabilities (sigmoid).
#ifndef YOLO_TASKS_DETECT_DECODE_H
#define YOLO_TASKS_DETECT_DECODE_H

#include "core/tensor.h"
#include "tasks/detect/metrics.h"

// Anchors of the levels' grids: sum of h_l * w_l.
int detect_anchor_count(const Tensor *const *outputs, int n_levels);
// out: [anchors][4 + nc] for image `image` of the batch.
void detect_decode(const Tensor *const *outputs, int n_levels, const int *strides, int nc, int image, float *out);

// One image's decoded predictions and NMS scratch, grown to the most anchors seen: validation and
// prediction see many input shapes (nothing here runs in a training step).
typedef struct {
    float *decoded;
    void *scratch;
    int cap; // anchors
} DetectScratch;

// Decodes image `image` of the head outputs and runs NMS (o) into dets, which has room for
// o->max_det: the number kept, or -1 with a message.
int detect_image_nms(DetectScratch *s, const Tensor *const *outputs, int n_levels, const int *strides, int nc, int image,
                     const NmsOptions *o, Detection *dets);
void detect_scratch_free(DetectScratch *s);

// Validation's ground truth of one image: the rows of targets ([n][6] = image, class, cx, cy, w, h
// normalised) for `image`, in row order, as boxes xyxy in the batch's input pixels (w x h) and
// classes. Returns how many.
int detect_image_targets(const float *targets, int n_targets, int image, int w, int h, float *boxes, int *cls);
// Letterboxed input pixels to the original image's pixels (w0 x h0), clipped to it: Ultralytics'
// scale_boxes with ratio_pad = (rx, ry, pad_x, pad_y), as the loader records it.
void detect_box_to_native(float box[4], const float ratio_pad[4], int w0, int h0);

#endif
