// The segment task: v8SegmentationLoss as the criterion; validation by NMS keeping each
// detection's mask coefficients, box metrics in the original image's pixels and mask metrics at
// prototype resolution (spec §9), fitness = box fitness + mask fitness.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/detect/decode.h"
#include "tasks/detect/confusion.h"
#include "tasks/detect/metrics.h"
#include "tasks/detect/plots.h"
#include "tasks/segment/loss.h"
#include "tasks/segment/masks.h"
#include "tasks/segment/predict.h"
#include "tasks/task.h"

// ---- dataset ----

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

// Every labelled image needs polygons: a box-only dataset has no masks to learn from.
static int check_split(const DatasetConfig *cfg, const DatasetSplit *s, const char *which) {
    int labelled = 0, with_polygons = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->labels[i].n == 0) continue;
        labelled++;
        with_polygons += s->labels[i].poly != NULL;
    }
    const char *name = base_name(cfg->yaml_path);
    if (with_polygons == labelled) return 0; // also a split of backgrounds only, as detect allows
    if (with_polygons == 0)
        return yolo_fail("%s is not a segment dataset: its %s labels carry no polygons (all %d labelled images have box rows "
                         "`class cx cy w h`), so there are no masks to train on. Use a dataset whose label rows are polygons "
                         "`class x1 y1 x2 y2 ...` (e.g. data=shapes-seg.yaml), or train boxes: yolo detect train data=%s",
                         cfg->yaml_path, which, labelled, name);
    return yolo_fail("%s: %d of the %d labelled %s images have box rows without polygons; segment training needs a polygon "
                     "for every object: give those label files polygon rows `class x1 y1 x2 y2 ...`, or train boxes: yolo "
                     "detect train data=%s",
                     cfg->yaml_path, labelled - with_polygons, labelled, which, name);
}

static int check_dataset(const DatasetConfig *cfg, const DatasetSplit *train, const DatasetSplit *val) {
    TRY(check_split(cfg, train, "training"));
    return check_split(cfg, val, "validation");
}

// ---- criterion ----

typedef struct {
    SegmentLoss *loss;
    int mask_ratio;
} Criterion;

static void criterion_destroy(void *state) {
    Criterion *c = state;
    if (!c) return;
    segment_loss_destroy(c->loss);
    free(c);
}

static void *criterion_create(const Model *m, int max_batch, int max_h, int max_w, const TrainOptions *o, ThreadPool *pool) {
    Criterion *c = calloc(1, sizeof *c);
    if (!c) {
        yolo_fail("out of memory for the segment loss");
        return NULL;
    }
    c->mask_ratio = o->mask_ratio;
    c->loss = segment_loss_create(m->nc, m->n_levels, m->strides, max_batch, max_h, max_w,
                                  (DetectLossGains){.box = o->box, .cls = o->cls, .dfl = o->dfl});
    if (!c->loss) {
        criterion_destroy(c);
        return NULL;
    }
    segment_loss_set_pool(c->loss, pool);
    return c;
}

typedef struct {
    const Tensor *levels[HEAD_MAX_LEVELS], *coeffs[HEAD_MAX_LEVELS], *proto;
    Tensor *level_grads[HEAD_MAX_LEVELS], *coeff_grads[HEAD_MAX_LEVELS], *proto_grad;
} HeadTensors;

static void head_tensors(Graph *g, const Model *m, HeadTensors *h) {
    for (int l = 0; l < m->n_levels; l++) {
        h->levels[l] = &g->values[m->outputs[l]].data;
        h->coeffs[l] = &g->values[m->coeffs[l]].data;
        h->level_grads[l] = &g->values[m->outputs[l]].grad;
        h->coeff_grads[l] = &g->values[m->coeffs[l]].grad;
    }
    h->proto = &g->values[m->proto].data;
    h->proto_grad = &g->values[m->proto].grad;
}

