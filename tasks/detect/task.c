// The detect task: v8DetectionLoss as the criterion, and validation by NMS and box mAP.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/detect/decode.h"
#include "tasks/detect/loss.h"
#include "tasks/detect/metrics.h"
#include "tasks/detect/plots.h"
#include "tasks/detect/predict.h"
#include "tasks/task.h"

static void head_tensors(Graph *g, const Model *m, const Tensor **outs, Tensor **grads) {
    for (int l = 0; l < m->n_levels; l++) {
        outs[l] = &g->values[m->outputs[l]].data;
        if (grads) grads[l] = &g->values[m->outputs[l]].grad;
    }
}

static void *criterion_create(const Model *m, int max_batch, int max_h, int max_w, const TrainOptions *o, ThreadPool *pool) {
    DetectLoss *l = detect_loss_create(m->nc, m->n_levels, m->strides, max_batch, max_h, max_w,
                                       (DetectLossGains){.box = o->box, .cls = o->cls, .dfl = o->dfl});
    if (l) detect_loss_set_pool(l, pool);
    return l;
}

static int criterion(void *state, Graph *g, const Model *m, const Batch *b, bool backward, double *losses) {
    const Tensor *outs[HEAD_MAX_LEVELS];
    Tensor *grads[HEAD_MAX_LEVELS];
    head_tensors(g, m, outs, backward ? grads : NULL);
    DetectLossParts parts;
    TRY(detect_loss_compute(state, outs, b->targets, b->n_targets, backward ? grads : NULL, &parts));
    losses[0] = parts.box;
    losses[1] = parts.cls;
    losses[2] = parts.dfl;
    return 0;
}

static void criterion_destroy(void *state) { detect_loss_destroy(state); }

typedef struct {
    DetMetrics *metrics;
    const DatasetSplit *split;
    char **names;
    int nc;
    NmsOptions nms;
    // Grown to the largest batch shape seen (validation may allocate; training steps may not).
    DetectScratch scratch;
    Detection *dets;
    float *gt_boxes;
    int *gt_cls;
    int gt_cap;
    // plots=True: the confusion matrix of the pass under way, and what the last finished pass
    // leaves for write_plots (its matrix and its summary with the curves).
    bool plots, have_last;
    ConfusionMatrix cm, last_cm;
    DetSummary last;
} Validator;

static void *validator_create(const Model *m, const DatasetConfig *cfg, const DatasetSplit *split, const TrainOptions *o) {
    Validator *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->metrics = det_metrics_create(m->nc);
    v->split = split;
    v->names = cfg->names;
    v->nc = m->nc;
    v->nms = (NmsOptions){.conf = o->conf, .iou = o->iou, .max_det = o->max_det, .multi_label = m->nc > 1};
    v->dets = malloc(sizeof *v->dets * (size_t)(o->max_det > 0 ? o->max_det : 1));
    v->plots = o->plots;
    if (!v->metrics || !v->dets ||
        (v->plots && (confusion_init(&v->cm, m->nc, o->conf) != 0 || confusion_init(&v->last_cm, m->nc, o->conf) != 0))) {
        confusion_free(&v->cm);
        confusion_free(&v->last_cm);
        det_metrics_destroy(v->metrics);
        free(v->dets);
        free(v);
        return NULL;
    }
    return v;
}

static int reserve(Validator *v, int n_gt) {
    if (n_gt > v->gt_cap) {
        free(v->gt_boxes);
        free(v->gt_cls);
        v->gt_boxes = malloc(sizeof(float) * 4 * (size_t)n_gt);
        v->gt_cls = malloc(sizeof(int) * (size_t)n_gt);
        if (!v->gt_boxes || !v->gt_cls) {
            v->gt_cap = 0;
            return yolo_fail("out of memory for %d ground-truth boxes", n_gt);
        }
        v->gt_cap = n_gt;
    }
    return 0;
}

