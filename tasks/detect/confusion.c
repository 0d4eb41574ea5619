#include "tasks/detect/confusion.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int confusion_init(ConfusionMatrix *cm, int nc, float val_conf) {
    memset(cm, 0, sizeof *cm);
    if (nc < 1) return yolo_fail("confusion_init: nc %d must be >= 1", nc);
    cm->nc = nc;
    cm->conf = val_conf == 0.001f ? 0.25f : val_conf;
    cm->iou = CONFUSION_IOU;
    cm->matrix = calloc((size_t)(nc + 1) * (size_t)(nc + 1), sizeof *cm->matrix);
    if (!cm->matrix) return yolo_fail("out of memory for a confusion matrix of %d classes", nc);
    return 0;
}

void confusion_free(ConfusionMatrix *cm) {
    free(cm->matrix);
    free(cm->det_best);
    free(cm->det_iou);
    free(cm->gt_best);
    free(cm->gt_iou);
    memset(cm, 0, sizeof *cm);
}

void confusion_reset(ConfusionMatrix *cm) {
    memset(cm->matrix, 0, (size_t)(cm->nc + 1) * (size_t)(cm->nc + 1) * sizeof *cm->matrix);
}

static int reserve(ConfusionMatrix *cm, int n_dets, int n_gt) {
    if (n_dets > cm->det_cap) {
        free(cm->det_best);
        free(cm->det_iou);
        cm->det_best = malloc((size_t)n_dets * sizeof *cm->det_best);
        cm->det_iou = malloc((size_t)n_dets * sizeof *cm->det_iou);
        cm->det_cap = cm->det_best && cm->det_iou ? n_dets : 0;
        if (!cm->det_cap) return yolo_fail("out of memory matching %d detections for the confusion matrix", n_dets);
    }
    if (n_gt > cm->gt_cap) {
        free(cm->gt_best);
        free(cm->gt_iou);
        cm->gt_best = malloc((size_t)n_gt * sizeof *cm->gt_best);
        cm->gt_iou = malloc((size_t)n_gt * sizeof *cm->gt_iou);
        cm->gt_cap = cm->gt_best && cm->gt_iou ? n_gt : 0;
        if (!cm->gt_cap) return yolo_fail("out of memory matching %d labels for the confusion matrix", n_gt);
    }
    return 0;
}

// det_best for a detection at or under the threshold (not part of the matrix), and for one that
// overlaps no label enough.
enum { BELOW_CONF = -2, NO_LABEL = -1 };

// Ultralytics takes the (label, detection) pairs with IoU > 0.45, sorts them by IoU descending and
// keeps each detection's first pair (np.unique), then sorts what is left again and keeps each
// label's first pair. numpy's argsort is stable below 17 pairs and [::-1] reverses it, so among
// equal IoUs the later pair comes first: a detection takes the later of two equally good labels,
// a label the later of two equally good detections. The same rule is kept above 16 pairs, where
// numpy's order of ties is unspecified.
int confusion_add(ConfusionMatrix *cm, const Detection *dets, int n_dets, const float *gt_boxes, const int *gt_cls, int n_gt) {
    const int nc = cm->nc, stride = nc + 1;
    for (int d = 0; d < n_dets; d++)
        if (dets[d].cls < 0 || dets[d].cls >= nc)
            return yolo_fail("confusion_add: detection %d has class %d, outside [0, %d)", d, dets[d].cls, nc);
    for (int g = 0; g < n_gt; g++)
        if (gt_cls[g] < 0 || gt_cls[g] >= nc)
            return yolo_fail("confusion_add: label %d has class %d, outside [0, %d)", g, gt_cls[g], nc);
    TRY(reserve(cm, n_dets, n_gt));
    for (int g = 0; g < n_gt; g++) cm->gt_best[g] = -1;
    for (int d = 0; d < n_dets; d++) {
        cm->det_best[d] = dets[d].score > cm->conf ? NO_LABEL : BELOW_CONF;
        for (int g = 0; g < n_gt && cm->det_best[d] != BELOW_CONF; g++) {
            const float iou = det_box_iou(gt_boxes + 4 * g, dets[d].box);
            if (iou > cm->iou && (cm->det_best[d] == NO_LABEL || iou >= cm->det_iou[d])) {
                cm->det_best[d] = g;
                cm->det_iou[d] = iou;
            }
        }
        const int g = cm->det_best[d];
        if (g >= 0 && (cm->gt_best[g] < 0 || cm->det_iou[d] >= cm->gt_iou[g])) {
            cm->gt_best[g] = d;
            cm->gt_iou[g] = cm->det_iou[d];
        }
    }
    for (int g = 0; g < n_gt; g++) {
        const int d = cm->gt_best[g];
        cm->matrix[(d >= 0 ? dets[d].cls : nc) * stride + gt_cls[g]] += 1.0;
    }
    // A detection above the threshold that no label kept: a false positive against background.
    // (One whose best label went to another detection is one too.)
    for (int d = 0; d < n_dets; d++) {
        const int g = cm->det_best[d];
        if (g == NO_LABEL || (g >= 0 && cm->gt_best[g] != d)) cm->matrix[dets[d].cls * stride + nc] += 1.0;
    }
    return 0;
}
