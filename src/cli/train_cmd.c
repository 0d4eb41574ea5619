#include "cli/train_cmd.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/device.h"
#include "core/status.h"
#include "engine/checkpoint.h"
#include "engine/trainer.h"

// device= as text ("cpu", "0", "0,1"), parsed and checked against this build and machine: the CPU
// passes; a GPU request fails with what is missing (CUDA support, a GPU) or, when the GPU is
// there, with the fact that the trainer does not run on it yet. Never a silent CPU fallback.
static int check_device(const Args *a) {
    char text[ARGS_TEXT_MAX] = "";
    if (a->device.kind == ARGS_INT) snprintf(text, sizeof text, "%lld", a->device.i);
    else if (a->device.kind == ARGS_STR) snprintf(text, sizeof text, "%s", a->device.s);
    else if (a->device.kind == ARGS_LIST)
        for (int i = 0; i < a->device.n; i++) {
            size_t used = strlen(text);
            snprintf(text + used, sizeof text - used, "%s%lld", i ? "," : "", a->device.list[i]);
        }
    DeviceRequest r;
    TRY(device_parse(text, &r));
    if (!r.cuda) return 0;
    CudaInfo info;
    cuda_info_query(&info);
    return device_check_training(&r, &info, text);
}

// Arguments whose features are not built yet: refusing them beats training without them.
static int refuse_unsupported(const Args *a) {
    TRY(check_device(a));
    if (a->rect) return yolo_fail("rect=True (rectangular training batches) is not supported yet; remove it");
    if (a->single_cls) return yolo_fail("single_cls=True is not supported yet; remove it");
    if (a->multi_scale) return yolo_fail("multi_scale=True is not supported yet; remove it");
    if (a->freeze.kind != ARGS_NONE) return yolo_fail("freeze= is not supported yet; remove it");
    if (a->mixup > 0) return yolo_fail("mixup=%g: mixup is not supported yet; set mixup=0", a->mixup);
    if (!strcmp(a->task, "segment") && !a->overlap_mask)
        return yolo_fail("overlap_mask=False (one mask per object) is not supported yet; remove it (segment uses one "
                         "overlap map per image)");
    if (!strcmp(a->task, "classify") && a->auto_augment.kind == ARGS_STR && strcmp(a->auto_augment.s, "randaugment") != 0)
        return yolo_fail("auto_augment=%s is not supported yet; use auto_augment=randaugment or auto_augment=None",
                         a->auto_augment.s);
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
        .erasing = (float)a->erasing, .randaugment = a->auto_augment.kind == ARGS_STR,
        // Validation during training keeps every candidate above 0.001, as Ultralytics' validator.
        .conf = a->conf.kind == ARGS_FLOAT ? (float)a->conf.f : 0.001f,
        .aug = {.imgsz = a->imgsz, .hsv_h = (float)a->hsv_h, .hsv_s = (float)a->hsv_s, .hsv_v = (float)a->hsv_v,
                .degrees = (float)a->degrees, .translate = (float)a->translate, .scale = (float)a->scale,
                .shear = (float)a->shear, .perspective = (float)a->perspective, .flipud = (float)a->flipud,
                .fliplr = (float)a->fliplr, .mosaic = (float)a->mosaic},
    };
    snprintf(o->model, sizeof o->model, "%s", a->model);
    // The weights a new run starts from: pretrained=PATH (Ultralytics' meaning: the model's
    // architecture, with every matching tensor from PATH), else model=PATH.ckpt itself.
    size_t n = strlen(a->model);
    bool model_ckpt = n >= 5 && !strcmp(a->model + n - 5, ".ckpt");
    if (a->pretrained.kind == ARGS_STR) {
        if (model_ckpt && strcmp(a->pretrained.s, a->model) != 0)
            return yolo_fail("model=%s and pretrained=%s: a checkpoint as the model is also the weights; give one of them",
                             a->model, a->pretrained.s);
        snprintf(o->weights, sizeof o->weights, "%s", a->pretrained.s);
    } else if (model_ckpt) {
        snprintf(o->weights, sizeof o->weights, "%s", a->model);
    }
    snprintf(o->data, sizeof o->data, "%s", a->data);
    snprintf(o->project, sizeof o->project, "%s", a->project);
    snprintf(o->name, sizeof o->name, "%s", a->name);
    // args_parse accepts only SGD, Adam, AdamW and auto, which fit.
    if (snprintf(o->optimizer, sizeof o->optimizer, "%s", a->optimizer) >= (int)sizeof o->optimizer)
        return yolo_fail("optimizer=%s is not an optimizer; use SGD, Adam, AdamW or auto", a->optimizer);
    return args_to_yaml(a, &o->args_yaml);
}

