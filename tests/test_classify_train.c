// Classify training through the engine on shapes8-cls (10 training images, 5 validation images,
// 5 classes) at imgsz 32: the run folder it leaves, exact resume at an epoch end and mid-epoch,
// and checkpoints refused by the other task.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/trainer.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

// Ultralytics' defaults for classify (the detect run's options of resume_util.h but for imgsz,
// close_mosaic and the classify augmentation), with dropout on so that its masks take part in
// resume.
static TrainOptions tiny_classify(const char *dir, int workers) {
    TrainOptions o = resume_tiny_detect(dir, workers);
    o.task = TASK_CLASSIFY;
    o.epochs = 2;
    o.imgsz = 32;
    o.close_mosaic = 10;
    o.dropout = 0.2f;
    o.randaugment = true;
    o.args_yaml = "task: classify\nmode: train\n";
    snprintf(o.model, sizeof o.model, "yolov8n-cls.yaml");
    snprintf(o.data, sizeof o.data, "shapes8-cls");
    return o;
}

// The run folder of a 2-epoch run; the other task refusing its checkpoint, and classify a detect model.
TEST(trainer_classify_two_epochs_leave_a_complete_run_folder) {
    char dir[256], path[512], header[4096];
    if (!scratch_make(dir, sizeof dir, "train-cls")) return;
    TrainOptions o = tiny_classify(dir, 1);
    EXPECT_OK(train_run(&o));
    snprintf(path, sizeof path, "%s/runs/train/results.csv", dir);
    EXPECT(count_lines(path, header, sizeof header) == 3);
    EXPECT(!strcmp(header, "epoch,time,train/loss,metrics/accuracy_top1,metrics/accuracy_top5,val/loss,lr/pg0,lr/pg1,"
                           "lr/pg2\n"));
    // The last row: accuracies are fractions of the 5 validation images, top5 of 5 classes is 1,
    // and the losses are cross-entropies near log(5) this early.
    FILE *f = fopen(path, "r");
    char line[4096] = "";
    while (f && fgets(line, sizeof line, f)) continue;
    if (f) fclose(f);
    double epoch, time, loss, top1, top5, val_loss;
    EXPECT(sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf", &epoch, &time, &loss, &top1, &top5, &val_loss) == 6);
    EXPECT(epoch == 2 && top5 == 1.0 && top1 >= 0.0 && top1 <= 1.0 && (int)(top1 * 5 + 0.5) == top1 * 5);
    EXPECT(loss > 0.5 && loss < 5.0 && val_loss > 0.5 && val_loss < 5.0);
    snprintf(path, sizeof path, "%s/runs/train", dir);
    expect_run_files(path);
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir);
    SafeTensors st;
    if (safetensors_load(ckpt, &st) == 0) {
        EXPECT(!strcmp(safetensors_metadata(&st, "task"), "classify"));
        EXPECT(safetensors_find(&st, "model.9.linear.weight") && safetensors_find(&st, "ema.model.9.linear.weight"));
        EXPECT(safetensors_find(&st, "optim.exp_avg.model.9.linear.weight")); // auto picks AdamW on 10 images
        EXPECT(strstr(safetensors_metadata(&st, "state"), "\"finished\":true") != NULL);
        safetensors_free(&st);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }

    // A detect run can neither resume nor start from a classify checkpoint; nothing is written.
    TrainOptions d = resume_tiny_detect(dir, 0);
    snprintf(d.resume, sizeof d.resume, "%s", ckpt);
    EXPECT(train_run(&d) != 0);
    EXPECT(strstr(yolo_error(), "is a classify checkpoint; resume it with `yolo classify train resume model="));
    yolo_error_clear();
    d.resume[0] = '\0';
    snprintf(d.weights, sizeof d.weights, "%s", ckpt);
    EXPECT(train_run(&d) != 0);
    EXPECT(strstr(yolo_error(), "is a classify checkpoint; a detect run cannot start from it"));
    yolo_error_clear();
    // Nor can a classify run train a detect model.
    TrainOptions c = tiny_classify(dir, 0);
    snprintf(c.model, sizeof c.model, "yolov8n.yaml");
    EXPECT(train_run(&c) != 0);
    EXPECT(strstr(yolo_error(), "model=yolov8n.yaml is a detect model; `yolo classify train` needs a classify model"));
    yolo_error_clear();
    snprintf(path, sizeof path, "%s/runs/train2", dir);
    EXPECT(access(path, F_OK) != 0);
    scratch_remove(dir);
}

// 10 images in batches of 4: 3 micro-batches an epoch, the last of 2 images.
TEST(resume_classify_after_an_epoch_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(tiny_classify, 4, 3, 1, 0, 0);
}

// Stopped after iteration 4 (epoch 2's second micro-batch): warmup's accumulation has grown to 2
// there (round(1 + 4 * 15 / 100)), so iteration 4 takes no optimizer step and the save holds
// partial gradients, the epoch's running loss and the position inside the epoch.
TEST(resume_classify_mid_epoch_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(tiny_classify, 4, 3, 0, 5, 0);
}

// The classifier's dropout draws its masks from graph_set_rng's step: the same step gives the
// same logits, another step others (the trainer sets the step to the iteration).
TEST(classify_dropout_masks_follow_the_step) {
    Backend *b = backend_cpu_create(1);
    Graph *g = b ? graph_create(b) : NULL;
    ModelDef def = {0};
    Model m;
    if (!g || model_yaml_load("tests/fixtures/yolov8n-cls.yaml", NULL, &def) != 0 ||
        model_build(g, &def, &(ModelOptions){.batch = 2, .imgsz = 32, .dropout = 0.5f}, &m) != 0 || graph_plan(g, 0) != 0) {
        test_fail(__FILE__, __LINE__, "setup: %s", yolo_error());
        goto done;
    }
    model_init_weights(g, &m, 0);
    Value *in = &g->values[m.input];
    for (int64_t i = 0; i < shape_numel(in->shape); i++) in->data.data[i] = (float)(i % 17) / 17.0f;
    int64_t n = shape_numel(g->values[m.logits].shape);
    float first[16], again[16], other[16];
    EXPECT(n <= 16);
    if (n > 16) goto done;
    g->training = 1;
    float *out = g->values[m.logits].data.data;
    graph_set_rng(g, 0, 7);
    EXPECT_OK(graph_forward(g));
    memcpy(first, out, sizeof(float) * (size_t)n);
    graph_set_rng(g, 0, 8);
    EXPECT_OK(graph_forward(g));
    memcpy(other, out, sizeof(float) * (size_t)n);
    graph_set_rng(g, 0, 7);
    EXPECT_OK(graph_forward(g));
    memcpy(again, out, sizeof(float) * (size_t)n);
    EXPECT(memcmp(first, again, sizeof(float) * (size_t)n) == 0);
    EXPECT(memcmp(first, other, sizeof(float) * (size_t)n) != 0);
done:
    model_def_free(&def);
    graph_destroy(g);
    backend_destroy(b);
}
