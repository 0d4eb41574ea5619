// Loader throughput: training batches of the built-in shapes dataset (decode, mosaic, affine,
// HSV, flips, formatting) per second, for a given number of workers. The caller only takes the
// batches, so this is the rate at which the loader can feed a training step.
//
// usage: loader_bench [--data shapes.yaml] [--imgsz 640] [--batch 16] [--workers 2] [--batches 20]
//                     [--datasets DIR]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "data/loader.h"
#include "timing.h"

int main(int argc, char **argv) {
    const char *data = "shapes.yaml", *datasets = NULL;
    int imgsz = 640, batch = 16, workers = 2, batches = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--imgsz")) imgsz = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batches")) batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--datasets")) datasets = argv[i + 1];
        else {
            fprintf(stderr, "loader_bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    DatasetConfig cfg;
    DatasetSplit split;
    if (dataset_config_load(data, datasets, false, &cfg) != 0 || dataset_scan(&cfg, SPLIT_TRAIN, &split) != 0) {
        fprintf(stderr, "loader_bench: %s\n", yolo_error());
        return 1;
    }
    LoaderOptions opt = {
        .task = TASK_DETECT, .train = true, .batch = batch, .imgsz = imgsz, .seed = 0, .workers = workers,
        .fraction = 1.0f, .close_mosaic = 0, .epochs = 1000, .mask_ratio = 4,
        .aug = {.imgsz = imgsz, .hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .translate = 0.1f, .scale = 0.5f,
                .fliplr = 0.5f, .mosaic = 1.0f},
    };
    Loader *l = loader_create(&split, &opt);
    if (!l) {
        fprintf(stderr, "loader_bench: %s\n", yolo_error());
        return 1;
    }
    int per_epoch = loader_batches_per_epoch(l);
    Batch b;
    if (loader_get(l, 0, 0, &b) != 0) { // warm-up: page cache, first allocations
        fprintf(stderr, "loader_bench: %s\n", yolo_error());
        return 1;
    }
    double t0 = now_seconds();
    int images = 0;
    for (int i = 1; i <= batches; i++) {
        if (loader_get(l, i / per_epoch, i % per_epoch, &b) != 0) {
            fprintf(stderr, "loader_bench: %s\n", yolo_error());
            return 1;
        }
        images += b.size;
    }
    double dt = now_seconds() - t0;
    printf("loader: %s imgsz %d batch %d workers %d: %d batches, %.1f images/s (%.1f ms per batch)\n", data, imgsz,
           batch, workers, batches, images / dt, 1e3 * dt / batches);
    loader_destroy(l);
    dataset_split_free(&split);
    dataset_config_free(&cfg);
    return 0;
}
