// The built-in synthetic datasets: coloured circles, triangles, squares, hexagons and stars on
// varied backgrounds, so that training runs with no download. They are generated as ordinary
// image and label files on first use, with the same pixels on every machine (Philox draws keyed
// on a fixed seed and the image index; integer pixel arithmetic; vertices on a 1/16 px grid).
//
//   name          task      layout under root                              images (train/val)
//   shapes8       detect    images/{train,val}/*.jpg|png, labels/...*.txt   4 / 4
//   shapes        detect    as shapes8                                       400 / 100
//   shapes8-seg   segment   as shapes8, polygon labels                       4 / 4
//   shapes-seg    segment   as shapes8, polygon labels                       400 / 100
//   shapes8-cls   classify  {train,val}/<class>/*.jpg|png                    10 / 5
//   shapes-cls    classify  {train,val}/<class>/*.jpg|png                    400 / 100
//
// Classes, in label order: 0 circle, 1 triangle, 2 square, 3 hexagon, 4 star. shapes8 holds the
// first four images of each split of shapes, and the segment datasets hold the same images as
// the detect ones. Detect boxes are the visible extent of each object (occluders and the frame
// removed); segment polygons are the whole shape clipped to the frame (occluded parts included,
// at most 40% of an object is ever hidden).
#ifndef YOLO_DATA_SHAPES_H
#define YOLO_DATA_SHAPES_H

#include <stdbool.h>

// True for the six names above, with or without ".yaml" (a bare name, not a path).
bool shapes_is_builtin(const char *data);

// Writes built-in dataset `data` under `root` (e.g. "datasets/shapes") unless `root` already
// exists, which counts as complete: the files are written into a sibling "<root>.tmp-<pid>" that
// is renamed to `root` only at the end, so an interrupted run never leaves a partial `root`.
// Temporary folders of processes that no longer run are removed. Processes may race to generate
// the same root (the first rename wins); two threads of one process may not. Returns 0 or -1 with
// a message.
int shapes_generate(const char *data, const char *root);

#endif
