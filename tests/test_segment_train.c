// Segment training through the engine (shapes8-seg, imgsz 64): the run folder with Ultralytics'
// segment columns, exact resume at an epoch end and mid-epoch, and the refusals: a detect-only
// dataset, a detect model, a segment checkpoint given to detect.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/trainer.h"
#include "io/safetensors.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

// The detect run's options (resume_util.h) with the segment model and dataset.
static TrainOptions tiny_segment(const char *dir, int workers) {
    TrainOptions o = resume_tiny_detect(dir, workers);
    o.task = TASK_SEGMENT;
    o.args_yaml = "task: segment\nmode: train\n";
    snprintf(o.model, sizeof o.model, "yolov8n-seg.yaml");
    snprintf(o.data, sizeof o.data, "shapes8-seg.yaml");
    return o;
}

TEST(trainer_segment_two_epochs_leave_a_complete_run_folder) {
    char dir[256], path[512], header[4096];
    if (!scratch_make(dir, sizeof dir, "seg-train")) return;
    TrainOptions o = tiny_segment(dir, 1);
    o.epochs = 2;
    EXPECT_OK(train_run(&o));
    snprintf(path, sizeof path, "%s/runs/train/results.csv", dir);
    EXPECT(count_lines(path, header, sizeof header) == 3);
    EXPECT(!strcmp(header, "epoch,time,train/box_loss,train/seg_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),"
                           "metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),metrics/precision(M),metrics/recall(M),"
                           "metrics/mAP50(M),metrics/mAP50-95(M),val/box_loss,val/seg_loss,val/cls_loss,val/dfl_loss,"
                           "lr/pg0,lr/pg1,lr/pg2\n"));
    snprintf(path, sizeof path, "%s/runs/train", dir);
    expect_run_files(path);
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

// batch 4 on 4 images, stopped after epoch 1 of 3 (close_mosaic switches mosaic off for epoch 3).
TEST(resume_segment_after_an_epoch_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(tiny_segment, 4, 3, 1, 0, 0);
}

// batch 2: stopped as SIGINT stops it, inside epoch 2 after its first micro-batch, which took no
// optimizer step (warmup's accumulation), so the save holds partial gradients.
TEST(resume_segment_mid_epoch_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(tiny_segment, 2, 3, 0, 3, 0);
}

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
