// Memory reuse for forward-only graphs: tensors whose lifetimes do not overlap share bytes.
#ifndef YOLO_NN_REUSE_H
#define YOLO_NN_REUSE_H

#include <stddef.h>

// Tensor i needs bytes[i] from step birth[i] through step death[i] (inclusive). Assigns offsets
// (multiples of `align`) so that no two tensors alive at the same step overlap, first fit in
// birth order, and returns the total size needed. -1 on allocation failure of the bookkeeping.
int plan_reuse(int n, const size_t *bytes, const int *birth, const int *death, size_t align, size_t *offsets,
               size_t *total);

#endif
