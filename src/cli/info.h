#ifndef YOLO_CLI_INFO_H
#define YOLO_CLI_INFO_H

// Prints the model summary for `yolo TASK info key=value...`; argv holds the key=value words.
int info_main(const char *task, int argc, char **argv);

#endif
