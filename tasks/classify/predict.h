// The classify task's prediction hook (tasks/task.h), as Ultralytics 8.3.127's
// ClassificationPredictor and Probs: the softmax of the logits, and the min(5, nc) most probable
// classes, most probable first. Like Ultralytics, it keeps them whatever conf and classes say
// (those filter objects, which a classifier has none of).
#ifndef YOLO_TASKS_CLASSIFY_PREDICT_H
#define YOLO_TASKS_CLASSIFY_PREDICT_H

#include "tasks/task.h"

void *classify_predictor_create(const Model *m, const PredictOptions *o);
int classify_predict(void *state, Graph *g, const Model *m, int image, Prediction *out);
void classify_predictor_destroy(void *state);

// softmax(logits[nc]) into probs[nc] in float32 as torch computes it: exp(x - max), then times
// 1 / sum.
void classify_softmax(const float *logits, int nc, float *probs);
// The k most probable classes of probs[nc] into top[k] (k <= nc), highest first; equal scores in
// class order, and NaN above everything, as classify_rank orders them.
void classify_top_k(const float *probs, int nc, int k, int *top);

#endif
