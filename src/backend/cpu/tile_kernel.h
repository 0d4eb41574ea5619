// The register tile of the packed convolution (packed_conv.c): a 6 x 16 block of C computed as
// C (+)= A * B over kc, with A a packed panel of 6 rows (a[k * 6 + r]) and B a packed panel of 16
// columns (b[k * 16 + j]). Twelve 8-wide accumulators stay in registers for the whole kc loop,
// which is what lets a convolution run near the FMA peak without a column matrix in memory.
//
// Each element of C is one chain of fused multiply-adds over k in order, starting from C's old
// value or from zero: a fixed order, the same on every call, whatever thread makes it.
#ifndef YOLO_BACKEND_CPU_TILE_KERNEL_H
#define YOLO_BACKEND_CPU_TILE_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

enum { TILE_MR = 6, TILE_NR = 16 };

// Whether this CPU runs the tile (AVX2 and FMA). Without it the convolutions take the plain
// im2col + BLAS path.
bool tile_kernel_available(void);

// Writes rows [0, m) and columns [0, n) of C (row stride ldc), m <= 6 and n <= 16; the packed
// panels must hold zeros (or any finite value) beyond them. load: add to C's values, else
// overwrite them.
void tile_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m, int n, bool load);

#endif
