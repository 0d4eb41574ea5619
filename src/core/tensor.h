// A tensor is a view: shape, strides and a pointer into memory owned by an arena. Tensors never
// own memory, so copying the struct is free and nothing is freed through one.
#ifndef YOLO_CORE_TENSOR_H
#define YOLO_CORE_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

enum { TENSOR_MAX_DIMS = 4 };

typedef enum { DTYPE_F32 = 0 } DType;
typedef enum { DEVICE_CPU = 0, DEVICE_CUDA = 1 } Device;

// A shape without storage: what graph building and shape inference pass around.
typedef struct {
    int ndim;
    int64_t dim[TENSOR_MAX_DIMS];
} Shape;

typedef struct {
    float *data;
    Shape shape;
    int64_t stride[TENSOR_MAX_DIMS]; // in elements
    DType dtype;
    Device device;
} Tensor;

Shape shape_make(int ndim, const int64_t *dim);
Shape shape_nchw(int64_t n, int64_t c, int64_t h, int64_t w);
Shape shape_2d(int64_t rows, int64_t cols);
Shape shape_1d(int64_t n);
int64_t shape_numel(Shape s);
bool shape_equal(Shape a, Shape b);
// "16x3x320x320", for messages.
const char *shape_str(Shape s, char *buf, int cap);

// A contiguous row-major fp32 CPU tensor over data.
Tensor tensor_view(float *data, Shape s);
int64_t tensor_numel(const Tensor *t);
bool tensor_is_contiguous(const Tensor *t);

// NCHW accessors; a 2-D tensor [N, C] reads as N x C x 1 x 1.
static inline int64_t tensor_n(const Tensor *t) { return t->shape.dim[0]; }
static inline int64_t tensor_c(const Tensor *t) { return t->shape.ndim > 1 ? t->shape.dim[1] : 1; }
static inline int64_t tensor_h(const Tensor *t) { return t->shape.ndim > 2 ? t->shape.dim[2] : 1; }
static inline int64_t tensor_w(const Tensor *t) { return t->shape.ndim > 3 ? t->shape.dim[3] : 1; }

#endif
