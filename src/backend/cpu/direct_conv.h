// Convolution by a register tile of 16 output channels x 6 output pixels that reads the image
// straight from a zero-padded copy of it: one broadcast per pixel and window entry, the 16
// channels' weights as two 8-wide loads, 12 accumulators held over the whole window. Nothing is
// gathered per pixel (no column matrix, no packed panels); the padded copy costs one pass over the
// image. The same tile with the roles of pixels and window entries swapped computes the weight
// gradient, summing over the plane; run on each parity class of the input, it computes the input
// gradient of a strided convolution (direct_input_grad below).
//
// im2col + BLAS writes the whole column matrix to memory, reads it back to pack it and clears the
// output first; measured on yolov8n's 3x3 layers this tile runs them 1.2-2x faster.
//
// Determinism: every result element is one FMA chain from zero over its sum's terms in a fixed
// order (window entries (ci, i, j) in order, or the pixels in order), then stored or added to the
// output; it does not depend on the thread count.
#ifndef YOLO_BACKEND_CPU_DIRECT_CONV_H
#define YOLO_BACKEND_CPU_DIRECT_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/cpu/im2col.h"

enum { DIRECT_CO = 16, DIRECT_PX = 6 };

// Whether this CPU runs the tile (AVX2 and FMA). Without it convolutions take the plain path.
bool direct_conv_available(void);

// Floats of m rows of K entries packed into panels of 16 rows (rows past m are zeros).
int64_t direct_weight_floats(int64_t m, int64_t k);

// w is m x k, row-major (a conv2d weight [cout, cin, kh, kw] with k = cin * kh * kw); panel p holds
// packed[(p * k + kk) * 16 + r] = w[16p + r][kk].
void direct_weights(const float *w, int64_t m, int64_t k, float *packed);

// The weights of the input gradient of a stride-1 conv2d, which is a conv2d of the output gradient
// with the kernel flipped and the channel axes swapped: row ci, entry (co, i, j) is
// w[co][ci][kh-1-i][kw-1-j]. w is [cout, cin, kh, kw].
void direct_weights_flipped(const float *w, int64_t cout, int64_t cin, int kh, int kw, float *packed);

// Floats of per-thread scratch direct_conv needs for geometry g (the padded image and the window
// offsets).
int64_t direct_scratch_floats(const ColGeom *g);

// Whether the tile can address geometry g's padded image: it reads it through 32-bit offsets.
bool direct_conv_fits(const ColGeom *g);

// out (m x g->oh * g->ow) = (accumulate ? out : 0) + W * col(img) for one image of
// g->c x g->h x g->w, with W packed by direct_weights. scratch: direct_scratch_floats(g).
void direct_conv(const ColGeom *g, const float *packed, int64_t m, const float *img, float *out, bool accumulate,
                 float *scratch);

// Floats of per-thread scratch direct_weight_grad needs for m output channels.
int64_t direct_weight_grad_scratch_floats(const ColGeom *g, int64_t m);

// dw (m x K, laid out as the conv2d weight) += dy (m x g->oh * g->ow) * col(img)^T for one image:
// the plane is summed in chunks of pixels, in order, each chunk's sum added to dw.
void direct_weight_grad(const ColGeom *g, const float *dy, int64_t m, const float *img, float *dw, float *scratch);

// The input gradient of a strided conv2d (any stride, padding and dilation; stride 1 works too but
// takes direct_conv with the flipped kernel instead). g is the forward conv's geometry (g->c input
// channels, g->h x g->w in, g->oh x g->ow out) and m its output channels. Input positions
// (sh * u + a, sw * v + b) form parity class (a, b), a stride-1 correlation of dy over the taps
// that reach it, each tap at its own offset in a zero-padded copy of dy; the tile runs each class.

// Floats of the packed weights and window offsets of all classes.
int64_t direct_input_grad_packed_floats(const ColGeom *g, int64_t m);

// Packs w ([m, g->c, kh, kw]) class by class: rows are input channels, entries (co, i, j).
void direct_input_grad_pack(const ColGeom *g, const float *w, int64_t m, float *packed);

// Floats of per-thread scratch direct_input_grad needs: the padded copy of dy.
int64_t direct_input_grad_scratch_floats(const ColGeom *g, int64_t m);

// dx (g->c x g->h x g->w) += the input gradient of dy (m x g->oh x g->ow) for one image, with the
// weights packed by direct_input_grad_pack; each dx element's sum is one FMA chain over its class's
// entries in order, then added to dx.
void direct_input_grad(const ColGeom *g, const float *packed, int64_t m, const float *dy, float *dx, float *scratch);

#endif
