// The GPU test program: every CUDA op against the CPU op, and the CUDA backend's memory hooks.
// Built only with CUDA. Without a usable GPU (no driver, no device) it prints why, counts every
// test as skipped (not passed) and exits 0, so a CUDA-enabled build passes on machines without
// GPUs. It uses the unit tests' TEST/EXPECT macros (tests/test.h) and ends, like them, with the
// line "N passed, N failed" (preceded by "N skipped" when it skipped).
#include <stdio.h>
#include <stdlib.h>

#include "backend/device.h"
#include "gpu_test.h"
#include "runner.h"
#include "test.h"

static Backend *gpu;

Backend *gpu_backend(void) { return gpu; }

int main(int argc, char **argv) {
    int wanted = test_count_selected(argc, argv);
    CudaInfo info;
    cuda_info_query(&info);
    if (info.n_gpus == 0) {
        printf("skipped: no CUDA device (%s)\n%d skipped\n0 passed, 0 failed\n", info.why_none, wanted);
        return 0;
    }
    // YOLO_TEST_GPU picks another GPU than 0.
    const char *env = getenv("YOLO_TEST_GPU");
    int device = env ? atoi(env) : 0;
    gpu = backend_cuda_create(&(CudaOptions){.device = device, .deterministic = true});
    if (!gpu) {
        printf("FAIL creating the CUDA backend on GPU %d (%s): %s\n0 passed, 1 failed\n", device, info.gpu[0].name,
               yolo_error());
        return 1;
    }
    printf("GPU %d: %s\n", device, info.gpu[device < info.n_gpus ? device : 0].name);
    int rc = test_run_selected(argc, argv);
    backend_destroy(gpu);
    return rc;
}
