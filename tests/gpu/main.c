// The GPU test program: every CUDA op against the CPU op, and the CUDA backend's memory hooks.
// Built only with CUDA. Without a usable GPU (no driver, no device) it prints why, counts every
// test as skipped (not passed) and exits 0, so a CUDA-enabled build passes on machines without
// GPUs. It uses the unit tests' TEST/EXPECT macros (tests/test.h) and ends, like them, with the
// line "N passed, N failed" (preceded by "N skipped" when it skipped).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/device.h"
#include "gpu_test.h"
#include "test.h"

enum { MAX_TESTS = 256 };

typedef struct {
    const char *name;
    TestFn fn;
} Entry;

static Entry tests[MAX_TESTS];
static int n_tests;
static int current_failures;
static Backend *gpu;

void test_register(const char *name, TestFn fn) {
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "too many tests: raise MAX_TESTS in tests/gpu/main.c\n");
        exit(2);
    }
    tests[n_tests++] = (Entry){name, fn};
}

void test_fail(const char *file, int line, const char *fmt, ...) {
    if (current_failures++ < 8) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stdout, "    %s:%d: ", file, line);
        vfprintf(stdout, fmt, ap);
        fputc('\n', stdout);
        va_end(ap);
    }
}

Backend *gpu_backend(void) { return gpu; }

static int selected(const char *name, int argc, char **argv) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name); }

int main(int argc, char **argv) {
    qsort(tests, (size_t)n_tests, sizeof tests[0], by_name);
    int wanted = 0;
    for (int i = 0; i < n_tests; i++) wanted += selected(tests[i].name, argc, argv);
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
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        current_failures = 0;
        yolo_error_clear();
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (current_failures == 0) {
            passed++;
            printf("ok   %s (%.0f ms)\n", tests[i].name, ms);
        } else {
            failed++;
            printf("FAIL %s (%d failed checks)\n", tests[i].name, current_failures);
        }
        fflush(stdout);
    }
    backend_destroy(gpu);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
