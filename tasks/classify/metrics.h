// Classification accuracy (spec §6, Ultralytics' ClassifyMetrics): top1 is the fraction of images
// whose highest score is their label's, top5 the fraction whose label is among the min(nc, 5)
// highest scores; fitness is (top1 + top5) / 2. Counts are kept per class as well, for the table
// printed after the last validation.
#ifndef YOLO_TASKS_CLASSIFY_METRICS_H
#define YOLO_TASKS_CLASSIFY_METRICS_H

#include <stdint.h>

typedef struct {
    int nc, topk;                          // topk = min(nc, 5)
    int64_t images, top1, top5;            // over everything added since the last reset
    int64_t *class_images, *class_top1, *class_top5; // [nc], by the label's class
} ClassifyMetrics;

int classify_metrics_init(ClassifyMetrics *m, int nc);
void classify_metrics_reset(ClassifyMetrics *m);
void classify_metrics_free(ClassifyMetrics *m);

// The label's rank among the scores [nc]: how many classes come before it when the classes are
// sorted by score, highest first, equal scores in class order (a stable sort). Ultralytics ranks
// the softmax of the logits, which orders them the same; equal scores are all but impossible
// with float logits, and the stable order makes them deterministic. A NaN score counts as the
// highest, and the label's own NaN as the lowest: an image with NaN scores is never right.
int classify_rank(const float *scores, int nc, int label);

// Adds a batch: scores [batch][nc] (logits or probabilities), labels [batch] in 0..nc-1.
int classify_metrics_add(ClassifyMetrics *m, const float *scores, const int *labels, int batch);

// top1 and top5 over everything added (0 when nothing was), and the fitness (top1 + top5) / 2.
void classify_metrics_summary(const ClassifyMetrics *m, double *top1, double *top5, double *fitness);

#endif
