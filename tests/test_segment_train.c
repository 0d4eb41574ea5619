// Segment training through the engine (shapes8-seg, imgsz 64): the run folder with Ultralytics'
// segment columns, exact resume at an epoch end and mid-epoch, and the refusals: a detect-only
// dataset, a detect model, a segment checkpoint given to detect.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/trainer.h"
#include "io/safetensors.h"
#include "scratch.h"
#include "test.h"

static TrainOptions tiny_segment(const char *dir, int workers) {
    TrainOptions o = {
        .task = TASK_SEGMENT, .optimizer = "auto", .epochs = 3, .patience = 100, .batch = 4, .imgsz = 64,
        .workers = workers, .close_mosaic = 1, .nbs = 64, .max_det = 300, .save_period = -1, .mask_ratio = 4,
        .save = true, .val = true, .deterministic = true, .seed = 0, .threads = 2, .fraction = 1.0f, .lr0 = 0.01f,
        .lrf = 0.01f, .momentum = 0.937f, .weight_decay = 5e-4f, .warmup_epochs = 3.0f, .warmup_momentum = 0.8f,
        .warmup_bias_lr = 0.1f, .box = 7.5f, .cls = 0.5f, .dfl = 1.5f, .conf = 0.001f, .iou = 0.7, .erasing = 0.4f,
        .aug = {.hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .translate = 0.1f, .scale = 0.5f, .fliplr = 0.5f, .mosaic = 1.0f},
        .args_yaml = "task: segment\nmode: train\n",
    };
    snprintf(o.model, sizeof o.model, "yolov8n-seg.yaml");
    snprintf(o.data, sizeof o.data, "shapes8-seg.yaml");
    snprintf(o.project, sizeof o.project, "%s/runs", dir);
    snprintf(o.datasets_dir, sizeof o.datasets_dir, "%s/datasets", dir);
    return o;
}

static bool first_line(const char *path, char *out, size_t cap, int *lines) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[4096];
    *lines = 0;
    while (fgets(line, sizeof line, f))
        if ((*lines)++ == 0) snprintf(out, cap, "%s", line);
    fclose(f);
    return true;
}

TEST(trainer_segment_two_epochs_leave_a_complete_run_folder) {
    char dir[256], path[512], header[4096];
    if (!scratch_make(dir, sizeof dir, "seg-train")) return;
    TrainOptions o = tiny_segment(dir, 1);
    o.epochs = 2;
    EXPECT_OK(train_run(&o));
    snprintf(path, sizeof path, "%s/runs/train/results.csv", dir);
    int lines = 0;
    EXPECT(first_line(path, header, sizeof header, &lines) && lines == 3);
    EXPECT(!strcmp(header, "epoch,time,train/box_loss,train/seg_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),"
                           "metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),metrics/precision(M),metrics/recall(M),"
                           "metrics/mAP50(M),metrics/mAP50-95(M),val/box_loss,val/seg_loss,val/cls_loss,val/dfl_loss,"
                           "lr/pg0,lr/pg1,lr/pg2\n"));
    static const char *files[] = {"args.yaml", "weights/last.ckpt", "weights/best.ckpt", "weights/last.prev.ckpt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/runs/train/%s", dir, files[i]);
        if (access(path, F_OK) != 0) test_fail(__FILE__, __LINE__, "missing %s", path);
    }
    snprintf(path, sizeof path, "%s/runs/train/weights/last.ckpt", dir);
    SafeTensors st;
    if (safetensors_load(path, &st) == 0) {
        EXPECT(!strcmp(safetensors_metadata(&st, "task"), "segment"));
        EXPECT(safetensors_find(&st, "model.22.proto.cv3.conv.weight") && safetensors_find(&st, "ema.model.22.cv4.2.2.bias"));
        EXPECT(safetensors_find(&st, "optim.exp_avg.model.22.proto.upsample.weight"));
        safetensors_free(&st);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    scratch_remove(dir);
}

// ---- exact resume (as tests/test_resume.c checks detect) ----

