// The `yolo` command: `yolo TASK MODE key=value ...` with Ultralytics' grammar. A thin user of
// the C API (include/yolo/yolo.h): the words go into a yolo_args and yolo_run does what they say,
// so a program that links libyolo runs exactly what the command runs. Exit status: 0 done, 1 the
// mode failed (the message says why), 2 a usage error, 130/143 training interrupted by a signal.
#include <stdio.h>
#include <string.h>

#include "yolo/yolo.h"

int main(int argc, char **argv) {
    // Not an Ultralytics word, so not in its grammar: a path follows instead of key=value words.
    if (argc >= 2 && !strcmp(argv[1], "checkpoint")) {
        if (argc != 3) {
            fprintf(stderr, "yolo: usage: yolo checkpoint PATH\n");
            return YOLO_USAGE;
        }
        int rc = yolo_checkpoint_report(argv[2]);
        if (rc != YOLO_OK && yolo_error()[0]) fprintf(stderr, "yolo: %s\n", yolo_error());
        return rc;
    }
    yolo_args *args = yolo_args_create();
    if (!args) {
        fprintf(stderr, "yolo: %s\n", yolo_error());
        return YOLO_FAILED;
    }
    int rc = yolo_args_parse(args, argc - 1, argv + 1);
    if (rc != YOLO_OK) {
        fputs(yolo_args_warnings(args), stderr);
        fprintf(stderr, "yolo: %s\nsee 'yolo help' for the grammar and 'yolo cfg' for every argument and its default\n",
                yolo_error());
    } else {
        rc = yolo_run(args); // prints the arguments' warnings itself
        // An interrupted run has said what resumes it; a failure leaves its message.
        if (rc != YOLO_OK && yolo_error()[0]) fprintf(stderr, "yolo: %s\n", yolo_error());
    }
    yolo_args_destroy(args);
    return rc;
}
