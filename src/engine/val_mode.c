#include "engine/val_mode.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "engine/batch_plots.h"
#include "engine/evaluate.h"
#include "engine/run_dir.h"
#include "io/atomic_file.h"
#include "plot/chart.h"
#include "tasks/task.h"

static const char *const SPLIT_NAMES[SPLIT_COUNT] = {"train", "val", "test"};

// Everything val_run sets up, released in one place.
typedef struct {
    const TaskImpl *task;
    DatasetConfig data;
    DatasetSplit split;
    Loader *loader;
    void *validator;
    EvalGraphs graphs;
    ValPlots plots;
} Val;

static void release(Val *v) {
    if (v->validator) v->task->validator_destroy(v->validator);
    if (v->task) val_plots_free(&v->plots);
    eval_graphs_free(&v->graphs);
    loader_destroy(v->loader);
    dataset_split_free(&v->split);
    dataset_config_free(&v->data);
}

static int load_data(const ValOptions *o, InferenceModel *im, Val *v) {
    TRY(dataset_config_load(o->data, o->datasets_dir[0] ? o->datasets_dir : NULL, o->task == TASK_CLASSIFY, &v->data));
    const char *split = SPLIT_NAMES[o->split];
    if (v->data.n_sources[o->split] == 0)
        return yolo_fail("data=%s has no %s split; give split=val, or add `%s:` to %s", o->data, split, split,
                         v->data.yaml_path[0] ? v->data.yaml_path : o->data);
    // A model YAML's nc gives way to the dataset's, as in training; a checkpoint's cannot.
    if (!im->from_checkpoint) im->nc = v->data.nc;
    if (v->data.nc != im->nc)
        return yolo_fail("%s has %d classes but data=%s has %d; validate it on the dataset it was trained for", im->path,
                         im->nc, o->data, v->data.nc);
    return dataset_scan(&v->data, o->split, &v->split);
}

static int write_metrics(const char *dir, const ValOptions *o, const InferenceModel *im, const Val *v,
                         const double *metrics, double fitness, const EvalTimes *t) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "task", v->task->name);
    cJSON_AddStringToObject(j, "model", im->path);
    cJSON_AddStringToObject(j, "data", o->data);
    cJSON_AddStringToObject(j, "split", SPLIT_NAMES[o->split]);
    cJSON_AddNumberToObject(j, "imgsz", o->imgsz);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    char conf[32];
    snprintf(conf, sizeof conf, "%.7g", (double)o->conf); // the float threshold as it was written
    cJSON_AddNumberToObject(j, "conf", strtod(conf, NULL));
    cJSON_AddNumberToObject(j, "iou", o->iou);
    cJSON_AddNumberToObject(j, "max_det", o->max_det);
    cJSON_AddNumberToObject(j, "images", v->split.n);
    cJSON *m = cJSON_AddObjectToObject(j, "metrics");
    for (int i = 0; i < v->task->n_metrics; i++) cJSON_AddNumberToObject(m, v->task->metric_names[i], metrics[i]);
    cJSON_AddNumberToObject(j, "fitness", fitness);
    cJSON *speed = cJSON_AddObjectToObject(j, "speed_ms_per_image");
    double n = t->images > 0 ? t->images : 1;
    cJSON_AddNumberToObject(speed, "preprocess", 1e3 * t->preprocess / n);
    cJSON_AddNumberToObject(speed, "inference", 1e3 * t->inference / n);
    cJSON_AddNumberToObject(speed, "postprocess", 1e3 * t->postprocess / n);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return yolo_fail("out of memory writing metrics.json");
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    size_t len = strlen(text);
    text[len] = '\n'; // cJSON's terminator becomes the file's last newline
    int rc = atomic_write(path, text, len + 1, NULL);
    free(text);
    return rc;
}

static int run(ValOptions *o, InferenceModel *im, Val *v) {
    v->task = task_impl(o->task);
    if (!v->task) return yolo_fail("validating this task is not available in this build yet");
    TRY(load_data(o, im, v));
    TRY(inference_model_build(im, o->imgsz, o->threads, o->seed));
    LoaderOptions lo = {.task = o->task, .train = false, .batch = o->batch, .imgsz = o->imgsz, .seed = o->seed,
                        .workers = o->workers, .fraction = 1.0f, .mask_ratio = o->mask_ratio, .rect = true,
                        .epochs = 1, .aug = {.imgsz = o->imgsz}};
    v->loader = loader_create(&v->split, &lo);
    if (!v->loader) return -1;
    // The validator reads its thresholds from the training options.
    TrainOptions to = {.task = o->task, .batch = o->batch, .imgsz = o->imgsz, .max_det = o->max_det,
                       .mask_ratio = o->mask_ratio, .conf = o->conf, .iou = o->iou, .plots = o->plots};
    v->validator = v->task->validator_create(&im->m, &v->data, &v->split, &to);
    if (!v->validator) return yolo_fail("cannot set up the %s validator", v->task->name);
    // Every check passed: from here on the run folder exists.
    TRY(run_dir_new(o->project, v->task->name, o->name, "val", o->exist_ok, o->run_dir, sizeof o->run_dir));
    eval_graphs_init(&v->graphs, im->backend, &im->def, im->nc, o->batch, o->imgsz, im->g->params.size);
    v->plots = (ValPlots){.dir = o->run_dir, .task = v->task, .split = &v->split, .names = v->data.names,
                          .nc = v->data.nc, .mask_ratio = o->mask_ratio};
    EvalPass p = {.task = v->task, .validator = v->validator, .weights = im->g->params.base, .pass = 1,
                  .verbose = o->verbose, .table = true, .on_batch = o->plots ? plot_val_batch : NULL, .ctx = &v->plots};
    double metrics[TASK_MAX_METRICS] = {0}, fitness = 0.0;
    EvalTimes t;
    TRY(evaluate(&v->graphs, v->loader, &p, NULL, metrics, &fitness, &t));
    double n = t.images > 0 ? t.images : 1;
    printf("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image\n", 1e3 * t.preprocess / n,
           1e3 * t.inference / n, 1e3 * t.postprocess / n);
    TRY(write_metrics(o->run_dir, o, im, v, metrics, fitness, &t));
    memcpy(o->metrics, metrics, sizeof o->metrics);
    o->fitness = fitness;
    if (o->plots && v->task->write_plots && v->task->write_plots(v->validator, o->run_dir) != 0) chart_warn("validation plots");
    printf("Results saved to %s\n", o->run_dir);
    return 0;
}

int val_run(ValOptions *o, InferenceModel *im) {
    Val v = {0};
    o->run_dir[0] = '\0';
    int rc = run(o, im, &v);
    release(&v);
    return rc;
}