static int validate_batch(void *state, Graph *g, const Model *m, const Batch *b) {
    Validator *v = state;
    const Tensor *outs[HEAD_MAX_LEVELS];
    head_tensors(g, m, outs, NULL);
    TRY(reserve(v, b->n_targets));
    for (int i = 0; i < b->size; i++) {
        int index = b->dataset_index[i], w0 = v->split->width[index], h0 = v->split->height[index];
        const float *rp = &b->ratio_pad[4 * i];
        int n = detect_image_nms(&v->scratch, outs, m->n_levels, m->strides, v->nc, i, &v->nms, v->dets);
        TRY_ID(n);
        for (int d = 0; d < n; d++) detect_box_to_native(v->dets[d].box, rp, w0, h0);
        int n_gt = detect_image_targets(b->targets, b->n_targets, i, b->w, b->h, v->gt_boxes, v->gt_cls);
        for (int g = 0; g < n_gt; g++) detect_box_to_native(&v->gt_boxes[4 * g], rp, w0, h0);
        TRY(det_metrics_add(v->metrics, v->dets, n, v->gt_boxes, v->gt_cls, n_gt));
        if (v->plots) TRY(confusion_add(&v->cm, v->dets, n, v->gt_boxes, v->gt_cls, n_gt));
    }
    return 0;
}

// The "all" row after every validation, and one row per class when `per_class` (the last).
static void print_table(const Validator *v, const DetSummary *s, bool per_class) {
    int images = v->split->n, instances = 0;
    for (int c = 0; c < s->nc; c++) instances += s->instances[c];
    printf("%22s %10s %10s %10s %10s %10s %10s\n", "Class", "Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)");
    printf("%22s %10d %10d %10.3g %10.3g %10.3g %10.3g\n", "all", images, instances, s->precision, s->recall, s->map50,
           s->map50_95);
    for (int c = 0; per_class && c < s->nc; c++)
        if (s->instances[c] > 0)
            printf("%22s %10d %10d %10.3g %10.3g %10.3g %10.3g\n", v->names ? v->names[c] : "?", s->images[c],
                   s->instances[c], s->p[c], s->r[c], s->ap50[c], s->ap[c]);
}

static int validate_finish(void *state, double *metrics, double *fitness, bool table) {
    Validator *v = state;
    DetSummary s;
    int rc = det_metrics_summarize(v->metrics, &s);
    // The next validation starts from nothing.
    det_metrics_destroy(v->metrics);
    v->metrics = det_metrics_create(v->nc);
    TRY(rc);
    if (!v->metrics) {
        det_summary_free(&s);
        return yolo_fail("out of memory for detection metrics");
    }
    metrics[0] = s.precision;
    metrics[1] = s.recall;
    metrics[2] = s.map50;
    metrics[3] = s.map50_95;
    *fitness = s.fitness;
    print_table(v, &s, table);
    if (!v->plots) {
        det_summary_free(&s);
        return 0;
    }
    // Kept for write_plots; the matrices swap so the next pass starts from zeros.
    det_summary_free(&v->last);
    v->last = s;
    v->have_last = true;
    ConfusionMatrix done = v->cm;
    v->cm = v->last_cm;
    v->last_cm = done;
    confusion_reset(&v->cm);
    return 0;
}

static int write_plots(void *state, const char *dir) {
    Validator *v = state;
    if (!v->have_last) return 0; // plots=False, or no validation finished yet
    TRY(detect_plot_confusion(dir, &v->last_cm, v->names));
    return detect_plot_curves(dir, "", &v->last, v->names);
}

static void validator_destroy(void *state) {
    Validator *v = state;
    if (!v) return;
    det_metrics_destroy(v->metrics);
    det_summary_free(&v->last);
    confusion_free(&v->cm);
    confusion_free(&v->last_cm);
    detect_scratch_free(&v->scratch);
    free(v->dets);
    free(v->gt_boxes);
    free(v->gt_cls);
    free(v);
}

const TaskImpl DETECT_TASK = {
    .name = "detect",
    .n_losses = 3,
    .loss_names = {"box_loss", "cls_loss", "dfl_loss"},
    .n_metrics = 4,
    .metric_names = {"metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)"},
    .criterion_create = criterion_create,
    .criterion = criterion,
    .criterion_destroy = criterion_destroy,
    .validator_create = validator_create,
    .validate_batch = validate_batch,
    .validate_finish = validate_finish,
    .validator_destroy = validator_destroy,
    .write_plots = write_plots,
    .predictor_create = detect_predictor_create,
    .predict = detect_predict,
    .predictor_destroy = detect_predictor_destroy,
};
