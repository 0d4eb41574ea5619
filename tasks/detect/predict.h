// The detect task's prediction hook (tasks/task.h): decode, then NMS as Ultralytics' predictor
// runs it (one label per box, the classes filter), boxes in input pixels.
#ifndef YOLO_TASKS_DETECT_PREDICT_H
#define YOLO_TASKS_DETECT_PREDICT_H

#include "tasks/detect/metrics.h"
#include "tasks/task.h"

void *detect_predictor_create(const Model *m, const PredictOptions *o);
int detect_predict(void *state, Graph *g, const Model *m, int image, Prediction *out);
void detect_predictor_destroy(void *state);
// The detections of the last detect_predict call, in its order, with the anchors they came from
// (the segment task's predictor reads their mask coefficients).
const Detection *detect_predictor_detections(const void *state);

#endif
