// Validation during training: the shared pass (engine/evaluate.h) with the EMA weights, the
// validation losses and the task's metrics; at the last validation, with plots, the first
// batches' label and prediction mosaics.
#include "core/status.h"
#include "engine/batch_plots.h"
#include "engine/run.h"

int run_validate(Run *r, double *val_losses, double *metrics, double *fitness, bool table) {
    if (!r->val_graphs.backend)
        eval_graphs_init(&r->val_graphs, r->backend, &r->def, r->m.nc, r->val_batch, r->o->imgsz, r->g->params.size);
    // The EMA does not change during a validation: each shape's graph takes it once per pass.
    r->val_passes++;
    // The last validation (the one with the per-class table) draws val_batch*_labels/pred.jpg.
    ValPlots plots = {.dir = r->run_dir, .task = r->task, .split = &r->val_split, .names = r->data.names,
                      .nc = r->data.nc, .mask_ratio = r->o->mask_ratio};
    EvalPass p = {.task = r->task, .validator = r->validator, .criterion = r->val_criterion, .weights = r->ema.values,
                  .pass = r->val_passes, .verbose = r->o->verbose, .table = table,
                  .on_batch = table && r->o->plots ? plot_val_batch : NULL, .ctx = &plots};
    int rc = evaluate(&r->val_graphs, r->val_loader, &p, val_losses, metrics, fitness, NULL);
    val_plots_free(&plots);
    return rc;
}
