#include "core/tensor.h"

#include <stdio.h>

Shape shape_make(int ndim, const int64_t *dim) {
    Shape s = {.ndim = ndim};
    for (int i = 0; i < ndim; i++) s.dim[i] = dim[i];
    return s;
}

Shape shape_nchw(int64_t n, int64_t c, int64_t h, int64_t w) {
    return (Shape){.ndim = 4, .dim = {n, c, h, w}};
}

Shape shape_2d(int64_t rows, int64_t cols) { return (Shape){.ndim = 2, .dim = {rows, cols}}; }

Shape shape_1d(int64_t n) { return (Shape){.ndim = 1, .dim = {n}}; }

int64_t shape_numel(Shape s) {
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) n *= s.dim[i];
    return n;
}

bool shape_equal(Shape a, Shape b) {
    if (a.ndim != b.ndim) return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i]) return false;
    return true;
}

const char *shape_str(Shape s, char *buf, int cap) {
    int used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s.ndim && used < cap; i++)
        used += snprintf(buf + used, (size_t)(cap - used), i ? "x%lld" : "%lld", (long long)s.dim[i]);
    if (s.ndim == 0) snprintf(buf, (size_t)cap, "scalar");
    return buf;
}

Tensor tensor_view(float *data, Shape s) {
    Tensor t = {.data = data, .shape = s, .dtype = DTYPE_F32, .device = DEVICE_CPU};
    int64_t stride = 1;
    for (int i = s.ndim - 1; i >= 0; i--) {
        t.stride[i] = stride;
        stride *= s.dim[i];
    }
    return t;
}

int64_t tensor_numel(const Tensor *t) { return shape_numel(t->shape); }

bool tensor_is_contiguous(const Tensor *t) {
    int64_t stride = 1;
    for (int i = t->shape.ndim - 1; i >= 0; i--) {
        if (t->shape.dim[i] != 1 && t->stride[i] != stride) return false;
        stride *= t->shape.dim[i];
    }
    return true;
}