static int criterion(void *state, Graph *g, const Model *m, const Batch *b, bool backward, double *losses) {
    Criterion *c = state;
    HeadTensors h;
    head_tensors(g, m, &h);
    SegmentHead head = {h.levels, h.coeffs, h.proto};
    SegmentGrads grads = {h.level_grads, h.coeff_grads, h.proto_grad};
    SegmentTargets t = {b->targets, b->n_targets, b->masks, b->h / c->mask_ratio, b->w / c->mask_ratio};
    SegmentLossParts parts;
    TRY(segment_loss_compute(c->loss, &head, &t, backward ? &grads : NULL, &parts));
    losses[0] = parts.box;
    losses[1] = parts.seg;
    losses[2] = parts.cls;
    losses[3] = parts.dfl;
    return 0;
}

// ---- validation ----

typedef struct {
    DetMetrics *box, *mask;
    const DatasetSplit *split;
    char **names;
    int nc, mask_ratio;
    NmsOptions nms;
    Detection *dets;
    // Grown to the largest batch shape and label count seen (validation may allocate; training
    // steps may not).
    DetectScratch scratch;
    float *gt_boxes, *iou;
    int *gt_cls, *gt_area;
    int gt_cap;
    uint8_t *gt_masks, *pred;
    size_t gt_masks_cap, pred_cap;
    // plots=True: the confusion matrix of the pass under way (boxes matched as detect matches them),
    // and what the last finished pass leaves for write_plots (its matrix, the box and mask
    // summaries with their curves).
    bool plots, have_last;
    ConfusionMatrix cm, last_cm;
    DetSummary last_box, last_mask;
} Validator;

static void validator_destroy(void *state) {
    Validator *v = state;
    if (!v) return;
    det_metrics_destroy(v->box);
    det_metrics_destroy(v->mask);
    free(v->dets);
    detect_scratch_free(&v->scratch);
    free(v->gt_boxes);
    free(v->iou);
    free(v->gt_cls);
    free(v->gt_area);
    free(v->gt_masks);
    free(v->pred);
    confusion_free(&v->cm);
    confusion_free(&v->last_cm);
    det_summary_free(&v->last_box);
    det_summary_free(&v->last_mask);
    free(v);
}

static void *validator_create(const Model *m, const DatasetConfig *cfg, const DatasetSplit *split, const TrainOptions *o) {
    Validator *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->box = det_metrics_create(m->nc);
    v->mask = det_metrics_create(m->nc);
    v->split = split;
    v->names = cfg->names;
    v->nc = m->nc;
    v->mask_ratio = o->mask_ratio;
    v->nms = (NmsOptions){.conf = o->conf, .iou = o->iou, .max_det = o->max_det, .multi_label = m->nc > 1};
    v->dets = malloc(sizeof *v->dets * (size_t)(o->max_det > 0 ? o->max_det : 1));
    v->plots = o->plots;
    if (!v->box || !v->mask || !v->dets ||
        (v->plots && (confusion_init(&v->cm, m->nc, o->conf) != 0 || confusion_init(&v->last_cm, m->nc, o->conf) != 0))) {
        validator_destroy(v);
        return NULL;
    }
    return v;
}

// A byte buffer of at least `need` bytes: p itself, or a fresh one (p freed; NULL when out of
// memory, with *cap 0).
static uint8_t *grow(uint8_t *p, size_t *cap, size_t need) {
    if (need <= *cap) return p;
    free(p);
    p = malloc(need ? need : 1);
    *cap = p ? need : 0;
    return p;
}

static int reserve(Validator *v, int n_gt, size_t plane) {
    if (n_gt > v->gt_cap) {
        free(v->gt_boxes);
        free(v->gt_cls);
        free(v->gt_area);
        free(v->iou);
        v->gt_boxes = malloc(sizeof(float) * 4 * (size_t)n_gt);
        v->gt_cls = malloc(sizeof(int) * (size_t)n_gt);
        v->gt_area = malloc(sizeof(int) * (size_t)n_gt);
        v->iou = malloc(sizeof(float) * (size_t)n_gt * (size_t)v->nms.max_det);
        if (!v->gt_boxes || !v->gt_cls || !v->gt_area || !v->iou) {
            v->gt_cap = 0;
            return yolo_fail("out of memory for %d ground-truth objects", n_gt);
        }
        v->gt_cap = n_gt;
    }
    v->gt_masks = grow(v->gt_masks, &v->gt_masks_cap, (size_t)n_gt * plane);
    v->pred = grow(v->pred, &v->pred_cap, plane);
    if (!v->gt_masks || !v->pred) return yolo_fail("out of memory for the masks of %d objects of %zu pixels", n_gt, plane);
    return 0;
}

