// Device selection: what device= asks for (cpu, 0, 0,1, cuda:0) and what this build and machine
// offer (CUDA built in or not, the GPUs the driver shows). The parsing and the decision are pure
// functions of their inputs, so they are tested without a GPU; cuda_info_query is the one part
// that asks the CUDA runtime (cuda/cuda_info.c, or cuda/cuda_none.c in a build without CUDA).
#ifndef YOLO_BACKEND_DEVICE_H
#define YOLO_BACKEND_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

enum { DEVICE_MAX_GPUS = 16 };

typedef struct {
    bool cuda; // false: the CPU
    int n;     // GPUs named; 0 with cuda: any one (device=-1 or device=cuda)
    int index[DEVICE_MAX_GPUS];
} DeviceRequest;

// Parses Ultralytics' device strings: "" (not given) and "cpu" are the CPU; "0", "0,1", "cuda",
// "cuda:1" and "-1" (any GPU) ask for GPUs. Case and spaces, brackets and quotes are ignored, as
// Ultralytics' select_device ignores them. Returns -1 with a message naming the text otherwise.
int device_parse(const char *text, DeviceRequest *out);

typedef struct {
    char name[256]; // cudaDeviceProp.name's size
    size_t memory_bytes;
    int cc_major, cc_minor; // compute capability
} GpuInfo;

typedef struct {
    bool built;          // this binary has the CUDA backend
    int runtime_version; // CUDA runtime it was built with, 1000 * major + 10 * minor
    int driver_version;  // the driver's CUDA version, 0 when no driver is installed
    int cublas_version;  // 10000 * major + 100 * minor + patch; 0 when libcublas cannot be loaded
    int cudnn_version;   // cudnnGetVersion()
    int n_gpus;          // GPUs visible to this process
    char why_none[256];  // when n_gpus is 0: why
    GpuInfo gpu[DEVICE_MAX_GPUS];
} CudaInfo;

// Fills info. Never fails: a build without CUDA, a machine without a driver or without a GPU are
// answers (built = false, n_gpus = 0 with why_none), not errors.
void cuda_info_query(CudaInfo *info);

// One line per fact, for `yolo checks`: whether CUDA is built in, its library versions, the
// driver, and each GPU's name and memory (or why there is none).
void cuda_info_format(const CudaInfo *info, char *buf, size_t cap);

// Whether training can run where r asks (text is the device= value, for the message). Today that
// is the CPU only: a GPU request fails with a message that says what is and isn't there, the
// missing CUDA support, the missing GPU, a GPU index out of range, or the GPU that exists while
// training on it is not wired into the trainer yet.
int device_check_training(const DeviceRequest *r, const CudaInfo *info, const char *text);

#endif
