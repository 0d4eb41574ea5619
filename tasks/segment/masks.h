// Validation masks (spec §9, Ultralytics' SegmentationValidator with process_mask): predicted
// masks at prototype resolution in the letterboxed input space, ground-truth instance masks from
// the overlap map, and their IoU, as Ultralytics 8.3.127 computes them in float32.
#ifndef YOLO_TASKS_SEGMENT_MASKS_H
#define YOLO_TASKS_SEGMENT_MASKS_H

#include <stdint.h>

#include "core/tensor.h"

// One image's prototypes: nm planes of mh x mw.
typedef struct {
    const float *data;
    int nm, mh, mw;
} Protos;

// A detection's predicted mask: the pixels of the prototype grid inside its box, scaled from the
// input (in_w x in_h pixels) to the grid (columns r with x1 <= r < x2, rows likewise), where the
// logit coeff . proto > 0 (process_mask: crop, then gt(0)). coeff: nm values `coeff_stride`
// floats apart. Writes bits [mh][mw] (0/1, zero outside the box) and returns the area; *rect
// receives the box on the grid, [x0, x1) x [y0, y1), outside which every bit is 0.
int seg_predict_mask(const Protos *p, const float *coeff, int64_t coeff_stride, const float box[4], int in_w, int in_h,
                     uint8_t *bits, int rect[4]);

// Prediction (Ultralytics' SegmentationPredictor, process_mask with upsample=True): the same
// logits cropped to the box (0 outside *rect, as crop_mask leaves them) into logits [mh][mw]...
void seg_mask_logits(const Protos *p, const float *coeff, int64_t coeff_stride, const float box[4], int in_w, int in_h,
                     float *logits, int rect[4]);
// ...then resized bilinearly to the input's out_w x out_h (F.interpolate, align_corners=False, in
// float32) and thresholded at > 0: bits [out_h][out_w]. Returns the area (the predictor drops a
// detection whose mask is empty). Only the input pixels whose taps reach rect are computed; the
// others are 0, as interpolating zeros gives.
int seg_upsample_mask(const float *logits, int mw, int mh, const int rect[4], int out_w, int out_h, uint8_t *bits);

// The mask coefficients of anchor a (levels in order, each row-major) of image `image`, from the
// coefficient outputs coeffs[n_levels] ([batch][nm][h][w] each): the first one, the others
// `*stride` floats apart. NULL when a is beyond the anchors.
const float *seg_anchor_coeffs(const Tensor *const *coeffs, int n_levels, int image, int a, int64_t *stride);

// Instance masks [n][mh][mw] (0/1) from an overlap map of map_h x map_w (value k + 1: instance k):
// the same map when the sizes agree; otherwise each instance's 0/1 mask resized bilinearly
// (align_corners=False) and thresholded at > 0.5, as Ultralytics does for mask_ratio other than 4.
void seg_instance_masks(const uint8_t *map, int map_h, int map_w, int n, int mh, int mw, uint8_t *out);

// Ultralytics' mask_iou for one detection against n_gt instance masks (all [mh][mw]):
// intersection / (area_gt + area_det - intersection + 1e-7) in float32. pred_rect bounds the
// detection's set bits (as seg_predict_mask gives it). Writes iou[g * iou_stride] for each g whose
// class equals det_cls (0 for the others: the matching ignores pairs of different classes).
void seg_mask_iou(const uint8_t *pred, int pred_area, const int pred_rect[4], int det_cls, const uint8_t *gt_masks,
                  const int *gt_area, const int *gt_cls, int n_gt, int mh, int mw, float *iou, int64_t iou_stride);

#endif
