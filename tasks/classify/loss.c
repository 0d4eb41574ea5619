#include "tasks/classify/loss.h"

#include <math.h>

#include "core/status.h"

int classify_loss(const float *logits, const int *labels, int batch, int nc, float *grad, double *loss) {
    if (batch < 1 || nc < 1) return yolo_fail("classify loss: batch %d and nc %d must be >= 1", batch, nc);
    for (int i = 0; i < batch; i++)
        if (labels[i] < 0 || labels[i] >= nc)
            return yolo_fail("classify loss: image %d of the batch has class %d, outside 0..%d", i, labels[i], nc - 1);
    double total = 0.0;
    for (int i = 0; i < batch; i++) {
        const float *x = logits + (size_t)i * (size_t)nc;
        // log-sum-exp shifted by the largest logit, so that exp never overflows.
        double top = x[0];
        for (int c = 1; c < nc; c++) top = x[c] > top ? x[c] : top;
        double sum = 0.0;
        for (int c = 0; c < nc; c++) sum += exp((double)x[c] - top);
        double log_sum = log(sum);
        total += top + log_sum - (double)x[labels[i]];
        if (!grad) continue;
        float *g = grad + (size_t)i * (size_t)nc;
        for (int c = 0; c < nc; c++) {
            double p = exp((double)x[c] - top - log_sum);
            g[c] = (float)((p - (c == labels[i] ? 1.0 : 0.0)) / batch);
        }
    }
    *loss = total / batch;
    return 0;
}
