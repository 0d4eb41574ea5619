// Batches for training and validation. Batch k of epoch e is a pure function of
// (seed, e, k, dataset): the epoch's order is a Philox-keyed shuffle of the indices and every
// augmentation draw of image i comes from the stream (RNG_AUGMENT, e, i). Worker threads prepare
// batches ahead of the training step (bounded prefetch); how many there are changes only speed.
#ifndef YOLO_DATA_LOADER_H
#define YOLO_DATA_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "data/augment.h"
#include "data/dataset.h"

typedef enum { TASK_DETECT, TASK_SEGMENT, TASK_CLASSIFY } TaskKind;

typedef struct {
    TaskKind task;
    bool train;          // augment and shuffle; false: letterbox (rectangular batches) or crop
    int batch;
    int imgsz;
    uint64_t seed;
    int workers;         // 0: prepare batches on the calling thread
    float fraction;      // use the first fraction of the (train) images
    bool cache_ram;      // keep decoded, resized images in memory
    int close_mosaic;    // mosaic off for epochs >= epochs - close_mosaic
    int epochs;
    int mask_ratio;      // segment masks at imgsz / mask_ratio
    bool rect;           // validation: rectangular batches by aspect ratio (stride 32, pad 0.5)
    AugmentParams aug;
    float erasing;       // classify: random erasing probability
    float crop_scale_min; // classify: RandomResizedCrop scale (1 - scale, 1)
    bool randaugment;    // classify: RandAugment (auto_augment=randaugment), else ColorJitter from aug.hsv_*
} LoaderOptions;

typedef struct {
    int size;              // images in this batch (the last may be smaller)
    int h, w;              // every image's size in this batch
    float *images;         // [size][3][h][w], RGB in [0, 1]
    int n_targets;
    float *targets;        // [n_targets][6]: image in batch, class, cx, cy, w, h (normalised)
    uint8_t *masks;        // segment: [size][h / mask_ratio][w / mask_ratio] overlap maps
    int *class_index;      // classify: [size]
    int *dataset_index;    // [size]
    float *ratio_pad;      // [size][4]: validation letterbox mapping (rx, ry, pad_x, pad_y)
} Batch;

typedef struct Loader Loader;

Loader *loader_create(const DatasetSplit *split, const LoaderOptions *opt);
void loader_destroy(Loader *l);
int loader_batches_per_epoch(const Loader *l);
// Fills `out` with batch k of epoch e (owned by the loader, valid until the next call). Batches
// asked for in order are prepared ahead by the workers; any other (k, e) is computed directly,
// with the same bits.
int loader_get(Loader *l, int epoch, int k, Batch *out);

#endif