static bool resuming(const Args *a) { return a->resume.kind == ARGS_STR || (a->resume.kind == ARGS_BOOL && a->resume.b); }

// The keys a resumed run may change (the contract's list; the trainer checks that a changed data=
// is the same dataset moved), and the keys that only say which checkpoint to resume.
static const char *const MAY_CHANGE[] = {"epochs", "batch", "data", "device", "workers", "save_period", "save_minutes",
                                         "patience", "val", "plots", "cache", NULL};
// Changes the trainer itself reports, once it knows what they do (the new accumulation and
// batches per epoch; whether the dataset really moved).
static const char *const TRAINER_NOTICES[] = {"batch", "data", NULL};
static const char *const SELECTS[] = {"task", "mode", "model", "resume", NULL};

static bool listed(const char *key, const char *const *keys) {
    for (; *keys; keys++)
        if (!strcmp(key, *keys)) return true;
    return false;
}

// Bare `resume`: the newest last.ckpt of a run folder under runs/, as Ultralytics' get_latest_run.
static int newest_checkpoint(char *out, size_t cap) {
    glob_t g;
    int found = glob("runs/*/*/weights/last.ckpt", 0, NULL, &g);
    double newest = -1.0;
    for (size_t i = 0; found == 0 && i < g.gl_pathc; i++) {
        struct stat st;
        double t = stat(g.gl_pathv[i], &st) == 0 ? (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec : -1.0;
        if (t > newest) {
            newest = t;
            snprintf(out, cap, "%s", g.gl_pathv[i]);
        }
    }
    if (found == 0) globfree(&g);
    return newest >= 0.0 ? 0 : yolo_fail("resume: no runs/*/*/weights/last.ckpt here; name one with resume=PATH");
}

static int checkpoint_path(const Args *a, char *out, size_t cap) {
    if (a->resume.kind == ARGS_STR) snprintf(out, cap, "%s", a->resume.s);
    else if (a->model[0]) snprintf(out, cap, "%s", a->model);
    else TRY(newest_checkpoint(out, cap));
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    if (!strcmp(base, "best.ckpt"))
        return yolo_fail("%s holds the best epoch, not where training stopped; resume from %.*slast.ckpt", out,
                         (int)(base - out), out);
    return 0;
}

// The checkpoint's arguments with the keys the user may change on resume taken from a (each with
// a notice); any other key given with another value is an error.
static int merge_resume_args(const Args *a, const Checkpoint *ck, Args *r) {
    const cJSON *finished = cJSON_GetObjectItemCaseSensitive(ck->state, "finished");
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(ck->state, "epoch");
    const cJSON *train_args = cJSON_GetObjectItemCaseSensitive(ck->state, "train_args");
    if (!cJSON_IsNumber(epoch) || !cJSON_IsString(train_args))
        return yolo_fail("%s: the training state has no epoch or train_args", ck->path);
    int done = epoch->valueint;
    TRY(args_from_yaml(r, train_args->valuestring, ck->path));
    if (args_given(a, "epochs") && a->epochs <= done)
        return yolo_fail("epochs=%d: %s has done %d epochs already; give a larger epochs= to extend the run", a->epochs,
                         ck->path, done);
    if (cJSON_IsTrue(finished) && !args_given(a, "epochs"))
        return yolo_fail("%s is a finished run (%d epochs); to train it further, extend it: yolo %s train resume model=%s "
                         "epochs=%d", ck->path, done, ck->task, ck->path, done + 10);
    // Two passes: every refusal before any notice.
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < args_key_count(); i++) {
            const char *key = args_key_name(i);
            if (!args_given(a, key) || listed(key, SELECTS)) continue;
            char mine[ARGS_TEXT_MAX], stored[ARGS_TEXT_MAX];
            TRY(args_format(a, key, mine, sizeof mine));
            TRY(args_format(r, key, stored, sizeof stored));
            if (!strcmp(mine, stored)) continue;
            if (pass == 0 && !listed(key, MAY_CHANGE))
                return yolo_fail("%s=%s: a resumed run keeps its arguments (the checkpoint has %s=%s); only %s may change. "
                                 "To train from these weights with other arguments, start a new run: yolo %s train model=%s "
                                 "%s=%s",
                                 key, mine, key, stored, "epochs, batch, device, workers, save_period, save_minutes, patience, "
                                 "val, plots, cache, and data for a moved dataset", ck->task, ck->path, key, mine);
            if (pass == 1 && !listed(key, TRAINER_NOTICES))
                printf("Resuming with %s=%s (the checkpoint has %s=%s)\n", key, mine, key, stored);
        }
    }
    // The same list as MAY_CHANGE, field by field so that the compiler checks the types.
    if (args_given(a, "epochs")) r->epochs = a->epochs;
    if (args_given(a, "batch")) r->batch = a->batch;
    if (args_given(a, "data")) memcpy(r->data, a->data, sizeof r->data);
    if (args_given(a, "device")) r->device = a->device;
    if (args_given(a, "workers")) r->workers = a->workers;
    if (args_given(a, "save_period")) r->save_period = a->save_period;
    if (args_given(a, "save_minutes")) r->save_minutes = a->save_minutes;
    if (args_given(a, "patience")) r->patience = a->patience;
    if (args_given(a, "val")) r->val = a->val;
    if (args_given(a, "plots")) r->plots = a->plots;
    if (args_given(a, "cache")) r->cache = a->cache;
    // args.yaml records where the run was resumed from, as Ultralytics' does.
    r->resume = (ArgValue){.kind = ARGS_STR};
    if (snprintf(r->resume.s, sizeof r->resume.s, "%s", ck->path) >= (int)sizeof r->resume.s)
        return yolo_fail("%s: path too long", ck->path);
    return 0;
}