static int validate_image(Validator *v, const HeadTensors *h, const Model *m, const Batch *b, int i, int anchors) {
    int index = b->dataset_index[i], w0 = v->split->width[index], h0 = v->split->height[index];
    const float *rp = &b->ratio_pad[4 * i];
    int n = detect_image_nms(&v->scratch, h->levels, m->n_levels, m->strides, v->nc, i, &v->nms, v->dets);
    TRY_ID(n);
    int n_gt = detect_image_targets(b->targets, b->n_targets, i, b->w, b->h, v->gt_boxes, v->gt_cls);

    // Masks, in the letterboxed input's space at prototype resolution.
    const Tensor *pt = h->proto;
    Protos p = {.nm = (int)tensor_c(pt), .mh = (int)tensor_h(pt), .mw = (int)tensor_w(pt)};
    size_t plane = (size_t)p.mh * (size_t)p.mw;
    p.data = pt->data + (size_t)i * (size_t)p.nm * plane;
    int map_h = b->h / v->mask_ratio, map_w = b->w / v->mask_ratio;
    seg_instance_masks(b->masks + (size_t)i * (size_t)map_h * (size_t)map_w, map_h, map_w, n_gt, p.mh, p.mw, v->gt_masks);
    for (int g = 0; g < n_gt; g++) {
        int area = 0;
        for (size_t q = 0; q < plane; q++) area += v->gt_masks[(size_t)g * plane + q];
        v->gt_area[g] = area;
    }
    for (int d = 0; d < n; d++) {
        int64_t stride = 0;
        const float *coeff = seg_anchor_coeffs(h->coeffs, m->n_levels, i, v->dets[d].anchor, &stride);
        if (!coeff) return yolo_fail("internal: detection of anchor %d beyond the %d anchors", v->dets[d].anchor, anchors);
        int rect[4];
        int area = seg_predict_mask(&p, coeff, stride, v->dets[d].box, b->w, b->h, v->pred, rect);
        seg_mask_iou(v->pred, area, rect, v->dets[d].cls, v->gt_masks, v->gt_area, v->gt_cls, n_gt, p.mh, p.mw, v->iou + d, n);
    }
    TRY(det_metrics_add_iou(v->mask, v->dets, n, v->iou, v->gt_cls, n_gt));

    // Boxes in the original image's pixels.
    for (int d = 0; d < n; d++) detect_box_to_native(v->dets[d].box, rp, w0, h0);
    for (int g = 0; g < n_gt; g++) detect_box_to_native(&v->gt_boxes[4 * g], rp, w0, h0);
    if (v->plots) TRY(confusion_add(&v->cm, v->dets, n, v->gt_boxes, v->gt_cls, n_gt));
    return det_metrics_add(v->box, v->dets, n, v->gt_boxes, v->gt_cls, n_gt);
}

static int validate_batch(void *state, Graph *g, const Model *m, const Batch *b) {
    Validator *v = state;
    if (!b->masks) return yolo_fail("segment validation: the batch has no masks");
    HeadTensors h;
    head_tensors(g, m, &h);
    int anchors = detect_anchor_count(h.levels, m->n_levels);
    size_t plane = (size_t)(tensor_h(h.proto) * tensor_w(h.proto));
    TRY(reserve(v, b->n_targets, plane));
    for (int i = 0; i < b->size; i++) TRY(validate_image(v, &h, m, b, i, anchors));
    return 0;
}

