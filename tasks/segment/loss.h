// v8SegmentationLoss (spec §5): the detection loss of tasks/detect (assignment, box, class and
// DFL terms, unchanged) plus the mask term, with the gradient of the total with respect to the
// three head outputs, the mask coefficients and the prototypes.
//
// The mask term, per foreground anchor a of image i assigned to that image's k-th target: the
// logits coeff[a] . proto[i] at prototype resolution, BCE with logits against the overlap map's
// pixels equal to k + 1, summed over the pixels inside the target box (scaled to prototype
// resolution), divided by all prototype pixels and by the box's normalised area; summed over
// every foreground anchor of the batch and divided by their count, times the box gain.
//
// Pixels outside a target's box contribute nothing to the loss or the gradient, so only the box
// is computed. Images are independent until the final sums, which run in image order, so the
// results do not depend on the thread count.
#ifndef YOLO_TASKS_SEGMENT_LOSS_H
#define YOLO_TASKS_SEGMENT_LOSS_H

#include <stdint.h>

#include "core/tensor.h"
#include "core/threadpool.h"
#include "tasks/detect/loss.h"

// What one call reports, as Ultralytics logs it: the four parts after their gains (seg takes the
// box gain), before the multiplication by the batch size.
typedef struct {
    double box, seg, cls, dfl;
    int fg_anchors;
} SegmentLossParts;

// The head's training outputs: per level the detect map [batch, 64 + nc, h_l, w_l] and the mask
// coefficients [batch, nm, h_l, w_l]; the prototypes [batch, nm, 2 h_0, 2 w_0] (Proto upsamples
// the first level twice). All contiguous.
typedef struct {
    const Tensor *const *levels;
    const Tensor *const *coeffs;
    const Tensor *proto;
} SegmentHead;

// Gradients of the same shapes, overwritten.
typedef struct {
    Tensor *const *levels;
    Tensor *const *coeffs;
    Tensor *proto;
} SegmentGrads;

// targets: [n_targets][6] = image, class, cx, cy, w, h (normalised), as for detect. masks:
// [batch][mask_h][mask_w] overlap maps, pixel value k + 1 for the image's k-th target in the
// order of the rows (0: background); resampled nearest to the prototype size when it differs, as
// Ultralytics does for mask_ratio other than 4.
typedef struct {
    const float *targets;
    int n_targets;
    const uint8_t *masks;
    int mask_h, mask_w;
} SegmentTargets;

typedef struct SegmentLoss SegmentLoss;

// For batches up to max_batch of images up to max_h x max_w; all scratch allocated here. NULL
// with a message on bad arguments or when memory is short.
SegmentLoss *segment_loss_create(int nc, int n_levels, const int *strides, int max_batch, int max_h, int max_w,
                                 DetectLossGains gains);
void segment_loss_destroy(SegmentLoss *l);
// Threads among which the images are shared (NULL: the calling thread); results are the same.
void segment_loss_set_pool(SegmentLoss *l, ThreadPool *pool);

// assign + evaluate. With grads, writes d(loss_total * batch)/d(each head output), loss_total the
// sum of the four parts. -1 with a message on bad shapes, targets or masks, or a non-finite loss.
int segment_loss_compute(SegmentLoss *l, const SegmentHead *head, const SegmentTargets *t, const SegmentGrads *grads,
                         SegmentLossParts *parts);
// The two halves, as for detect: assign runs the assigner on the detached outputs and keeps the
// assignment and the masks (at prototype resolution), so that evaluate on perturbed outputs of
// the same shapes differentiates exactly its own loss (the finite-difference test).
int segment_loss_assign(SegmentLoss *l, const SegmentHead *head, const SegmentTargets *t);
int segment_loss_evaluate(SegmentLoss *l, const SegmentHead *head, const SegmentGrads *grads, SegmentLossParts *parts);

// The detect loss inside, for its assignment (fg mask, target rows, scores).
const DetectLoss *segment_loss_detect(const SegmentLoss *l);

#endif
