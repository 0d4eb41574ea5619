// The loader's contract: batch k of epoch e is a pure function of (seed, e, k, dataset), whatever
// the number of workers and whether earlier batches were asked for; epochs shuffle; validation
// batches are rectangular and map back to the original images; masks and class indices arrive.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "scratch.h"
#include "test.h"

typedef struct {
    char dir[256];
    DatasetConfig cfg;
    DatasetSplit split;
} Fixture;

// Generates a built-in dataset into a scratch datasets folder and scans one split.
static bool open_dataset(Fixture *f, const char *name, bool classify, SplitKind split) {
    memset(f, 0, sizeof *f);
    if (!scratch_make(f->dir, sizeof f->dir, "loader")) return false;
    int rc = dataset_config_load(name, f->dir, classify, &f->cfg);
    if (rc == 0) rc = dataset_scan(&f->cfg, split, &f->split);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", name, yolo_error());
        yolo_error_clear();
    }
    return rc == 0;
}

static void close_dataset(Fixture *f) {
    dataset_split_free(&f->split);
    dataset_config_free(&f->cfg);
    scratch_remove(f->dir);
}

static LoaderOptions train_options(TaskKind task, int workers) {
    return (LoaderOptions){
        .task = task, .train = true, .batch = 3, .imgsz = 64, .seed = 7, .workers = workers, .fraction = 1.0f,
        .close_mosaic = 1, .epochs = 3, .mask_ratio = 4, .erasing = 0.4f, .crop_scale_min = 0.5f,
        .aug = {.imgsz = 64, .hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .translate = 0.1f, .scale = 0.5f,
                .fliplr = 0.5f, .mosaic = 1.0f},
    };
}

// A copy of everything a batch carries, to compare batches from different loaders.
typedef struct {
    int size, w, h, n_targets;
    float *images, *targets;
    int *dataset_index, *class_index;
    unsigned char *masks;
    size_t mask_bytes;
} Snapshot;

static Snapshot snap(const Batch *b, int mask_ratio) {
    Snapshot s = {.size = b->size, .w = b->w, .h = b->h, .n_targets = b->n_targets};
    size_t px = (size_t)b->size * 3 * (size_t)b->w * (size_t)b->h;
    s.images = malloc(px * sizeof(float));
    memcpy(s.images, b->images, px * sizeof(float));
    s.targets = malloc((size_t)(b->n_targets + 1) * 6 * sizeof(float));
    memcpy(s.targets, b->targets, (size_t)b->n_targets * 6 * sizeof(float));
    s.dataset_index = malloc(sizeof(int) * (size_t)b->size);
    memcpy(s.dataset_index, b->dataset_index, sizeof(int) * (size_t)b->size);
    s.class_index = malloc(sizeof(int) * (size_t)b->size);
    memcpy(s.class_index, b->class_index, sizeof(int) * (size_t)b->size);
    if (b->masks) {
        s.mask_bytes = (size_t)b->size * (size_t)(b->w / mask_ratio) * (size_t)(b->h / mask_ratio);
        s.masks = malloc(s.mask_bytes);
        memcpy(s.masks, b->masks, s.mask_bytes);
    }
    return s;
}

static bool same(const Snapshot *a, const Snapshot *b) {
    return a->size == b->size && a->w == b->w && a->h == b->h && a->n_targets == b->n_targets &&
           !memcmp(a->images, b->images, (size_t)a->size * 3 * (size_t)a->w * (size_t)a->h * sizeof(float)) &&
           !memcmp(a->targets, b->targets, (size_t)a->n_targets * 6 * sizeof(float)) &&
           !memcmp(a->dataset_index, b->dataset_index, sizeof(int) * (size_t)a->size) &&
           !memcmp(a->class_index, b->class_index, sizeof(int) * (size_t)a->size) && a->mask_bytes == b->mask_bytes &&
           (!a->masks || !memcmp(a->masks, b->masks, a->mask_bytes));
}

static void drop(Snapshot *s) {
    free(s->images);
    free(s->targets);
    free(s->dataset_index);
    free(s->class_index);
    free(s->masks);
}

enum { EPOCHS = 2, PER_EPOCH = 2 }; // 4 training images of shapes8, batch 3: batches of 3 and 1

// Every batch of the first epochs, in order, with the given number of workers.
static bool run_all(const DatasetSplit *split, LoaderOptions opt, Snapshot out[EPOCHS][PER_EPOCH]) {
    Loader *l = loader_create(split, &opt);
    if (!l) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        return false;
    }
    bool ok = loader_batches_per_epoch(l) == PER_EPOCH;
    for (int e = 0; e < EPOCHS && ok; e++)
        for (int k = 0; k < PER_EPOCH && ok; k++) {
            Batch b;
            ok = loader_get(l, e, k, &b) == 0;
            if (ok) out[e][k] = snap(&b, opt.mask_ratio);
            else test_fail(__FILE__, __LINE__, "%s", yolo_error());
        }
    loader_destroy(l);
    return ok;
}

