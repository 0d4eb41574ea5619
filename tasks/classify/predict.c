#include "tasks/classify/predict.h"

#include <math.h>
#include <stdlib.h>

#include "core/status.h"

typedef struct {
    int nc;
    float *probs;
} ClassifyPredictor;

void classify_softmax(const float *logits, int nc, float *probs) {
    float max = logits[0];
    for (int c = 1; c < nc; c++) max = logits[c] > max ? logits[c] : max;
    float sum = 0.0f;
    for (int c = 0; c < nc; c++) {
        probs[c] = expf(logits[c] - max);
        sum += probs[c];
    }
    float inv = 1.0f / sum;
    for (int c = 0; c < nc; c++) probs[c] *= inv;
}

// Whether class a comes before class b (see classify_top_k).
static bool before(const float *p, int a, int b) {
    if (isnan(p[a]) || isnan(p[b])) return isnan(p[a]) && (!isnan(p[b]) || a < b);
    return p[a] > p[b] || (p[a] == p[b] && a < b);
}

void classify_top_k(const float *probs, int nc, int k, int *top) {
    // k is at most 5: a selection pass per place.
    for (int i = 0; i < k; i++) {
        int best = -1;
        for (int c = 0; c < nc; c++) {
            bool taken = false;
            for (int j = 0; j < i && !taken; j++) taken = top[j] == c;
            if (!taken && (best < 0 || before(probs, c, best))) best = c;
        }
        top[i] = best;
    }
}

void classify_predictor_destroy(void *state) {
    ClassifyPredictor *p = state;
    if (!p) return;
    free(p->probs);
    free(p);
}

void *classify_predictor_create(const Model *m, const PredictOptions *o) {
    (void)o; // conf, iou, max_det and classes concern objects; Probs.top5 ignores them
    if (m->head != HEAD_CLASSIFY || m->logits < 0) {
        yolo_fail("the classify task needs a classification model (a Classify head); use a *-cls.yaml model");
        return NULL;
    }
    ClassifyPredictor *p = calloc(1, sizeof *p);
    if (p) p->probs = malloc(sizeof *p->probs * (size_t)m->nc);
    if (!p || !p->probs) {
        classify_predictor_destroy(p);
        yolo_fail("out of memory for the scores of %d classes", m->nc);
        return NULL;
    }
    p->nc = m->nc;
    return p;
}

int classify_predict(void *state, Graph *g, const Model *m, int image, Prediction *out) {
    ClassifyPredictor *p = state;
    const Tensor *t = &g->values[m->logits].data;
    if (t->shape.ndim != 2 || t->shape.dim[1] != p->nc || image < 0 || image >= t->shape.dim[0])
        return yolo_fail("internal: image %d of logits that are not [batch, %d]", image, p->nc);
    classify_softmax(t->data + (size_t)image * (size_t)p->nc, p->nc, p->probs);
    *out = (Prediction){.n_top = p->nc < PREDICT_TOP_K ? p->nc : PREDICT_TOP_K};
    classify_top_k(p->probs, p->nc, out->n_top, out->top_classes);
    for (int k = 0; k < out->n_top; k++) out->top_scores[k] = p->probs[out->top_classes[k]];
    return 0;
}