// The "all" row after every validation, and one row per class when `per_class` (the last).
static void print_table(const Validator *v, const DetSummary *box, const DetSummary *mask, bool per_class) {
    int images = v->split->n, instances = 0;
    for (int c = 0; c < box->nc; c++) instances += box->instances[c];
    printf("%22s %10s %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "Class", "Images", "Instances", "Box(P", "R", "mAP50",
           "mAP50-95)", "Mask(P", "R", "mAP50", "mAP50-95)");
    printf("%22s %10d %10d %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g\n", "all", images, instances, box->precision,
           box->recall, box->map50, box->map50_95, mask->precision, mask->recall, mask->map50, mask->map50_95);
    for (int c = 0; per_class && c < box->nc; c++)
        if (box->instances[c] > 0)
            printf("%22s %10d %10d %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g\n", v->names ? v->names[c] : "?",
                   box->images[c], box->instances[c], box->p[c], box->r[c], box->ap50[c], box->ap[c], mask->p[c], mask->r[c],
                   mask->ap50[c], mask->ap[c]);
}

static int validate_finish(void *state, double *metrics, double *fitness, bool table) {
    Validator *v = state;
    DetSummary box, mask;
    int rc = det_metrics_summarize(v->box, &box);
    if (rc == 0 && det_metrics_summarize(v->mask, &mask) != 0) {
        det_summary_free(&box);
        rc = -1;
    }
    // The next validation starts from nothing.
    det_metrics_destroy(v->box);
    det_metrics_destroy(v->mask);
    v->box = det_metrics_create(v->nc);
    v->mask = det_metrics_create(v->nc);
    TRY(rc);
    if (v->box && v->mask) {
        const DetSummary *s[2] = {&box, &mask};
        for (int k = 0; k < 2; k++) {
            metrics[4 * k] = s[k]->precision;
            metrics[4 * k + 1] = s[k]->recall;
            metrics[4 * k + 2] = s[k]->map50;
            metrics[4 * k + 3] = s[k]->map50_95;
        }
        // SegmentMetrics.fitness: the box's 0.1 mAP50 + 0.9 mAP50-95 plus the mask's.
        *fitness = box.fitness + mask.fitness;
        print_table(v, &box, &mask, table);
    } else {
        rc = yolo_fail("out of memory for segment metrics");
    }
    if (rc == 0 && v->plots) {
        // Kept for write_plots; the matrices swap so the next pass starts from zeros.
        det_summary_free(&v->last_box);
        det_summary_free(&v->last_mask);
        v->last_box = box;
        v->last_mask = mask;
        v->have_last = true;
        ConfusionMatrix done = v->cm;
        v->cm = v->last_cm;
        v->last_cm = done;
        confusion_reset(&v->cm);
        return 0;
    }
    det_summary_free(&box);
    det_summary_free(&mask);
    return rc;
}

// Ultralytics' segment plots: the confusion matrix of the boxes, and the curves of ap_per_class
// for the boxes and for the masks (BoxPR_curve.png, ..., MaskR_curve.png).
static int write_plots(void *state, const char *dir) {
    Validator *v = state;
    if (!v->have_last) return 0; // plots=False, or no validation finished yet
    TRY(detect_plot_confusion(dir, &v->last_cm, v->names));
    TRY(detect_plot_curves(dir, "Box", &v->last_box, v->names));
    return detect_plot_curves(dir, "Mask", &v->last_mask, v->names);
}

const TaskImpl SEGMENT_TASK = {
    .name = "segment",
    .n_losses = 4,
    .loss_names = {"box_loss", "seg_loss", "cls_loss", "dfl_loss"},
    .n_metrics = 8,
    .metric_names = {"metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
                     "metrics/precision(M)", "metrics/recall(M)", "metrics/mAP50(M)", "metrics/mAP50-95(M)"},
    .criterion_create = criterion_create,
    .criterion = criterion,
    .criterion_destroy = criterion_destroy,
    .validator_create = validator_create,
    .validate_batch = validate_batch,
    .validate_finish = validate_finish,
    .validator_destroy = validator_destroy,
    .write_plots = write_plots,
    .check_dataset = check_dataset,
    .predictor_create = segment_predictor_create,
    .predict = segment_predict,
    .predictor_destroy = segment_predictor_destroy,
};
