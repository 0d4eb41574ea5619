#include "cli/predict_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mode_args.h"
#include "core/status.h"
#include "data/source.h"
#include "engine/predict_mode.h"

// The keys predict reads.
static const char *const PREDICT_KEYS[] = {"task", "mode", "model", "source", "imgsz", "conf", "iou", "max_det",
                                           "classes", "save", "save_txt", "save_conf", "show_labels", "show_conf",
                                           "line_width", "device", "verbose", "project", "name", "exist_ok", NULL};

static int copy_text(char *dst, size_t cap, const char *src, const char *key) {
    if ((size_t)snprintf(dst, cap, "%s", src) >= cap) return yolo_fail("%s=%.60s...: too long", key, src);
    return 0;
}

static int options(const Args *a, const InferenceModel *im, int *classes, PredictRunOptions *o) {
    *o = (PredictRunOptions){
        .task = mode_args_task(a), .imgsz = a->imgsz, .save = a->save, .save_txt = a->save_txt, .save_conf = a->save_conf,
        .show_labels = a->show_labels, .show_conf = a->show_conf,
        .line_width = a->line_width.kind == ARGS_INT ? (int)a->line_width.i : 0, .verbose = a->verbose,
        .exist_ok = a->exist_ok,
        // Ultralytics' predictor keeps objects scoring above 0.25 unless conf= is given.
        .keep = {.conf = a->conf.kind == ARGS_FLOAT ? (float)a->conf.f : 0.25f, .iou = a->iou, .max_det = a->max_det},
    };
    if (a->classes.kind == ARGS_INT) {
        classes[0] = (int)a->classes.i;
        o->keep.n_classes = 1;
    } else if (a->classes.kind == ARGS_LIST) {
        for (int i = 0; i < a->classes.n; i++) classes[i] = (int)a->classes.list[i];
        o->keep.n_classes = a->classes.n;
    }
    o->keep.classes = o->keep.n_classes ? classes : NULL;
    TRY(copy_text(o->project, sizeof o->project, a->project, "project"));
    TRY(copy_text(o->name, sizeof o->name, a->name, "name"));
    if (!args_given(a, "imgsz") && im->from_checkpoint) {
        Args *trained = mode_args_from_training(im->train_args, im->ck.path);
        if (!trained) return -1;
        o->imgsz = trained->imgsz;
        free(trained);
    }
    return 0;
}

int predict_command(const Args *a, PredictImageFn on_image, void *ctx) {
    if (mode_args_check_keys(a, "predict", PREDICT_KEYS) != 0 || mode_args_check_device(a) != 0) return 2;
    if (!args_given(a, "model")) {
        yolo_fail("predict needs a trained model: model=runs/%s/train/weights/best.ckpt", a->task);
        return 2;
    }
    if (!a->source[0]) {
        yolo_fail("predict needs source=: an image, a folder, a glob such as 'images/*.jpg' or a .txt list");
        return 2;
    }
    int *classes = malloc(sizeof *classes * ARGS_LIST_MAX); // the classes= filter, read during the run
    if (!classes) {
        yolo_fail("out of memory");
        return 1;
    }
    InferenceModel im;
    SourceList src = {0};
    PredictRunOptions o;
    int rc = inference_model_open(a->model, a->task, "predict", false, &im);
    if (rc == 0) {
        rc = options(a, &im, classes, &o);
        o.on_image = on_image;
        o.on_image_ctx = ctx;
        if (rc == 0) rc = source_expand(a->source, &src);
        if (rc == 0) rc = predict_run(&o, &im, &src);
        source_list_free(&src);
        inference_model_free(&im);
    }
    free(classes);
    return rc != 0 ? 1 : 0;
}
