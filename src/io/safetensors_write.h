// Writing the safetensors format (see safetensors.h): fp32 tensors and string metadata into one
// buffer, header keys sorted so the same tensors always give the same bytes.
#ifndef YOLO_IO_SAFETENSORS_WRITE_H
#define YOLO_IO_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"

typedef struct {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
} StOut;

// XXH3-64 of the data section the tensors would have (their bytes in name order).
uint64_t safetensors_data_hash(const StOut *tensors, int n);

// Builds the whole file in a malloc'd buffer. meta: n_meta key/value string pairs for
// "__metadata__". Tensor names must be unique.
int safetensors_serialize(const StOut *tensors, int n, const char *const *meta, int n_meta, unsigned char **out,
                          size_t *size);

#endif