static void expect_workers_do_not_matter(const char *data, TaskKind task) {
    Fixture f;
    if (!open_dataset(&f, data, task == TASK_CLASSIFY, SPLIT_TRAIN)) return;
    Snapshot runs[3][EPOCHS][PER_EPOCH];
    bool ok = true;
    for (int w = 0; w < 3 && ok; w++) ok = run_all(&f.split, train_options(task, w), runs[w]);
    for (int w = 1; w < 3 && ok; w++)
        for (int e = 0; e < EPOCHS; e++)
            for (int k = 0; k < PER_EPOCH; k++)
                if (!same(&runs[0][e][k], &runs[w][e][k]))
                    test_fail(__FILE__, __LINE__, "%s: batch %d of epoch %d differs with %d workers", data, k, e, w);
    // Each epoch sees every image once, in an order of its own (seed 7 gives two different ones).
    if (ok) {
        int seen[2][4] = {{0}}, order[2][4];
        for (int e = 0; e < EPOCHS; e++)
            for (int k = 0, at = 0; k < PER_EPOCH; k++)
                for (int i = 0; i < runs[0][e][k].size; i++, at++) {
                    order[e][at] = runs[0][e][k].dataset_index[i];
                    seen[e][order[e][at]]++;
                }
        for (int e = 0; e < EPOCHS; e++)
            for (int i = 0; i < 4; i++) EXPECT(seen[e][i] == 1);
        EXPECT(memcmp(order[0], order[1], sizeof order[0]) != 0);
    }
    for (int w = 0; w < 3 && ok; w++)
        for (int e = 0; e < EPOCHS; e++)
            for (int k = 0; k < PER_EPOCH; k++) drop(&runs[w][e][k]);
    close_dataset(&f);
}

TEST(loader_detect_batches_do_not_depend_on_workers) { expect_workers_do_not_matter("shapes8.yaml", TASK_DETECT); }
TEST(loader_segment_batches_do_not_depend_on_workers) { expect_workers_do_not_matter("shapes8-seg.yaml", TASK_SEGMENT); }
TEST(loader_classify_batches_do_not_depend_on_workers) { expect_workers_do_not_matter("shapes8-cls", TASK_CLASSIFY); }

// Resume starts the loader at (epoch, k) directly: it must produce what the full run produced.
TEST(loader_starting_mid_run_gives_the_same_batch) {
    Fixture f;
    if (!open_dataset(&f, "shapes8-seg.yaml", false, SPLIT_TRAIN)) return;
    LoaderOptions opt = train_options(TASK_SEGMENT, 2);
    Snapshot full[EPOCHS][PER_EPOCH];
    if (run_all(&f.split, opt, full)) {
        Loader *l = loader_create(&f.split, &opt);
        Batch b;
        EXPECT_OK(loader_get(l, 1, 1, &b));
        Snapshot direct = snap(&b, opt.mask_ratio);
        EXPECT(same(&direct, &full[1][1]));
        drop(&direct);
        EXPECT_OK(loader_get(l, 0, 1, &b)); // and back again
        direct = snap(&b, opt.mask_ratio);
        EXPECT(same(&direct, &full[0][1]));
        drop(&direct);
        loader_destroy(l);
        for (int e = 0; e < EPOCHS; e++)
            for (int k = 0; k < PER_EPOCH; k++) drop(&full[e][k]);
    }
    close_dataset(&f);
}

// Segment masks: pixel value j (1-based) marks the j-th object of that image, in target order.
TEST(loader_segment_masks_match_targets) {
    Fixture f;
    if (!open_dataset(&f, "shapes8-seg.yaml", false, SPLIT_TRAIN)) return;
    LoaderOptions opt = train_options(TASK_SEGMENT, 0);
    Loader *l = loader_create(&f.split, &opt);
    Batch b;
    EXPECT_OK(loader_get(l, 2, 0, &b)); // epoch 2: close_mosaic, plain letterboxed images
    int mw = b.w / 4, mh = b.h / 4;
    for (int i = 0; i < b.size; i++) {
        int objects = 0, biggest = 0;
        for (int t = 0; t < b.n_targets; t++) objects += (int)b.targets[6 * t] == i;
        for (int p = 0; p < mw * mh; p++) biggest = b.masks[(size_t)i * mw * mh + p] > biggest ? b.masks[(size_t)i * mw * mh + p] : biggest;
        EXPECT(biggest <= objects);
        EXPECT(objects == 0 || biggest >= 1);
    }
    for (int t = 0; t < b.n_targets; t++) {
        const float *r = &b.targets[6 * t];
        EXPECT(r[1] >= 0 && r[1] < 5 && r[2] >= 0 && r[2] <= 1 && r[3] >= 0 && r[3] <= 1 && r[4] > 0 && r[5] > 0);
    }
    loader_destroy(l);
    close_dataset(&f);
}

