#include "cli/special_words.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "backend/device.h"
#include "cli/args.h"
#include "core/status.h"
#include "io/config_dir.h"
#include "yolo/version.h"

void special_print_help(FILE *out) {
    fprintf(out,
            "yolo %s: YOLO training in C\n"
            "usage: yolo TASK MODE key=value ...\n"
            "  TASK       detect | segment | classify (default detect)\n"
            "  MODE       train | val | predict | info (default train)\n"
            "  key=value  any argument that 'yolo cfg' lists, e.g. epochs=10 imgsz=320; a bool key alone\n"
            "             sets it True (yolo train resume); cfg=my.yaml takes arguments from a file\n"
            "             and replaces those before it\n"
            "\n"
            "  yolo detect train data=shapes.yaml model=yolov8n.yaml epochs=10 lr0=0.01\n"
            "  yolo detect val model=runs/detect/train/weights/best.ckpt   metrics on the dataset it trained on\n"
            "       (or data=..., split=val|test, imgsz, batch, conf 0.001, iou 0.7, max_det; runs/detect/val*)\n"
            "  yolo detect predict model=runs/detect/train/weights/best.ckpt source=images/\n"
            "       source: an image, a folder, a glob 'imgs/*.jpg' or a .txt list; conf 0.25, iou, max_det,\n"
            "       classes=[0,2], save_txt, save_conf, show_labels, show_conf, line_width; runs/detect/predict*\n"
            "  yolo detect info model=yolov8s.yaml imgsz=640 nc=80   layer table, parameters, GFLOPs\n"
            "\n"
            "  yolo help       this help (also -h, --help)\n"
            "  yolo version    the version (-v)\n"
            "  yolo cfg        every argument with its default\n"
            "  yolo copy-cfg   write default_copy.yaml here, to edit and use as cfg=default_copy.yaml\n"
            "  yolo checks     build and system information\n"
            "  yolo checkpoint PATH   what a .ckpt holds and whether it is whole\n"
            "\n"
            "The same from C: #include <yolo/yolo.h>, pkg-config --cflags --libs yolo\n",
            YOLO_VERSION);
}

int special_copy_cfg(void) {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        yolo_fail("copy-cfg: the current directory: %s", strerror(errno));
        return 1;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/default_copy.yaml", cwd);
    if (args_copy_default(path) != 0) {
        yolo_fail("copy-cfg");
        return 1;
    }
    printf("default.yaml copied to %s\n"
           "Example YOLO command with this new custom cfg:\n"
           "    yolo cfg='%s' imgsz=320 batch=8\n",
           path, path);
    return 0;
}

int special_checks(void) {
    char models[4200], datasets[4200];
    bool configs = config_subdir("models", models, sizeof models) == 0 && access(models, R_OK) == 0 &&
                   config_subdir("datasets", datasets, sizeof datasets) == 0 && access(datasets, R_OK) == 0;
    yolo_error_clear(); // a path too long is reported as configs missing
    printf("yolo %s\n"
           "built with: C compiler %s, C standard %ld\n"
           "configs: %s (%s: %s)\n"
           "CPU cores online: %ld\n"
           "BLAS: %s\n",
           YOLO_VERSION, __VERSION__, __STDC_VERSION__, config_dir(), config_dir_origin(),
           configs ? "models and datasets found" : "missing: model and dataset files cannot be read", sysconf(_SC_NPROCESSORS_ONLN),
           openblas_get_config());
    // CUDA support and the GPUs: a build with CUDA on a machine without a driver or GPU says so
    // and still passes, since the CPU device works there.
    CudaInfo cuda;
    cuda_info_query(&cuda);
    char text[2048];
    cuda_info_format(&cuda, text, sizeof text);
    fputs(text, stdout);
    return configs ? 0 : 1;
}
