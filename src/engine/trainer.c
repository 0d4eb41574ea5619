#include "engine/trainer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "engine/checkpoint.h"
#include "engine/optimizer.h"
#include "engine/progress.h"
#include "engine/results.h"
#include "engine/run_dir.h"
#include "io/atomic_file.h"
#include "tasks/task.h"
#include "yolo/version.h"

enum { MAX_VAL_SHAPES = 16, MAX_COLUMNS = 2 + 2 * TASK_MAX_LOSSES + TASK_MAX_METRICS + OPTIM_GROUPS };

static const double GRAD_CLIP_NORM = 10.0;

// The first SIGINT/SIGTERM asks the loop to stop after the current micro-batch with a checkpoint
// of the exact position; a second one exits at once (the atomic writes keep the last complete
// checkpoint whole).
static volatile sig_atomic_t interrupt_signal;

static void on_interrupt(int sig) {
    if (interrupt_signal) _exit(128 + sig);
    interrupt_signal = sig;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// A forward-only graph for one validation batch shape, holding a copy of the EMA weights.
typedef struct {
    int h, w;
    Graph *g;
    Model m;
} ValGraph;

typedef struct {
    const TrainOptions *o;
    const TaskImpl *task;
    Backend *backend;
    DatasetConfig data;
    DatasetSplit train_split, val_split;
    ModelDef def;
    Graph *g;
    Model m;
    Optimizer optim;
    Ema ema;
    Loader *train_loader, *val_loader;
    void *criterion, *val_criterion, *validator;
    ValGraph val_graphs[MAX_VAL_SHAPES];
    int n_val_graphs;
    char run_dir[4096];
    double lr0, momentum, warmup_bias_lr;
    int accumulate, nb, val_batch;
    int64_t last_opt_step;
    double best_fitness;
    int best_epoch;
    int stale;       // epochs since the best one (early stopping)
    int start_epoch; // epochs done before this process (resume)
    int start_batch; // micro-batches of epoch start_epoch done before this process
    double epoch_losses[TASK_MAX_LOSSES]; // the running means of the current epoch's train losses
    int64_t batches_run; // micro-batches trained by this process (the interrupt test hook)
    // The LR plan: Ultralytics' schedule over [0, epochs) while plan_from is 0; after epochs= was
    // extended on resume, the same shape from lf plan_lf at epoch plan_from to lrf at the new end.
    int plan_from;
    double plan_lf;
    double start;        // when this process started training
    double last_save;    // when last.ckpt was last written (save_minutes)
    Checkpoint ck;   // the checkpoint being resumed (state NULL for a new run)
    Checkpoint weights; // a new run's starting weights (o->weights; state NULL for none), open during setup
    // Resumed from last.prev.ckpt because last.ckpt is damaged: the first save must not make the
    // damaged file the previous generation in place of the whole one.
    bool keep_prev;
    int lock_fd; // holds the run folder's lock (flock: the kernel drops it when the process dies)
    double elapsed_before; // training seconds of earlier processes (resume)
    double train_seconds;  // in train_epoch, this process: the whole step with data loading
    int64_t images_trained;
    cJSON *history;        // every results.csv row
} Run;

static int load_data_and_model(Run *r) {
    const TrainOptions *o = r->o;
    bool classify = o->task == TASK_CLASSIFY;
    TRY(dataset_config_load(o->data, o->datasets_dir[0] ? o->datasets_dir : NULL, classify, &r->data));
    TRY(dataset_scan(&r->data, SPLIT_TRAIN, &r->train_split));
    TRY(dataset_scan(&r->data, SPLIT_VAL, &r->val_split));
    // model=PATH.ckpt: the architecture the checkpoint stores, so its source YAML need not exist. A
    // resumed run reads it from its own checkpoint, which stores the same text.
    size_t n = strlen(o->model);
    if (n >= 5 && !strcmp(o->model + n - 5, ".ckpt")) {
        const Checkpoint *from = o->resume[0] ? &r->ck : &r->weights;
        if (!from->state)
            return yolo_fail("model=%s: a checkpoint as the model needs it as the weights too (weights=%s)", o->model,
                             o->model);
        TRY(checkpoint_model_def(from, &r->def));
    } else {
        TRY(model_yaml_load(o->model, YOLO_CONFIG_DIR "/models", &r->def));
    }
    if (r->def.nc != r->data.nc) printf("Overriding model nc=%d with the dataset's nc=%d\n", r->def.nc, r->data.nc);
    r->g = graph_create(r->backend);
    if (!r->g) return -1;
    ModelOptions mo = {.nc = r->data.nc, .batch = o->batch, .imgsz = o->imgsz, .dropout = o->dropout};
    return model_build(r->g, &r->def, &mo, &r->m);
}

static const char *optim_name(OptimKind kind) { return kind == OPTIM_SGD ? "SGD" : kind == OPTIM_ADAM ? "Adam" : "AdamW"; }

// A number of the resumed state (or of one of its objects); -1 when it is missing.
static int state_number(const Run *r, const cJSON *obj, const char *key, double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(item)) return yolo_fail("%s: the training state has no number '%s'", r->ck.path, key);
    *out = item->valuedouble;
    return 0;
}

