// What a run keeps in its checkpoint's state JSON, and how a resumed run takes it back.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "engine/run.h"
#include "engine/results.h"
#include "yolo/version.h"

const char *run_optim_name(OptimKind kind) { return kind == OPTIM_SGD ? "SGD" : kind == OPTIM_ADAM ? "Adam" : "AdamW"; }

// A number of the resumed state (or of one of its objects); -1 when it is missing.
static int state_number(const Run *r, const cJSON *obj, const char *key, double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(item)) return yolo_fail("%s: the training state has no number '%s'", r->ck.path, key);
    *out = item->valuedouble;
    return 0;
}

double run_plan_lf(int from, double from_lf, int epochs, const TrainOptions *o, int epoch) {
    if (from == 0) return schedule_lf(epoch, epochs, o->lrf, o->cos_lr);
    double x = (double)(epoch - from) / (epochs - from);
    return from_lf + (o->lrf - from_lf) * (o->cos_lr ? (1.0 - cos(x * M_PI)) / 2.0 : x);
}

// The stored LR plan, re-planned when epochs= changed: from the lf the next epoch has under the
// old plan (so an epoch in progress keeps its lf: x = 0 gives from_lf exactly) down to lrf.
static int resumed_plan(Run *r) {
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(r->ck.state, "schedule");
    double epochs = 0, from = 0;
    TRY(state_number(r, sched, "epochs", &epochs));
    TRY(state_number(r, sched, "from_epoch", &from));
    TRY(state_number(r, sched, "from_lf", &r->plan_lf));
    r->plan_from = (int)from;
    if ((int)epochs == r->o->epochs) return 0;
    r->plan_lf = run_plan_lf(r->plan_from, r->plan_lf, (int)epochs, r->o, r->start_epoch);
    r->plan_from = r->start_epoch;
    printf("epochs=%d (was %d): the LR schedule is re-planned from lr0*%.6g at epoch %d to lr0*lrf at epoch %d; the run "
           "is no longer the one epochs=%d would have given\n",
           r->o->epochs, (int)epochs, r->plan_lf, r->start_epoch + 1, r->o->epochs, r->o->epochs);
    return 0;
}

// A number of the state that older checkpoints lack: fallback when it is missing.
static double optional_number(const cJSON *obj, const char *key, double fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}

// The dataset of a resumed run must be the one it was trained on: the loader's batches are a
// function of the image list and labels, so a changed dataset would resume inexactly. It may
// have moved (data= names the new YAML) only when the stored path is gone: while that one still
// exists, a different data= is another dataset, whatever its fingerprint.
static int resumed_dataset(Run *r) {
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(r->ck.state, "dataset");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(ds, "train_fingerprint");
    const cJSON *stored = cJSON_GetObjectItemCaseSensitive(ds, "yaml_realpath");
    const char *old = cJSON_IsString(stored) ? stored->valuestring : NULL, *task = r->task->name;
    char here[PATH_MAX], now[32];
    snprintf(now, sizeof now, "%016llx", (unsigned long long)r->train_split.fingerprint);
    bool moved = old && realpath(r->data.yaml_path, here) && strcmp(old, here) != 0;
    if (moved && access(old, F_OK) == 0)
        return yolo_fail("data=%s: %s was trained on %s, which is still there, and a resumed run keeps its dataset; resume "
                         "without data= (or with data=%s), or start a new run on %s: yolo %s train model=%s data=%s",
                         r->o->data, r->ck.path, old, old, here, task, r->ck.path, r->o->data);
    const char *saved = cJSON_IsString(fp) ? fp->valuestring : "none";
    if (strcmp(saved, now) != 0 && moved)
        return yolo_fail("data=%s: %s is not the dataset %s was trained on (%s, now gone): its training images or labels "
                         "differ (fingerprint %s, the checkpoint has %s); point data= at the moved copy of %s, or start a "
                         "new run on this dataset: yolo %s train model=%s data=%s",
                         r->o->data, here, r->ck.path, old, now, saved, old, task, r->ck.path, r->o->data);
    if (strcmp(saved, now) != 0)
        return yolo_fail("the training images or labels of %s changed since %s was saved (fingerprint %s, now %s); restore "
                         "them, or start a new run: yolo %s train model=%s", r->o->data, r->ck.path, saved, now, task,
                         r->ck.path);
    if (moved)
        printf("data=%s: the dataset moved from %s (gone) to %s with the same training images and labels (fingerprint "
               "%s); the checkpoints record the new path from now on\n", r->o->data, old, here, now);
    return 0;
}