// Validation: rectangular shapes (multiples of 32, Ultralytics' 0.5-stride pad), and ratio_pad maps
// each letterboxed box back onto its label in the original image.
TEST(loader_val_batches_are_rectangular_and_map_back) {
    Fixture f;
    if (!open_dataset(&f, "shapes8.yaml", false, SPLIT_VAL)) return;
    LoaderOptions opt = train_options(TASK_DETECT, 1);
    opt.train = false;
    opt.rect = true;
    opt.batch = 2;
    Loader *l = loader_create(&f.split, &opt);
    for (int k = 0; k < loader_batches_per_epoch(l); k++) {
        Batch b;
        EXPECT_OK(loader_get(l, 0, k, &b));
        EXPECT(b.w % 32 == 0 && b.h % 32 == 0 && (b.w == 96 || b.h == 96));
        for (int t = 0; t < b.n_targets; t++) {
            const float *r = &b.targets[6 * t];
            int i = (int)r[0], index = b.dataset_index[i];
            const float *rp = &b.ratio_pad[4 * i];
            // Batch-normalised centre -> letterbox pixels -> original pixels -> label-normalised.
            float cx = (r[2] * (float)b.w - rp[2]) / rp[0] / (float)f.split.width[index];
            float cy = (r[3] * (float)b.h - rp[3]) / rp[1] / (float)f.split.height[index];
            const Labels *lab = &f.split.labels[index];
            float best = 1.0f;
            for (int j = 0; j < lab->n; j++)
                best = fminf(best, fabsf(lab->boxes[4 * j] - cx) + fabsf(lab->boxes[4 * j + 1] - cy));
            EXPECT(best < 0.02f);
        }
    }
    loader_destroy(l);
    close_dataset(&f);
}

TEST(loader_classify_indices_follow_folders) {
    Fixture f;
    if (!open_dataset(&f, "shapes8-cls", true, SPLIT_VAL)) return;
    LoaderOptions opt = train_options(TASK_CLASSIFY, 0);
    opt.train = false;
    opt.batch = 8;
    Loader *l = loader_create(&f.split, &opt);
    Batch b;
    EXPECT_OK(loader_get(l, 0, 0, &b));
    EXPECT(b.w == 64 && b.h == 64 && b.size == f.split.n);
    for (int i = 0; i < b.size; i++) EXPECT(b.class_index[i] == f.split.class_index[b.dataset_index[i]]);
    loader_destroy(l);
    close_dataset(&f);
}

TEST(loader_rejects_a_batch_outside_the_epoch) {
    Fixture f;
    if (!open_dataset(&f, "shapes8.yaml", false, SPLIT_TRAIN)) return;
    LoaderOptions opt = train_options(TASK_DETECT, 0);
    Loader *l = loader_create(&f.split, &opt);
    Batch b;
    EXPECT_FAILS_WITH(loader_get(l, 0, 5, &b), "batch 5 of epoch 0 does not exist (2 per epoch)");
    loader_destroy(l);
    close_dataset(&f);
}

// cache=ram keeps decoded images; it must change nothing but speed.
TEST(loader_ram_cache_gives_the_same_batches) {
    Fixture f;
    if (!open_dataset(&f, "shapes8.yaml", false, SPLIT_TRAIN)) return;
    Snapshot plain[EPOCHS][PER_EPOCH], cached[EPOCHS][PER_EPOCH];
    LoaderOptions opt = train_options(TASK_DETECT, 1);
    bool ok = run_all(&f.split, opt, plain);
    opt.cache_ram = true;
    ok = ok && run_all(&f.split, opt, cached);
    for (int e = 0; ok && e < EPOCHS; e++)
        for (int k = 0; k < PER_EPOCH; k++) {
            EXPECT(same(&plain[e][k], &cached[e][k]));
            drop(&plain[e][k]);
            drop(&cached[e][k]);
        }
    close_dataset(&f);
}

// fraction=0.5 trains on the first half of the images only.
TEST(loader_fraction_uses_the_first_images) {
    Fixture f;
    if (!open_dataset(&f, "shapes8.yaml", false, SPLIT_TRAIN)) return;
    LoaderOptions opt = train_options(TASK_DETECT, 0);
    opt.fraction = 0.5f;
    Loader *l = loader_create(&f.split, &opt);
    EXPECT(loader_batches_per_epoch(l) == 1);
    Batch b;
    EXPECT_OK(loader_get(l, 0, 0, &b));
    EXPECT(b.size == 2);
    for (int i = 0; i < b.size; i++) EXPECT(b.dataset_index[i] < 2);
    loader_destroy(l);
    close_dataset(&f);
}
