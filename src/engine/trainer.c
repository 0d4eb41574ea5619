#include "engine/trainer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    TRY(model_yaml_load(o->model, YOLO_CONFIG_DIR "/models", &r->def));
    if (r->def.nc != r->data.nc) printf("Overriding model nc=%d with the dataset's nc=%d\n", r->def.nc, r->data.nc);
    r->g = graph_create(r->backend);
    if (!r->g) return -1;
    ModelOptions mo = {.nc = r->data.nc, .batch = o->batch, .imgsz = o->imgsz, .dropout = o->dropout};
    return model_build(r->g, &r->def, &mo, &r->m);
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
    TRY(optimizer_resolve(o->optimizer, iterations, r->m.nc, &r->lr0, &r->momentum, &r->warmup_bias_lr, &kind));
    TRY(graph_plan(r->g, optimizer_slots(kind)));
    model_init_weights(r->g, &r->m, o->seed);
    TRY(optimizer_init(&r->optim, r->g, kind, r->lr0, r->momentum, weight_decay));
    TRY(ema_init(&r->ema, r->g));
    printf("optimizer: %s(lr=%g, momentum=%g) with parameter groups %d weight(decay=0.0), %d weight(decay=%g), %d bias(decay=0.0)\n",
           kind == OPTIM_SGD ? "SGD" : kind == OPTIM_ADAM ? "Adam" : "AdamW", r->lr0, r->momentum, r->optim.n_params[2],
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

static int train_epoch(Run *r, int epoch, double *train_losses) {
    const TrainOptions *o = r->o;
    int n_losses = r->task->n_losses;
    double lf = schedule_lf(epoch, o->epochs, o->lrf, o->cos_lr);
    schedule_epoch(&r->optim, lf);
    int64_t nw = schedule_warmup_iters(o->warmup_epochs, r->nb);
    for (int i = 0; i < n_losses; i++) train_losses[i] = 0.0;
    r->g->training = 1;
    Progress p;
    double t0 = now_seconds();
    progress_begin(&p, o->verbose, r->nb, t0);
    char text[256];
    for (int k = 0; k < r->nb; k++) {
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
    }
    progress_end(&p, text, now_seconds());
    r->train_seconds += now_seconds() - t0;
    return 0;
}

static cJSON *state_json(const Run *r, int epochs_done, bool finished, double elapsed) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "version", YOLO_VERSION);
    cJSON_AddNumberToObject(s, "epoch", epochs_done);
    cJSON_AddNumberToObject(s, "batch", 0);
    cJSON_AddNumberToObject(s, "optimizer_steps", (double)r->optim.steps);
    cJSON_AddNumberToObject(s, "last_opt_step", (double)r->last_opt_step);
    cJSON_AddNumberToObject(s, "ema_updates", (double)r->ema.updates);
    cJSON_AddBoolToObject(s, "finished", finished);
    cJSON_AddNumberToObject(s, "seed", (double)r->o->seed);
    cJSON_AddNumberToObject(s, "best_fitness", r->best_fitness);
    cJSON_AddNumberToObject(s, "best_epoch", r->best_epoch);
    cJSON_AddNumberToObject(s, "elapsed_seconds", elapsed);
    cJSON *optim = cJSON_AddObjectToObject(s, "optimizer");
    cJSON_AddStringToObject(optim, "type", r->optim.kind == OPTIM_SGD ? "SGD" : r->optim.kind == OPTIM_ADAM ? "Adam" : "AdamW");
    cJSON_AddNumberToObject(optim, "lr0", r->lr0);
    cJSON_AddNumberToObject(optim, "momentum", r->momentum);
    cJSON_AddNumberToObject(optim, "warmup_bias_lr", r->warmup_bias_lr);
    cJSON *sched = cJSON_AddObjectToObject(s, "schedule");
    cJSON_AddStringToObject(sched, "type", r->o->cos_lr ? "cosine" : "linear");
    cJSON_AddNumberToObject(sched, "epochs", r->o->epochs);
    cJSON_AddNumberToObject(sched, "lrf", r->o->lrf);
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