int run_dataset_gone(const Run *r) {
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(r->ck.state, "dataset");
    const cJSON *stored = cJSON_GetObjectItemCaseSensitive(ds, "yaml_realpath");
    if (!cJSON_IsString(stored) || access(stored->valuestring, F_OK) == 0) return -1;
    char why[2048];
    snprintf(why, sizeof why, "%s", yolo_error());
    yolo_error_clear();
    return yolo_fail("%s. %s was trained on %s, which is gone: if the dataset moved, resume with data= naming its new YAML",
                     why, r->ck.path, stored->valuestring);
}

int run_resumed_optimizer(Run *r, OptimKind *kind) {
    const cJSON *optim = cJSON_GetObjectItemCaseSensitive(r->ck.state, "optimizer");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(optim, "type");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    if (!strcmp(name, "SGD")) *kind = OPTIM_SGD;
    else if (!strcmp(name, "Adam")) *kind = OPTIM_ADAM;
    else if (!strcmp(name, "AdamW")) *kind = OPTIM_ADAMW;
    else return yolo_fail("%s: the training state names no known optimizer ('%s')", r->ck.path, name);
    TRY(state_number(r, optim, "lr0", &r->lr0));
    TRY(state_number(r, optim, "momentum", &r->momentum));
    return state_number(r, optim, "warmup_bias_lr", &r->warmup_bias_lr);
}

// Everything the epoch loop carries from one epoch to the next, from the checkpoint: tensors,
// position, optimizer and EMA counters, group hyperparameters (warmup leaves SGD's momentum at
// the user's value, which optimizer_init does not), best fitness, early-stopping counter,
// training seconds and the results history. The loader and augmentation need nothing: they are
// pure functions of (seed, epoch, batch).
int run_restore_state(Run *r) {
    const cJSON *s = r->ck.state;
    TRY(checkpoint_restore(&r->ck, r->g, &r->ema, &r->optim));
    double epoch = 0, batch = 0, steps = 0, last_opt_step = 0, updates = 0, best_epoch = 0, stale = 0;
    TRY(state_number(r, s, "epoch", &epoch));
    TRY(state_number(r, s, "batch", &batch));
    TRY(state_number(r, s, "optimizer_steps", &steps));
    TRY(state_number(r, s, "last_opt_step", &last_opt_step));
    TRY(state_number(r, s, "ema_updates", &updates));
    TRY(state_number(r, s, "best_fitness", &r->best_fitness));
    TRY(state_number(r, s, "best_epoch", &best_epoch));
    TRY(state_number(r, s, "patience_counter", &stale));
    TRY(state_number(r, s, "elapsed_seconds", &r->elapsed_before));
    // Since batch= may change on resume the state records the batch size and batches per epoch;
    // a state without them was saved by a build that kept the batch, so it has o->batch.
    double saved_batch = optional_number(s, "batch_size", r->o->batch);
    double saved_nb = optional_number(s, "batches_per_epoch", -1);
    if (batch < 0 || saved_batch < 1 || (saved_batch != r->o->batch && saved_nb < 1))
        return yolo_fail("%s: the training state's position (batch %g, batch size %g, %g batches per epoch) is not valid",
                         r->ck.path, batch, saved_batch, saved_nb);
    r->resumed_batch = (int)saved_batch;
    r->resumed_nb = (int)saved_nb;
    if (epoch >= r->o->epochs)
        return yolo_fail("%s has done %g epochs, which is epochs=%d already; extend the run with a larger epochs=",
                         r->ck.path, epoch, r->o->epochs);
    r->start_epoch = (int)epoch;
    r->start_batch = (int)batch;
    if (r->start_batch > 0) {
        const cJSON *losses = cJSON_GetObjectItemCaseSensitive(s, "epoch_losses");
        if (cJSON_GetArraySize(losses) != r->task->n_losses)
            return yolo_fail("%s: a mid-epoch state without the epoch's %d running losses", r->ck.path, r->task->n_losses);
        for (int i = 0; i < r->task->n_losses; i++) r->epoch_losses[i] = cJSON_GetArrayItem(losses, i)->valuedouble;
    }
    r->optim.steps = (int64_t)steps;
    r->last_opt_step = (int64_t)last_opt_step;
    r->ema.updates = (int64_t)updates;
    r->best_epoch = (int)best_epoch;
    r->stale = (int)stale;
    TRY(resumed_dataset(r));
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "optimizer"), "groups");
    if (cJSON_GetArraySize(groups) != OPTIM_GROUPS)
        return yolo_fail("%s: the training state has no %d optimizer groups", r->ck.path, OPTIM_GROUPS);
    for (int j = 0; j < OPTIM_GROUPS; j++) {
        const cJSON *gj = cJSON_GetArrayItem(groups, j);
        OptimGroup *g = &r->optim.group[j];
        TRY(state_number(r, gj, "lr", &g->lr));
        TRY(state_number(r, gj, "momentum", &g->momentum));
        double weight_decay = 0;
        TRY(state_number(r, gj, "weight_decay", &weight_decay));
        if (j == 1) r->resumed_weight_decay = weight_decay;
        // Another batch size keeps optimizer_init's decay, scaled by the new batch * accumulate / nbs.
        if (r->resumed_batch == r->o->batch) g->weight_decay = weight_decay;
        TRY(state_number(r, gj, "initial_lr", &g->initial_lr));
    }
    TRY(resumed_plan(r));
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(s, "results");
    if (!cJSON_IsArray(results) || cJSON_GetArraySize(results) != r->start_epoch)
        return yolo_fail("%s: the training state's results history does not have %d rows", r->ck.path, r->start_epoch);
    cJSON_Delete(r->history);
    r->history = cJSON_Duplicate(results, true);
    return r->history ? 0 : yolo_fail("out of memory restoring %s", r->ck.path);
}

