#ifndef YOLO_CLI_INFO_H
#define YOLO_CLI_INFO_H

#include "cli/args.h"

// Prints the model summary for `yolo TASK info model=... imgsz=... nc=...`. Any other key given
// is an error: info would silently ignore it.
int info_main(const Args *a);

#endif
