#include "tasks/segment/predict.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/detect/predict.h"
#include "tasks/segment/masks.h"

typedef struct {
    void *detect; // decode and NMS
    // The kept detections (at most max_det), and grown with the input size: their masks, and one
    // detection's cropped logits at prototype resolution.
    int max_det;
    float *boxes, *scores;
    int *classes;
    uint8_t *masks;
    size_t masks_cap;
    float *logits;
    size_t logits_cap;
} SegmentPredictor;

void segment_predictor_destroy(void *state) {
    SegmentPredictor *p = state;
    if (!p) return;
    if (p->detect) detect_predictor_destroy(p->detect);
    free(p->boxes);
    free(p->scores);
    free(p->classes);
    free(p->masks);
    free(p->logits);
    free(p);
}

void *segment_predictor_create(const Model *m, const PredictOptions *o) {
    if (m->head != HEAD_SEGMENT || m->proto < 0) {
        yolo_fail("the segment task needs a segmentation model (a Segment head); use a *-seg.yaml model");
        return NULL;
    }
    SegmentPredictor *p = calloc(1, sizeof *p);
    if (!p) {
        yolo_fail("out of memory for the segment predictor");
        return NULL;
    }
    p->detect = detect_predictor_create(m, o); // checks max_det
    if (!p->detect) {
        segment_predictor_destroy(p);
        return NULL;
    }
    size_t n = (size_t)o->max_det;
    p->max_det = o->max_det;
    p->boxes = malloc(sizeof *p->boxes * 4 * n);
    p->scores = malloc(sizeof *p->scores * n);
    p->classes = malloc(sizeof *p->classes * n);
    if (!p->boxes || !p->scores || !p->classes) {
        segment_predictor_destroy(p);
        yolo_fail("out of memory for %d predictions per image", o->max_det);
        return NULL;
    }
    return p;
}

static int reserve(SegmentPredictor *p, int n, size_t input_plane, size_t proto_plane) {
    size_t need = (size_t)n * input_plane;
    if (need > p->masks_cap) {
        free(p->masks);
        p->masks = malloc(need);
        p->masks_cap = p->masks ? need : 0;
        if (!p->masks) return yolo_fail("out of memory for %d masks of %zu pixels", n, input_plane);
    }
    if (proto_plane > p->logits_cap) {
        free(p->logits);
        p->logits = malloc(sizeof *p->logits * proto_plane);
        p->logits_cap = p->logits ? proto_plane : 0;
        if (!p->logits) return yolo_fail("out of memory for a mask of %zu prototype cells", proto_plane);
    }
    return 0;
}

int segment_predict(void *state, Graph *g, const Model *m, int image, Prediction *out) {
    SegmentPredictor *p = state;
    Prediction det;
    TRY(detect_predict(p->detect, g, m, image, &det));
    const Detection *dets = detect_predictor_detections(p->detect);
    const Tensor *input = &g->values[m->input].data, *pt = &g->values[m->proto].data;
    const Tensor *coeffs[HEAD_MAX_LEVELS];
    for (int l = 0; l < m->n_levels; l++) coeffs[l] = &g->values[m->coeffs[l]].data;
    int in_w = (int)tensor_w(input), in_h = (int)tensor_h(input);
    Protos protos = {.nm = (int)tensor_c(pt), .mh = (int)tensor_h(pt), .mw = (int)tensor_w(pt)};
    size_t proto_plane = (size_t)protos.mh * (size_t)protos.mw, input_plane = (size_t)in_w * (size_t)in_h;
    protos.data = pt->data + (size_t)image * (size_t)protos.nm * proto_plane;
    TRY(reserve(p, det.n, input_plane, proto_plane));
    int kept = 0;
    for (int d = 0; d < det.n; d++) {
        int64_t stride = 0;
        const float *coeff = seg_anchor_coeffs(coeffs, m->n_levels, image, dets[d].anchor, &stride);
        if (!coeff) return yolo_fail("internal: a detection of anchor %d beyond the model's anchors", dets[d].anchor);
        int rect[4];
        seg_mask_logits(&protos, coeff, stride, &det.boxes[4 * d], in_w, in_h, p->logits, rect);
        uint8_t *bits = p->masks + (size_t)kept * input_plane;
        if (seg_upsample_mask(p->logits, protos.mw, protos.mh, rect, in_w, in_h, bits) == 0) continue;
        memcpy(&p->boxes[4 * kept], &det.boxes[4 * d], 4 * sizeof *p->boxes);
        p->scores[kept] = det.scores[d];
        p->classes[kept] = det.classes[d];
        kept++;
    }
    *out = (Prediction){.n = kept, .boxes = p->boxes, .scores = p->scores, .classes = p->classes,
                        .mask_w = in_w, .mask_h = in_h, .masks = p->masks};
    return 0;
}
