#include "cli/train_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "engine/trainer.h"

// Arguments whose features are not built yet: refusing them beats training without them.
static int refuse_unsupported(const Args *a) {
    if (a->resume.kind == ARGS_STR || (a->resume.kind == ARGS_BOOL && a->resume.b))
        return yolo_fail("resume is not available in this build yet; start a new run without it");
    if (a->device.kind != ARGS_NONE && !(a->device.kind == ARGS_STR && !strcmp(a->device.s, "cpu")))
        return yolo_fail("device: this build trains on the CPU only; use device=cpu or leave device unset");
    if (a->rect) return yolo_fail("rect=True (rectangular training batches) is not supported yet; remove it");
    if (a->single_cls) return yolo_fail("single_cls=True is not supported yet; remove it");
    if (a->multi_scale) return yolo_fail("multi_scale=True is not supported yet; remove it");
    if (a->freeze.kind != ARGS_NONE) return yolo_fail("freeze= is not supported yet; remove it");
    if (a->mixup > 0) return yolo_fail("mixup=%g: mixup is not supported yet; set mixup=0", a->mixup);
    if (a->pretrained.kind == ARGS_STR) return yolo_fail("pretrained=%s: starting from weights is not supported yet", a->pretrained.s);
    return 0;
}

static TaskKind task_of(const char *name) {
    return !strcmp(name, "segment") ? TASK_SEGMENT : !strcmp(name, "classify") ? TASK_CLASSIFY : TASK_DETECT;
}

static int options_from_args(const Args *a, TrainOptions *o) {
    *o = (TrainOptions){
        .task = task_of(a->task), .epochs = a->epochs, .patience = a->patience, .batch = a->batch, .imgsz = a->imgsz,
        .workers = a->workers, .close_mosaic = a->close_mosaic, .nbs = a->nbs, .max_det = a->max_det,
        .save_period = a->save_period, .mask_ratio = a->mask_ratio, .save_minutes = a->save_minutes,
        .time_hours = a->time.kind == ARGS_NONE ? 0.0 : a->time.kind == ARGS_INT ? (double)a->time.i : a->time.f,
        .save = a->save, .exist_ok = a->exist_ok, .verbose = a->verbose, .cos_lr = a->cos_lr, .val = a->val,
        .plots = a->plots, .deterministic = a->deterministic, .seed = (uint64_t)a->seed,
        .cache_ram = (a->cache.kind == ARGS_BOOL && a->cache.b) || (a->cache.kind == ARGS_STR && !strcmp(a->cache.s, "ram")),
        .fraction = (float)a->fraction, .lr0 = (float)a->lr0, .lrf = (float)a->lrf, .momentum = (float)a->momentum,
        .weight_decay = (float)a->weight_decay, .warmup_epochs = (float)a->warmup_epochs,
        .warmup_momentum = (float)a->warmup_momentum, .warmup_bias_lr = (float)a->warmup_bias_lr, .box = (float)a->box,
        .cls = (float)a->cls, .dfl = (float)a->dfl, .iou = a->iou, .dropout = (float)a->dropout,
        .erasing = (float)a->erasing,
        // Validation during training keeps every candidate above 0.001, as Ultralytics' validator.
        .conf = a->conf.kind == ARGS_FLOAT ? (float)a->conf.f : 0.001f,
        .aug = {.imgsz = a->imgsz, .hsv_h = (float)a->hsv_h, .hsv_s = (float)a->hsv_s, .hsv_v = (float)a->hsv_v,
                .degrees = (float)a->degrees, .translate = (float)a->translate, .scale = (float)a->scale,
                .shear = (float)a->shear, .perspective = (float)a->perspective, .flipud = (float)a->flipud,
                .fliplr = (float)a->fliplr, .mosaic = (float)a->mosaic},
    };
    snprintf(o->model, sizeof o->model, "%s", a->model);
    snprintf(o->data, sizeof o->data, "%s", a->data);
    snprintf(o->project, sizeof o->project, "%s", a->project);
    snprintf(o->name, sizeof o->name, "%s", a->name);
    // args_parse accepts only SGD, Adam, AdamW and auto, which fit.
    if (snprintf(o->optimizer, sizeof o->optimizer, "%s", a->optimizer) >= (int)sizeof o->optimizer)
        return yolo_fail("optimizer=%s is not an optimizer; use SGD, Adam, AdamW or auto", a->optimizer);
    return args_to_yaml(a, &o->args_yaml);
}

int train_command(const Args *a) {
    TrainOptions o;
    if (refuse_unsupported(a) != 0 || options_from_args(a, &o) != 0) {
        fprintf(stderr, "yolo: %s\n", yolo_error());
        return 2;
    }
    int rc = train_run(&o);
    free(o.args_yaml);
    if (rc != 0) {
        fprintf(stderr, "yolo: %s\n", yolo_error());
        return 1;
    }
    return 0;
}