static int save_checkpoints(Run *r, int epoch, bool best, bool finished, double elapsed) {
    if (!r->o->save) return 0;
    cJSON *s = state_json(r, epoch + 1, finished, elapsed);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    if (!text) return yolo_fail("out of memory writing the checkpoint state");
    CheckpointContent c = {.g = r->g, .ema = &r->ema, .optim = &r->optim, .task = r->task->name, .state_json = text};
    char path[4200], prev[4200];
    snprintf(path, sizeof path, "%s/weights/last.ckpt", r->run_dir);
    snprintf(prev, sizeof prev, "%s/weights/last.prev.ckpt", r->run_dir);
    int rc = checkpoint_save(path, prev, &c);
    if (rc == 0 && best) {
        snprintf(path, sizeof path, "%s/weights/best.ckpt", r->run_dir);
        rc = checkpoint_save(path, NULL, &c);
    }
    if (rc == 0 && r->o->save_period > 0 && epoch % r->o->save_period == 0) {
        snprintf(path, sizeof path, "%s/weights/epoch%d.ckpt", r->run_dir, epoch);
        rc = checkpoint_save(path, NULL, &c);
    }
    free(text);
    return rc;
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
    TRY(load_data_and_model(r));
    TRY(setup_optimizer(r));
    TRY(setup_loaders(r));
    TRY(setup_task(r));
    TRY(run_dir_create(o->project, r->task->name, o->name, o->exist_ok, r->run_dir, sizeof r->run_dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/args.yaml", r->run_dir);
    if (o->args_yaml) TRY(write_text(path, o->args_yaml));
    snprintf(path, sizeof path, "%s/results.csv", r->run_dir);
    remove(path); // a fresh run starts a fresh results.csv
    return 0;
}

static int loop(Run *r) {
    const TrainOptions *o = r->o;
    const TaskImpl *t = r->task;
    double start = now_seconds();
    int stale = 0;
    printf("Image sizes %d train, %d val; %d batches of %d per epoch; results in %s\n", o->imgsz, o->imgsz, r->nb,
           o->batch, r->run_dir);
    for (int epoch = 0; epoch < o->epochs; epoch++) {
        printf("%11s", "Epoch");
        for (int i = 0; i < t->n_losses; i++) printf(" %9s", t->loss_names[i]);
        printf(" %9s %6s\n", "Instances", "Size");
        double train_losses[TASK_MAX_LOSSES], val_losses[TASK_MAX_LOSSES] = {0}, metrics[TASK_MAX_METRICS] = {0}, fitness = 0.0;
        TRY(train_epoch(r, epoch, train_losses));
        double elapsed = r->elapsed_before + now_seconds() - start;
        bool last = epoch + 1 == o->epochs || (o->time_hours > 0 && elapsed > o->time_hours * 3600.0);
        if (o->val || last) TRY(validate(r, val_losses, metrics, &fitness, last));
        bool best = r->best_epoch < 0 || fitness > r->best_fitness;
        if (best) {
            r->best_fitness = fitness;
            r->best_epoch = epoch;
            stale = 0;
        } else {
            stale++;
        }
        elapsed = r->elapsed_before + now_seconds() - start;
        TRY(log_epoch(r, epoch, elapsed, train_losses, metrics, val_losses));
        bool stop = last || (o->patience > 0 && stale >= o->patience);
        TRY(save_checkpoints(r, epoch, best, stop, elapsed));
        if (stop && !last)
            printf("Stopping early: no improvement in the last %d epochs (best epoch %d); patience=%d\n", stale,
                   r->best_epoch + 1, o->patience);
        if (stop) break;
    }
    printf("%d epochs completed in %.3f hours. Results saved to %s\n", (int)cJSON_GetArraySize(r->history),
           (now_seconds() - start) / 3600.0, r->run_dir);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("Training speed %.2f images/s (whole steps with data loading), peak resident memory %.0f MiB\n",
           r->train_seconds > 0 ? (double)r->images_trained / r->train_seconds : 0.0, (double)ru.ru_maxrss / 1024.0);
    return 0;
}

int train_run(const TrainOptions *o) {
    Run r = {.o = o, .best_epoch = -1};
    int rc = setup(&r);
    if (rc == 0) rc = loop(&r);
    release(&r);
    return rc;
}
