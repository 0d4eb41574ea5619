// A whole (tiny) training run through the engine: shapes8, 2 epochs at imgsz 64, and the run
// folder it leaves: args.yaml, results.csv with Ultralytics' detect columns, checkpoints.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/trainer.h"
#include "io/safetensors.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

TEST(trainer_detect_two_epochs_leave_a_complete_run_folder) {
    char dir[256], path[512], header[4096];
    if (!scratch_make(dir, sizeof dir, "train")) return;
    TrainOptions o = resume_tiny_detect(dir, 1);
    o.epochs = 2;
    EXPECT_OK(train_run(&o));
    snprintf(path, sizeof path, "%s/runs/train/results.csv", dir);
    EXPECT(count_lines(path, header, sizeof header) == 3);
    EXPECT(!strcmp(header, "epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),"
                           "metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,"
                           "val/dfl_loss,lr/pg0,lr/pg1,lr/pg2\n"));
    snprintf(path, sizeof path, "%s/runs/train", dir);
    expect_run_files(path);
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