// The position is (epochs_done, batch): micro-batches done in the next epoch, 0 at an epoch end.
cJSON *run_state_json(const Run *r, int epochs_done, int batch, bool finished, double elapsed) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "version", YOLO_VERSION);
    cJSON_AddNumberToObject(s, "epoch", epochs_done);
    cJSON_AddNumberToObject(s, "batch", batch);
    cJSON_AddNumberToObject(s, "batch_size", r->o->batch);
    cJSON_AddNumberToObject(s, "batches_per_epoch", r->nb);
    if (batch > 0) {
        cJSON *losses = cJSON_AddArrayToObject(s, "epoch_losses");
        for (int i = 0; i < r->task->n_losses; i++) cJSON_AddItemToArray(losses, cJSON_CreateNumber(r->epoch_losses[i]));
    }
    cJSON_AddNumberToObject(s, "optimizer_steps", (double)r->optim.steps);
    cJSON_AddNumberToObject(s, "last_opt_step", (double)r->last_opt_step);
    cJSON_AddNumberToObject(s, "ema_updates", (double)r->ema.updates);
    cJSON_AddBoolToObject(s, "finished", finished);
    cJSON_AddNumberToObject(s, "seed", (double)r->o->seed);
    cJSON_AddNumberToObject(s, "best_fitness", r->best_fitness);
    cJSON_AddNumberToObject(s, "best_epoch", r->best_epoch);
    cJSON_AddNumberToObject(s, "patience_counter", r->stale);
    cJSON_AddNumberToObject(s, "elapsed_seconds", elapsed);
    cJSON *optim = cJSON_AddObjectToObject(s, "optimizer");
    cJSON_AddStringToObject(optim, "type", run_optim_name(r->optim.kind));
    cJSON_AddNumberToObject(optim, "lr0", r->lr0);
    cJSON_AddNumberToObject(optim, "momentum", r->momentum);
    cJSON_AddNumberToObject(optim, "warmup_bias_lr", r->warmup_bias_lr);
    // cJSON prints doubles with up to 17 digits, so these read back to the same bits.
    cJSON *groups = cJSON_AddArrayToObject(optim, "groups");
    for (int j = 0; j < OPTIM_GROUPS; j++) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddNumberToObject(g, "lr", r->optim.group[j].lr);
        cJSON_AddNumberToObject(g, "momentum", r->optim.group[j].momentum);
        cJSON_AddNumberToObject(g, "weight_decay", r->optim.group[j].weight_decay);
        cJSON_AddNumberToObject(g, "initial_lr", r->optim.group[j].initial_lr);
        cJSON_AddItemToArray(groups, g);
    }
    cJSON *sched = cJSON_AddObjectToObject(s, "schedule");
    cJSON_AddStringToObject(sched, "type", r->o->cos_lr ? "cosine" : "linear");
    cJSON_AddNumberToObject(sched, "epochs", r->o->epochs);
    cJSON_AddNumberToObject(sched, "lrf", r->o->lrf);
    cJSON_AddNumberToObject(sched, "from_epoch", r->plan_from);
    cJSON_AddNumberToObject(sched, "from_lf", r->plan_lf);
    cJSON_AddStringToObject(s, "train_args", r->o->args_yaml ? r->o->args_yaml : "");
    cJSON *data = cJSON_AddObjectToObject(s, "dataset");
    cJSON_AddStringToObject(data, "yaml_path", r->data.yaml_path);
    // Resolved, so that a resume from another folder can tell whether the dataset is still there.
    char real[PATH_MAX];
    cJSON_AddStringToObject(data, "yaml_realpath", realpath(r->data.yaml_path, real) ? real : r->data.yaml_path);
    cJSON_AddStringToObject(data, "yaml", r->data.text ? r->data.text : "");
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)r->train_split.fingerprint);
    cJSON_AddStringToObject(data, "train_fingerprint", fp);
    // The class names, so that predict can label objects without the dataset at hand.
    if (r->data.names)
        cJSON_AddItemToObject(data, "names", cJSON_CreateStringArray((const char *const *)r->data.names, r->data.nc));
    cJSON *model = cJSON_AddObjectToObject(s, "model");
    cJSON_AddStringToObject(model, "yaml", r->def.text ? r->def.text : "");
    char scale[2] = {r->def.scale, 0};
    cJSON_AddStringToObject(model, "scale", scale);
    cJSON_AddNumberToObject(model, "nc", r->m.nc);
    cJSON_AddItemToObject(s, "results", cJSON_Duplicate(r->history, true));
    return s;
}

