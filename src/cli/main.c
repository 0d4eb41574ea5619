// The `yolo` command: `yolo TASK MODE key=value ...`. Modes arrive with their issues; what is not
// built yet says so and exits 2.
#include <stdio.h>
#include <string.h>

#include "cli/info.h"
#include "core/status.h"
#include "yolo/version.h"

static void print_help(FILE *out) {
    fprintf(out,
            "yolo %s: YOLO training in C\n"
            "usage: yolo TASK MODE key=value ...\n"
            "  TASK: detect | segment | classify\n"
            "  MODE: info (train, val and predict are being built)\n"
            "  yolo detect info model=yolov8s.yaml imgsz=640 nc=80   layer table, parameters, GFLOPs\n"
            "  yolo version    print the version\n"
            "  yolo help       print this help\n",
            YOLO_VERSION);
}

static int is_task(const char *word) {
    return !strcmp(word, "detect") || !strcmp(word, "segment") || !strcmp(word, "classify");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "version")) {
        printf("%s\n", YOLO_VERSION);
        return 0;
    }
    if (is_task(argv[1]) && argc >= 3 && !strcmp(argv[2], "info")) {
        if (info_main(argv[1], argc - 3, argv + 3) != 0) {
            fprintf(stderr, "yolo: %s\n", yolo_error());
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "yolo: '%s%s%s' is not available in this build yet; see 'yolo help'\n", argv[1], argc > 2 ? " " : "",
            argc > 2 ? argv[2] : "");
    return 2;
}
