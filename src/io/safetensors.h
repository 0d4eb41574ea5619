// A reader for the safetensors format: an 8-byte little-endian header length, a JSON header
// mapping each tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" map of
// strings), then the raw little-endian tensor bytes. Reference weights and parity fixtures
// written by PyTorch tools arrive in this format.
//
// Every field of the file is checked before it is used, so a truncated or hostile file gives an
// error naming the file and the problem, never an out-of-range read.
#ifndef YOLO_IO_SAFETENSORS_H
#define YOLO_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

enum { ST_MAX_DIMS = 8 };

typedef enum { ST_F32, ST_I64 } StDType;

typedef struct {
    char *name;
    StDType dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    // Points into the loaded file. The format does not promise alignment, so read it with memcpy
    // (or safetensors_copy_f32), not through a float pointer.
    const void *data;
    size_t nbytes;
} StTensor;

typedef struct {
    unsigned char *file; // the whole file; tensors' data point into it
    size_t file_size;
    StTensor *tensors; // sorted by name
    int n_tensors;
    char **metadata; // key, value, key, value, ...
    int n_metadata;  // pairs
} SafeTensors;

// Reads and validates a whole file. On failure returns -1 with a message naming the file, and
// leaves *st empty (safetensors_free is then a no-op).
int safetensors_load(const char *path, SafeTensors *st);
// Parses a file already in memory; takes ownership of `file` (malloc'd) in every case. `path`
// names it in messages.
int safetensors_parse(unsigned char *file, size_t size, const char *path, SafeTensors *st);
void safetensors_free(SafeTensors *st);

// The tensor with this name, or NULL.
const StTensor *safetensors_find(const SafeTensors *st, const char *name);
// The metadata value for key, or NULL.
const char *safetensors_metadata(const SafeTensors *st, const char *key);
// Copies an F32 tensor's values into dst (t->numel floats).
void safetensors_copy_f32(const StTensor *t, float *dst);
// "F32" or "I64".
const char *safetensors_dtype_name(StDType dtype);

#endif