// The run folder of a checkpoint: <run>/weights/last.ckpt, wherever the run was moved.
int run_resumed_dir(const char *ckpt, char *out, size_t cap) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", ckpt);
    char *slash = strrchr(buf, '/');
    if (slash) *slash = '\0';
    const char *weights = slash ? (strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf) : "";
    if (strcmp(weights, "weights") != 0)
        return yolo_fail("%s is not in a run folder's weights/ folder; resume from <run>/weights/last.ckpt", ckpt);
    char *up = strrchr(buf, '/');
    if (up) *up = '\0';
    if ((size_t)snprintf(out, cap, "%s", up ? buf : ".") >= cap) return yolo_fail("%s: path too long", ckpt);
    return 0;
}

// results.csv again from the checkpoint's history: rows a crash left after the last save go.
int run_rewrite_results(const Run *r, const char *path) {
    remove(path);
    const cJSON *row;
    cJSON_ArrayForEach(row, r->history) {
        const char *columns[MAX_COLUMNS];
        double values[MAX_COLUMNS];
        int n = 0;
        const cJSON *cell;
        cJSON_ArrayForEach(cell, row) {
            if (n == MAX_COLUMNS) return yolo_fail("%s: a results row has too many columns", r->ck.path);
            columns[n] = cell->string;
            values[n++] = cell->valuedouble;
        }
        TRY(results_append(path, columns, n, values));
    }
    return 0;
}

