#ifndef YOLO_CLI_CHECKPOINT_CMD_H
#define YOLO_CLI_CHECKPOINT_CMD_H

// `yolo checkpoint PATH`: what a .ckpt holds (task, position, best fitness, the arguments that
// differ from the defaults) and whether it is whole. Returns the exit code: 0 whole, 1 not (1 with
// the message in yolo_error() when it cannot be read at all).
int checkpoint_command(const char *path);

#endif
