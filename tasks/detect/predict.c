#include "tasks/detect/predict.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/detect/decode.h"
#include "tasks/detect/metrics.h"

typedef struct {
    int nc;
    NmsOptions nms;
    int *classes;
    DetectScratch scratch; // grown with the input size
    Detection *dets;
    float *boxes, *scores;
    int *cls;
} DetectPredictor;

void detect_predictor_destroy(void *state) {
    DetectPredictor *p = state;
    if (!p) return;
    free(p->classes);
    detect_scratch_free(&p->scratch);
    free(p->dets);
    free(p->boxes);
    free(p->scores);
    free(p->cls);
    free(p);
}

void *detect_predictor_create(const Model *m, const PredictOptions *o) {
    if (o->max_det < 1) {
        yolo_fail("max_det=%d: keep at least one object per image", o->max_det);
        return NULL;
    }
    DetectPredictor *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->nc = m->nc;
    // Ultralytics' predictor keeps one class per box (multi_label off) and compares classes apart.
    p->nms = (NmsOptions){.conf = o->conf, .iou = o->iou, .max_det = o->max_det, .multi_label = false};
    size_t n = (size_t)o->max_det;
    p->dets = malloc(sizeof *p->dets * n);
    p->boxes = malloc(sizeof *p->boxes * 4 * n);
    p->scores = malloc(sizeof *p->scores * n);
    p->cls = malloc(sizeof *p->cls * n);
    if (o->n_classes > 0) {
        p->classes = malloc(sizeof *p->classes * (size_t)o->n_classes);
        if (p->classes) memcpy(p->classes, o->classes, sizeof *p->classes * (size_t)o->n_classes);
        p->nms.classes = p->classes;
        p->nms.n_classes = o->n_classes;
    }
    if (!p->dets || !p->boxes || !p->scores || !p->cls || (o->n_classes > 0 && !p->classes)) {
        detect_predictor_destroy(p);
        yolo_fail("out of memory for %d predictions per image", o->max_det);
        return NULL;
    }
    return p;
}

const Detection *detect_predictor_detections(const void *state) { return ((const DetectPredictor *)state)->dets; }

int detect_predict(void *state, Graph *g, const Model *m, int image, Prediction *out) {
    DetectPredictor *p = state;
    const Tensor *outs[HEAD_MAX_LEVELS];
    for (int l = 0; l < m->n_levels; l++) outs[l] = &g->values[m->outputs[l]].data;
    int n = detect_image_nms(&p->scratch, outs, m->n_levels, m->strides, p->nc, image, &p->nms, p->dets);
    if (n < 0) return -1;
    for (int d = 0; d < n; d++) {
        memcpy(&p->boxes[4 * d], p->dets[d].box, sizeof p->dets[d].box);
        p->scores[d] = p->dets[d].score;
        p->cls[d] = p->dets[d].cls;
    }
    *out = (Prediction){.n = n, .boxes = p->boxes, .scores = p->scores, .classes = p->cls};
    return 0;
}