// batch= changed on resume (contract: accumulation re-derived to keep nbs, the run no longer
// bit-identical). The iteration counter ni = nb * epoch + k is in micro-batches, so the position
// is taken to the new nb and last_opt_step rebased to it: warmup and the accumulation cadence
// then continue as in a run that had the new batch all along, and the state saved from here on
// is one that resumes exactly at the new batch.
//
// A mid-epoch checkpoint ends its epoch where it stopped (validated and logged with the losses of
// the batches it trained) and training goes on with the next epoch. Refusing instead would leave
// no way on when the old batch no longer fits in memory, the usual reason to change it; the
// images the epoch did not reach come round in the next epoch's shuffle. (Continuing inside the
// epoch would need the loader to start at an image offset rather than a batch index.)
static int rebase_batch(Run *r) {
    const TrainOptions *o = r->o;
    int64_t nb = r->resumed_nb, epoch = r->start_epoch, k = r->start_batch;
    if (k > nb)
        return yolo_fail("%s was saved at batch %lld of an epoch, which had %lld batches at batch=%d", r->ck.path,
                         (long long)k, (long long)nb, r->resumed_batch);
    int64_t pending = nb * epoch + k - 1 - r->last_opt_step; // micro-batches in the saved grad.*
    int new_k = k == 0 ? 0 : r->nb;
    int64_t position = (int64_t)r->nb * epoch + new_k;
    // Gradients waiting for an optimizer step stay (the loss is a sum over images, so they are a
    // partial sum over pending * old batch images) and count as that many images at the new batch,
    // at least one micro-batch so that a save before the next step keeps them.
    int64_t pending_new = pending <= 0 ? 0 : llround((double)pending * r->resumed_batch / o->batch);
    if (pending > 0 && pending_new < 1) pending_new = 1;
    r->last_opt_step = position - 1 - pending_new;
    if (r->last_opt_step < -1) r->last_opt_step = -1;
    r->start_batch = new_k;
    // SGD's momentum is set by warmup only while ni <= nw, and nw depends on nb: past the new
    // warmup it is what the end of warmup leaves, as in a run that had the new batch all along.
    int64_t nw = schedule_warmup_iters(o->warmup_epochs, r->nb);
    if (r->optim.kind == OPTIM_SGD && nw >= 0 && position > nw)
        for (int j = 0; j < OPTIM_GROUPS; j++) r->optim.group[j].momentum = o->momentum;

    int acc_old = (int)fmax(nearbyint((double)o->nbs / r->resumed_batch), 1.0);
    int acc_new = (int)fmax(nearbyint((double)o->nbs / o->batch), 1.0);
    printf("batch=%d (was %d): the run is no longer bit-identical to an uninterrupted one. Batches per epoch: %d (was "
           "%d); accumulation after warmup: %d micro-batches (was %d), keeping nbs=%d; weight decay %.6g (was %.6g). "
           "Checkpoints from here on resume exactly at batch=%d\n",
           o->batch, r->resumed_batch, r->nb, r->resumed_nb, acc_new, acc_old, o->nbs, r->optim.group[1].weight_decay,
           r->resumed_weight_decay, o->batch);
    if (k > 0 && k < nb)
        printf("%s was saved inside epoch %lld, after %lld of its %lld batches at batch=%d: that epoch ends there (the "
               "rest untrained), and training goes on with epoch %lld at batch=%d\n",
               r->ck.path, (long long)epoch + 1, (long long)k, (long long)nb, r->resumed_batch, (long long)epoch + 2,
               o->batch);
    if (pending > 0)
        printf("Gradients not yet applied carry over: %lld micro-batch(es) at batch=%d, counted as %lld at batch=%d\n",
               (long long)pending, r->resumed_batch, (long long)pending_new, o->batch);
    return 0;
}

int run_resume_position(Run *r) {
    if (r->resumed_batch != r->o->batch) return rebase_batch(r);
    if (r->start_batch > r->nb)
        return yolo_fail("%s was saved at batch %d of an epoch, which has %d batches at this batch size", r->ck.path,
                         r->start_batch, r->nb);
    return 0;
}
