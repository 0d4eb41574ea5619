// The `yolo` command. The argument grammar and the train/val/predict modes arrive with their
// issues; until then the command answers `version` and `help` and says what it cannot do yet.
#include <stdio.h>
#include <string.h>

#include "yolo/version.h"

static void print_help(FILE *out) {
    fprintf(out,
            "yolo %s: YOLO training in C\n"
            "usage: yolo TASK MODE key=value ...\n"
            "  TASK: detect | segment | classify\n"
            "  MODE: train | val | predict | info\n"
            "  yolo version    print the version\n"
            "  yolo help       print this help\n",
            YOLO_VERSION);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0) {
        printf("%s\n", YOLO_VERSION);
        return 0;
    }
    fprintf(stderr, "yolo: '%s' is not available in this build yet; see 'yolo help'\n", argv[1]);
    return 2;
}
