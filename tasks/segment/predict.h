// The segment task's prediction hook (tasks/task.h), as Ultralytics 8.3.127's SegmentationPredictor
// with retina_masks=False: the detect task's NMS (which keeps each detection's anchor, hence its
// mask coefficients), then process_mask with upsample=True: the logits coeff . proto at prototype
// resolution, cropped to the box, resized bilinearly to the network input and thresholded at 0.
// Detections whose mask comes out empty are dropped, as the predictor drops them.
#ifndef YOLO_TASKS_SEGMENT_PREDICT_H
#define YOLO_TASKS_SEGMENT_PREDICT_H

#include "tasks/task.h"

void *segment_predictor_create(const Model *m, const PredictOptions *o);
// Fills out with boxes in input pixels and masks [n][in_h][in_w] (mask_w, mask_h: the input).
int segment_predict(void *state, Graph *g, const Model *m, int image, Prediction *out);
void segment_predictor_destroy(void *state);

#endif
