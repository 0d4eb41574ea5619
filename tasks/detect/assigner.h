// Ultralytics' TaskAlignedAssigner (spec §4.2) for one image, and the top-k selection it depends
// on. Internal to tasks/detect; the loss runs it once per image on detached predictions.
#ifndef YOLO_TASKS_DETECT_ASSIGNER_H
#define YOLO_TASKS_DETECT_ASSIGNER_H

#include <stdint.h>

#include "tasks/detect/loss.h"

enum { TAL_TOPK = 10 };

typedef struct {
    float value;
    int32_t index;
} TopkItem;

// Moves into items[0..k) the k items that torch.topk(values, k) returns on the CPU in PyTorch
// 1.13 (in some order), for 1 <= k <= n. PyTorch runs std::partial_sort when k * 64 <= n and
// std::nth_element otherwise, on (value, index) pairs compared by value only (NaN first); among
// equal values the choice falls out of libstdc++'s heap and introselect, which are reproduced
// step by step here. It matters for the assigner: a box with fewer than k anchors of positive
// alignment takes some of its alignment-0 anchors, and those inside the box become foreground.
void topk_select(TopkItem *items, int n, int k);

// One image's class logits in the head's layout: anchor a of level l (start[l] <= a <
// start[l + 1]) has its logit for class c at level[l][c * plane[l] + a - start[l]]. The assigner
// takes the sigmoid of the few it needs.
typedef struct {
    int n_levels;
    int start[DETECT_MAX_LEVELS + 1];
    int64_t plane[DETECT_MAX_LEVELS];
    const float *level[DETECT_MAX_LEVELS];
} TalLogits;

// One image as the assigner sees it. Boxes are xyxy in input pixels.
typedef struct {
    int anchors;
    const float *anchor_px; // [anchors][2]: anchor centres
    const float *stride;    // [anchors]: the stride of each anchor's level
    const float *pred_px;   // [anchors][4]: predicted boxes (detached)
    TalLogits logits;       // class logits (detached)
    // The batch's targets, [n_targets][6] = image, class, cx, cy, w, h (normalised); this image's
    // rows are its ground-truth boxes, in batch order.
    const float *targets;
    int n_targets, image;
    float img_w, img_h;
} TalImage;

// Scratch of `anchors` entries per array, for one image at a time.
typedef struct {
    TopkItem *items;
    float *overlap;       // the current box's clamped CIoU with each anchor inside it
    uint8_t *in_box;      // whether the anchor centre lies inside the current box
    uint8_t *n_pos;       // boxes the anchor is positive for (counted up to 2)
    int32_t *gt;          // the box the anchor goes to (a target row)
    float *gt_overlap;    // that box's overlap and alignment with the anchor
    float *gt_align;
    float *best_overlap;  // the largest overlap over all boxes, and its first box
    int32_t *best_gt;
} TalScratch;

// Per anchor: foreground (0/1); the assigned class (-1 for background); the soft target score
// (normalised alignment, 0 for background); the assigned box in grid units (the box in pixels
// divided by the anchor's stride; zeros for background); the assigned target row (Ultralytics'
// target_gt_idx as a row of TalImage.targets; -1 for background).
typedef struct {
    uint8_t *fg;
    int32_t *cls;
    float *score;
    float *box;
    int32_t *row;
} TalResult;

// Assigns one image. Target rows are trusted (checked by the caller). Returns the foreground count.
int tal_assign(const TalImage *in, const TalScratch *s, const TalResult *out);

#endif
