// The detection confusion matrix of Ultralytics 8.3.127 (utils/metrics.py ConfusionMatrix,
// process_batch), accumulated image by image during validation: (nc + 1) x (nc + 1) counts, row =
// predicted class, column = true class, the last row and column standing for the background
// (a missed label: background row; a detection matching no label: background column).
//
// Per image: detections scoring > conf (0.25 when validation runs at its default 0.001) are
// matched to labels whatever their classes, by IoU > 0.45; each detection keeps its best label,
// then each label its best detection. A matched label counts at (detection's class, its class).
#ifndef YOLO_TASKS_DETECT_CONFUSION_H
#define YOLO_TASKS_DETECT_CONFUSION_H

#include "tasks/detect/metrics.h"

typedef struct {
    int nc;
    float conf, iou;
    double *matrix; // [(nc + 1) * (nc + 1)], row-major: matrix[pred * (nc + 1) + true]
    // Per-image scratch: each detection's best label and IoU, each label's best detection.
    int *det_best, *gt_best;
    float *det_iou, *gt_iou;
    int det_cap, gt_cap;
} ConfusionMatrix;

// The IoU of Ultralytics' matching.
#define CONFUSION_IOU 0.45f

// val_conf: the validation's NMS conf (o->conf); Ultralytics replaces its default 0.001 (or none)
// by 0.25, so the matrix shows what a prediction at the usual threshold would. -1 when out of
// memory or nc < 1.
int confusion_init(ConfusionMatrix *cm, int nc, float val_conf);
void confusion_free(ConfusionMatrix *cm);
void confusion_reset(ConfusionMatrix *cm);
// One image, boxes xyxy in the same space as det_metrics_add's. -1 on a class outside [0, nc) or
// when out of memory.
int confusion_add(ConfusionMatrix *cm, const Detection *dets, int n_dets, const float *gt_boxes, const int *gt_cls, int n_gt);

#endif
