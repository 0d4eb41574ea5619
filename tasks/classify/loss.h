// The classification loss (spec §6): Ultralytics' v8ClassificationLoss, the mean cross-entropy of
// the logits against the class labels (F.cross_entropy with reduction "mean", no label smoothing,
// no batch-size factor), and its gradient with respect to the logits.
#ifndef YOLO_TASKS_CLASSIFY_LOSS_H
#define YOLO_TASKS_CLASSIFY_LOSS_H

// logits: [batch][nc], labels: [batch] in 0..nc-1. *loss receives the mean over the batch of
// -log softmax(logits)[label]. With grad (not NULL), writes d(loss)/d(logits) =
// (softmax(logits) - onehot(label)) / batch into grad [batch][nc], replacing what was there.
// Sums run in double in a fixed order, so the result depends on nothing but the inputs. Returns
// -1 with a message for a label outside 0..nc-1 or a batch or nc below 1.
int classify_loss(const float *logits, const int *labels, int batch, int nc, float *grad, double *loss);

#endif
