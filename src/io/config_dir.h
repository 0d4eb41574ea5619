// Where the shipped configs (models/*.yaml, datasets/*.yaml) are read at run time, so that an
// installed yolo or libyolo finds them without the source tree:
//   1. the environment variable YOLO_CONFIG_DIR, when set and not empty (a folder holding models/
//      and datasets/);
//   2. else the installed copy, <prefix>/<datadir>/yolo (where `meson install` puts configs/),
//      when it exists;
//   3. else the configs/ folder of the source tree the build was made from, so that running from
//      the build folder works before any install.
// (default.yaml is compiled in and needs none of these.)
#ifndef YOLO_IO_CONFIG_DIR_H
#define YOLO_IO_CONFIG_DIR_H

#include <stddef.h>

// The folder, without a trailing slash; valid until the environment changes.
const char *config_dir(void);

// config_dir()/sub ("models", "datasets") into out; -1 with a message when it does not fit.
int config_subdir(const char *sub, char *out, size_t cap);

// Which of the three config_dir() took, for messages: "YOLO_CONFIG_DIR", "installed" or
// "source tree".
const char *config_dir_origin(void);

#endif
