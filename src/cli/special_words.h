// The special words of `yolo` (help, version, cfg, copy-cfg, checks), which print rather than run
// a mode. In the library so that yolo_run (src/api) does what the command does.
#ifndef YOLO_CLI_SPECIAL_WORDS_H
#define YOLO_CLI_SPECIAL_WORDS_H

#include <stdio.h>

void special_print_help(FILE *out);
// default.yaml written into the current folder as default_copy.yaml. 0, or 1 with a message.
int special_copy_cfg(void);
// Build and system information; 1 when the shipped configs cannot be read.
int special_checks(void);

#endif
