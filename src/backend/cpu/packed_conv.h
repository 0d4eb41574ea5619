// Convolution as a packed GEMM without a column matrix: out[m x oh*ow] (+)= A * col(img), where A
// is the weight matrix packed once into 6-row panels and the columns of col(img) are gathered
// straight from the image into a 16-column panel of KC rows at a time, small enough to stay in
// the L1 cache while every weight panel runs over it (tile_kernel.h). im2col + BLAS writes the
// whole column matrix to memory, reads it back to pack it, and clears the output first; this
// reads the image once per panel and writes the output once per KC rows.
//
// Determinism: every output element is one FMA chain over the K window entries in order (ci, i,
// j), continued across the KC blocks, so the result does not depend on the thread count.
#ifndef YOLO_BACKEND_CPU_PACKED_CONV_H
#define YOLO_BACKEND_CPU_PACKED_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/cpu/im2col.h"

// Rows of the column panel per pass: a panel is PACKED_KC x 16 floats (16 KiB).
enum { PACKED_KC = 256 };

// Floats of per-thread scratch packed_conv needs for geometry g: the column panel and where each
// kernel tap reads.
int64_t packed_scratch_floats(const ColGeom *g);

// Floats of m rows of K entries packed into 6-row panels (the rows past m are zeros).
int64_t packed_weight_floats(int64_t m, int64_t k);

// w is m x k, row-major (a conv2d weight [cout, cin, kh, kw] with k = cin * kh * kw).
void packed_weights(const float *w, int64_t m, int64_t k, float *packed);

// The weights of the input gradient of a stride-1 conv2d, which is a conv2d of the output gradient
// with the kernel flipped and the channel axes swapped: row ci, entry (co, i, j) is
// w[co][ci][kh-1-i][kw-1-j]. w is [cout, cin, kh, kw].
void packed_weights_flipped(const float *w, int64_t cout, int64_t cin, int kh, int kw, float *packed);

// out (m x g->oh * g->ow, row-major) = (accumulate ? out : 0) + packed * col(img) for one image
// of g->c x g->h x g->w. scratch: packed_scratch_floats(g) floats, 64-byte aligned.
void packed_conv(const ColGeom *g, const float *packed, int64_t m, const float *img, float *out, bool accumulate,
                 float *scratch);

// Floats of per-thread scratch packed_weight_grad needs for m output channels.
int64_t packed_weight_grad_scratch_floats(int64_t m);

// dw (m x K, laid out as the conv2d weight) += dy (m x g->oh * g->ow) * col(img)^T for one image.
// scratch: packed_weight_grad_scratch_floats(m) floats, 64-byte aligned.
void packed_weight_grad(const ColGeom *g, const float *dy, int64_t m, const float *img, float *dw, float *scratch);

#endif
