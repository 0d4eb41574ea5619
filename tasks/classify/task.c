// The classify task: mean cross-entropy of the logits as the criterion, top1/top5 accuracy as the
// validation metrics (spec §6). The head's logits are its only output, in training and in
// evaluation: Ultralytics' Classify returns (softmax, logits) in eval mode, computes the val loss
// on the logits and ranks the softmax, which orders the classes as the logits do.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/classify/loss.h"
#include "tasks/classify/metrics.h"
#include "tasks/classify/predict.h"
#include "tasks/detect/plots.h"
#include "tasks/task.h"

// The logits of the batch's images: [b->size][nc] (a planned graph runs smaller last batches).
static int logits_of(Graph *g, const Model *m, const Batch *b, float **logits, float **grad) {
    if (m->head != HEAD_CLASSIFY || m->logits < 0)
        return yolo_fail("the classify task needs a classification model (a Classify head); use a *-cls.yaml model");
    Value *v = &g->values[m->logits];
    if (v->data.shape.ndim != 2 || v->data.shape.dim[0] != b->size || v->data.shape.dim[1] != m->nc)
        return yolo_fail("internal: the logits are not [%d, %d]", b->size, m->nc);
    *logits = v->data.data;
    if (grad) *grad = v->grad.data;
    return 0;
}

// The loss needs no state; the engine wants a non-NULL handle.
typedef struct {
    int nc;
} Criterion;

static void *criterion_create(const Model *m, int max_batch, int max_h, int max_w, const TrainOptions *o, ThreadPool *pool) {
    (void)max_batch, (void)max_h, (void)max_w, (void)o, (void)pool;
    Criterion *c = malloc(sizeof *c);
    if (c) c->nc = m->nc;
    return c;
}

static int criterion(void *state, Graph *g, const Model *m, const Batch *b, bool backward, double *losses) {
    Criterion *c = state;
    float *logits = NULL, *grad = NULL;
    TRY(logits_of(g, m, b, &logits, backward ? &grad : NULL));
    if (backward && !grad) return yolo_fail("internal: the logits have no gradient in this graph");
    return classify_loss(logits, b->class_index, b->size, c->nc, grad, &losses[0]);
}

static void criterion_destroy(void *state) { free(state); }

// Ultralytics prints the rows of batch["cls"] as the Instances column: one label per image.
static int batch_instances(const Batch *b) { return b->size; }

typedef struct {
    ClassifyMetrics metrics;
    char **names;
    // plots=True: Ultralytics' classify confusion matrix [nc][nc] (row = the top class, column =
    // the label) of the pass under way, and of the last finished one for write_plots.
    double *matrix, *last;
    bool have_last;
} Validator;

static void validator_destroy(void *state);

static void *validator_create(const Model *m, const DatasetConfig *cfg, const DatasetSplit *split, const TrainOptions *o) {
    (void)split;
    Validator *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    if (classify_metrics_init(&v->metrics, m->nc) != 0) {
        free(v);
        return NULL;
    }
    v->names = cfg->names;
    if (o->plots) {
        size_t cells = (size_t)m->nc * (size_t)m->nc;
        v->matrix = calloc(cells, sizeof *v->matrix);
        v->last = calloc(cells, sizeof *v->last);
        if (!v->matrix || !v->last) {
            validator_destroy(v);
            return NULL;
        }
    }
    return v;
}

static int validate_batch(void *state, Graph *g, const Model *m, const Batch *b) {
    Validator *v = state;
    float *logits = NULL;
    TRY(logits_of(g, m, b, &logits, NULL));
    TRY(classify_metrics_add(&v->metrics, logits, b->class_index, b->size));
    for (int i = 0; v->matrix && i < b->size; i++) {
        int top; // the logits rank the classes as their softmax does
        classify_top_k(logits + (size_t)i * (size_t)m->nc, m->nc, 1, &top);
        v->matrix[(size_t)top * (size_t)m->nc + (size_t)b->class_index[i]] += 1.0;
    }
    return 0;
}

// Ultralytics' summary row ("all", top1, top5); after the last validation also one row per class
// with its images and the accuracy on them.
static void print_table(const Validator *v, double top1, double top5, bool per_class) {
    const ClassifyMetrics *s = &v->metrics;
    printf("%22s %10s %10s %10s\n", "classes", "Images", "top1_acc", "top5_acc");
    printf("%22s %10lld %10.3g %10.3g\n", "all", (long long)s->images, top1, top5);
    for (int c = 0; per_class && c < s->nc; c++) {
        if (s->class_images[c] == 0) continue;
        double n = (double)s->class_images[c];
        printf("%22s %10lld %10.3g %10.3g\n", v->names ? v->names[c] : "?", (long long)s->class_images[c],
               (double)s->class_top1[c] / n, (double)s->class_top5[c] / n);
    }
}

static int validate_finish(void *state, double *metrics, double *fitness, bool table) {
    Validator *v = state;
    if (v->metrics.images == 0) return yolo_fail("validation saw no images");
    classify_metrics_summary(&v->metrics, &metrics[0], &metrics[1], fitness);
    print_table(v, metrics[0], metrics[1], table);
    classify_metrics_reset(&v->metrics); // the next validation starts from nothing
    if (v->matrix) {
        size_t cells = (size_t)v->metrics.nc * (size_t)v->metrics.nc;
        memcpy(v->last, v->matrix, cells * sizeof *v->last);
        memset(v->matrix, 0, cells * sizeof *v->matrix);
        v->have_last = true;
    }
    return 0;
}

// confusion_matrix.png and confusion_matrix_normalized.png: nc x nc, no background row.
static int write_plots(void *state, const char *dir) {
    Validator *v = state;
    if (!v->have_last) return 0; // plots=False, or no validation finished yet
    return task_plot_confusion(dir, v->last, v->metrics.nc, false, v->names);
}

static void validator_destroy(void *state) {
    Validator *v = state;
    if (!v) return;
    classify_metrics_free(&v->metrics);
    free(v->matrix);
    free(v->last);
    free(v);
}

const TaskImpl CLASSIFY_TASK = {
    .name = "classify",
    .n_losses = 1,
    .loss_names = {"loss"},
    .n_metrics = 2,
    .metric_names = {"metrics/accuracy_top1", "metrics/accuracy_top5"},
    .criterion_create = criterion_create,
    .criterion = criterion,
    .criterion_destroy = criterion_destroy,
    .validator_create = validator_create,
    .validate_batch = validate_batch,
    .validate_finish = validate_finish,
    .validator_destroy = validator_destroy,
    .write_plots = write_plots,
    .batch_instances = batch_instances,
    .predictor_create = classify_predictor_create,
    .predict = classify_predict,
    .predictor_destroy = classify_predictor_destroy,
};
