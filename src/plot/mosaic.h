// Batch mosaics as Ultralytics' plot_images draws them: up to 16 images of a batch in a square
// grid (column by column), scaled so the grid fits 1920 pixels (and small images enlarged), each tile with its border, file
// name and objects: labels (train_batch*.jpg, val_batch*_labels.jpg) or predictions scoring above
// 0.25 with their score (val_batch*_pred.jpg). Written as JPEG.
#ifndef YOLO_PLOT_MOSAIC_H
#define YOLO_PLOT_MOSAIC_H

#include <stdint.h>

#include "data/loader.h"

enum { MOSAIC_MAX_TILES = 16, MOSAIC_MAX_SIZE = 1920, MOSAIC_MIN_TILE = 320 };

// The objects of one image of the batch, in the batch's input pixels.
typedef struct {
    int n;
    const float *boxes;   // [n][4]: x1, y1, x2, y2
    const int *classes;   // [n]
    const float *scores;  // [n] for predictions (shown, and only those above 0.25 drawn); NULL for labels
    // Segment, optional: per-object masks [n][mask_h][mask_w] covering the input, or one index map
    // [mask_h][mask_w] whose value k marks object k - 1 (Ultralytics' overlapping masks).
    int mask_w, mask_h;
    const uint8_t *masks;
    const uint8_t *index_map;
} MosaicTile;

// Writes the mosaic of batch b (images [size][3][h][w] in [0, 1]) with tiles[i] the objects of
// image i; names[nc] (NULL: class numbers) and paths[i] (NULL: no file names) label them.
int mosaic_write(const char *path, const Batch *b, const MosaicTile *tiles, char *const *names, int nc,
                 char *const *paths);

// The labels of a batch as tiles (boxes from its normalised targets, masks from its overlap
// maps when it has them at 1/mask_ratio of the input). tiles[b->size] point into `storage`, which
// the caller frees with free().
int mosaic_tiles_from_targets(const Batch *b, int mask_ratio, MosaicTile *tiles, void **storage);

#endif
