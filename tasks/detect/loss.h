// v8DetectionLoss (spec §4): task-aligned assignment, BCE class loss, CIoU box loss and DFL,
// and the gradient of the total with respect to the three head outputs, computed in C.
//
// Images of a batch are independent until the normaliser (the sum of all target scores), so
// each phase can share the images among threads; every sum runs in a fixed order (within an
// image, then images in order), so results do not depend on the thread count.
#ifndef YOLO_TASKS_DETECT_LOSS_H
#define YOLO_TASKS_DETECT_LOSS_H

#include <stdint.h>

#include "core/tensor.h"
#include "core/threadpool.h"

enum { DETECT_REG_MAX = 16, DETECT_MAX_LEVELS = 4 };

typedef struct {
    float box, cls, dfl; // gains (default 7.5, 0.5, 1.5)
} DetectLossGains;

// What one call reports, per image of the batch averaged as Ultralytics logs it: the three parts
// after their gains, before the multiplication by the batch size. Double: they are summed in
// double, and rounding them to float would cost the finite-difference check its precision.
typedef struct {
    double box, cls, dfl;
    int fg_anchors;
} DetectLossParts;

typedef struct DetectLoss DetectLoss;

// Scratch for batches up to max_batch of images up to max_h x max_w (multiples of the largest
// stride), allocated once here; compute never allocates. Returns NULL with a message on bad
// arguments or when memory is short.
DetectLoss *detect_loss_create(int nc, int n_levels, const int *strides, int max_batch, int max_h, int max_w,
                               DetectLossGains gains);
void detect_loss_destroy(DetectLoss *l);

// The threads among which later calls share the images of a batch (the CPU backend's pool);
// NULL, the default, runs everything on the calling thread. Results are the same either way.
void detect_loss_set_pool(DetectLoss *l, ThreadPool *pool);

// outputs[l]: [batch, 64 + nc, h_l, w_l] head maps (raw, as the network gives them), contiguous,
// with h_l * stride_l the same for every level (the input height; likewise the width).
// targets: [n_targets][6] = image in batch, class, cx, cy, w, h (normalised to the input size).
// Returns the parts; when grads is not NULL, writes (overwrites) d(loss_total * batch)/d(outputs[l])
// into grads[l] (same shapes), where loss_total = box + cls + dfl with gains, as Ultralytics
// back-propagates sum(loss_vec) * batch_size. Returns -1 with a message on bad shapes or targets,
// or on a non-finite loss (grads are then unspecified).
int detect_loss_compute(DetectLoss *l, const Tensor *const *outputs, const float *targets, int n_targets,
                        Tensor *const *grads, DetectLossParts *parts);

// The two halves of compute. assign runs the assigner on the detached predictions and keeps what
// Ultralytics computes without gradient: the targets, and CIoU's alpha for each foreground
// anchor. evaluate computes the loss and gradients of outputs (of the shapes assign saw) with
// those held fixed, so its gradient is exactly the derivative of its loss; calling evaluate
// alone on perturbed outputs is how the finite-difference test checks it.
int detect_loss_assign(DetectLoss *l, const Tensor *const *outputs, const float *targets, int n_targets);
int detect_loss_evaluate(DetectLoss *l, const Tensor *const *outputs, Tensor *const *grads, DetectLossParts *parts);

// The assignment of the last assign (or compute), per [batch][anchors], anchors in Ultralytics'
// order (levels in order, each row-major): foreground 0/1, the assigned class (-1 for
// background) and the soft target score (0 for background). Ultralytics' target_scores[b][a][c]
// is the score where c is the class and 0 elsewhere; it is kept in this form because the dense
// tensor is batch x anchors x nc floats (43 MB at batch 16, 640x640, 80 classes).
const uint8_t *detect_loss_fg_mask(const DetectLoss *l);
const int32_t *detect_loss_target_class(const DetectLoss *l);
const float *detect_loss_target_score(const DetectLoss *l);
// Per [batch][anchors] too, for the segment loss: the target row each anchor is assigned to (an
// index into the targets given to assign; -1 for background), which is Ultralytics'
// target_gt_idx counted in batch rows, and the assigned box, xyxy in grid units of the anchor's
// level ([batch][anchors][4], zeros for background). The box times the level's stride is the box
// in input pixels the assigner saw, exactly: strides are powers of two.
const int32_t *detect_loss_target_row(const DetectLoss *l);
const float *detect_loss_target_box(const DetectLoss *l);
// Images of the last assign.
int detect_loss_batch(const DetectLoss *l);
// Anchors of the last assign: the row stride of the arrays above.
int detect_loss_anchors(const DetectLoss *l);

#endif