static double plan_lf(int from, double from_lf, int epochs, const TrainOptions *o, int epoch) {
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
    r->plan_lf = plan_lf(r->plan_from, r->plan_lf, (int)epochs, r->o, r->start_epoch);
    r->plan_from = r->start_epoch;
    printf("epochs=%d (was %d): the LR schedule is re-planned from lr0*%.6g at epoch %d to lr0*lrf at epoch %d; the run "
           "is no longer the one epochs=%d would have given\n",
           r->o->epochs, (int)epochs, r->plan_lf, r->start_epoch + 1, r->o->epochs, r->o->epochs);
    return 0;
}

static int resumed_optimizer(Run *r, OptimKind *kind) {
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
static int restore_state(Run *r) {
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
    if (batch < 0 || batch > r->nb)
        return yolo_fail("%s was saved at batch %g of an epoch, which has %d batches at this batch size", r->ck.path, batch,
                         r->nb);
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
    // The loader's batches are a function of the image list too: a changed dataset resumes inexactly.
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "dataset"), "train_fingerprint");
    char now[32];
    snprintf(now, sizeof now, "%016llx", (unsigned long long)r->train_split.fingerprint);
    if (!cJSON_IsString(fp) || strcmp(fp->valuestring, now) != 0)
        return yolo_fail("the training images or labels of %s changed since %s was saved (fingerprint %s, now %s); restore "
                         "them, or start a new run", r->o->data, r->ck.path, cJSON_IsString(fp) ? fp->valuestring : "none",
                         now);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "optimizer"), "groups");
    if (cJSON_GetArraySize(groups) != OPTIM_GROUPS)
        return yolo_fail("%s: the training state has no %d optimizer groups", r->ck.path, OPTIM_GROUPS);
    for (int j = 0; j < OPTIM_GROUPS; j++) {
        const cJSON *gj = cJSON_GetArrayItem(groups, j);
        OptimGroup *g = &r->optim.group[j];
        TRY(state_number(r, gj, "lr", &g->lr));
        TRY(state_number(r, gj, "momentum", &g->momentum));
        TRY(state_number(r, gj, "weight_decay", &g->weight_decay));
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

// Optimizer choice, accumulation and decay scaling (spec §7), then memory for everything.
static int setup_optimizer(Run *r) {
    const TrainOptions *o = r->o;
    r->accumulate = (int)fmax(nearbyint((double)o->nbs / o->batch), 1.0);
    double weight_decay = o->weight_decay * o->batch * r->accumulate / o->nbs;
    r->nb = (r->train_split.n + o->batch - 1) / o->batch;
    int64_t iterations = (int64_t)ceil((double)r->train_split.n / fmax(o->batch, o->nbs)) * o->epochs;
    r->lr0 = o->lr0;
    r->momentum = o->momentum;
    r->warmup_bias_lr = o->warmup_bias_lr;
    OptimKind kind;
    // A resumed run keeps the optimizer it started with: `auto` decides by the number of
    // iterations, which an extended epochs= would change.
    if (r->ck.state) TRY(resumed_optimizer(r, &kind));
    else TRY(optimizer_resolve(o->optimizer, iterations, r->m.nc, &r->lr0, &r->momentum, &r->warmup_bias_lr, &kind));
    TRY(graph_plan(r->g, optimizer_slots(kind)));
    model_init_weights(r->g, &r->m, o->seed);
    // Fine-tuning starts from the EMA, the weights the checkpoint's run validated (what Ultralytics
    // saves as its model); the optimizer and EMA start afresh from them, as in any new run.
    if (r->weights.state) {
        int copied = 0, total = 0;
        TRY(checkpoint_transfer(&r->weights, "ema.", r->g, &copied, &total));
        printf("Transferred %d/%d items from pretrained weights %s\n", copied, total, r->weights.path);
    }
    TRY(optimizer_init(&r->optim, r->g, kind, r->lr0, r->momentum, weight_decay));
    TRY(ema_init(&r->ema, r->g));
    if (r->ck.state) TRY(restore_state(r));
    printf("optimizer: %s(lr=%g, momentum=%g) with parameter groups %d weight(decay=0.0), %d weight(decay=%g), %d bias(decay=0.0)\n",
           optim_name(kind), r->lr0, r->momentum, r->optim.n_params[2],
           r->optim.n_params[1], weight_decay, r->optim.n_params[0]);
    return 0;
}

static int setup_loaders(Run *r) {
    const TrainOptions *o = r->o;
    LoaderOptions lo = {
        .task = o->task, .train = true, .batch = o->batch, .imgsz = o->imgsz, .seed = o->seed, .workers = o->workers,
        .fraction = o->fraction, .cache_ram = o->cache_ram, .close_mosaic = o->close_mosaic, .epochs = o->epochs,
        .mask_ratio = o->mask_ratio, .aug = o->aug, .erasing = o->erasing, .crop_scale_min = 1.0f - o->aug.scale,
    };
    lo.aug.imgsz = o->imgsz;
    r->train_loader = loader_create(&r->train_split, &lo);
    if (!r->train_loader) return -1;
    r->nb = loader_batches_per_epoch(r->train_loader);
    // Ultralytics validates with twice the training batch, rectangular shapes, no augmentation.
    r->val_batch = 2 * o->batch;
    lo.train = false;
    lo.batch = r->val_batch;
    lo.rect = true;
    r->val_loader = loader_create(&r->val_split, &lo);
    return r->val_loader ? 0 : -1;
}

static int setup_task(Run *r) {
    const TrainOptions *o = r->o;
    // Rectangular validation shapes stay within imgsz + one stride of padding on each side.
    int val_max = o->imgsz + 64;
    r->criterion = r->task->criterion_create(&r->m, o->batch, o->imgsz, o->imgsz, o, r->backend->pool);
    r->val_criterion = r->task->criterion_create(&r->m, r->val_batch, val_max, val_max, o, r->backend->pool);
    r->validator = r->task->validator_create(&r->m, &r->data, &r->val_split, o);
    if (!r->criterion || !r->val_criterion || !r->validator) return yolo_fail("cannot set up the %s task", r->task->name);
    return 0;
}

static int write_text(const char *path, const char *text) { return atomic_write(path, text, strlen(text), NULL); }

// The val graph for a batch shape, built on first use.
static ValGraph *val_graph_for(Run *r, int h, int w) {
    for (int i = 0; i < r->n_val_graphs; i++)
        if (r->val_graphs[i].h == h && r->val_graphs[i].w == w) return &r->val_graphs[i];
    if (r->n_val_graphs == MAX_VAL_SHAPES) {
        yolo_fail("more than %d validation batch shapes", MAX_VAL_SHAPES);
        return NULL;
    }
    ValGraph *v = &r->val_graphs[r->n_val_graphs];
    *v = (ValGraph){.h = h, .w = w, .g = graph_create(r->backend)};
    ModelOptions mo = {.nc = r->m.nc, .batch = r->val_batch, .imgsz = r->o->imgsz, .height = h, .width = w};
    int keep[HEAD_MAX_LEVELS];
    for (int l = 0; l < HEAD_MAX_LEVELS; l++) keep[l] = -1;
    if (!v->g || model_build(v->g, &r->def, &mo, &v->m) != 0) return NULL;
    for (int l = 0; l < v->m.n_levels; l++) keep[l] = v->m.outputs[l];
    if (graph_plan_inference(v->g, keep, v->m.n_levels) != 0) return NULL;
    if (v->g->params.size != r->g->params.size) {
        yolo_fail("internal: validation graph weights differ in layout from the training graph's");
        return NULL;
    }
    r->n_val_graphs++;
    return v;
}

static int copy_batch_images(Graph *g, const Model *m, const Batch *b) {
    TRY(graph_set_batch(g, b->size));
    memcpy(g->values[m->input].data.data, b->images, sizeof(float) * 3 * (size_t)b->size * (size_t)b->h * (size_t)b->w);
    return 0;
}

// Validation with the EMA weights: losses (val/...) and metrics.
static int validate(Run *r, double *val_losses, double *metrics, double *fitness, bool table) {
    int n_losses = r->task->n_losses, nb = loader_batches_per_epoch(r->val_loader);
    for (int i = 0; i < n_losses; i++) val_losses[i] = 0.0;
    Progress p;
    double t0 = now_seconds();
    progress_begin(&p, r->o->verbose, nb, t0);
    for (int k = 0; k < nb; k++) {
        Batch b;
        TRY(loader_get(r->val_loader, 0, k, &b));
        ValGraph *v = val_graph_for(r, b.h, b.w);
        if (!v) return -1;
        memcpy(v->g->params.base, r->ema.values, v->g->params.size);
        TRY(copy_batch_images(v->g, &v->m, &b));
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

static int check_finite(const double *losses, int n, const TaskImpl *task, int epoch, int k) {
    for (int i = 0; i < n; i++)
        if (!isfinite(losses[i]))
            return yolo_fail("%s is %g at epoch %d, batch %d: training diverged (try a lower lr0, or check the labels)",
                             task->loss_names[i], losses[i], epoch + 1, k);
    return 0;
}

// The position is (epochs_done, batch): micro-batches done in the next epoch, 0 at an epoch end.
static cJSON *state_json(const Run *r, int epochs_done, int batch, bool finished, double elapsed) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "version", YOLO_VERSION);
    cJSON_AddNumberToObject(s, "epoch", epochs_done);
    cJSON_AddNumberToObject(s, "batch", batch);
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
    cJSON_AddStringToObject(optim, "type", optim_name(r->optim.kind));
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
    cJSON_AddStringToObject(data, "yaml", r->data.text ? r->data.text : "");
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)r->train_split.fingerprint);
    cJSON_AddStringToObject(data, "train_fingerprint", fp);
    cJSON *model = cJSON_AddObjectToObject(s, "model");
    cJSON_AddStringToObject(model, "yaml", r->def.text ? r->def.text : "");
    char scale[2] = {r->def.scale, 0};
    cJSON_AddStringToObject(model, "scale", scale);
    cJSON_AddNumberToObject(model, "nc", r->m.nc);
    cJSON_AddItemToObject(s, "results", cJSON_Duplicate(r->history, true));
    return s;
}

