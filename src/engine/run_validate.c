// Validation during training: the shared pass (engine/evaluate.h) with the EMA weights, the
// validation losses and the task's metrics.
#include "core/status.h"
#include "engine/run.h"

int run_validate(Run *r, double *val_losses, double *metrics, double *fitness, bool table) {
    if (!r->val_graphs.backend)
        eval_graphs_init(&r->val_graphs, r->backend, &r->def, r->m.nc, r->val_batch, r->o->imgsz, r->g->params.size);
    // The EMA does not change during a validation: each shape's graph takes it once per pass.
    r->val_passes++;
    EvalPass p = {.task = r->task, .validator = r->validator, .criterion = r->val_criterion, .weights = r->ema.values,
                  .pass = r->val_passes, .verbose = r->o->verbose, .table = table};
    return evaluate(&r->val_graphs, r->val_loader, &p, val_losses, metrics, fitness, NULL);
}
