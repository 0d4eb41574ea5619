#include "engine/batch_plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "plot/mosaic.h"

// The file names of a batch's images (pointers into the split).
static char **batch_paths(const Batch *b, const DatasetSplit *split) {
    char **paths = calloc((size_t)b->size, sizeof *paths);
    for (int i = 0; paths && i < b->size; i++)
        paths[i] = split && b->dataset_index ? split->image_paths[b->dataset_index[i]] : NULL;
    return paths;
}

static int labels_mosaic(const char *path, const Batch *b, const DatasetSplit *split, char *const *names, int nc,
                         int mask_ratio) {
    MosaicTile *tiles = calloc((size_t)b->size, sizeof *tiles);
    char **paths = batch_paths(b, split);
    void *storage = NULL;
    int rc = tiles && paths ? 0 : yolo_fail("out of memory plotting %s", path);
    if (rc == 0) rc = mosaic_tiles_from_targets(b, mask_ratio, tiles, &storage);
    if (rc == 0) rc = mosaic_write(path, b, tiles, names, nc, paths);
    free(storage);
    free(paths);
    free(tiles);
    return rc;
}

int plot_train_batch(const char *dir, int k, const Batch *b, const DatasetSplit *split, char *const *names, int nc,
                     int mask_ratio) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train_batch%d.jpg", dir, k);
    return labels_mosaic(path, b, split, names, nc, mask_ratio);
}

// The predictions of every image of the batch, copied out of the predictor (it reuses its arrays).
typedef struct {
    float *boxes, *scores;
    int *classes;
    uint8_t *masks;
    int n, cap;
    size_t mask_bytes, mask_cap;
} Collected;

static int collect(Collected *c, const Prediction *p) {
    if (p->n == 0) return 0;
    if (c->n + p->n > c->cap) {
        int cap = 2 * (c->n + p->n) + 16;
        float *boxes = realloc(c->boxes, sizeof *boxes * 4 * (size_t)cap);
        if (boxes) c->boxes = boxes;
        float *scores = realloc(c->scores, sizeof *scores * (size_t)cap);
        if (scores) c->scores = scores;
        int *classes = realloc(c->classes, sizeof *classes * (size_t)cap);
        if (classes) c->classes = classes;
        if (!boxes || !scores || !classes) return yolo_fail("out of memory plotting predictions");
        c->cap = cap;
    }
    memcpy(c->boxes + 4 * c->n, p->boxes, sizeof *c->boxes * 4 * (size_t)p->n);
    memcpy(c->scores + c->n, p->scores, sizeof *c->scores * (size_t)p->n);
    memcpy(c->classes + c->n, p->classes, sizeof *c->classes * (size_t)p->n);
    c->n += p->n;
    if (p->masks) {
        size_t bytes = (size_t)p->n * (size_t)p->mask_w * (size_t)p->mask_h;
        if (c->mask_bytes + bytes > c->mask_cap) {
            size_t cap = 2 * (c->mask_bytes + bytes);
            uint8_t *grown = realloc(c->masks, cap);
            if (!grown) return yolo_fail("out of memory plotting predicted masks");
            c->masks = grown;
            c->mask_cap = cap;
        }
        memcpy(c->masks + c->mask_bytes, p->masks, bytes);
        c->mask_bytes += bytes;
    }
    return 0;
}

static int predictions_mosaic(ValPlots *v, const char *path, const Batch *b, Graph *g, const Model *m) {
    if (!v->predictor) {
        PredictOptions po = {.conf = 0.25f, .iou = 0.7, .max_det = 300};
        v->predictor = v->task->predictor_create(m, &po);
        if (!v->predictor) return -1;
    }
    MosaicTile *tiles = calloc((size_t)b->size, sizeof *tiles);
    int *first = calloc((size_t)b->size, sizeof *first);
    size_t *mask_first = calloc((size_t)b->size, sizeof *mask_first);
    char **paths = batch_paths(b, v->split);
    Collected c = {0};
    int rc = tiles && first && mask_first && paths ? 0 : yolo_fail("out of memory plotting %s", path);
    for (int i = 0; rc == 0 && i < b->size && i < MOSAIC_MAX_TILES; i++) {
        Prediction p;
        first[i] = c.n;
        mask_first[i] = c.mask_bytes;
        rc = v->task->predict(v->predictor, g, m, i, &p);
        if (rc == 0) rc = collect(&c, &p);
        if (rc == 0) tiles[i] = (MosaicTile){.n = p.n, .mask_w = p.masks ? p.mask_w : 0, .mask_h = p.masks ? p.mask_h : 0};
    }
    // Pointers last: the arrays may have moved while growing.
    for (int i = 0; rc == 0 && i < b->size && i < MOSAIC_MAX_TILES; i++) {
        if (tiles[i].n == 0) continue; // no arrays at all when nothing was found
        tiles[i].boxes = c.boxes + 4 * first[i];
        tiles[i].scores = c.scores + first[i];
        tiles[i].classes = c.classes + first[i];
        if (tiles[i].mask_w) tiles[i].masks = c.masks + mask_first[i];
    }
    if (rc == 0) rc = mosaic_write(path, b, tiles, v->names, v->nc, paths);
    free(c.boxes);
    free(c.scores);
    free(c.classes);
    free(c.masks);
    free(paths);
    free(mask_first);
    free(first);
    free(tiles);
    return rc;
}

int plot_val_batch(void *val_plots, int k, const Batch *b, Graph *g, const Model *m) {
    ValPlots *v = val_plots;
    if (k >= BATCH_PLOTS) return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/val_batch%d_labels.jpg", v->dir, k);
    TRY(labels_mosaic(path, b, v->split, v->names, v->nc, v->mask_ratio));
    if (!v->task->predict) return 0; // a task without predictions yet: labels only
    snprintf(path, sizeof path, "%s/val_batch%d_pred.jpg", v->dir, k);
    return predictions_mosaic(v, path, b, g, m);
}

void val_plots_free(ValPlots *p) {
    if (p->predictor) p->task->predictor_destroy(p->predictor);
    p->predictor = NULL;
}