// Resume: the checkpoint (or its previous generation, when it is damaged) verified, its task and
// arguments checked against the command line, and the trainer told to continue it.
static int resume_options(const Args *a, TrainOptions *o) {
    o->args_yaml = NULL;
    char path[ARGS_TEXT_MAX];
    TRY(checkpoint_path(a, path, sizeof path));
    Checkpoint ck;
    TRY(checkpoint_open(path, &ck));
    Args *r = malloc(sizeof *r); // Args is large (list values): not on the stack
    int rc = r ? 0 : yolo_fail("out of memory");
    if (rc == 0 && strcmp(ck.task, a->task) != 0)
        rc = yolo_fail("%s is a %s checkpoint; resume it with `yolo %s train resume model=%s`", ck.path, ck.task, ck.task,
                       ck.path);
    if (rc == 0) rc = merge_resume_args(a, &ck, r);
    if (rc == 0) rc = refuse_unsupported(r);
    if (rc == 0) rc = options_from_args(r, o);
    if (rc == 0 && snprintf(o->resume, sizeof o->resume, "%s", ck.path) >= (int)sizeof o->resume)
        rc = yolo_fail("%s: path too long", ck.path);
    if (rc != 0 && o->args_yaml) {
        free(o->args_yaml);
        o->args_yaml = NULL;
    }
    free(r);
    checkpoint_close(&ck);
    return rc;
}

int train_command(const Args *a, char *run_dir, size_t cap) {
    if (run_dir && cap) run_dir[0] = '\0';
    TrainOptions o;
    if (resuming(a) ? resume_options(a, &o) != 0 : refuse_unsupported(a) != 0 || options_from_args(a, &o) != 0) return 2;
    o.run_dir_out = run_dir;
    o.run_dir_cap = run_dir ? cap : 0;
    int rc = train_run(&o);
    free(o.args_yaml);
    return rc < 0 ? 1 : rc; // 0, or 130/143 after an interrupt saved last.ckpt
}
