// The `yolo` command: `yolo TASK MODE key=value ...`, parsed by cli/args.h with Ultralytics'
// grammar; then a special word runs, or the mode's function below. Exit status: 0 done, 1 the
// mode failed (the message says why), 2 a usage error or a mode that is not built yet.
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/device.h"
#include "cli/args.h"
#include "cli/checkpoint_cmd.h"
#include "cli/info.h"
#include "cli/predict_cmd.h"
#include "cli/train_cmd.h"
#include "cli/val_cmd.h"
#include "core/status.h"
#include "yolo/version.h"

static void print_help(FILE *out) {
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
            "  yolo checkpoint PATH   what a .ckpt holds and whether it is whole\n",
            YOLO_VERSION);
}

// ---- Special words -------------------------------------------------------------------------

static int copy_cfg(void) {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        perror("yolo: copy-cfg: the current directory");
        return 1;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/default_copy.yaml", cwd);
    if (args_copy_default(path) != 0) {
        fprintf(stderr, "yolo: copy-cfg: %s\n", yolo_error());
        return 1;
    }
    printf("default.yaml copied to %s\n"
           "Example YOLO command with this new custom cfg:\n"
           "    yolo cfg='%s' imgsz=320 batch=8\n",
           path, path);
    return 0;
}

static int checks(void) {
    bool configs = access(YOLO_CONFIG_DIR "/models", R_OK) == 0 && access(YOLO_CONFIG_DIR "/datasets", R_OK) == 0;
    printf("yolo %s\n"
           "built with: C compiler %s, C standard %ld\n"
           "configs: %s (%s)\n"
           "CPU cores online: %ld\n"
           "BLAS: %s\n",
           YOLO_VERSION, __VERSION__, __STDC_VERSION__, YOLO_CONFIG_DIR,
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

// ---- Modes ---------------------------------------------------------------------------------
// One function per mode, given the resolved arguments. Each returns the exit status.

static int run_train(const Args *a) { return train_command(a); }

static int run_val(const Args *a) { return val_command(a); }

static int run_predict(const Args *a) { return predict_command(a); }

static int run_info(const Args *a) {
    if (info_main(a) == 0) return 0;
    fprintf(stderr, "yolo: %s\n", yolo_error());
    return 1;
}

static int run_mode(const Args *a) {
    if (!strcmp(a->mode, "train")) return run_train(a);
    if (!strcmp(a->mode, "val")) return run_val(a);
    if (!strcmp(a->mode, "predict")) return run_predict(a);
    return run_info(a); // the remaining mode args_parse accepts
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stdout);
        return 0;
    }
    // Not an Ultralytics word, so not in its grammar: a path follows instead of key=value words.
    if (!strcmp(argv[1], "checkpoint")) {
        if (argc == 3) return checkpoint_command(argv[2]);
        fprintf(stderr, "yolo: usage: yolo checkpoint PATH\n");
        return 2;
    }
    static Args args; // 40 KB of fixed-size strings and lists: static rather than on the stack
    ArgsCommand cmd;
    int rc = args_parse(&args, argc - 1, argv + 1, &cmd);
    fputs(cmd.warnings, stderr);
    if (rc != 0) {
        fprintf(stderr, "yolo: %s\nsee 'yolo help' for the grammar and 'yolo cfg' for every argument and its default\n", yolo_error());
        return 2;
    }
    switch (cmd.action) {
    case ARGS_HELP: print_help(stdout); return 0;
    case ARGS_VERSION: printf("%s\n", YOLO_VERSION); return 0;
    case ARGS_CFG: fputs(args_default_yaml(), stdout); return 0;
    case ARGS_COPY_CFG: return copy_cfg();
    case ARGS_CHECKS: return checks();
    case ARGS_RUN: break;
    }
    return run_mode(&args);
}