// last.ckpt at position (epochs_done, batch); at an epoch end (batch 0) also best.ckpt when best
// and epoch<N>.ckpt by save_period.
static int save_checkpoints(Run *r, int epochs_done, int batch, bool best, bool finished, double elapsed) {
    if (!r->o->save) return 0;
    cJSON *s = state_json(r, epochs_done, batch, finished, elapsed);
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

enum { EPOCH_DONE = 0, EPOCH_INTERRUPTED = 1 };

// One epoch's micro-batches from r->start_batch (a resumed position, then 0). Returns
// EPOCH_INTERRUPTED after saving last.ckpt at the exact position when a signal (or the test hook)
// asked to stop; with save_minutes, last.ckpt is also written every save_minutes inside the epoch.
static int train_epoch(Run *r, int epoch) {
    const TrainOptions *o = r->o;
    int n_losses = r->task->n_losses;
    double *train_losses = r->epoch_losses;
    double lf = plan_lf(r->plan_from, r->plan_lf, o->epochs, o, epoch);
    int64_t nw = schedule_warmup_iters(o->warmup_epochs, r->nb);
    int start = r->start_batch;
    r->start_batch = 0;
    // Mid-epoch, the restored group hyperparameters are those after micro-batch start - 1 (with
    // warmup's changes), which the LR scheduler's epoch step would overwrite.
    if (start == 0) {
        schedule_epoch(&r->optim, lf);
        for (int i = 0; i < n_losses; i++) train_losses[i] = 0.0;
    }
    r->g->training = 1;
    Progress p;
    double t0 = now_seconds();
    progress_begin(&p, o->verbose, r->nb, t0);
    char text[256] = "";
    for (int k = start; k < r->nb; k++) {
        int64_t ni = k + (int64_t)r->nb * epoch;
        r->accumulate = schedule_accumulate(ni, nw, o->nbs, o->batch);
        schedule_warmup(&r->optim, ni, nw, lf, r->warmup_bias_lr, o->warmup_momentum, o->momentum);
        Batch b;
        TRY(loader_get(r->train_loader, epoch, k, &b));
        TRY(copy_batch_images(r->g, &r->m, &b));
        TRY(graph_forward(r->g));
        graph_clear_activation_grads(r->g);
        double losses[TASK_MAX_LOSSES];
        TRY(r->task->criterion(r->criterion, r->g, &r->m, &b, true, losses));
        TRY(check_finite(losses, n_losses, r->task, epoch, k));
        TRY(graph_backward(r->g));
        if (ni - r->last_opt_step >= r->accumulate) {
            double norm = optimizer_clip_grad_norm(r->g, GRAD_CLIP_NORM);
            if (!isfinite(norm))
                return yolo_fail("the gradients are not finite (norm %g) at epoch %d, batch %d: training diverged; "
                                 "try a lower lr0", norm, epoch + 1, k);
            optimizer_step(&r->optim, r->g);
            graph_clear_param_grads(r->g);
            ema_update(&r->ema, r->g);
            r->last_opt_step = ni;
        }
        r->images_trained += b.size;
        for (int i = 0; i < n_losses; i++) train_losses[i] = (train_losses[i] * k + losses[i]) / (k + 1);
        int used = snprintf(text, sizeof text, "%5d/%-5d", epoch + 1, o->epochs);
        for (int i = 0; i < n_losses; i++) used += snprintf(text + used, sizeof text - (size_t)used, " %9.4g", train_losses[i]);
        snprintf(text + used, sizeof text - (size_t)used, " %9d %6d", b.n_targets, b.w);
        progress_update(&p, text, k + 1, now_seconds());
        if (++r->batches_run == o->interrupt_after_batches) interrupt_signal = SIGINT;
        double now = now_seconds();
        bool periodic = o->save_minutes > 0 && now - r->last_save >= o->save_minutes * 60.0 && k + 1 < r->nb;
        if (interrupt_signal || periodic) {
            TRY(save_checkpoints(r, epoch, k + 1, false, false, r->elapsed_before + now - r->start));
            if (interrupt_signal) {
                progress_end(&p, text, now_seconds());
                return EPOCH_INTERRUPTED;
            }
        }
    }
    progress_end(&p, text, now_seconds());
    r->train_seconds += now_seconds() - t0;
    return EPOCH_DONE;
}

// After an interrupt: what resumes the run, and the exit status of a process killed by the signal.
static int interrupted(const Run *r) {
    if (!r->o->save) {
        printf("\nInterrupted; nothing saved (save=False)\n");
        return 128 + interrupt_signal;
    }
    printf("\nInterrupted (%s); last.ckpt holds the exact position. Resume with:\n"
           "  yolo %s train resume model=%s/weights/last.ckpt\n",
           interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT", r->task->name, r->run_dir);
    return 128 + interrupt_signal;
}

static int log_epoch(Run *r, int epoch, double elapsed, const double *train_losses, const double *metrics,
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

static void release(Run *r) {
    if (r->task) {
        if (r->criterion) r->task->criterion_destroy(r->criterion);
        if (r->val_criterion) r->task->criterion_destroy(r->val_criterion);
        if (r->validator) r->task->validator_destroy(r->validator);
    }
    for (int i = 0; i < r->n_val_graphs; i++) graph_destroy(r->val_graphs[i].g);
    loader_destroy(r->train_loader);
    loader_destroy(r->val_loader);
    ema_free(&r->ema);
    optimizer_free(&r->optim);
    graph_destroy(r->g);
    model_def_free(&r->def);
    dataset_split_free(&r->train_split);
    dataset_split_free(&r->val_split);
    dataset_config_free(&r->data);
    backend_destroy(r->backend);
    cJSON_Delete(r->history);
    checkpoint_close(&r->ck);
    checkpoint_close(&r->weights);
    if (r->lock_fd >= 0) close(r->lock_fd);
}

// One process trains a run folder at a time: two would interleave results.csv and checkpoints.
static int lock_run_dir(Run *r) {
    char path[4200];
    snprintf(path, sizeof path, "%s/weights/.lock", r->run_dir);
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) return yolo_fail("cannot create %s: %s", path, strerror(errno));
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return yolo_fail("%s is being trained by another process (%s is locked); wait for it or stop it first", r->run_dir,
                         path);
    return 0;
}

// The run folder of a checkpoint: <run>/weights/last.ckpt, wherever the run was moved.
static int resumed_run_dir(const char *ckpt, char *out, size_t cap) {
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
static int rewrite_results(const Run *r, const char *path) {
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

static int setup(Run *r) {
    const TrainOptions *o = r->o;
    r->task = task_impl(o->task);
    if (!r->task) return yolo_fail("training this task is not available in this build yet");
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->backend = backend_cpu_create(threads < 1 ? 1 : threads);
    if (!r->backend) return -1;
    r->history = cJSON_CreateArray();
    r->last_opt_step = -1;
    if (o->resume[0]) {
        TRY(checkpoint_open(o->resume, &r->ck));
        if (strcmp(r->ck.task, r->task->name) != 0)
            return yolo_fail("%s is a %s checkpoint; resume it with `yolo %s train resume model=%s`", r->ck.path, r->ck.task,
                             r->ck.task, r->ck.path);
        TRY(resumed_run_dir(r->ck.path, r->run_dir, sizeof r->run_dir));
        TRY(lock_run_dir(r));
        size_t n = strlen(r->ck.path);
        r->keep_prev = n >= 15 && !strcmp(r->ck.path + n - 15, "/last.prev.ckpt");
    } else if (o->weights[0]) {
        TRY(checkpoint_open(o->weights, &r->weights));
        if (strcmp(r->weights.task, r->task->name) != 0)
            return yolo_fail("%s is a %s checkpoint; a %s run cannot start from it (use `yolo %s train model=%s`)",
                             r->weights.path, r->weights.task, r->task->name, r->weights.task, r->weights.path);
    }
    TRY(load_data_and_model(r));
    TRY(setup_optimizer(r));
    TRY(setup_loaders(r));
    TRY(setup_task(r));
    checkpoint_close(&r->weights); // copied into the graph: its memory is not needed any more
    if (!o->resume[0]) {
        TRY(run_dir_create(o->project, r->task->name, o->name, o->exist_ok, r->run_dir, sizeof r->run_dir));
        TRY(lock_run_dir(r));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/args.yaml", r->run_dir);
    if (o->args_yaml) TRY(write_text(path, o->args_yaml));
    snprintf(path, sizeof path, "%s/results.csv", r->run_dir);
    if (o->resume[0]) {
        TRY(rewrite_results(r, path));
        printf("Resuming %s from epoch %d of %d\n", r->run_dir, r->start_epoch + 1, o->epochs);
    } else {
        remove(path); // a fresh run starts a fresh results.csv
    }
    if (o->after_setup) o->after_setup(o->after_setup_ctx, r->g, &r->ema);
    return 0;
}

static int loop(Run *r) {
    const TrainOptions *o = r->o;
    const TaskImpl *t = r->task;
    r->start = r->last_save = now_seconds();
    printf("Image sizes %d train, %d val; %d batches of %d per epoch; results in %s\n", o->imgsz, o->imgsz, r->nb,
           o->batch, r->run_dir);
    for (int epoch = r->start_epoch; epoch < o->epochs; epoch++) {
        printf("%11s", "Epoch");
        for (int i = 0; i < t->n_losses; i++) printf(" %9s", t->loss_names[i]);
        printf(" %9s %6s\n", "Instances", "Size");
        double val_losses[TASK_MAX_LOSSES] = {0}, metrics[TASK_MAX_METRICS] = {0}, fitness = 0.0;
        int rc = train_epoch(r, epoch);
        if (rc < 0) return -1;
        if (rc == EPOCH_INTERRUPTED) return interrupted(r);
        double elapsed = r->elapsed_before + now_seconds() - r->start;
        bool last = epoch + 1 == o->epochs || (o->time_hours > 0 && elapsed > o->time_hours * 3600.0);
        if (o->val || last) TRY(validate(r, val_losses, metrics, &fitness, last));
        bool best = r->best_epoch < 0 || fitness > r->best_fitness;
        if (best) {
            r->best_fitness = fitness;
            r->best_epoch = epoch;
            r->stale = 0;
        } else {
            r->stale++;
        }
        elapsed = r->elapsed_before + now_seconds() - r->start;
        TRY(log_epoch(r, epoch, elapsed, r->epoch_losses, metrics, val_losses));
        bool stop = last || (o->patience > 0 && r->stale >= o->patience);
        TRY(save_checkpoints(r, epoch + 1, 0, best, stop, elapsed));
        if (!stop && epoch + 1 == o->stop_after_epoch) interrupt_signal = SIGINT;
        // A signal during validation stops here, at the epoch end just saved.
        if (!stop && interrupt_signal) return interrupted(r);
        if (stop && !last)
            printf("Stopping early: no improvement in the last %d epochs (best epoch %d); patience=%d\n", r->stale,
                   r->best_epoch + 1, o->patience);
        if (stop) break;
    }
    printf("%d epochs completed in %.3f hours. Results saved to %s\n", (int)cJSON_GetArraySize(r->history) - r->start_epoch,
           (now_seconds() - r->start) / 3600.0, r->run_dir);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("Training speed %.2f images/s (whole steps with data loading), peak resident memory %.0f MiB\n",
           r->train_seconds > 0 ? (double)r->images_trained / r->train_seconds : 0.0, (double)ru.ru_maxrss / 1024.0);
    return 0;
}

int train_run(const TrainOptions *o) {
    Run r = {.o = o, .best_epoch = -1, .lock_fd = -1, .plan_lf = 1.0};
    struct sigaction on = {.sa_handler = on_interrupt}, old_int, old_term;
    sigemptyset(&on.sa_mask);
    interrupt_signal = 0;
    sigaction(SIGINT, &on, &old_int);
    sigaction(SIGTERM, &on, &old_term);
    int rc = setup(&r);
    if (rc == 0) rc = loop(&r);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    release(&r);
    return rc;
}
