// Validation during training: forward-only graphs per batch shape holding the EMA weights, the
// validation losses and the task's metrics.
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "engine/progress.h"
#include "engine/run.h"

// The val graph for a batch shape, built on first use.
static ValGraph *val_graph_for(Run *r, int h, int w) {
    for (int i = 0; i < r->n_val_graphs; i++)
        if (r->val_graphs[i].h == h && r->val_graphs[i].w == w) return &r->val_graphs[i];
    if (r->n_val_graphs == MAX_VAL_SHAPES) {
        yolo_fail("more than %d validation batch shapes", MAX_VAL_SHAPES);
        return NULL;
    }
    ValGraph *v = &r->val_graphs[r->n_val_graphs];
    *v = (ValGraph){.h = h, .w = w, .g = graph_create(r->backend), .weights_pass = -1};
    ModelOptions mo = {.nc = r->m.nc, .batch = r->val_batch, .imgsz = r->o->imgsz, .height = h, .width = w};
    int keep[MODEL_MAX_HEAD_VALUES];
    if (!v->g || model_build(v->g, &r->def, &mo, &v->m) != 0) return NULL;
    if (graph_plan_inference(v->g, keep, model_head_values(&v->m, keep)) != 0) return NULL;
    if (v->g->params.size != r->g->params.size) {
        yolo_fail("internal: validation graph weights differ in layout from the training graph's");
        return NULL;
    }
    r->n_val_graphs++;
    return v;
}

int run_copy_batch_images(Graph *g, const Model *m, const Batch *b) {
    TRY(graph_set_batch(g, b->size));
    memcpy(g->values[m->input].data.data, b->images, sizeof(float) * 3 * (size_t)b->size * (size_t)b->h * (size_t)b->w);
    return 0;
}

// Validation with the EMA weights: losses (val/...) and metrics.
int run_validate(Run *r, double *val_losses, double *metrics, double *fitness, bool table) {
    int n_losses = r->task->n_losses, nb = loader_batches_per_epoch(r->val_loader);
    for (int i = 0; i < n_losses; i++) val_losses[i] = 0.0;
    r->val_passes++;
    Progress p;
    double t0 = now_seconds();
    progress_begin(&p, r->o->verbose, nb, t0);
    for (int k = 0; k < nb; k++) {
        Batch b;
        TRY(loader_get(r->val_loader, 0, k, &b));
        ValGraph *v = val_graph_for(r, b.h, b.w);
        if (!v) return -1;
        // The EMA does not change during a validation: each shape's graph takes it once per pass.
        if (v->weights_pass != r->val_passes) {
            memcpy(v->g->params.base, r->ema.values, v->g->params.size);
            v->weights_pass = r->val_passes;
        }
        TRY(run_copy_batch_images(v->g, &v->m, &b));
        TRY(graph_forward(v->g));
        double losses[TASK_MAX_LOSSES];
        TRY(r->task->criterion(r->val_criterion, v->g, &v->m, &b, false, losses));
        for (int i = 0; i < n_losses; i++) val_losses[i] += losses[i] / nb;
        TRY(r->task->validate_batch(r->validator, v->g, &v->m, &b));
        char text[64];
        snprintf(text, sizeof text, "%22s", "validating");
        progress_update(&p, text, k + 1, now_seconds());
    }
    return r->task->validate_finish(r->validator, metrics, fitness, table);
}