// Every tensor of a with the same name, shape and bytes in b, and no other tensor in b.
static void expect_same_tensors(const char *path_a, const char *path_b) {
    SafeTensors a, b;
    if (safetensors_load(path_a, &a) != 0 || safetensors_load(path_b, &b) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    EXPECT(a.n_tensors == b.n_tensors);
    int differ = 0;
    for (int i = 0; i < a.n_tensors; i++) {
        const StTensor *ta = &a.tensors[i], *tb = safetensors_find(&b, ta->name);
        if ((!tb || tb->nbytes != ta->nbytes || memcmp(ta->data, tb->data, ta->nbytes) != 0) && differ++ < 5)
            test_fail(__FILE__, __LINE__, "tensor %s differs after resume", ta->name);
    }
    EXPECT(differ == 0);
    safetensors_free(&a);
    safetensors_free(&b);
}

// results.csv with the time column (the second) cut out of every line (NULL if unreadable).
static char *results_without_time(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *out = calloc(1, 1 << 16), line[4096];
    size_t used = 0;
    while (out && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (c2) used += (size_t)snprintf(out + used, (1 << 16) - used, "%.*s%s", (int)(c1 - line), line, c2);
    }
    fclose(f);
    return out;
}

// Trains `epochs` in one go (workers=0) and as a run interrupted (workers=2) after `stop` epochs
// or, mid-epoch, after `stop_batches` micro-batches (as SIGINT stops it), then resumed; the two
// last.ckpt files bit for bit, and results.csv but the time column.
static void expect_resume_exact(int batch, int epochs, int stop, int stop_batches) {
    char dir_a[256], dir_b[256], path_a[512], path_b[512];
    if (!scratch_make(dir_a, sizeof dir_a, "seg-resume-a")) return;
    if (!scratch_make(dir_b, sizeof dir_b, "seg-resume-b")) {
        scratch_remove(dir_a);
        return;
    }
    TrainOptions a = tiny_segment(dir_a, 0), b = tiny_segment(dir_b, 2);
    a.batch = b.batch = batch;
    a.epochs = b.epochs = epochs;
    EXPECT_OK(train_run(&a));
    b.stop_after_epoch = stop;
    b.interrupt_after_batches = stop_batches;
    EXPECT(train_run(&b) == 130);
    b.stop_after_epoch = 0;
    b.interrupt_after_batches = 0;
    snprintf(b.resume, sizeof b.resume, "%s/runs/train/weights/last.ckpt", dir_b);
    EXPECT_OK(train_run(&b));

    snprintf(path_a, sizeof path_a, "%s/runs/train/weights/last.ckpt", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/weights/last.ckpt", dir_b);
    expect_same_tensors(path_a, path_b);
    snprintf(path_a, sizeof path_a, "%s/runs/train/results.csv", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/results.csv", dir_b);
    char *ra = results_without_time(path_a), *rb = results_without_time(path_b);
    EXPECT(ra && rb);
    if (ra && rb && strcmp(ra, rb) != 0) test_fail(__FILE__, __LINE__, "results.csv differs:\n%s\nvs\n%s", ra, rb);
    free(ra);
    free(rb);
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}

// batch 4 on 4 images, stopped after epoch 1 of 3 (close_mosaic switches mosaic off for epoch 3).
TEST(resume_segment_after_an_epoch_gives_the_bits_of_an_uninterrupted_run) { expect_resume_exact(4, 3, 1, 0); }

// batch 2: stopped as SIGINT stops it, inside epoch 2 after its first micro-batch, which took no
// optimizer step (warmup's accumulation), so the save holds partial gradients.
TEST(resume_segment_mid_epoch_gives_the_bits_of_an_uninterrupted_run) { expect_resume_exact(2, 3, 0, 3); }

// A run folder that must not exist after a refused start.
static bool runs_exist(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/runs", dir);
    return access(path, F_OK) == 0;
}

static int occurrences(const char *text, const char *word) {
    int n = 0;
    for (const char *at = strstr(text, word); at; at = strstr(at + 1, word)) n++;
    return n;
}

TEST(segment_training_refuses_what_it_cannot_train_on) {
    char dir[256], ckpt[512];
    if (!scratch_make(dir, sizeof dir, "seg-refuse")) return;
    // A detect dataset: boxes only, no masks to learn.
    TrainOptions o = tiny_segment(dir, 0);
    snprintf(o.data, sizeof o.data, "shapes8.yaml");
    EXPECT(train_run(&o) != 0);
    EXPECT(strstr(yolo_error(), "shapes8.yaml is not a segment dataset: its training labels carry no polygons"));
    EXPECT(strstr(yolo_error(), "e.g. data=shapes-seg.yaml") && strstr(yolo_error(), "yolo detect train data=shapes8.yaml"));
    yolo_error_clear();
    EXPECT(!runs_exist(dir));
    // A detect model.
    o = tiny_segment(dir, 0);
    snprintf(o.model, sizeof o.model, "yolov8n.yaml");
    EXPECT(train_run(&o) != 0);
    EXPECT(strstr(yolo_error(), "model=yolov8n.yaml is a detect model; `yolo segment train` needs a segment model such as yolov8n-seg.yaml"));
    EXPECT(occurrences(yolo_error(), "is a detect model") == 1); // said once, by the trainer's check
    yolo_error_clear();
    EXPECT(!runs_exist(dir));

    // A segment checkpoint resumed as detect, or fine-tuned from by detect.
    o = tiny_segment(dir, 0);
    o.epochs = 2;
    o.stop_after_epoch = 1;
    EXPECT(train_run(&o) == 130);
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir);
    TrainOptions d = tiny_segment(dir, 0);
    d.task = TASK_DETECT;
    snprintf(d.resume, sizeof d.resume, "%s", ckpt);
    EXPECT(train_run(&d) != 0);
    EXPECT(strstr(yolo_error(), "is a segment checkpoint; resume it with `yolo segment train resume model="));
    yolo_error_clear();
    d.resume[0] = '\0';
    snprintf(d.weights, sizeof d.weights, "%s", ckpt);
    EXPECT(train_run(&d) != 0 && strstr(yolo_error(), "is a segment checkpoint; a detect run cannot start from it"));
    yolo_error_clear();
    scratch_remove(dir);
}
