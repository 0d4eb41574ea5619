#include "backend/device.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

// The text with what Ultralytics' select_device strips removed: spaces, brackets, parentheses,
// quotes, and a "cuda:" prefix; lower case.
static int normalise(const char *text, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (strchr(" \t()[]'\"", *p)) continue;
        if (n + 1 >= cap) return yolo_fail("device=%s: too long; use device=cpu or GPU indices such as 0 or 0,1", text);
        out[n++] = (char)tolower((unsigned char)*p);
    }
    out[n] = '\0';
    if (!strncmp(out, "cuda:", 5)) memmove(out, out + 5, n - 4);
    return 0;
}

static int bad(const char *text, const char *why) {
    return yolo_fail("device=%s: %s; use device=cpu, a GPU index such as device=0, or a list such as device=0,1", text, why);
}

int device_parse(const char *text, DeviceRequest *out) {
    *out = (DeviceRequest){0};
    char s[64];
    TRY(normalise(text, s, sizeof s));
    // Not given means the CPU until the trainer runs on GPUs; Ultralytics would pick GPU 0.
    if (s[0] == '\0' || !strcmp(s, "cpu") || !strcmp(s, "none")) return 0;
    if (!strcmp(s, "mps")) return bad(text, "mps is Apple's GPU, which this program does not support");
    out->cuda = true;
    if (!strcmp(s, "cuda") || !strcmp(s, "-1")) return 0; // any one GPU
    for (const char *p = s; *p;) {
        if (!isdigit((unsigned char)*p)) return bad(text, "not a device");
        char *end;
        long v = strtol(p, &end, 10);
        if (v > 1024) return bad(text, "GPU index out of range");
        if (out->n == DEVICE_MAX_GPUS) return bad(text, "too many GPUs");
        for (int i = 0; i < out->n; i++)
            if (out->index[i] == (int)v) return bad(text, "a GPU is listed twice");
        out->index[out->n++] = (int)v;
        p = end;
        if (*p == ',') {
            p++;
            if (!*p) return bad(text, "a list ends with a comma");
        } else if (*p) {
            return bad(text, "not a device");
        }
    }
    return 0;
}

// Appends to buf, truncating when full.
static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...) {
    if (*used >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n > 0) *used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

static double gib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0 * 1024.0); }

// "13.0" from CUDA's 1000 * major + 10 * minor.
static void cuda_version_str(int v, char *out, size_t cap) { snprintf(out, cap, "%d.%d", v / 1000, v % 1000 / 10); }

void cuda_info_format(const CudaInfo *info, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    if (!info->built) {
        append(buf, cap, &used,
               "CUDA: not built in (configure with -Dcuda=enabled where nvcc, cuBLAS and cuDNN are installed)\n");
        return;
    }
    char runtime[16], driver[16];
    cuda_version_str(info->runtime_version, runtime, sizeof runtime);
    cuda_version_str(info->driver_version, driver, sizeof driver);
    char cublas[32] = "not loadable";
    if (info->cublas_version)
        snprintf(cublas, sizeof cublas, "%d.%d.%d", info->cublas_version / 10000, info->cublas_version / 100 % 100,
                 info->cublas_version % 100);
    append(buf, cap, &used, "CUDA: built in (runtime %s, cuBLAS %s, cuDNN %d.%d.%d)\n", runtime, cublas,
           info->cudnn_version / 10000, info->cudnn_version / 100 % 100, info->cudnn_version % 100);
    append(buf, cap, &used, "CUDA driver: %s\n", info->driver_version ? driver : "none installed");
    if (info->n_gpus == 0) append(buf, cap, &used, "GPUs: none visible (%s)\n", info->why_none);
    for (int i = 0; i < info->n_gpus; i++)
        append(buf, cap, &used, "GPU %d: %s, %.1f GiB, compute capability %d.%d\n", i, info->gpu[i].name,
               gib(info->gpu[i].memory_bytes), info->gpu[i].cc_major, info->gpu[i].cc_minor);
}

int device_check_training(const DeviceRequest *r, const CudaInfo *info, const char *text) {
    if (!r->cuda) return 0;
    if (!info->built)
        return yolo_fail("device=%s: this yolo was built without CUDA support (it is built when nvcc, cuBLAS and "
                         "cuDNN are found, or with -Dcuda=enabled); use device=cpu", text);
    if (info->n_gpus == 0)
        return yolo_fail("device=%s: this yolo has CUDA support but sees no GPU (%s); use device=cpu", text,
                         info->why_none);
    for (int i = 0; i < r->n; i++)
        if (r->index[i] >= info->n_gpus)
            return yolo_fail("device=%s: there is no GPU %d (%d visible, numbered from 0: 'yolo checks' lists them); "
                             "use device=0 or device=cpu", text, r->index[i], info->n_gpus);
    if (r->n > 1)
        return yolo_fail("device=%s: training on several GPUs is not supported; use one GPU index or device=cpu", text);
    const GpuInfo *g = &info->gpu[r->n ? r->index[0] : 0];
    return yolo_fail("device=%s: GPU %d (%s, %.1f GiB) is there and this yolo's CUDA ops are built, but training "
                     "on the GPU is not wired into the trainer yet; use device=cpu", text, r->n ? r->index[0] : 0,
                     g->name, gib(g->memory_bytes));
}
