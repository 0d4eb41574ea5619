// The modes after training, through the engine: the training plots (train_batch*.jpg, and
// val_batch*_labels/pred.jpg at the last validation) change no bit of the training; val of the
// checkpoint gives the metrics of the run's last validation and writes its folder; predict writes
// an annotated JPEG of each image's own size and a label file per image with objects.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/source.h"
#include "engine/inference_model.h"
#include "engine/predict_mode.h"
#include "engine/trainer.h"
#include "engine/val_mode.h"
#include "io/safetensors.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

// One epoch of resume_util.h's tiny detect run, drawing the training plots or not.
static TrainOptions tiny_detect(const char *dir, bool plots) {
    TrainOptions o = resume_tiny_detect(dir, 1);
    o.epochs = 1;
    o.plots = plots;
    return o;
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// A JPEG (by its signature) that decodes; its size through w, h.
static bool jpeg_size(const char *path, int *w, int *h) {
    FILE *f = fopen(path, "rb");
    unsigned char sig[3] = {0};
    bool jpeg = f && fread(sig, 1, 3, f) == 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF;
    if (f) fclose(f);
    Image img = {0};
    if (!jpeg || image_read(path, &img) != 0) {
        yolo_error_clear();
        return false;
    }
    *w = img.w;
    *h = img.h;
    image_free(&img);
    return true;
}

// The last row of results.csv, split at the commas (columns[i] point into row).
static int last_row(const char *path, char *row, size_t cap, char **columns, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(row, (int)cap, f)) {
    }
    fclose(f);
    int n = 0;
    for (char *p = row; n < max && p; n++) {
        columns[n] = p;
        p = strchr(p, ',');
        if (p) *p++ = '\0';
    }
    return n;
}

