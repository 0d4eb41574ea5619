#include "tasks/classify/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int classify_metrics_init(ClassifyMetrics *m, int nc) {
    memset(m, 0, sizeof *m);
    if (nc < 1) return yolo_fail("classify metrics: nc %d must be >= 1", nc);
    m->nc = nc;
    m->topk = nc < 5 ? nc : 5;
    m->class_images = calloc((size_t)nc, sizeof *m->class_images);
    m->class_top1 = calloc((size_t)nc, sizeof *m->class_top1);
    m->class_top5 = calloc((size_t)nc, sizeof *m->class_top5);
    if (!m->class_images || !m->class_top1 || !m->class_top5) {
        classify_metrics_free(m);
        return yolo_fail("out of memory for the accuracy of %d classes", nc);
    }
    return 0;
}

void classify_metrics_reset(ClassifyMetrics *m) {
    m->images = m->top1 = m->top5 = 0;
    size_t bytes = sizeof(int64_t) * (size_t)m->nc;
    memset(m->class_images, 0, bytes);
    memset(m->class_top1, 0, bytes);
    memset(m->class_top5, 0, bytes);
}

void classify_metrics_free(ClassifyMetrics *m) {
    free(m->class_images);
    free(m->class_top1);
    free(m->class_top5);
    memset(m, 0, sizeof *m);
}

int classify_rank(const float *scores, int nc, int label) {
    float mine = scores[label];
    if (isnan(mine)) return nc;
    int rank = 0;
    for (int c = 0; c < nc; c++)
        rank += c != label && (scores[c] > mine || (scores[c] == mine && c < label) || isnan(scores[c]));
    return rank;
}

int classify_metrics_add(ClassifyMetrics *m, const float *scores, const int *labels, int batch) {
    for (int i = 0; i < batch; i++) {
        int label = labels[i];
        if (label < 0 || label >= m->nc)
            return yolo_fail("classify metrics: image %d of the batch has class %d, outside 0..%d", i, label, m->nc - 1);
        int rank = classify_rank(scores + (size_t)i * (size_t)m->nc, m->nc, label);
        m->images++;
        m->class_images[label]++;
        if (rank == 0) {
            m->top1++;
            m->class_top1[label]++;
        }
        if (rank < m->topk) {
            m->top5++;
            m->class_top5[label]++;
        }
    }
    return 0;
}

void classify_metrics_summary(const ClassifyMetrics *m, double *top1, double *top5, double *fitness) {
    double n = m->images > 0 ? (double)m->images : 1.0;
    *top1 = (double)m->top1 / n;
    *top5 = (double)m->top5 / n;
    *fitness = (*top1 + *top5) / 2.0;
}
