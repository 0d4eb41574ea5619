#define _XOPEN_SOURCE 700 // nftw
#include "resume_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "io/safetensors.h"
#include "scratch.h"
#include "test.h"

TrainOptions resume_tiny_detect(const char *dir, int workers) {
    TrainOptions o = {
        .task = TASK_DETECT, .optimizer = "auto", .epochs = 3, .patience = 100, .batch = 4, .imgsz = 64,
        .workers = workers, .close_mosaic = 1, .nbs = 64, .max_det = 300, .save_period = -1, .mask_ratio = 4,
        .save = true, .val = true, .deterministic = true, .seed = 0, .threads = 2, .fraction = 1.0f, .lr0 = 0.01f,
        .lrf = 0.01f, .momentum = 0.937f, .weight_decay = 5e-4f, .warmup_epochs = 3.0f, .warmup_momentum = 0.8f,
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

void expect_same_tensors(const char *path_a, const char *path_b) {
    SafeTensors a, b;
    if (safetensors_load(path_a, &a) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    if (safetensors_load(path_b, &b) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        safetensors_free(&a);
        return;
    }
    EXPECT(a.n_tensors == b.n_tensors);
    int differ = 0;
    for (int i = 0; i < a.n_tensors; i++) {
        const StTensor *ta = &a.tensors[i], *tb = safetensors_find(&b, ta->name);
        if (!tb || tb->nbytes != ta->nbytes || memcmp(ta->data, tb->data, ta->nbytes) != 0) {
            if (differ++ < 5) test_fail(__FILE__, __LINE__, "tensor %s differs after resume", ta->name);
        }
    }
    EXPECT(differ == 0);
    safetensors_free(&a);
    safetensors_free(&b);
}

// results.csv with the time column (the second) cut out of every line.
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

void expect_same_results(const char *run_a, const char *run_b) {
    char path_a[4200], path_b[4200];
    snprintf(path_a, sizeof path_a, "%s/results.csv", run_a);
    snprintf(path_b, sizeof path_b, "%s/results.csv", run_b);
    char *ra = results_without_time(path_a), *rb = results_without_time(path_b);
    EXPECT(ra && rb);
    if (ra && rb && strcmp(ra, rb) != 0) test_fail(__FILE__, __LINE__, "results.csv differs:\n%s\nvs\n%s", ra, rb);
    free(ra);
    free(rb);
}

void expect_task_resume_exact(TinyRun make, int batch, int epochs, int stop, int stop_batches, double save_minutes) {
    char dir_a[256], dir_b[256], path_a[512], path_b[512];
    if (!scratch_make(dir_a, sizeof dir_a, "resume-a")) return;
    if (!scratch_make(dir_b, sizeof dir_b, "resume-b")) {
        scratch_remove(dir_a);
        return;
    }
    TrainOptions a = make(dir_a, 0);
    a.batch = batch;
    a.epochs = epochs;
    EXPECT_OK(train_run(&a));

    TrainOptions b = make(dir_b, 1);
    b.batch = batch;
    b.epochs = epochs;
    b.stop_after_epoch = stop;
    b.interrupt_after_batches = stop_batches;
    b.save_minutes = save_minutes;
    EXPECT(train_run(&b) == 130);
    b.stop_after_epoch = 0;
    b.interrupt_after_batches = 0;
    b.workers = 2;
    snprintf(b.resume, sizeof b.resume, "%s/runs/train/weights/last.ckpt", dir_b);
    EXPECT_OK(train_run(&b));

    snprintf(path_a, sizeof path_a, "%s/runs/train/weights/last.ckpt", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/weights/last.ckpt", dir_b);
    expect_same_tensors(path_a, path_b);
    snprintf(path_a, sizeof path_a, "%s/runs/train", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train", dir_b);
    expect_same_results(path_a, path_b);

    // A finished run has nothing left to do at the same epochs=.
    EXPECT(train_run(&b) != 0 && strstr(yolo_error(), "extend the run with a larger epochs="));
    yolo_error_clear();
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}

int count_lines(const char *path, char *first, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == 0 && first) snprintf(first, cap, "%s", line);
        n++;
    }
    fclose(f);
    return n;
}

void expect_run_files(const char *run) {
    static const char *files[] = {"args.yaml", "weights/last.ckpt", "weights/best.ckpt", "weights/last.prev.ckpt"};
    char path[4200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", run, files[i]);
        if (access(path, F_OK) != 0) test_fail(__FILE__, __LINE__, "missing %s", path);
    }
}

bool copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    bool ok = in && out;
    char buf[1 << 16];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = false;
    if (!ok) test_fail(__FILE__, __LINE__, "cannot copy %s to %s", from, to);
    return ok;
}

bool make_run_folder(const char *dir) {
    char path[4200];
    const char *parts[] = {"runs", "runs/train", "runs/train/weights"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, parts[i]);
        if (mkdir(path, 0755) != 0) {
            test_fail(__FILE__, __LINE__, "cannot create %s", path);
            return false;
        }
    }
    return true;
}

// nftw has no context argument: the walk in progress.
static struct {
    size_t root_len;
    uint64_t sum;
    int files;
} walk;

static int digest_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    if (flag != FTW_F) return 0;
    const char *rel = path + walk.root_len;
    XXH3_state_t *h = XXH3_createState();
    XXH3_64bits_reset_withSeed(h, XXH3_64bits(rel, strlen(rel)));
    FILE *f = fopen(path, "rb");
    char buf[1 << 16];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) XXH3_64bits_update(h, buf, n);
    if (f) fclose(f);
    // A sum, so the order in which the walk meets the files does not matter.
    walk.sum += XXH3_64bits_digest(h) + (f ? 0 : 1);
    walk.files++;
    XXH3_freeState(h);
    return 0;
}

uint64_t folder_digest(const char *dir, int *files) {
    walk.root_len = strlen(dir);
    walk.sum = 0;
    walk.files = 0;
    nftw(dir, digest_entry, 16, FTW_PHYS);
    *files = walk.files;
    return walk.sum;
}
