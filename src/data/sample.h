// One sample of a batch, made from the dataset: load (and cache) the image resized so its long
// side is imgsz, turn its labels into pixel instances, run the train or val pipeline, and write
// the result as CHW floats plus its targets. Pure function of (seed, epoch, index).
#ifndef YOLO_DATA_SAMPLE_H
#define YOLO_DATA_SAMPLE_H

#include <pthread.h>
#include <stdint.h>

#include "data/loader.h"

// Decoded, resized images kept in memory (cache=ram) or nothing (every load decodes).
typedef struct {
    bool enabled;
    pthread_mutex_t lock;
    Image *images; // [n]; rgb NULL until loaded
    int n;
} ImageCache;

typedef struct {
    const DatasetSplit *split;
    int n; // images in use: the first n of the split (fraction)
    const LoaderOptions *opt;
    ImageCache *cache;
} SampleSource;

// What a sample adds to its batch besides its pixels.
typedef struct {
    int n_targets, cap_targets;
    float *targets;      // [n_targets][5]: class, cx, cy, w, h normalised by the output size
    uint8_t *mask;       // segment: (h / mask_ratio) x (w / mask_ratio)
    int mask_cap;
    int class_index;     // classify
    float ratio_pad[4];  // val: rx, ry, pad_x, pad_y
} SampleOut;

int image_cache_init(ImageCache *c, int n, bool enabled);
void image_cache_free(ImageCache *c);

// Writes dataset image `index` as a w x h sample into dst ([3][h][w] floats in [0, 1]).
// Training samples use epoch and the augmentation pipeline; validation ones letterbox.
int sample_make(const SampleSource *src, int epoch, int index, int w, int h, float *dst, SampleOut *out);
void sample_out_free(SampleOut *o);

#endif
