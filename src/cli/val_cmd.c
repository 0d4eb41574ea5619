#include "cli/val_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mode_args.h"
#include "core/status.h"
#include "engine/val_mode.h"

// The keys val reads.
static const char *const VAL_KEYS[] = {"task", "mode", "model", "data", "split", "imgsz", "batch", "conf", "iou",
                                       "max_det", "workers", "device", "plots", "verbose", "project", "name",
                                       "exist_ok", "seed", NULL};

static int copy_text(char *dst, size_t cap, const char *src, const char *key) {
    if ((size_t)snprintf(dst, cap, "%s", src) >= cap) return yolo_fail("%s=%.60s...: too long", key, src);
    return 0;
}

// Typed options from the arguments; data= and imgsz= fall back to the checkpoint's run.
static int options(const Args *a, const InferenceModel *im, ValOptions *o) {
    *o = (ValOptions){
        .task = mode_args_task(a), .split = !strcmp(a->split, "test") ? SPLIT_TEST : !strcmp(a->split, "train") ? SPLIT_TRAIN : SPLIT_VAL,
        .imgsz = a->imgsz, .batch = a->batch, .workers = a->workers, .max_det = a->max_det, .mask_ratio = a->mask_ratio,
        // Ultralytics' validator keeps every candidate above 0.001 unless conf= is given.
        .conf = a->conf.kind == ARGS_FLOAT ? (float)a->conf.f : 0.001f, .iou = a->iou, .plots = a->plots,
        .verbose = a->verbose, .exist_ok = a->exist_ok, .seed = (uint64_t)a->seed,
    };
    TRY(copy_text(o->project, sizeof o->project, a->project, "project"));
    TRY(copy_text(o->name, sizeof o->name, a->name, "name"));
    const char *data = a->data;
    Args *trained = NULL;
    if (im->from_checkpoint && (!args_given(a, "data") || !args_given(a, "imgsz"))) {
        trained = mode_args_from_training(im->train_args, im->ck.path);
        if (!trained) return -1;
        if (!args_given(a, "imgsz")) o->imgsz = trained->imgsz;
        if (!args_given(a, "data")) data = trained->data;
    }
    int rc = data[0] ? copy_text(o->data, sizeof o->data, data, "data")
                     : yolo_fail("data= is missing and %s does not record a dataset; give data=", im->path);
    if (rc == 0)
        printf("Validating %s on data=%s%s, split=%s, imgsz=%d%s\n", im->path, o->data,
               args_given(a, "data") ? "" : " (the dataset it was trained on)", a->split, o->imgsz,
               args_given(a, "imgsz") || !im->from_checkpoint ? "" : " (as trained)");
    free(trained);
    return rc;
}

int val_command(const Args *a, ValOptions *done) {
    if (mode_args_check_keys(a, "val", VAL_KEYS) != 0 || mode_args_check_device(a) != 0) return 2;
    if (!args_given(a, "model")) {
        yolo_fail("val needs the model to validate: model=runs/%s/train/weights/best.ckpt (or a model YAML for random "
                  "weights)", a->task);
        return 2;
    }
    InferenceModel im;
    ValOptions o = {0};
    int rc = inference_model_open(a->model, a->task, "val", true, &im);
    if (rc == 0) {
        if (!im.from_checkpoint) printf("WARNING: %s has no trained weights: validating random ones\n", a->model);
        rc = options(a, &im, &o);
        if (rc == 0) rc = val_run(&o, &im);
        inference_model_free(&im);
    }
    if (done) *done = o;
    return rc != 0 ? 1 : 0;
}
