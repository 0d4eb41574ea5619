// Device selection without a GPU: parsing device=, the decision and messages for each situation
// (no CUDA in the build, no GPU, an index out of range, several GPUs, a GPU that training cannot
// use yet), and the runtime query, which must answer on a machine without a driver.
#include <string.h>

#include "backend/device.h"
#include "test.h"

static DeviceRequest parsed(const char *text) {
    DeviceRequest r;
    if (device_parse(text, &r) != 0) {
        test_fail(__FILE__, __LINE__, "device_parse(%s): %s", text, yolo_error());
        yolo_error_clear();
    }
    return r;
}

TEST(device_parse_cpu_forms) {
    const char *cpu[] = {"", "cpu", "CPU", " cpu ", "none", "'cpu'"};
    for (size_t i = 0; i < sizeof cpu / sizeof cpu[0]; i++) EXPECT(!parsed(cpu[i]).cuda);
}

TEST(device_parse_gpu_forms) {
    DeviceRequest r = parsed("0");
    EXPECT(r.cuda && r.n == 1 && r.index[0] == 0);
    r = parsed("cuda:1");
    EXPECT(r.cuda && r.n == 1 && r.index[0] == 1);
    r = parsed("[0, 2]");
    EXPECT(r.cuda && r.n == 2 && r.index[0] == 0 && r.index[1] == 2);
    r = parsed("cuda");
    EXPECT(r.cuda && r.n == 0);
    r = parsed("-1");
    EXPECT(r.cuda && r.n == 0);
}

TEST(device_parse_rejects_bad_text) {
    DeviceRequest r;
    EXPECT_FAILS_WITH(device_parse("mps", &r), "Apple");
    EXPECT_FAILS_WITH(device_parse("gpu", &r), "device=gpu: not a device; use device=cpu");
    EXPECT_FAILS_WITH(device_parse("0,0", &r), "listed twice");
    EXPECT_FAILS_WITH(device_parse("0,", &r), "ends with a comma");
    EXPECT_FAILS_WITH(device_parse("-2", &r), "not a device");
    EXPECT_FAILS_WITH(device_parse("1x", &r), "not a device");
    EXPECT_FAILS_WITH(device_parse("99999", &r), "out of range");
}

static CudaInfo one_gpu(void) {
    CudaInfo info = {.built = true, .runtime_version = 13000, .driver_version = 13000, .cublas_version = 130100,
                     .cudnn_version = 91900, .n_gpus = 1};
    strcpy(info.gpu[0].name, "Test GPU");
    info.gpu[0].memory_bytes = (size_t)80 << 30;
    info.gpu[0].cc_major = 9;
    return info;
}

TEST(device_check_training_says_what_is_missing) {
    DeviceRequest cpu = parsed("cpu"), gpu0 = parsed("0"), gpu3 = parsed("3"), two = parsed("0,1");
    CudaInfo none = {.built = false}, no_gpu = {.built = true};
    strcpy(no_gpu.why_none, "no NVIDIA driver is installed");
    CudaInfo info = one_gpu();
    EXPECT_OK(device_check_training(&cpu, &none, "cpu"));
    EXPECT_OK(device_check_training(&cpu, &info, "cpu"));
    EXPECT_FAILS_WITH(device_check_training(&gpu0, &none, "0"), "device=0: this yolo was built without CUDA support");
    EXPECT_FAILS_WITH(device_check_training(&gpu0, &no_gpu, "0"), "sees no GPU (no NVIDIA driver is installed); use device=cpu");
    EXPECT_FAILS_WITH(device_check_training(&gpu3, &info, "3"), "there is no GPU 3 (1 visible");
    info.n_gpus = 2;
    EXPECT_FAILS_WITH(device_check_training(&two, &info, "0,1"), "several GPUs is not supported");
    info.n_gpus = 1;
    EXPECT_FAILS_WITH(device_check_training(&gpu0, &info, "0"),
                      "GPU 0 (Test GPU, 80.0 GiB) is there and this yolo's CUDA ops are built, but training on the GPU "
                      "is not wired into the trainer yet; use device=cpu");
}

TEST(cuda_info_format_lists_versions_and_gpus) {
    char text[1024];
    CudaInfo info = one_gpu();
    cuda_info_format(&info, text, sizeof text);
    EXPECT(strstr(text, "CUDA: built in (runtime 13.0, cuBLAS 13.1.0, cuDNN 9.19.0)"));
    EXPECT(strstr(text, "GPU 0: Test GPU, 80.0 GiB, compute capability 9.0"));
    CudaInfo none = {.built = false};
    cuda_info_format(&none, text, sizeof text);
    EXPECT(strstr(text, "CUDA: not built in"));
    CudaInfo no_gpu = {.built = true};
    strcpy(no_gpu.why_none, "why");
    cuda_info_format(&no_gpu, text, sizeof text);
    EXPECT(strstr(text, "CUDA driver: none installed") && strstr(text, "GPUs: none visible (why)"));
}

// The real query: it must come back on any machine, and agree with how the program was built.
TEST(cuda_info_query_answers_without_failing) {
    CudaInfo info;
    cuda_info_query(&info);
#ifdef YOLO_HAVE_CUDA
    EXPECT(info.built);
    EXPECT(info.runtime_version >= 11000);
    EXPECT(info.cudnn_version > 0 && info.cublas_version > 0);
#else
    EXPECT(!info.built);
#endif
    EXPECT(info.n_gpus >= 0 && info.n_gpus <= DEVICE_MAX_GPUS);
    if (info.n_gpus == 0) EXPECT(info.why_none[0] != '\0');
    for (int i = 0; i < info.n_gpus; i++) EXPECT(info.gpu[i].name[0] && info.gpu[i].memory_bytes > 0);
}
