// What a run writes as it goes: its checkpoints at a position (last.ckpt with its previous
// generation, best.ckpt, epoch<N>.ckpt) and a results.csv row per epoch.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/status.h"
#include "engine/results.h"
#include "engine/run.h"

// last.ckpt at position (epochs_done, batch); at an epoch end (batch 0) also best.ckpt when best
// and epoch<N>.ckpt by save_period.
int run_save_checkpoints(Run *r, int epochs_done, int batch, bool best, bool finished, double elapsed) {
    if (!r->o->save) return 0;
    cJSON *s = run_state_json(r, epochs_done, batch, finished, elapsed);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    if (!text) return yolo_fail("out of memory writing the checkpoint state");
    r->last_save = now_seconds();
    // Accumulation runs across epoch ends and saves: when the last micro-batch took no optimizer
    // step, its gradients are part of the state.
    int epoch = epochs_done - 1;
    bool partial = r->last_opt_step != (int64_t)r->nb * epochs_done + batch - 1;
    CheckpointContent c = {.g = r->g, .ema = &r->ema, .optim = &r->optim, .with_grads = partial, .task = r->task->name,
                           .state_json = text};
    char path[4200], prev[4200];
    snprintf(path, sizeof path, "%s/weights/last.ckpt", r->run_dir);
    snprintf(prev, sizeof prev, "%s/weights/last.prev.ckpt", r->run_dir);
    int rc = checkpoint_save(path, r->keep_prev ? NULL : prev, &c);
    if (rc == 0) r->keep_prev = false;
    if (rc == 0 && best && batch == 0) {
        snprintf(path, sizeof path, "%s/weights/best.ckpt", r->run_dir);
        rc = checkpoint_save(path, NULL, &c);
    }
    if (rc == 0 && batch == 0 && r->o->save_period > 0 && epoch % r->o->save_period == 0) {
        snprintf(path, sizeof path, "%s/weights/epoch%d.ckpt", r->run_dir, epoch);
        rc = checkpoint_save(path, NULL, &c);
    }
    free(text);
    return rc;
}

int run_log_epoch(Run *r, int epoch, double elapsed, const double *train_losses, const double *metrics,
                     const double *val_losses) {
    const TaskImpl *t = r->task;
    const char *columns[MAX_COLUMNS];
    char names[MAX_COLUMNS][48];
    double values[MAX_COLUMNS];
    int n = 0;
    columns[n] = "epoch";
    values[n++] = epoch + 1;
    columns[n] = "time";
    values[n++] = elapsed;
    for (int i = 0; i < t->n_losses; i++) {
        snprintf(names[n], sizeof names[n], "train/%s", t->loss_names[i]);
        columns[n] = names[n];
        values[n++] = train_losses[i];
    }
    for (int i = 0; i < t->n_metrics; i++) {
        columns[n] = t->metric_names[i];
        values[n++] = metrics[i];
    }
    for (int i = 0; i < t->n_losses; i++) {
        snprintf(names[n], sizeof names[n], "val/%s", t->loss_names[i]);
        columns[n] = names[n];
        values[n++] = val_losses[i];
    }
    for (int j = 0; j < OPTIM_GROUPS; j++) {
        snprintf(names[n], sizeof names[n], "lr/pg%d", j);
        columns[n] = names[n];
        values[n++] = r->optim.group[j].lr;
    }
    cJSON *row = cJSON_CreateObject();
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(row, columns[i], values[i]);
    cJSON_AddItemToArray(r->history, row);
    char path[4200];
    snprintf(path, sizeof path, "%s/results.csv", r->run_dir);
    return results_append(path, columns, n, values);
}
