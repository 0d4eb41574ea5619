// A whole (tiny) training run through the engine: shapes8, 2 epochs at imgsz 64, and the run
// folder it leaves: args.yaml, results.csv with Ultralytics' detect columns, checkpoints.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/trainer.h"
#include "io/safetensors.h"
#include "scratch.h"
#include "test.h"

static TrainOptions tiny_detect(const char *dir) {
    TrainOptions o = {
        .task = TASK_DETECT, .optimizer = "auto", .epochs = 2, .patience = 100, .batch = 4, .imgsz = 64, .workers = 1,
        .close_mosaic = 1, .nbs = 64, .max_det = 300, .save_period = -1, .mask_ratio = 4, .save = true, .val = true,
        .deterministic = true, .seed = 0, .threads = 2, .fraction = 1.0f, .lr0 = 0.01f, .lrf = 0.01f,
        .momentum = 0.937f, .weight_decay = 5e-4f, .warmup_epochs = 3.0f, .warmup_momentum = 0.8f,
        .warmup_bias_lr = 0.1f, .box = 7.5f, .cls = 0.5f, .dfl = 1.5f, .conf = 0.001f, .iou = 0.7, .erasing = 0.4f,
        .aug = {.hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .translate = 0.1f, .scale = 0.5f, .fliplr = 0.5f, .mosaic = 1.0f},
        .args_yaml = "task: detect\nmode: train\n",
    };
    snprintf(o.model, sizeof o.model, "yolov8n.yaml");
    snprintf(o.data, sizeof o.data, "shapes8.yaml");
    snprintf(o.project, sizeof o.project, "%s/runs", dir);
    snprintf(o.datasets_dir, sizeof o.datasets_dir, "%s/datasets", dir);
    return o;
}

static int count_lines(const char *path, char *first, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == 0) snprintf(first, cap, "%s", line);
        n++;
    }
    fclose(f);
    return n;
}

TEST(trainer_detect_two_epochs_leave_a_complete_run_folder) {
    char dir[256], path[512], header[4096];
    if (!scratch_make(dir, sizeof dir, "train")) return;
    TrainOptions o = tiny_detect(dir);
    EXPECT_OK(train_run(&o));
    snprintf(path, sizeof path, "%s/runs/train/results.csv", dir);
    EXPECT(count_lines(path, header, sizeof header) == 3);
    EXPECT(!strcmp(header, "epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),"
                           "metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,"
                           "val/dfl_loss,lr/pg0,lr/pg1,lr/pg2\n"));
    static const char *files[] = {"args.yaml", "weights/last.ckpt", "weights/best.ckpt", "weights/last.prev.ckpt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/runs/train/%s", dir, files[i]);
        if (access(path, F_OK) != 0) test_fail(__FILE__, __LINE__, "missing %s", path);
    }
    snprintf(path, sizeof path, "%s/runs/train/weights/last.ckpt", dir);
    SafeTensors st;
    if (safetensors_load(path, &st) == 0) {
        EXPECT(!strcmp(safetensors_metadata(&st, "format"), "yolo-ckpt"));
        EXPECT(!strcmp(safetensors_metadata(&st, "task"), "detect"));
        EXPECT(safetensors_find(&st, "model.22.dfl.conv.weight") && safetensors_find(&st, "ema.model.0.conv.weight"));
        EXPECT(safetensors_find(&st, "optim.exp_avg.model.0.conv.weight")); // auto picks AdamW on 4 images
        EXPECT(strstr(safetensors_metadata(&st, "state"), "\"finished\":true") != NULL);
        safetensors_free(&st);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    // A second run without exist_ok goes to train2.
    o.epochs = 1;
    EXPECT_OK(train_run(&o));
    snprintf(path, sizeof path, "%s/runs/train2/results.csv", dir);
    EXPECT(count_lines(path, header, sizeof header) == 2);
    scratch_remove(dir);
}