TEST(training_plots_change_no_bit_of_the_training) {
    char dir_a[256], dir_b[256], path_a[512], path_b[512];
    if (!scratch_make(dir_a, sizeof dir_a, "plots-off") || !scratch_make(dir_b, sizeof dir_b, "plots-on")) return;
    TrainOptions a = tiny_detect(dir_a, false), b = tiny_detect(dir_b, true);
    a.batch = b.batch = 1;
    a.epochs = b.epochs = 1;
    EXPECT_OK(train_run(&a));
    EXPECT_OK(train_run(&b));
    snprintf(path_a, sizeof path_a, "%s/runs/train/weights/last.ckpt", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/weights/last.ckpt", dir_b);
    SafeTensors sa = {0}, sb = {0};
    EXPECT_OK(safetensors_load(path_a, &sa));
    EXPECT_OK(safetensors_load(path_b, &sb));
    EXPECT(sa.n_tensors > 0 && sa.n_tensors == sb.n_tensors);
    int differ = 0;
    for (int i = 0; i < sa.n_tensors; i++) {
        const StTensor *ta = &sa.tensors[i], *tb = safetensors_find(&sb, ta->name);
        if (!tb || tb->nbytes != ta->nbytes || memcmp(ta->data, tb->data, ta->nbytes) != 0)
            if (differ++ < 3) test_fail(__FILE__, __LINE__, "%s differs with plots=True", ta->name);
    }
    safetensors_free(&sa);
    safetensors_free(&sb);
    // 4 images in batches of 1: train_batch0..2 are its first three; the last validation's first
    // batch (2 of the 4 validation images).
    const char *plots[] = {"train_batch0.jpg", "train_batch1.jpg", "train_batch2.jpg", "val_batch0_labels.jpg",
                           "val_batch0_pred.jpg"};
    for (size_t i = 0; i < sizeof plots / sizeof *plots; i++) {
        int w = 0, h = 0;
        snprintf(path_a, sizeof path_a, "%s/runs/train/%s", dir_a, plots[i]);
        snprintf(path_b, sizeof path_b, "%s/runs/train/%s", dir_b, plots[i]);
        EXPECT(!is_file(path_a));
        if (!jpeg_size(path_b, &w, &h)) test_fail(__FILE__, __LINE__, "%s is not a readable JPEG", path_b);
        // Tiles of 64-pixel (train) and 96-pixel (rectangular val) inputs enlarged to 320: one
        // tile for a training batch of 1, 2 x 2 for a validation batch of 2.
        else if (i < 3) EXPECT(w == 320 && h == 320);
        else EXPECT(w == 640 && h == 640);
    }
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}

TEST(val_and_predict_modes_on_a_trained_checkpoint) {
    char dir[256], path[4200], row[4096];
    if (!scratch_make(dir, sizeof dir, "modes")) return;
    TrainOptions t = tiny_detect(dir, false);
    EXPECT_OK(train_run(&t));
    snprintf(path, sizeof path, "%s/runs/train/weights/last.ckpt", dir);

    // val with the training's validation settings (batch 2 x 4, conf 0.001): the same metrics.
    InferenceModel im;
    EXPECT_FAILS_WITH(inference_model_open(path, "segment", "val", true, &im), "is a detect checkpoint, not a segment one");
    EXPECT_OK(inference_model_open(path, "detect", "val", true, &im));
    EXPECT(im.nc == 5 && im.names && !strcmp(im.names[0], "circle"));
    ValOptions v = {.task = TASK_DETECT, .split = SPLIT_TEST, .imgsz = 64, .batch = 8, .workers = 0, .max_det = 300,
                    .mask_ratio = 4, .threads = 2, .conf = 0.001f, .iou = 0.7, .plots = true};
    snprintf(v.data, sizeof v.data, "shapes8.yaml");
    snprintf(v.datasets_dir, sizeof v.datasets_dir, "%s/datasets", dir);
    snprintf(v.project, sizeof v.project, "%s/runs", dir);
    // shapes8 has no test split: refused before any folder is made.
    EXPECT_FAILS_WITH(val_run(&v, &im), "has no test split");
    snprintf(path, sizeof path, "%s/runs/val", dir);
    EXPECT(v.run_dir[0] == '\0' && !is_file(path));
    v.split = SPLIT_VAL;
    EXPECT_OK(val_run(&v, &im));
    inference_model_free(&im);
    EXPECT(!strcmp(v.run_dir + strlen(v.run_dir) - 8, "runs/val"));
    snprintf(path, sizeof path, "%s/metrics.json", v.run_dir);
    FILE *f = fopen(path, "r");
    char json[8192] = "";
    if (f) {
        json[fread(json, 1, sizeof json - 1, f)] = '\0';
        fclose(f);
    }
    EXPECT(strstr(json, "\"metrics/mAP50-95(B)\":") && strstr(json, "\"split\":\t\"val\""));
    snprintf(path, sizeof path, "%s/val_batch0_pred.jpg", v.run_dir);
    EXPECT(is_file(path));
    // metrics.json against results.csv: columns 5..8 are P, R, mAP50, mAP50-95.
    char *cols[32];
    snprintf(path, sizeof path, "%s/runs/train/results.csv", dir);
    EXPECT(last_row(path, row, sizeof row, cols, 32) >= 9);
    const char *keys[] = {"metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)"};
    for (int i = 0; i < 4; i++) {
        char key[64];
        snprintf(key, sizeof key, "\"%s\":", keys[i]);
        const char *at = strstr(json, key);
        if (at) EXPECT_NEAR(strtod(at + strlen(key), NULL), strtod(cols[5 + i], NULL), 1e-6);
    }

    // predict on the validation images: 2 objects each at conf 0, written at each image's size.
    snprintf(path, sizeof path, "%s/runs/train/weights/last.ckpt", dir);
    EXPECT_FAILS_WITH(inference_model_open("yolov8n.yaml", "detect", "predict", false, &im), "without trained weights");
    EXPECT_OK(inference_model_open(path, "detect", "predict", false, &im));
    SourceList src;
    snprintf(path, sizeof path, "%s/datasets/shapes8/images/val", dir);
    EXPECT_OK(source_expand(path, &src));
    EXPECT(src.n == 4);
    PredictRunOptions p = {.task = TASK_DETECT, .keep = {.conf = 0.0f, .iou = 0.7, .max_det = 2}, .imgsz = 64,
                           .threads = 2, .save = true, .save_txt = true, .save_conf = true, .show_labels = true,
                           .show_conf = true};
    snprintf(p.project, sizeof p.project, "%s/runs", dir);
    EXPECT_OK(predict_run(&p, &im, &src));
    for (int i = 0; i < src.n; i++) {
        Image original = {0};
        int w = 0, h = 0;
        EXPECT_OK(image_read(src.paths[i], &original));
        const char *base = strrchr(src.paths[i], '/') + 1;
        snprintf(path, sizeof path, "%s/%.*s.jpg", p.run_dir, (int)(strrchr(base, '.') - base), base);
        EXPECT(jpeg_size(path, &w, &h) && w == original.w && h == original.h);
        snprintf(path, sizeof path, "%s/labels/%.*s.txt", p.run_dir, (int)(strrchr(base, '.') - base), base);
        f = fopen(path, "r");
        int lines = 0, cls;
        float cx, cy, bw, bh, conf;
        while (f && fscanf(f, "%d %f %f %f %f %f", &cls, &cx, &cy, &bw, &bh, &conf) == 6) {
            lines++;
            EXPECT(cls >= 0 && cls < 5 && cx >= 0 && cx <= 1 && bw >= 0 && bw <= 1 && conf > 0 && conf <= 1);
        }
        if (f) fclose(f);
        EXPECT(lines == 2);
        image_free(&original);
    }
    source_list_free(&src);
    inference_model_free(&im);
    scratch_remove(dir);
}
