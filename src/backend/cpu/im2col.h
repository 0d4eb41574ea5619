// What conv2d and conv_transpose2d share: the lowering of a convolution window to a GEMM operand
// (im2col, and its adjoint col2im), and the per-sample drivers that run their kernels on the
// thread pool with the workspace split into per-thread column buffers and weight-gradient
// partials.
//
// Determinism: forward and the input gradient are computed per sample by one thread. The weight
// and bias gradients sum over samples, so the samples are cut into fixed groups of
// CONV_SAMPLE_GROUP (whatever the thread count); each group sums into its own partial in the
// workspace, and the partials are then added in group order.
#ifndef YOLO_BACKEND_CPU_IM2COL_H
#define YOLO_BACKEND_CPU_IM2COL_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

// Samples per weight-gradient partial. Each sample still has its own GEMMs (accumulating into the
// group's partial), so the group size does not change GEMM shapes: it sets how many partials are
// stored and reduced, and the unit of work the backward pass hands to a thread. Measured on the
// yolov8n layers at batch 16 with 2 threads, 1 is 20-25% slower on the 10x10 layers (reducing 16
// partials of the largest weights), while 2, 4 and 8 are within noise of each other overall, 4
// slightly ahead on the small layers; 4 still gives 4 equal tasks at batch 16.
enum { CONV_SAMPLE_GROUP = 4 };

// One convolution window over one image: the image is c x h x w and the window positions (the
// conv2d output grid) are oh x ow.
typedef struct {
    int64_t c, h, w, oh, ow;
    int kh, kw, sh, sw, ph, pw, dh, dw;
} ColGeom;

ColGeom col_geom(const ConvParams *p, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow);

// Rows of the column matrix: c * kh * kw; columns: oh * ow.
static inline int64_t col_rows(const ColGeom *g) { return g->c * g->kh * g->kw; }

// col[(ci * kh + i) * kw + j][oy * ow + ox] = img[ci][oy * sh - ph + i * dh][ox * sw - pw + j * dw],
// zero where that falls outside the image.
void im2col(const ColGeom *g, const float *img, float *col);

// The adjoint of im2col: adds every column entry into the image element im2col would copy it
// from. Entries are added in column-matrix order, a fixed order.
void col2im_add(const ColGeom *g, const float *col, float *img);

// A 1x1, stride-1, unpadded convolution: its column matrix is the image itself, so no im2col.
bool conv_is_pointwise(const ConvParams *p);

// y[ch][i] = bias[ch], or 0 when bias is NULL, for channels x plane elements.
void conv_fill_bias(float *y, const float *bias, int64_t channels, int64_t plane);

// One sample's forward: n is the sample, col a column buffer of the size given to the driver.
typedef void (*ConvForwardFn)(const void *op, int64_t n, float *col);
// One sample's backward: adds its input gradient into in_grad[0] (when wanted) and its weight
// gradient into weight_grad (when not NULL, laid out as the weight).
typedef void (*ConvBackwardFn)(const void *op, int64_t n, float *col, float *weight_grad);

// Workspace of either conv op: a col_floats buffer per thread, and the partials.
size_t conv_workspace_bytes(const OpArgs *a, int64_t col_floats);

// Runs fn for every sample in parallel.
void conv_forward_samples(const OpArgs *a, ConvForwardFn fn, const void *op, int64_t col_floats);

// Runs fn for every sample, sums the bias gradient (per output channel of out_grad) and the
// weight gradient over samples as described above, and adds them into param_grad[1] and [0].
void conv_backward_samples(const OpArgs *a, ConvBackwardFn fn, const void *op, int64_t col_floats);

#endif
